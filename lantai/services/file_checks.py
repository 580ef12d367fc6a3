"""四性检测 of files, SIP items or batches given by path (``lantai check PATH…``), outside ingest.

When an archive is configured its catalogue lends the checks their facts (duplicates, batch
registers) and the run is recorded like any other; without one the files are checked alone.
The interfaces call this module rather than the check runner, so they stay thin over services.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lantai.checks.render import ReportHeader, write_report
from lantai.checks.report import CheckReport
from lantai.checks.runner import check_paths
from lantai.errors import BadInput, LantaiError
from lantai.services.archive import Archive, open_archive
from lantai.services.item_checks import CatalogueFacts, record_run

REPORT_SUFFIXES = (".pdf", ".xlsx", ".html", ".htm", ".json")


def require_report_suffix(target: Path) -> None:
    """Refuse an unknown report format before any work is done, not after a long run."""
    if target.suffix.lower() not in REPORT_SUFFIXES:
        raise BadInput(f"报告格式须为 .pdf、.xlsx、.html 或 .json: {target}",
                       f"report must be .pdf, .xlsx, .html or .json: {target}")


def check_files(paths: list[Path], *, stage: str, profile: str, workers: int | None, operator: str,
                progress: Callable[[], None]) -> tuple[CheckReport, ReportHeader | None]:
    """Check ``paths``; record the run when an archive is configured. Returns the report and its header."""
    if not paths:
        raise BadInput("请指定要检测的文件或目录，或使用 --archived", "give files or directories to check, or --archived")
    archive = _archive_if_any()
    try:
        settings = archive.settings if archive is not None else None
        facts = CatalogueFacts(archive) if archive is not None else None
        result = check_paths(paths, stage=stage, profile=profile, settings=settings, facts=facts,
                             workers=workers, operator=operator, progress=lambda _item: progress())
        if archive is None:
            return result, None
        record_run(archive, result, operator=operator)
        return result, ReportHeader(organisation=archive.settings.archive_name)
    finally:
        if archive is not None:
            archive.close()


def save_report(result: CheckReport, target: Path, header: ReportHeader | None) -> None:
    """The 四性检测报告 as PDF, XLSX, HTML or JSON by the target's suffix."""
    write_report(result, target, header)


def _archive_if_any() -> Archive | None:
    """The archive at LANTAI_HOME when there is one: enables duplicate, audit and catalogue checks."""
    try:
        return open_archive(recover=False)
    except LantaiError:
        return None
