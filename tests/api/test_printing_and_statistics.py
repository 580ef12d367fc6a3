"""Printing from the UI and the statistics: the 四性检测报告 workbook, the 移交/接收登记表, the
statistics within a date range and their XLSX, the 档案室基本情况年报 — all within visibility."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.api.conftest import PUBLIC_ID, World
from tests.api.test_matrix import _transfer_record
from tests.api.test_web import _login


def _printed(sheet) -> None:  # type: ignore[no-untyped-def]
    assert sheet.page_setup.orientation == "landscape" and int(sheet.page_setup.paperSize) == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0


def test_the_check_report_workbook_prints_one_page_wide_in_songti(world: World) -> None:
    client, _ = _login(world, "archivist")
    response = client.get(f"/items/{PUBLIC_ID}/ingest-report.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    for sheet in book.worksheets:
        _printed(sheet)
    overview = book["检测概况"]
    assert overview["A1"].font.name == "宋体" and overview["B1"].alignment.wrap_text


def test_the_transfer_register_downloads_as_a_printed_table(world: World) -> None:
    transfer = _transfer_record(world)
    client, _ = _login(world, "archivist")
    page = client.get("/transfers")
    assert page.status_code == 200 and f"/transfers/out/{transfer}/register.xlsx" in page.text
    xlsx = client.get(f"/transfers/out/{transfer}/register.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    _printed(sheet)
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[0][0] == "电子档案移交与接收登记表" and rows[1] == ("项目", "内容")
    assert ("单位名称", "X区人民政府办公室") in rows and sheet["A3"].font.name == "宋体"
    pdf = client.get(f"/transfers/out/{transfer}/register.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/transfers/out/no-such/register.pdf").status_code == 404
    assert _login(world, "reader")[0].get("/transfers").status_code == 403


def test_statistics_within_a_date_range_and_their_export(world: World) -> None:
    api = world.client("archivist")
    everything = api.get("/api/v1/statistics").json()
    assert everything["items"] >= 3
    future = api.get("/api/v1/statistics", params={"date_from": "2999-01-01"}).json()
    assert future["items"] == 0 and future["facets"]["year"]["values"] == []
    assert api.get("/api/v1/statistics", params={"date_from": "2026-02-01", "date_to": "2026-01-01"}).status_code == 400
    client, _ = _login(world, "archivist")
    page = client.get("/statistics", params={"date_from": "2999-01-01"})
    assert page.status_code == 200 and 'name="date_from" value="2999-01-01"' in page.text and "导出 XLSX" in page.text
    export = client.get("/statistics/export.xlsx")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.content)).worksheets[0]
    _printed(sheet)
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[1] == ("统计项", "分组", "件数", "存储量（字节）", "占比或通过率")
    assert ("馆藏总量", "合计", everything["items"], everything["bytes"], None) in rows
    assert any(r[0] == "接收检测通过率" and str(r[4]).endswith("%") for r in rows)


def test_the_annual_report_counts_only_what_the_caller_may_see(world: World) -> None:
    year = int(world.client("archivist").get("/api/v1/statistics").json()["growth"][-1]["month"][:4])
    high = world.client("archivist").get("/api/v1/statistics/annual", params={"year": year}).json()
    low = world.client("reader").get("/api/v1/statistics/annual", params={"year": year})
    assert low.status_code == 403  # 利用者 has no statistics
    visible_high = world.client("archivist").get("/api/v1/statistics").json()["items"]
    assert high["holdings_total"] == visible_high and high["additions_total"] == visible_high
    assert {r["retention_name"] for r in high["holdings"]} <= {"永久", "定期30年", "定期10年", "（未定）"}
    from tests.api.conftest import make_account

    token = make_account(world.archive, "annual-low", ["档案管理员"], "公开")
    lowclient = world.client()
    lowclient.headers["Authorization"] = f"Bearer {token}"
    public = lowclient.get("/api/v1/statistics/annual", params={"year": year}).json()
    assert public["holdings_total"] < high["holdings_total"]  # the 内部 and 秘密 items are not counted
    client, _ = _login(world, "archivist")
    page = client.get("/statistics/annual", params={"year": year})
    assert page.status_code == 200 and f"档案室基本情况年报（{year} 年度）" in page.text and "利用人次" in page.text
    xlsx = client.get("/statistics/annual.xlsx", params={"year": year})
    sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
    _printed(sheet)
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[1] == ("部分", "门类", "保管期限", "年度", "件数", "存储量（字节）")
    assert ("年末馆藏", "合计", None, None, high["holdings_total"], high["holdings_bytes"]) in rows
    pdf = client.get("/statistics/annual.pdf", params={"year": year})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
