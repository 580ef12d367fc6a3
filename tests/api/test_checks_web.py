"""The 检测 button and the API run the DA/T 70 bc profile and record it; a batch is checked from
the web with progress; the 四性检测报告 of a run, an item or a batch downloads as PDF and XLSX,
only for someone who may see every item in it."""

from __future__ import annotations

import io
import time

from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, SECRET_ID, World, make_account

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_api_check_runs_the_bc_profile_and_records_it(world: World) -> None:
    run = world.client("archivist").post(f"/api/v1/items/{INTERNAL_ID}/checks")
    assert run.status_code == 200, run.text
    dat70 = run.json()["dat70"]
    assert dat70["stage"] == "bc" and dat70["ok"] is True and dat70["items"] == 1 and dat70["operator"] == "archivist"
    pdf = world.client("archivist").get(f"/checks/{dat70['run_id']}/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = world.client("archivist").get(f"/checks/{dat70['run_id']}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    from openpyxl import load_workbook

    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(xlsx.content))["检测概况"].iter_rows()}
    assert overview["检测人"].startswith("archivist") and "（北京时间）" in overview["检测时间"]
    actions = [(r.action, r.target) for r in world.archive.audit.iter_journal()]
    assert ("check.run", dat70["run_id"]) in actions


def test_item_page_button_shows_the_dat70_result(world: World) -> None:
    client = world.session_client("archivist")
    shown = client.post(f"/items/{PUBLIC_ID}/checks", headers={"X-CSRF-Token": client.csrf})
    assert shown.status_code == 200 and "四性检测（DA/T 70，长期保存 bc 环节）" in shown.text
    assert "模块尚未安装" not in shown.text and "下载检测报告（PDF）" in shown.text
    page = client.get(f"/items/{PUBLIC_ID}")
    assert "/ingest-report.pdf" in page.text and "保存检测（archivist）" in page.text


def test_batch_check_from_the_web_with_progress(world: World) -> None:
    client = world.session_client("archivist")
    page = client.get("/checks")
    assert page.status_code == 200 and "开始检测" in page.text
    started = client.post("/checks/run", data={"batch": ""}, headers={"X-CSRF-Token": client.csrf})
    assert started.status_code == 200 and "/checks/jobs/" in started.text, started.text
    job = started.text.split("/checks/jobs/")[1][:32]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/checks/jobs/{job}")
        if "下载检测报告" in status.text or "检测未能完成" in status.text:
            break
        time.sleep(0.5)
    assert "共 3 件，通过 3 件" in status.text, status.text  # archivist (机密) sees all three
    assert world.session_client("clerk").get(f"/checks/jobs/{job}").status_code in (403, 404)


def test_ingest_reports_download_for_item_and_batch(world: World) -> None:
    from lantai.services.ingest import ingest_paths
    from tests.sipfactory import specs, write_batch

    client = world.client("archivist")
    item = client.get(f"/items/{PUBLIC_ID}/ingest-report.pdf")
    assert item.status_code == 200 and item.content.startswith(b"%PDF")
    report = ingest_paths(world.archive, [write_batch(world.tmp / "web-batch", specs(2, prefix="Z109-WS-2025-B"))])
    assert report.counts()["accepted"] == 2
    batch = client.get(f"/batches/{report.batches[0]['batch_id']}/ingest-report.xlsx")
    assert batch.status_code == 200 and batch.headers["content-type"] == XLSX
    from openpyxl import load_workbook

    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(batch.content))["检测概况"].iter_rows()}
    assert "共 2 件" in overview["检测对象"] and "登记 2 件，实有 2 件" in overview["登记表件数"]


def test_reports_respect_clearance(world: World) -> None:
    from lantai.domain.permissions import Role

    token = make_account(world.archive, "lowchecker", [Role.ARCHIVIST.value], "内部")
    low = world.client()
    low.headers["Authorization"] = f"Bearer {token}"
    secret_run = world.client("archivist").post(f"/api/v1/items/{SECRET_ID}/checks").json()["dat70"]["run_id"]
    assert low.get(f"/checks/{secret_run}/report.pdf").status_code == 404
    assert low.get(f"/items/{SECRET_ID}/ingest-report.pdf").status_code == 404
    assert world.client("reader").get("/checks").status_code == 403


def _manual_sheet(content: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    return [tuple(c.value for c in row) for row in load_workbook(io.BytesIO(content))["人工确认"].iter_rows()][1:]


def test_manual_target_is_pending_until_an_archivist_records_a_verdict(world: World) -> None:
    """4-2 (载体, left to people) is 待人工确认 in the report; a verdict recorded through the API shows
    with who gave it and when, is audit-journalled, and changes the 检测结论."""
    client = world.client("archivist")
    url = f"/items/{PUBLIC_ID}/ingest-report.xlsx"
    before = client.get(url)
    assert before.status_code == 200
    pending = {row[0]: row for row in _manual_sheet(before.content)}
    assert "4-2" in pending and pending["4-2"][-1] == "待人工确认"

    refused = client.post("/api/v1/checks/verdicts", json={"scope": "item", "scope_id": PUBLIC_ID, "code": "1-1",
                                                           "verdict": "符合"})
    assert refused.status_code == 400 and "不是" in refused.json()["message"]
    recorded = client.post("/api/v1/checks/verdicts", json={"scope": "item", "scope_id": PUBLIC_ID, "code": "4-2",
                                                            "verdict": "符合", "note": "光盘外观完好"})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["confirmed_by"] == "archivist" and recorded.json()["verdict"] == "conforms"

    after = {row[0]: row for row in _manual_sheet(client.get(url).content)}
    by, at, note, verdict = after["4-2"][4:]
    assert (by, note, verdict) == ("archivist", "光盘外观完好", "符合") and "年" in at and "日 " in at
    from openpyxl import load_workbook

    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(client.get(url).content))["检测概况"].iter_rows()}
    assert "经人工确认符合：4-2" in overview["检测结论"]
    entries = [r for r in world.archive.audit.iter_journal() if r.action == "check.confirmed"]
    assert entries and entries[-1].actor == "archivist" and entries[-1].details["code"] == "4-2"


def test_verdicts_need_the_check_permission_and_sight_of_every_item(world: World) -> None:
    body = {"scope": "item", "scope_id": SECRET_ID, "code": "4-2", "verdict": "不符合"}
    assert world.client("reader").post("/api/v1/checks/verdicts", json=body).status_code == 403
    assert world.client("clerk").post("/api/v1/checks/verdicts", json=body).status_code in (403, 404)


def test_web_form_records_a_verdict_for_a_batch_report(world: World) -> None:
    from lantai.services.ingest import ingest_paths
    from tests.sipfactory import specs, write_batch

    report = ingest_paths(world.archive, [write_batch(world.tmp / "confirm-batch", specs(2, prefix="Z109-WS-2025-V"))])
    batch = report.batches[0]["batch_id"]
    client = world.session_client("archivist")
    page = client.get(f"/checks/confirm/batch/{batch}")
    assert page.status_code == 200 and "4-2" in page.text and "待人工确认" in page.text
    done = client.post(f"/checks/confirm/batch/{batch}", data={"code": "4-2", "verdict": "nonconforming",
                                                                "note": "载体有划痕"},
                       headers={"X-CSRF-Token": client.csrf})
    assert done.status_code == 200 and "已记录 4-2" in done.text and "不符合" in done.text
    bad = client.post(f"/checks/confirm/batch/{batch}", data={"code": "2-1", "verdict": "符合"},
                      headers={"X-CSRF-Token": client.csrf})
    assert bad.status_code == 400 and "未记录" in bad.text
    from openpyxl import load_workbook

    xlsx = client.get(f"/batches/{batch}/ingest-report.xlsx")
    overview = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(xlsx.content))["检测概况"].iter_rows()}
    assert "经人工确认不符合：4-2" in overview["检测结论"] and "不合格" in overview["检测结论"]
