"""整理 pages: per-item review of a year, confirmation of a selection or the whole year, edits and 更正.

The tests of this module run in order on one world: review, then a selection, then an edit,
then the whole year, filing and a correction of a filed item.
"""

from __future__ import annotations

import io
import re

from sqlalchemy import select

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import AuditEntry, Item
from lantai.domain.roles import Role
from lantai.services import arrange_review, users
from lantai.services.arrange import suggest_retention
from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, SECRET_ID, World
from tests.api.test_web import _login

YEAR_PAGE = "/arrange/Z109/2025"


def _codes(world: World) -> dict[str, str]:
    with world.archive.sessions() as session:
        return dict(session.execute(select(Item.record_id, Item.archival_code)).tuples().all())


def _principal(world: World, username: str) -> users.Principal:
    return users.resolve_token(world.archive, world.tokens[username])


def test_review_shows_submitted_and_proposed_retention_and_hides_what_the_viewer_may_not_see(world: World) -> None:
    low = arrange_review.review(world.archive, users.Principal(0, "low", "低密级", frozenset({Role.ARCHIVIST}), "公开"),
                                "Z109", 2025)
    assert PUBLIC_ID in {r["record_id"] for r in low.rows} and SECRET_ID not in {r["record_id"] for r in low.rows}
    review = arrange_review.review(world.archive, _principal(world, "archivist"), "Z109", 2025)
    row = next(r for r in review.rows if r["record_id"] == PUBLIC_ID)
    suggestion = suggest_retention(world.archive, PUBLIC_ID)["suggestion"]
    assert row["submitted"] == "永久" and row["proposed"] == suggestion["label"] and row["state"] == "new"
    assert row["conflict"] == (suggestion["retention"] != "Y" and not suggestion["default"])
    assert row["basis"] == "报送元数据"  # never the English word "metadata"
    client, _ = _login(world, "archivist")
    page = client.get(YEAR_PAGE)
    assert page.status_code == 200 and "保管期限表建议" in page.text and "metadata" not in page.text
    shown = re.sub(r"<[^>]+>", " ", page.text)  # what the page says, not its attributes
    assert "D30" not in re.sub(r"Z109-WS·2025-[A-Z0-9-]+|规则 [A-Z0-9-]+", "", shown)
    if row["conflict"]:
        assert f"与报送值不符（规则 {suggestion['rule']}）" in page.text
    overview = client.get("/arrange")
    assert "示范区人民政府（Z109）" in overview.text and f'href="{YEAR_PAGE}?category=WS"' in overview.text


def test_confirming_a_selection_arranges_only_the_selected_items(world: World) -> None:
    client, csrf = _login(world, "archivist")
    summary = client.post(f"{YEAR_PAGE}/summary", data={"record_ids": [PUBLIC_ID], "whole": "0"},
                          headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert summary.status_code == 200, summary.text[-1500:]
    assert "确认所选 1 件" in summary.text and "将编定档号 <b>1</b> 件" in summary.text
    assert "<dialog" in summary.text and "<html" not in summary.text  # the fragment htmx opens as a dialog
    done = client.post(f"{YEAR_PAGE}/confirm", data={"record_ids": [PUBLIC_ID], "whole": "0"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and "已整理 1 件" in done.text
    codes = _codes(world)
    assert re.fullmatch(r"Z109-WS·2025-Y-BGS-\d{4}", codes[PUBLIC_ID])
    assert codes[INTERNAL_ID] == "" and codes[SECRET_ID] == ""  # the checkboxes decide, not the year


def test_an_edit_needs_a_reason_and_is_a_new_version_with_an_audit_entry(world: World) -> None:
    client, csrf = _login(world, "archivist")
    refused = client.post(f"/arrange/items/{INTERNAL_ID}/edit", data={"retention": "D10", "reason": " "},
                          headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 400 and "理由" in refused.text
    with world.archive.sessions() as session:
        before = session.scalar(select(Item.ocfl_version).where(Item.record_id == INTERNAL_ID))
    edited = client.post(f"/arrange/items/{INTERNAL_ID}/edit", data={"retention": "D10", "reason": "内部事务性通知",
                                                                       "back": YEAR_PAGE},
                         headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert edited.status_code == 303 and edited.headers["location"] == YEAR_PAGE
    with world.archive.sessions() as session:
        item = session.scalar(select(Item).where(Item.record_id == INTERNAL_ID))
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item.edited",
                                                         AuditEntry.target == INTERNAL_ID)).one()
    assert item.ocfl_version == before + 1 and item.retention == "10年"
    assert "内部事务性通知" in entry.details


def test_whole_year_then_filing_then_a_correction_of_a_filed_item(world: World) -> None:
    client, csrf = _login(world, "archivist")
    done = client.post(f"{YEAR_PAGE}/confirm", data={"whole": "1"}, headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200, done.text[-1500:]
    codes = _codes(world)
    assert all(codes[r] for r in (PUBLIC_ID, INTERNAL_ID, SECRET_ID))
    assert re.fullmatch(r"Z109-WS·2025-D10-BGS-0001", codes[INTERNAL_ID])
    filed = client.post(f"{YEAR_PAGE}/file", headers={"X-CSRF-Token": csrf})
    assert filed.status_code == 200 and "已归档" in filed.text and "更正" in filed.text
    old = codes[PUBLIC_ID]
    corrected = client.post(f"/arrange/items/{PUBLIC_ID}/edit", data={"retention": "D30", "reason": "复核后改为定期30年"},
                            headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert corrected.status_code == 303
    with world.archive.sessions() as session:
        correction = session.scalars(select(ArrangementCorrection).where(ArrangementCorrection.record_id == PUBLIC_ID)).one()
        state = session.scalar(select(Arrangement.state).where(Arrangement.record_id == PUBLIC_ID))
    assert correction.old_code == old and "D30" in correction.new_code and state == "filed"
    assert "已归档" in client.get("/arrange").text or "Z109" in client.get("/arrange").text


def test_printing_volumes_of_the_catalogue_and_the_note(world: World) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    client, _ = _login(world, "archivist")
    page = client.get(YEAR_PAGE)
    assert "打印 · 归档文件目录与备考表" in page.text
    volumes = arrange_review.volumes(arrange_review.review(world.archive, _principal(world, "archivist"), "Z109", 2025))
    assert len(volumes) >= 2  # 永久 and 定期 items of 办公室 are bound apart
    for volume in volumes:
        params = {"retention": volume["retention"], "organisation": volume["organisation"]}
        xlsx = client.get(f"{YEAR_PAGE}/print/catalogue.xlsx", params=params)
        assert xlsx.status_code == 200, xlsx.text[-500:]
        sheet = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
        assert [r[0] for r in rows[1:]] == list(range(1, volume["count"] + 1))  # 序号 restarts per volume
        assert volume["retention_label"] in sheet.oddHeader.center.text
        assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet["E2"].alignment.wrap_text and sheet["E2"].font.name == "宋体"
        pdf = PdfReader(io.BytesIO(client.get(f"{YEAR_PAGE}/print/catalogue.pdf", params=params).content))
        assert len(pdf.pages) == 1 and float(pdf.pages[0].mediabox.width) > float(pdf.pages[0].mediabox.height)
        assert "归档文件目录" in pdf.pages[0].extract_text().replace(" ", "")
        note = client.get(f"{YEAR_PAGE}/print/note.pdf", params=params)
        assert note.status_code == 200 and note.content.startswith(b"%PDF")
        note_text = PdfReader(io.BytesIO(note.content)).pages[0].extract_text().replace(" ", "")
        assert f"本盒共{volume['count']}件" in note_text
        note_xlsx = client.get(f"{YEAR_PAGE}/print/note.xlsx", params=params)
        assert note_xlsx.status_code == 200, note_xlsx.text[-500:]
        sheet = load_workbook(io.BytesIO(note_xlsx.content)).worksheets[0]
        rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
        assert rows[0][0] == "备考表" and rows[1] == ("项目", "内容")
        assert [r[0] for r in rows[2:]] == ["盒（卷）", "盒内文件情况说明", "整理人", "整理日期", "检查人", "检查日期"]
        assert rows[3][1].startswith(f"本盒共 {volume['count']} 件，")  # as the PDF states it
        assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet["B4"].alignment.wrap_text and sheet["B4"].font.name == "宋体"
    low, _ = _login(world, "reader")
    assert low.get(f"{YEAR_PAGE}/print/catalogue.pdf").status_code == 403
    assert client.get(f"{YEAR_PAGE}/print/catalogue.docx").status_code == 400
    assert client.get(f"{YEAR_PAGE}/print/notes.xlsx").status_code == 400


def test_arranging_needs_the_permission_and_the_csrf_token(world: World) -> None:
    client, _ = _login(world, "archivist")
    assert client.post(f"{YEAR_PAGE}/confirm", data={"whole": "1"}).status_code in (400, 403)
    reader, _ = _login(world, "reader")
    assert reader.get("/arrange").status_code == 403
    assert reader.get(YEAR_PAGE).status_code == 403
