"""The 电子档案移交与接收登记表, written as XLSX (read back by the receiver) and PDF (for people).

Fields follow STANDARDS §2.4: 单位名称, 移交时间, 门类, totals in 卷/件/张/分钟/字节, 移交方式,
the six check results, 说明. 字节数 counts the files under ``电子档案/`` — what is on the carrier,
so the receiver can check it before opening a single package. The XLSX is one two-column sheet
(字段, 内容) so a person can read it and :func:`read_register` can parse it without guessing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field, fields
from pathlib import Path

from lantai.domain.cells import plain_cell, safe_row
from lantai.errors import PackageError, StorageError
from lantai.packages.catalogue import FONT_STACK

SHEET = "移交登记表"
CHECK_NAMES = ("载体外观检测", "病毒检测", "真实性检测", "可靠性检测", "完整性检测", "可用性检测")


@dataclass
class TransferRegister:
    unit_name: str
    transfer_id: str
    transferred_at: str
    category: str = "文书"
    fonds_code: str = ""
    year: str = ""
    items: int = 0
    bytes: int = 0
    volumes: int = 0
    method: str = "离线移交（存储介质）"
    checks: dict[str, str] = field(default_factory=dict)
    remarks: str = ""

    def rows(self) -> list[tuple[str, str]]:
        rows = [("单位名称", self.unit_name), ("移交标识", self.transfer_id), ("移交时间", self.transferred_at),
                ("归档电子文件门类", self.category), ("全宗号", self.fonds_code), ("年度", self.year),
                ("卷数", str(self.volumes)), ("件数", str(self.items)), ("张数", ""), ("分钟数", ""),
                ("字节数", str(self.bytes)), ("移交方式", self.method)]
        rows += [(name, self.checks.get(name, "")) for name in CHECK_NAMES]
        rows += [("说明", self.remarks), ("移交单位（签章）", ""), ("接收单位（签章）", "")]
        return rows

    def to_dict(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def write_register(register: TransferRegister, xlsx: Path, pdf: Path) -> None:
    _write_xlsx(register, xlsx)
    _write_pdf(register, pdf)


def _write_xlsx(register: TransferRegister, target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(["字段", "内容"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for name, value in register.rows():
        sheet.append(safe_row([name, value]))
    sheet.column_dimensions["A"].width = 20
    sheet.column_dimensions["B"].width = 70
    for row in sheet.iter_rows(min_row=2):
        row[1].alignment = Alignment(wrap_text=True, vertical="top")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        workbook.save(target)
    except OSError as exc:
        raise StorageError(f"无法写入 {target}: {exc}", f"cannot write {target}: {exc}") from exc


_CSS = """
@page { size: A4 portrait; margin: 20mm 18mm; }
body { font-family: %(fonts)s; font-size: 11pt; }
h1 { text-align: center; font-size: 18pt; margin-bottom: 6mm; }
table { width: 100%%; border-collapse: collapse; }
th, td { border: 0.6pt solid #000; padding: 2mm; vertical-align: top; }
th { width: 28%%; background: #eee; text-align: left; }
"""


def register_html(register: TransferRegister) -> str:

    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in register.rows())
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CSS % {"fonts": FONT_STACK}}'
            f"</style></head><body><h1>电子档案移交与接收登记表</h1><table>{body}</table></body></html>")


def _write_pdf(register: TransferRegister, target: Path) -> None:
    from weasyprint import HTML

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        HTML(string=register_html(register)).write_pdf(target)
    except OSError as exc:
        raise StorageError(f"无法写入 {target}: {exc}", f"cannot write {target}: {exc}") from exc


def read_register(path: Path) -> TransferRegister:
    """Parse the XLSX the sender wrote; PackageError when it is missing or unreadable."""
    values = _read_rows(path)
    try:
        return TransferRegister(
            unit_name=values.get("单位名称", ""), transfer_id=values.get("移交标识", ""),
            transferred_at=values.get("移交时间", ""), category=values.get("归档电子文件门类", ""),
            fonds_code=values.get("全宗号", ""), year=values.get("年度", ""),
            items=int(values["件数"]), bytes=int(values["字节数"]), volumes=int(values.get("卷数") or 0),
            method=values.get("移交方式", ""), checks={k: values.get(k, "") for k in CHECK_NAMES},
            remarks=values.get("说明", ""))
    except (KeyError, ValueError) as exc:
        raise PackageError(f"移交登记表缺少或无效的 件数/字节数：{exc}",
                           f"transfer register: missing or invalid 件数/字节数: {exc}") from exc


def _read_rows(path: Path) -> dict[str, str]:
    from openpyxl import load_workbook

    if not path.is_file():
        raise PackageError(f"缺少移交登记表 {path.name}", f"transfer register {path.name} is missing")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise PackageError(f"移交登记表无法读取：{exc}", f"transfer register unreadable: {exc}") from exc
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.active
        values = {}
        for row in sheet.iter_rows(min_row=2, max_col=2, values_only=True):
            if row and row[0] is not None:
                values[str(row[0]).strip()] = "" if row[1] is None else plain_cell(str(row[1]).strip())
        return values
    finally:
        workbook.close()
