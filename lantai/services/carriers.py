"""Offline carriers (离线/异质备份): export volumes to burn or copy, verify them, register them.

``export_carrier`` writes a year (or the whole archive) as volumes of a given capacity — one per
archival disc (DA/T 38) or disk (DA/T 75) — each with its description, machine-readable catalogue
(XML and XLSX), an EEP per item and an SM3 manifest (:mod:`lantai.packages.carrier`). Every stored
file is re-digested against the store's SM3 as it is copied out, and every package is verified
before it is placed, so a damaged item never reaches a carrier under the archive's signature.

``verify`` needs no archive; when one is at hand, a check of a registered carrier is recorded
(its last check, result and next due date) and journalled. ``register`` and ``carriers`` keep the
register the periodic read check works from (``lantai carrier list --due``).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.carriers import Carrier, CarrierCheck
from lantai.catalog.models import Item
from lantai.crypto.digests import digest_file
from lantai.domain import carriers as rules
from lantai.domain.clock import beijing_now
from lantai.domain.findings import errors
from lantai.errors import BadInput, Conflict, IntegrityError, NotFound
from lantai.packages import carrier as layout
from lantai.packages.catalogue import CatalogueEntry
from lantai.packages.eep import Signer, build_eep, verify_eep
from lantai.services.keys import keystore
from lantai.services.transfer import write_item_sip

if TYPE_CHECKING:
    from lantai.services.archive import Archive

Progress = Callable[[int], None]


@dataclass
class CarrierExport:
    export_id: str
    output: str
    label: str
    volumes: list[dict[str, Any]] = field(default_factory=list)
    items: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"export_id": self.export_id, "output": self.output, "label": self.label, "volumes": self.volumes,
                "items": self.items, "bytes": self.bytes, "seconds": self.seconds}


def export_carrier(archive: Archive, output: Path, *, volume_size: int, year: int | None = None,
                   fonds: str | None = None, kind: str = "光盘", actor: str = "system",
                   on_total: Callable[[int], None] | None = None, progress: Progress | None = None) -> CarrierExport:
    """Write the selection as volumes under the new directory ``output``; removed again on failure."""
    rules.check_kind(kind)
    rows = _select(archive, year, fonds)
    target = _new_directory(output)
    started = time.perf_counter()
    export_id = uuid.uuid4().hex
    label = f"{year or '全部'}{'-' + fonds if fonds else ''}-{export_id[:8]}"
    result = CarrierExport(export_id, str(target), label)
    if on_total:
        on_total(len(rows))
    try:
        volumes = _write_packages(archive, rows, target, label, volume_size, kind, str(year or "全部"), progress)
        signer_certs = Signer.from_keystore(keystore(archive.settings)).certificates
        for info in volumes:
            info.count = len(volumes)
            directory = target / layout.volume_name(label, info.index)
            digest = layout.write_volume_files(directory, info, signer_certs)
            result.volumes.append({"directory": str(directory), "number": info.number, "items": len(info.items),
                                   "bytes": info.bytes, "manifest_sm3": digest})
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    result.items = sum(v["items"] for v in result.volumes)
    result.bytes = sum(v["bytes"] for v in result.volumes)
    result.seconds = round(time.perf_counter() - started, 3)
    archive.audit.append(actor, "carrier.exported", export_id, {
        "year": year, "fonds": fonds, "kind": kind, "volume_size": volume_size, "items": result.items,
        "bytes": result.bytes, "output": str(target),
        "volumes": [{k: v[k] for k in ("number", "items", "bytes", "manifest_sm3")} for v in result.volumes]})
    return result


def _select(archive: Archive, year: int | None, fonds: str | None) -> list[Item]:
    with archive.session() as session:
        query = select(Item)
        if year is not None:
            query = query.where(Item.year == year)
        if fonds:
            query = query.where(Item.fonds_code == fonds)
        rows = list(session.scalars(query.order_by(Item.archival_code, Item.record_id)))
        session.expunge_all()
    if not rows:
        raise NotFound(f"没有可导出的电子档案（年度 {year or '全部'}）", f"nothing to export (year {year or 'all'})")
    return rows


def _new_directory(output: Path) -> Path:
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise BadInput(f"输出目录 {output} 已存在且不为空", f"output directory {output} exists and is not empty")
    output.mkdir(parents=True, exist_ok=True)
    return output


def _write_packages(archive: Archive, rows: list[Item], target: Path, label: str, volume_size: int, kind: str,
                    year: str, progress: Progress | None) -> list[layout.VolumeInfo]:
    """Build, verify and place each item's package, opening a new volume whenever the next would not fit."""
    store = keystore(archive.settings)
    signer = Signer.from_keystore(store)
    capacity = volume_size - layout.OVERHEAD_BYTES
    volumes: list[layout.VolumeInfo] = []
    work = Path(tempfile.mkdtemp(prefix=".carrier-", dir=archive.settings.staging_dir))
    try:
        for row in rows:
            package = _package(archive, row, work, signer, store)
            size = package.stat().st_size
            if size > capacity:
                raise BadInput(f"{row.record_id} 的封装包 {size} 字节，超过单卷可用容量 {capacity} 字节",
                               f"the package of {row.record_id} ({size} bytes) exceeds a volume ({capacity} bytes)")
            if not volumes or volumes[-1].bytes + size > capacity:
                volumes.append(_new_volume(archive, label, len(volumes) + 1, kind, year))
            _place(volumes[-1], target, package, row, size)
            if progress:
                progress(size)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return volumes


def _package(archive: Archive, row: Item, work: Path, signer: Signer, store: Any) -> Path:
    sip = work / "sip"
    shutil.rmtree(sip, ignore_errors=True)
    write_item_sip(archive.store, row.record_id, sip)  # SM3 of every stored file checked as it is copied
    package = work / "item.eep"
    package.unlink(missing_ok=True)
    build_eep(sip, package, signer)
    problems = errors(verify_eep(package, store))
    if problems:
        raise IntegrityError(f"{row.record_id} 的封装包自检未通过：{problems[0].message}",
                             f"{row.record_id}: package failed its own verification", findings=problems)
    return package


def _new_volume(archive: Archive, label: str, index: int, kind: str, year: str) -> layout.VolumeInfo:
    return layout.VolumeInfo(label=label, number=f"{label}-{index:02d}", archive=archive.settings.archive_name,
                             kind_hint=f"{kind}（{rules.KINDS[kind]}）", year=year, index=index, count=0)


def _place(volume: layout.VolumeInfo, target: Path, package: Path, row: Item, size: int) -> None:
    relative = layout.package_path(row.year, row.category, row.archival_code or row.record_id, row.record_id)
    destination = target / layout.volume_name(volume.label, volume.index) / relative
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(package, destination)
    entry = CatalogueEntry(sequence=len(volume.items) + 1, archival_code=row.archival_code or row.record_id,
                           document_number=row.document_number or "", author=row.author or "", title=row.title or "",
                           date=row.date or "", security=row.security_classification or "", file_name=relative,
                           remarks="" if row.archival_code else "尚未编制档号，以电子文件号代替")
    sm3 = digest_file(destination, ("sm3",))[0]["sm3"]
    volume.items.append(layout.VolumeItem(row.record_id, relative, size, sm3, entry))


# -- verify, register, list ------------------------------------------------------------------------

def verify_carrier(path: Path, archive: Archive | None = None, *, actor: str = "system") -> dict[str, Any]:
    """Check a carrier from its own files; with an archive, record the check of each registered volume."""
    if not path.exists():
        raise BadInput(f"载体目录不存在: {path}", f"no such carrier directory: {path}")
    report = layout.verify_carrier(path)
    recorded: list[str] = []
    if archive is not None:
        _compare_with_register(archive, report)
        recorded = _record_checks(archive, report, actor)
        archive.audit.append(actor, "carrier.verified", str(path), {
            "ok": report.ok, "files": report.files, "packages": report.packages,
            "volumes": [v["number"] for v in report.volumes], "problems": report.problems[:100]})
    return {**report.to_dict(), "recorded": recorded}


def _compare_with_register(archive: Archive, report: layout.CarrierReport) -> None:
    """A registered volume must carry the manifest it was registered with: a carrier whose manifest and
    description were both rewritten still disagrees with the SM3 the archive kept."""
    with archive.sessions() as session:
        registered = dict(session.execute(select(Carrier.number, Carrier.manifest_sm3)).tuples().all())
    for volume in report.volumes:
        kept = registered.get(volume["number"])
        if kept and volume["manifest_sm3"] and kept != volume["manifest_sm3"]:
            report.add(volume["volume"], layout.MANIFEST, "register",
                       f"清单 SM3 与登记时不同（登记 {kept}，载体 {volume['manifest_sm3']}）",
                       "the manifest differs from the one registered for this carrier")


def _record_checks(archive: Archive, report: layout.CarrierReport, actor: str) -> list[str]:
    today = beijing_now().date()
    recorded = []
    with archive.session() as session:
        for volume in report.volumes:
            carrier = session.scalar(select(Carrier).where(Carrier.number == volume["number"])) if volume["number"] else None
            if carrier is None:
                continue
            problems = [p for p in report.problems if p["volume"] == volume["volume"]]
            carrier.last_checked, carrier.last_check_ok = today, not problems
            carrier.next_check_due = rules.next_check_due(today, carrier.check_interval_days)
            session.add(CarrierCheck(carrier_id=carrier.id, ok=not problems, files=report.files,
                                     problems=len(problems), actor=actor))
            recorded.append(carrier.number)
    return recorded


def register_carrier(archive: Archive, number: str, *, kind: str, location: str, written_on: dt.date | None = None,
                     interval_days: int = rules.DEFAULT_CHECK_INTERVAL_DAYS, volume: Path | None = None,
                     note: str = "", actor: str = "system") -> dict[str, Any]:
    """Add a carrier to the register; ``volume`` (its directory) fills label, manifest SM3 and counts."""
    number = (number or "").strip()
    if not number or len(number) > 64:
        raise BadInput("载体编号不能为空，且不超过 64 个字符", "the carrier number must be 1–64 characters")
    rules.check_kind(kind)
    rules.check_location(location)
    written = written_on or beijing_now().date()
    facts = _volume_facts(volume) if volume is not None else {}
    with archive.session() as session:
        if session.scalar(select(Carrier.id).where(Carrier.number == number)) is not None:
            raise Conflict(f"载体编号 {number} 已登记", f"carrier {number} is already registered")
        carrier = Carrier(number=number, kind=kind, location=location, written_on=written,
                          check_interval_days=interval_days, next_check_due=rules.next_check_due(written, interval_days),
                          note=note, registered_by=actor, **facts)
        session.add(carrier)
        session.flush()
        row = _row(carrier, beijing_now().date())
        archive.audit.append(actor, "carrier.registered", number, row, session=session)
    return row


def _volume_facts(volume: Path) -> dict[str, Any]:
    fields = layout.read_description(volume)
    if not fields:
        raise BadInput(f"{volume} 不是载体卷（缺少 {layout.DESCRIPTION}）", f"{volume} is not a carrier volume")
    counts = fields.get("件数", "0").split()[0]
    size = fields.get("字节数", "0").split("（")[0]
    return {"volume_label": fields.get("卷标", "")[:128], "manifest_sm3": fields.get("清单SM3", "")[:64],
            "items": int(counts) if counts.isdigit() else 0, "bytes": int(size) if size.isdigit() else 0}


def list_carriers(archive: Archive, *, due_only: bool = False, as_of: dt.date | None = None) -> list[dict[str, Any]]:
    """The register, soonest check first; ``due_only`` keeps those due on ``as_of`` (today, Beijing)."""
    today = as_of or beijing_now().date()
    with archive.sessions() as session:
        rows = [_row(c, today) for c in session.scalars(select(Carrier).order_by(Carrier.next_check_due, Carrier.number))]
    return [r for r in rows if r["due"]] if due_only else rows


def _row(carrier: Carrier, today: dt.date) -> dict[str, Any]:
    return {"number": carrier.number, "kind": carrier.kind, "location": carrier.location,
            "written_on": carrier.written_on.isoformat(), "check_interval_days": carrier.check_interval_days,
            "next_check_due": carrier.next_check_due.isoformat(),
            "last_checked": carrier.last_checked.isoformat() if carrier.last_checked else None,
            "last_check_ok": carrier.last_check_ok, "volume_label": carrier.volume_label,
            "manifest_sm3": carrier.manifest_sm3, "items": carrier.items, "bytes": carrier.bytes, "note": carrier.note,
            "due": rules.is_due(carrier.next_check_due, today)}
