"""The 四性检测报告 as an archivist signs it, from a real gd run over a batch whose 登记表 is wrong:
the batch-level failure once, manual items 待人工确认 (not passed), 北京时间, 检测结论, signatures,
per-property summary; the same content as PDF (rendered to PNG to check it is laid out) and XLSX."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from lantai.checks.render import ReportHeader, beijing_time, code_rows, render_html, render_pdf, render_xlsx
from lantai.checks.runner import check_paths
from lantai.settings import Settings
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.clamd


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, clamd_socket: str):  # type: ignore[no-untyped-def]
    batch = write_batch(tmp_path_factory.mktemp("report"), specs(3), count_delta=2)
    result = check_paths([batch], stage="gd", settings=Settings(clamd_socket=clamd_socket), workers=0,
                         operator="李档案")
    result.meta["generated_at"] = "2025-12-31T02:00:00+00:00"
    return result


HEADER = ReportHeader(organisation="X区档案馆", unit_name="X区人民政府办公室", batch="B-2025-001",
                      register={"declared_items": 5, "declared_bytes": 100, "actual_items": 3, "actual_bytes": 99})


def test_times_are_beijing_time() -> None:
    assert beijing_time("2025-12-31T02:00:00+00:00") == "2025年12月31日 10:00"
    assert beijing_time("2025-12-31T23:30:00Z") == "2026年01月01日 07:30"


def test_manual_targets_are_pending_not_passed(report) -> None:  # type: ignore[no-untyped-def]
    rows = {r["code"]: r["counts"] for r in code_rows(report)}
    assert rows["4-2"]["manual"] == 3 and rows["4-2"]["pass"] == 0


def test_html_report_reads_as_signed(report) -> None:  # type: ignore[no-untyped-def]
    html = render_html(report, HEADER)
    assert "2025年12月31日 10:00（北京时间）" in html
    assert "检测人：李档案" in html and "审核人：" in html and "检测结论" in html
    assert "X区档案馆" in html and "B-2025-001" in html and "登记 5 件，实有 3 件" in html
    assert "待人工确认" in html and "□ 符合" in html
    assert "本批电子档案四性检测不合格" in html  # the register disagrees: the batch fails
    batch_failure = next(r.message for r in report.items[0].results if r.rule == "2-1a")
    batch_section = html.split("四、批次级检测")[1].split("五、未通过的条目")[0]
    items_section = html.split("五、未通过的条目")[1]
    assert batch_section.count(batch_failure) == 1 and batch_failure not in items_section  # once, not per item
    for prop in ("真实性", "完整性", "可用性", "安全性"):
        assert f"<td>{prop}</td>" in html


def test_xlsx_report_has_the_same_content(report) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(render_xlsx(report, HEADER)))
    assert book.sheetnames == ["检测概况", "按性质汇总", "检测项目汇总", "批次级检测", "未通过明细", "警告", "人工确认"]
    overview = {row[0].value: row[1].value for row in book["检测概况"].iter_rows()}
    assert overview["检测时间"] == "2025年12月31日 10:00（北京时间）"
    assert overview["检测人"].startswith("李档案") and "签字" in overview["审核人"]
    assert "不合格" in overview["检测结论"]
    manual = [row[0].value for row in book["人工确认"].iter_rows(min_row=2)]
    assert "4-2" in manual
    assert [row[0].value for row in book["批次级检测"].iter_rows(min_row=2)].count("2-1a") == 1


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdf_report_renders(report, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_pdf(report, HEADER))
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")], check=True)
    page = next(tmp_path.glob("page*.png"))
    assert page.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "电子档案四性检测报告" in text and "检测结论" in text and "待人工确认" in text
