"""The human 四性检测报告: HTML from a Jinja2 template, PDF through WeasyPrint with CJK fonts.

The template shows the summary by stage and code, each failed item with its reasons, the
warnings, what could not be checked automatically, tool versions, time and operator — the same
report object the JSON comes from, so the two never disagree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lantai.checks.model import PROPERTIES_ZH, STAGES_ZH, Status
from lantai.checks.registry import load_registry
from lantai.checks.report import STATUS_KEYS, CheckReport
from lantai.errors import BadInput

TEMPLATES = Path(__file__).with_name("templates")
STATUS_ZH = {"pass": "通过", "fail": "不通过", "warn": "警告", "not_applicable": "不适用", "unscanned": "未扫描"}


def _context(report: CheckReport) -> dict[str, Any]:
    registry = load_registry()
    summary = report.summary()
    rows = []
    for target in registry.targets_for(report.stage):
        counts = summary["by_code"].get(target.code, dict.fromkeys(STATUS_KEYS, 0))
        rows.append({"code": target.code, "title": target.zh, "property": PROPERTIES_ZH[target.property],
                     "counts": counts})
    failed = [item for item in report.items if item.failed]
    warned = [(item, r) for item in report.items for r in item.results if r.status == Status.WARN][:500]
    manual = sorted({(r.code, r.message) for item in report.items for r in item.results
                     if r.details.get("reason") == "not_automatable"})
    meta = {"tools": {}, "operator": "", "generated_at": "", **report.meta}
    return {"report": report, "summary": summary, "meta": meta, "stage_zh": STAGES_ZH.get(report.stage, report.stage),
            "code_rows": rows, "failed_items": failed, "warned_items": warned, "manual": manual,
            "status_zh": STATUS_ZH}


def render_html(report: CheckReport) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("report.html").render(**_context(report))


def render_pdf(report: CheckReport) -> bytes:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_html(report), base_url=str(TEMPLATES)).write_pdf()


def write_report(report: CheckReport, target: Path) -> Path:
    """Write ``.html``, ``.pdf`` or ``.json`` by the target's suffix."""
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        target.write_text(render_html(report), encoding="utf-8")
    elif suffix == ".pdf":
        target.write_bytes(render_pdf(report))
    elif suffix == ".json":
        target.write_bytes(report.to_json())
    else:
        raise BadInput(f"报告格式须为 .pdf、.html 或 .json: {target}", f"report must be .pdf, .html or .json: {target}")
    return target
