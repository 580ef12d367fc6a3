"""移交与接收登记表 for people: the transfers this archive sent (``transfers/out``) and received
(``transfers/in``), each printable as the 电子档案移交与接收登记表 in XLSX and PDF.

The carrier's own register (read back by the receiver) is left as it is; these downloads are
written with the printed-table writer (:mod:`lantai.packages.tables`: A4 landscape, one page wide,
宋体). A transfer is listed only when the caller may see every item it names (the register's
totals would otherwise tell of items above the caller's clearance).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lantai.catalog.models import Item
from lantai.domain.labels import finding_code
from lantai.domain.roles import Permission
from lantai.errors import BadInput, LantaiError, NotFound
from lantai.packages import tables
from lantai.packages.transfer.receipt import read_receipt
from lantai.services.access import require
from lantai.services.archive import Archive
from lantai.services.users import Principal
from lantai.services.visibility import visible_record_ids

HEADING = "电子档案移交与接收登记表"
COLUMNS = ("项目", "内容")
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_ID = re.compile(r"^[0-9A-Za-z_.-]{1,80}$")


def _dir(archive: Archive, direction: str) -> Path:
    return archive.home / "transfers" / direction


def _visible(archive: Archive, principal: Principal, record_ids: set[str]) -> bool:

    with archive.sessions() as session:
        return visible_record_ids(session, principal, record_ids) >= {r for r in record_ids if _known(session, r)}


def _known(session: Any, record_id: str) -> bool:
    """Whether the item is in this catalogue at all (a received-and-refused one is not)."""
    from sqlalchemy import select


    return session.scalar(select(Item.id).where(Item.record_id == record_id)) is not None


def _sent(archive: Archive) -> list[dict[str, Any]]:
    records = []
    for path in sorted(_dir(archive, "out").glob("*.json")):
        try:
            records.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return records


def _received(archive: Archive) -> list[tuple[str, Any]]:

    receipts = []
    for path in sorted(_dir(archive, "in").glob("*-回执.xml")):
        try:
            receipt, _findings = read_receipt(path, None)
        except (LantaiError, OSError, ValueError):
            continue
        receipts.append((path.name.removesuffix("-回执.xml"), receipt))
    return receipts


def list_transfers(archive: Archive, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """移交 (sent) and 接收 (received) transfers the caller may see, newest first."""
    require(principal, Permission.EXPORT)
    sent = [{"id": r["transfer_id"], "year": r.get("year"), "fonds": r.get("fonds") or "", "time": r.get("exported_at", ""),
             "items": len(r.get("items") or []), "bytes": r.get("bytes", 0)}
            for r in _sent(archive) if _visible(archive, principal, {i["record_id"] for i in r.get("items") or []})]
    received = [{"id": key, "sender": receipt.sender, "time": receipt.received_at, "conclusion": receipt.conclusion,
                 "items": len(receipt.items), "received": sum(1 for i in receipt.items if i.received)}
                for key, receipt in _received(archive)
                if _visible(archive, principal, {i.record_id for i in receipt.items})]
    return {"sent": sorted(sent, key=lambda r: r["time"], reverse=True),
            "received": sorted(received, key=lambda r: r["time"], reverse=True)}


def register_rows(archive: Archive, principal: Principal, direction: str, transfer_id: str) -> tuple[list[tuple[str, str]], str]:
    """The 登记表 of one transfer as (项目, 内容) rows, and a name for the file."""
    require(principal, Permission.EXPORT)
    if not _ID.match(transfer_id or ""):
        raise BadInput("移交标识无效", "invalid transfer id", transfer_id=transfer_id)
    missing = NotFound(f"移交 {transfer_id} 不存在", f"no transfer {transfer_id}")
    if direction == "out":
        from lantai.packages.transfer.register import TransferRegister

        record = next((r for r in _sent(archive) if r.get("transfer_id") == transfer_id), None)
        if record is None or not _visible(archive, principal, {i["record_id"] for i in record.get("items") or []}):
            raise missing
        return TransferRegister(**record["register"]).rows(), f"移交登记表-{transfer_id[:12]}"
    if direction == "in":
        receipt = next((r for key, r in _received(archive) if key == transfer_id), None)
        if receipt is None or not _visible(archive, principal, {i.record_id for i in receipt.items}):
            raise missing
        counts = receipt.counts()
        rows = [("单位名称（移交单位）", receipt.sender), ("移交标识", receipt.transfer_id), ("接收单位", receipt.receiver),
                ("接收时间", receipt.received_at), ("件数", str(len(receipt.items))),
                ("接收件数", str(counts.get("接收", 0))), ("重复件数", str(counts.get("重复", 0))),
                ("拒收件数", str(counts.get("拒收", 0))), ("接收结论", receipt.conclusion)]
        rows += [(f"检测：{finding_code(c.get('code', '')) or c.get('code', '')}", f"{c.get('result', '')}　{c.get('message', '')}")
                 for c in receipt.checks]
        rows += [("清单 SM3", receipt.manifest_sm3), ("移交单位（签章）", ""), ("接收单位（签章）", "")]
        return rows, f"接收登记表-{transfer_id[:12]}"
    raise BadInput("方向须为 out（移交）或 in（接收）", "direction must be out or in", direction=direction)


def register_download(archive: Archive, principal: Principal, direction: str, transfer_id: str,
                      fmt: str) -> tuple[Path, str]:
    """The 登记表 written to a temporary directory; audited. The caller removes ``file.parent``."""

    if fmt not in MEDIA_TYPES:
        raise BadInput("登记表只能导出为 xlsx 或 pdf", "the register exports as xlsx or pdf", format=fmt)
    rows, name = register_rows(archive, principal, direction, transfer_id)
    workdir = Path(tempfile.mkdtemp(prefix="transfer-register-", dir=archive.settings.staging_dir))
    target = workdir / f"{name}.{fmt}"
    summary = [f"{archive.settings.archive_name}；导出人 {principal.username}"]
    try:
        if fmt == "xlsx":
            tables.write_xlsx(rows, COLUMNS, HEADING, summary, target, sheet_title="移交与接收登记表",
                              widths=(28, 100), wrap=(1,))
        else:
            tables.write_pdf(rows, COLUMNS, HEADING, summary, target)
        archive.audit.append(principal.username, "transfer.register_exported", transfer_id,
                             {"direction": direction, "format": fmt, "via": principal.via})
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return target, MEDIA_TYPES[fmt]
