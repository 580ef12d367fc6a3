"""The human 四性检测报告 as an archivist signs it: HTML (PDF through WeasyPrint) and XLSX.

Everything shown comes from the recorded :class:`CheckReport` plus a :class:`ReportHeader` the
caller fills from the archive (organisation, batch, register figures, 审核人): the JSON, the PDF
and the XLSX never disagree. Batch-level results (totals against the register, the audit chain)
are shown once, not under every item; targets that include a check DA/T 70 leaves to people are
待人工确认 with room for the verdict, never counted as passed; times are 北京时间.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.model import PROPERTIES_ZH, STAGES_ZH, ItemReport, Result, Status
from lantai.checks.registry import load_registry
from lantai.checks.report import STATUS_KEYS, CheckReport
from lantai.domain.clock import in_beijing
from lantai.errors import BadInput

TEMPLATES = Path(__file__).with_name("templates")
STATUS_ZH = {"pass": "通过", "fail": "不通过", "warn": "警告", "not_applicable": "不适用", "unscanned": "未扫描",
             "manual": "待人工确认"}
# Run-level checks whose result is the same for every item of a batch: reported once per batch.
BATCH_CHECKS = frozenset({"totals_match_register", "process_secure", "backups_restorable"})
MANUAL_VERDICT = "□ 符合　□ 不符合　确认人：________　日期：________"


@dataclass
class ReportHeader:
    """What the archive knows about the checked items, for the report's first page."""

    organisation: str = ""
    unit_name: str = ""
    batch: str = ""
    register: dict[str, Any] = field(default_factory=dict)  # declared_items/bytes, actual_items/bytes
    reviewer: str = ""  # 审核人 when known; otherwise a blank line to sign
    # Recorded verdicts on the targets left to people: code → {verdict, verdict_zh, note, confirmed_by, confirmed_at}
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)


def beijing_time(value: Any) -> str:
    """``2025年12月31日 10:00`` in 北京时间 from an ISO string or datetime (naive means UTC)."""
    if not value:
        return ""
    moment = value
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    local = in_beijing(moment)
    return f"{local.year}年{local.month:02d}月{local.day:02d}日 {local:%H:%M}"


def _is_manual(result: Result) -> bool:
    return result.details.get("reason") == "not_automatable"


def item_results(item: ItemReport) -> list[Result]:
    """The item's own results: without the batch-level ones and the manual placeholders."""
    return [r for r in item.results if r.check not in BATCH_CHECKS and not _is_manual(r)]


def batch_results(report: CheckReport) -> list[dict[str, Any]]:
    """Batch-level results once: the run's own (the transfer carrier), then the run-level checks'
    identical (code, rule, status, message) rows merged with their item count."""
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for item in report.items:
        for r in item.results:
            if r.check in BATCH_CHECKS:
                key = (r.code, r.rule, r.status, r.message)
                row = merged.setdefault(key, {"code": r.code, "rule": r.rule or r.code, "status": r.status,
                                              "message": r.message, "message_en": r.message_en, "items": 0})
                row["items"] += 1
    rows = [{"code": r.code, "rule": r.rule or r.code, "status": r.status, "message": r.message,
             "message_en": r.message_en, "items": len(report.items)} for r in report.batch]
    return rows + sorted(merged.values(), key=lambda r: (r["code"], r["status"] != "fail"))


def code_status(item: ItemReport, verdicts: dict[str, dict[str, Any]] | None = None) -> dict[str, str]:
    """Status per code for one item; a code with a manual part is 待人工确认 unless it already failed
    or a person recorded a verdict (符合 → its automated status stands, 不符合 → fail)."""
    statuses = item.status_by_code()
    manual = {r.code for r in item.results if _is_manual(r)}
    for code in manual:
        if statuses.get(code) in (Status.FAIL, Status.UNSCANNED):
            continue
        verdict = (verdicts or {}).get(code, {}).get("verdict")
        if verdict == "nonconforming":
            statuses[code] = str(Status.FAIL)
        elif verdict == "conforms":
            statuses[code] = str(Status.PASS)
        else:
            statuses[code] = "manual"
    return statuses


def code_rows(report: CheckReport, verdicts: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    registry = load_registry()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys((*STATUS_KEYS, "manual"), 0))
    for item in report.items:
        for code, status in code_status(item, verdicts).items():
            counts[code][status] += 1
    return [{"code": t.code, "title": t.zh, "property": PROPERTIES_ZH[t.property], "property_key": t.property,
             "counts": counts[t.code]} for t in registry.targets_for(report.stage)]


def property_rows(report: CheckReport, verdicts: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per property: items that passed every automated check of it, items that failed, codes left to people."""
    registry = load_registry()
    codes = defaultdict(list)
    for target in registry.targets_for(report.stage):
        codes[target.property].append(target.code)
    rows = []
    for prop, prop_codes in codes.items():
        failed = passed = 0
        manual: set[str] = set()
        for item in report.items:
            statuses = code_status(item, verdicts)
            if any(statuses.get(c) in (Status.FAIL, Status.UNSCANNED) for c in prop_codes):
                failed += 1
            else:
                passed += 1
            manual.update(c for c in prop_codes if statuses.get(c) == "manual")
        rows.append({"property": PROPERTIES_ZH[prop], "codes": len(prop_codes), "passed": passed, "failed": failed,
                     "manual": sorted(manual)})
    return rows


def manual_rows(report: CheckReport, verdicts: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Each target the standard leaves to people, once: the recorded verdict with who gave it and
    when, or where the verdict is to be written."""
    registry = load_registry()
    titles = {t.code: t.zh for t in registry.targets_for(report.stage)}
    seen: dict[str, dict[str, Any]] = {}
    for item in report.items:
        for r in item.results:
            if _is_manual(r) and r.code not in seen:
                seen[r.code] = {"code": r.code, "title": titles.get(r.code, ""), "check": registry.checks[r.check].zh
                                if r.check in registry.checks else r.check, "message": r.message,
                                "verdict": _verdict_text((verdicts or {}).get(r.code)),
                                "recorded": (verdicts or {}).get(r.code)}
    return [seen[c] for c in sorted(seen)]


def _verdict_text(verdict: dict[str, Any] | None) -> str:
    if not verdict:
        return MANUAL_VERDICT
    note = f"；{verdict['note']}" if verdict.get("note") else ""
    return (f"{verdict['verdict_zh']}（确认人：{verdict['confirmed_by']}，"
            f"{beijing_time(verdict['confirmed_at'])}{note}）")


def conclusion(report: CheckReport, manual: list[dict[str, Any]], batch: list[dict[str, Any]]) -> str:
    """The 检测结论 paragraph, from the recorded results only."""
    summary = report.summary()
    total, failed = summary["items"], summary["failed"]
    reasons: dict[str, int] = defaultdict(int)
    for item in report.items:
        for code in sorted({r.code for r in item_results(item) if r.status in (Status.FAIL, Status.UNSCANNED)}):
            reasons[code] += 1
    titles = {t.code: t.zh for t in load_registry().targets_for(report.stage)}
    parts = [f"本次对{STAGES_ZH.get(report.stage, report.stage)}环节的电子档案共 {total} 件进行了四性检测，"
             f"自动检测项目全部通过 {total - failed} 件，未通过 {failed} 件。"]
    if reasons:
        top = sorted(reasons.items(), key=lambda kv: -kv[1])[:5]
        parts.append("未通过的主要项目：" + "；".join(f"{c} {titles.get(c, '')}（{n} 件）" for c, n in top) + "。")
    bad_batch = [b for b in batch if b["status"] in (Status.FAIL, Status.UNSCANNED)]
    if bad_batch:
        parts.append("批次级检测未通过：" + "；".join(f"{b['rule']} {b['message']}" for b in bad_batch[:3]) + "。")
    pending = [m for m in manual if not m.get("recorded")]
    rejected = [m for m in manual if (m.get("recorded") or {}).get("verdict") == "nonconforming"]
    confirmed = [m for m in manual if m.get("recorded") and m not in rejected]
    if confirmed:
        parts.append("经人工确认符合：" + "、".join(f"{m['code']} {m['title']}（{m['recorded']['confirmed_by']}）"
                                           for m in confirmed) + "。")
    if rejected:
        parts.append("经人工确认不符合：" + "、".join(f"{m['code']} {m['title']}（{m['recorded']['confirmed_by']}）"
                                            for m in rejected) + "。")
    if pending:
        parts.append("以下项目须人工确认后方可形成最终结论：" + "、".join(f"{m['code']} {m['title']}" for m in pending) + "。")
    if failed or bad_batch or rejected:
        parts.append("结论：本批电子档案四性检测不合格，未通过的条目应退回整改后重新检测。")
    elif pending:
        parts.append("结论：自动检测项目全部合格；待人工确认项目确认符合后，本批电子档案四性检测合格。")
    else:
        parts.append("结论：本批电子档案四性检测合格。")
    return "".join(parts)


def _context(report: CheckReport, header: ReportHeader | None = None) -> dict[str, Any]:
    header = header or ReportHeader()
    summary = report.summary()
    failed = [(item, [r for r in item_results(item) if r.status in (Status.FAIL, Status.UNSCANNED)])
              for item in report.items]
    failed = [(item, rows) for item, rows in failed if rows]
    warned = [(item, r) for item in report.items for r in item_results(item) if r.status == Status.WARN][:500]
    batch = batch_results(report)
    manual = manual_rows(report, header.verdicts)
    meta = {"tools": {}, "operator": "", "generated_at": "", **report.meta}
    return {"report": report, "summary": summary, "meta": meta, "header": header,
            "stage_zh": STAGES_ZH.get(report.stage, report.stage), "checked_at": beijing_time(meta["generated_at"]),
            "code_rows": code_rows(report, header.verdicts), "property_rows": property_rows(report, header.verdicts),
            "failed_items": failed,
            "warned_items": warned, "batch_rows": batch, "manual": manual, "status_zh": STATUS_ZH,
            "conclusion": conclusion(report, manual, batch), "register_lines": register_lines(header.register)}


def render_html(report: CheckReport, header: ReportHeader | None = None) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("report.html").render(**_context(report, header))


def render_pdf(report: CheckReport, header: ReportHeader | None = None) -> bytes:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=render_html(report, header), base_url=str(TEMPLATES)).write_pdf()


def render_xlsx(report: CheckReport, header: ReportHeader | None = None) -> bytes:
    """The same report as a workbook: 概况 (with the conclusion and signature lines), per-property
    and per-code summaries, batch-level results, failures, warnings and the manual items with a
    column for the verdict."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    ctx = _context(report, header)
    book = Workbook()
    sheet = book.active
    sheet.title = "检测概况"
    for row in _overview_rows(ctx):
        sheet.append(list(row))
    sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width = 18, 90
    for cells in sheet.iter_rows():
        cells[0].font = Font(bold=True)
        cells[-1].alignment = Alignment(wrap_text=True, vertical="top")
    _table(book, "按性质汇总", ["性质", "检测项数", "通过件数", "未通过件数", "待人工确认项"],
           [[r["property"], r["codes"], r["passed"], r["failed"], "、".join(r["manual"])] for r in ctx["property_rows"]])
    _table(book, "检测项目汇总", ["编号", "检测项目", "性质", "通过", "不通过", "警告", "未扫描", "不适用", "待人工确认"],
           [[r["code"], r["title"], r["property"], *(r["counts"][k] for k in (*STATUS_KEYS, "manual"))]
            for r in ctx["code_rows"]])
    _table(book, "批次级检测", ["规则", "结果", "说明", "涉及件数"],
           [[b["rule"], STATUS_ZH[b["status"]], b["message"], b["items"]] for b in ctx["batch_rows"]])
    _table(book, "未通过明细", ["电子文件号", "来源", "规则", "结果", "文件", "原因"],
           [[item.id, item.path, r.rule or r.code, STATUS_ZH[r.status], r.file or "", r.message]
            for item, rows in ctx["failed_items"] for r in rows])
    _table(book, "警告", ["电子文件号", "规则", "说明"],
           [[item.id, r.rule or r.code, r.message] for item, r in ctx["warned_items"]])
    _table(book, "人工确认", ["编号", "检测项目", "检测内容", "说明", "确认人", "确认时间", "备注", "人工确认结论"],
           [[m["code"], m["title"], m["check"], m["message"], *_recorded_cells(m.get("recorded"))]
            for m in ctx["manual"]])
    for sheet in book.worksheets:
        _printed(sheet)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _printed(sheet: Any) -> None:
    """Every sheet as the printed tables are (:mod:`lantai.packages.tables`): A4 landscape, one page wide,
    the header row repeated, 宋体 named, and the long text columns (说明, 原因) wrapped."""
    from openpyxl.styles import Alignment, Font

    from lantai.packages.tables import CJK_FONT, setup_a4_landscape

    widths = [sheet.column_dimensions[chr(ord("A") + i)].width or 16 for i in range(sheet.max_column)]
    setup_a4_landscape(sheet, widths, header_row=1)
    for row in sheet.iter_rows():
        for cell in row:
            cell.font = Font(name=CJK_FONT, bold=cell.font.bold, size=10)
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def _recorded_cells(verdict: dict[str, Any] | None) -> list[str]:
    if not verdict:
        return ["", "", "", "待人工确认"]
    return [verdict["confirmed_by"], beijing_time(verdict["confirmed_at"]), verdict.get("note", ""), verdict["verdict_zh"]]


def _overview_rows(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    header: ReportHeader = ctx["header"]
    summary, meta = ctx["summary"], ctx["meta"]
    rows = [("报告名称", "电子档案四性检测报告"), ("档案馆（室）", header.organisation), ("立档单位", header.unit_name),
            ("检测批次", header.batch), ("检测环节", f"{ctx['stage_zh']}（{ctx['report'].stage}）"),
            ("检测方案", f"{meta.get('profile_title') or ctx['report'].profile}"),
            ("检测依据", "DA/T 70-2018《文书类电子档案检测一般要求》；GB/T 18894-2016"),
            ("检测时间", f"{ctx['checked_at']}（北京时间）"),
            ("检测对象", f"共 {summary['items']} 件：通过 {summary['passed']} 件，未通过 {summary['failed']} 件")]
    rows += [(label, value) for label, value in register_lines(header.register)]
    rows += [("检测结论", ctx["conclusion"]), ("检测人", f"{meta.get('operator', '')}　　签字：__________　日期：__________"),
             ("审核人", f"{header.reviewer or '__________'}　　签字：__________　日期：__________")]
    return rows


def register_lines(register: dict[str, Any]) -> list[tuple[str, str]]:
    """登记表 figures against what was found, when the batch declared them."""
    if not register:
        return []
    declared_items, declared_bytes = register.get("declared_items"), register.get("declared_bytes")
    return [("登记表件数", f"登记 {declared_items if declared_items is not None else '未登记'} 件，"
                          f"实有 {register.get('actual_items', 0)} 件"),
            ("登记表字节数", f"登记 {declared_bytes if declared_bytes is not None else '未登记'} 字节，"
                            f"实有 {register.get('actual_bytes', 0)} 字节")]


def _table(book: Any, title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font

    sheet = book.create_sheet(title)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for index, _ in enumerate(columns):
        sheet.column_dimensions[chr(ord("A") + index)].width = 16 if index < len(columns) - 1 else 60


def write_report(report: CheckReport, target: Path, header: ReportHeader | None = None) -> Path:
    """Write ``.html``, ``.pdf``, ``.xlsx`` or ``.json`` by the target's suffix."""
    suffix = target.suffix.lower()
    if suffix in (".html", ".htm"):
        target.write_text(render_html(report, header), encoding="utf-8")
    elif suffix == ".pdf":
        target.write_bytes(render_pdf(report, header))
    elif suffix == ".xlsx":
        target.write_bytes(render_xlsx(report, header))
    elif suffix == ".json":
        target.write_bytes(report.to_json())
    else:
        raise BadInput(f"报告格式须为 .pdf、.xlsx、.html 或 .json: {target}",
                       f"report must be .pdf, .xlsx, .html or .json: {target}")
    return target
