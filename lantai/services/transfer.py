"""Moving items out of and into the archive as packages: the 2012 transfer carrier and BagIt.

Transfer (移交), in three steps across two archives::

    sender    export_transfer(year, fonds)  → carrier (EEP per item, 文件目录, 登记表, SM3 manifest)
    receiver  receive_transfer(carrier)     → carrier checks → EEPs verified and extracted →
                                              DA/T 70 yj checks → ingest what passes → signed receipt
    sender    verify_receipt(receipt)       → signature, trust, digests vs what was sent →
                                              received items marked ``transferred`` (new OCFL version)

Nothing is ingested from a carrier that fails its own checks (a missing or extra item, a register
that disagrees, a changed file, a package whose signature fails): the receipt then lists every
item as 拒收 with the reasons. Items transferred out are marked, never deleted, and only once the
receipt verifies; the mark lives in the store (``lantai/transfer.json``) so it survives a rebuild.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.checks.carrier import CARRIER_CODES, carrier_results
from lantai.checks.clamav import CLEAN, INFECTED, scanner_for
from lantai.checks.ingest import ingest_profile_name
from lantai.checks.profiles import load_profile
from lantai.checks.registry import finding, load_registry
from lantai.checks.runner import check_paths
from lantai.crypto.digests import copy_and_digest, digest_file
from lantai.crypto.keystore import Keystore, open_keystore
from lantai.domain.clock import beijing_now
from lantai.domain.findings import Finding, Rule, errors
from lantai.errors import BadInput, FixityMismatch, IntegrityError, LantaiError, NotFound, ValidationFailed
from lantai.packages import bag as bag_package
from lantai.packages.eep import Signer, build_eep, extract_eep, verify_eep
from lantai.packages.transfer import layout
from lantai.packages.transfer.reader import Carrier, check_carrier, read_carrier
from lantai.packages.transfer.receipt import (
    ACCEPTED,
    DUPLICATE,
    REJECTED,
    Receipt,
    ReceiptItem,
    read_receipt,
    write_receipt,
)
from lantai.packages.transfer.register import TransferRegister
from lantai.packages.transfer.writer import ExportedItem, write_carrier
from lantai.services.catalogue import METADATA_PATH, PROCESS_PATH, TRANSFER_PATH
from lantai.services.changes import ItemChange, commit_change
from lantai.services.ingest import ingest_paths
from lantai.services.item_checks import keep_report, record_run
from lantai.storage.ocfl import OcflStore

if TYPE_CHECKING:
    from lantai.services.archive import Archive

TRANSFERRED = "transferred"


def _now() -> str:
    return beijing_now().isoformat()


def _keystore(archive: Archive) -> Keystore:
    return open_keystore(archive.settings.keys_dir, archive.settings.archive_name)


def _records_dir(archive: Archive, direction: str) -> Path:
    path = archive.home / "transfers" / direction
    path.mkdir(parents=True, exist_ok=True)
    return path


def _empty_target(path: Path) -> Path:
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise BadInput(f"输出目录已存在且非空：{path}", f"output directory exists and is not empty: {path}")
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- a stored item back as a SIP --------------------------------------------------------------------

def write_item_sip(store: OcflStore, record_id: str, target: Path, tally: ExportTally | None = None) -> int:
    """Copy the head version of an item out as a SIP directory, checking SM3 fixity as it streams.

    Returns the content bytes. FixityMismatch when a stored file no longer has its recorded SM3:
    a damaged item must not leave the archive under the archive's signature. ``tally`` counts
    the files whose fixity was verified, for the register.
    """
    names = {METADATA_PATH: "元数据.xml", PROCESS_PATH: "过程信息.xml"}
    target.mkdir(parents=True)
    lines, total = [], 0
    for stored in store.files(record_id):
        if stored.logical_path.startswith("content/"):
            name = stored.logical_path[len("content/"):]
        elif stored.logical_path in names:
            name = names[stored.logical_path]
        else:
            continue
        with open(store.content_path(record_id, stored.content_path), "rb") as source:
            digests, size = copy_and_digest(source, target / name, ("sm3",), fsync=False)
        if digests["sm3"] != stored.sm3:
            raise FixityMismatch(f"{record_id} 的文件 {stored.logical_path} SM3 与存储记录不符，不能导出",
                                 f"{record_id}/{stored.logical_path}: SM3 differs from the store's fixity",
                                 record_id=record_id, path=stored.logical_path)
        if tally is not None:
            tally.fixity_files += 1
        if stored.logical_path.startswith("content/"):
            lines.append(f"{stored.sm3}  {name}")
            total += size
    (target / "manifest-sm3.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return total


# -- export ---------------------------------------------------------------------------------------

@dataclass
class ExportTally:
    """What an export actually did, counted as it happened: the register states nothing else."""

    fixity_files: int = 0  # stored files re-digested (SM3) against the store's fixity while copied out
    scanned: int = 0  # files clamd answered for
    infected: list[dict[str, str]] = field(default_factory=list)
    unscanned: list[dict[str, str]] = field(default_factory=list)
    engine: str = ""
    packages_verified: int = 0  # EEPs whose own verification (structure, metadata, SM2 signature) passed

    def to_dict(self) -> dict[str, Any]:
        return {"fixity_files": self.fixity_files, "scanned": self.scanned, "infected": self.infected,
                "unscanned": self.unscanned, "engine": self.engine, "packages_verified": self.packages_verified}


def _scanner(archive: Archive) -> Any:
    """The configured clamd, answering; fails closed (nothing is exported) as ingest does."""

    socket_path = archive.settings.clamd_socket
    if not socket_path:
        raise IntegrityError("未配置病毒检测引擎（LANTAI_CLAMD_SOCKET），不能导出移交载体",
                             "no virus scanner configured (LANTAI_CLAMD_SOCKET); nothing exported")
    virus = load_profile("default", archive.home).section("virus")
    scanner = scanner_for(socket_path, int(virus.get("max_file_bytes", 100 * 1024**2)),
                          float(virus.get("timeout_seconds", 60)))
    ok, reason = scanner.available()
    if not ok:
        raise IntegrityError(f"病毒检测引擎不可用（{reason}），不能导出移交载体",
                             f"virus scanner unavailable ({reason}); nothing exported")
    return scanner


def _scan_item(scanner: Any, record_id: str, directory: Path, tally: ExportTally) -> None:
    """Scan every file of one exported item with clamd before it is packaged."""

    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        result = scanner.scan(path)
        if result.status == CLEAN:
            tally.scanned += 1
        elif result.status == INFECTED:
            tally.scanned += 1
            tally.infected.append({"record_id": record_id, "file": name, "signature": result.signature})
        else:
            tally.unscanned.append({"record_id": record_id, "file": name, "reason": result.reason})


def _refuse_unclean(tally: ExportTally) -> None:
    """An infected or unscanned file stops the export: the carrier is not handed over."""
    if not tally.infected and not tally.unscanned:
        return
    problems = [*(f"{i['record_id']}/{i['file']}: {i['signature']}" for i in tally.infected),
                *(f"{u['record_id']}/{u['file']}: 未扫描（{u['reason']}）" for u in tally.unscanned)]
    raise IntegrityError(f"病毒检测未通过：感染 {len(tally.infected)} 个文件，未扫描 {len(tally.unscanned)} 个文件，"
                         f"不能导出移交载体：{'；'.join(problems[:5])}",
                         f"virus scan failed: {len(tally.infected)} infected, {len(tally.unscanned)} unscanned; "
                         "nothing exported", infected=tally.infected[:100], unscanned=tally.unscanned[:100])


@dataclass
class TransferExport:
    transfer_id: str
    directory: Path
    register: TransferRegister
    items: list[ExportedItem]
    manifest_sm3: str

    def to_dict(self) -> dict[str, Any]:
        return {"transfer_id": self.transfer_id, "directory": str(self.directory), "items": len(self.items),
                "bytes": self.register.bytes, "manifest_sm3": self.manifest_sm3, "register": self.register.to_dict()}


def select_for_transfer(archive: Archive, year: int, fonds: str | None) -> list[Item]:
    with archive.session() as session:
        query = select(Item).where(Item.year == year, Item.status != TRANSFERRED)
        if fonds:
            query = query.where(Item.fonds_code == fonds)
        rows = list(session.scalars(query.order_by(Item.archival_code, Item.record_id)))
        session.expunge_all()
    return rows


def export_transfer(archive: Archive, year: int, output: Path, *, fonds: str | None = None,
                    actor: str = "system") -> TransferExport:
    """Write the transfer carrier for one year (and fonds) into the new directory ``output``."""
    rows = select_for_transfer(archive, year, fonds)
    if not rows:
        raise NotFound(f"没有可移交的 {year} 年度电子档案" + (f"（全宗 {fonds}）" if fonds else ""),
                       f"nothing to transfer for {year}" + (f" (fonds {fonds})" if fonds else ""))
    scanner = _scanner(archive)
    keystore = _keystore(archive)
    signer = Signer.from_keystore(keystore)
    target = _empty_target(output)
    transfer_id = uuid.uuid4().hex
    tally = ExportTally(engine=scanner.version())
    try:
        items = _export_items(archive, rows, target, signer, keystore, scanner, tally)
        register = _register(archive, transfer_id, year, fonds, rows, items, tally)
        digests = write_carrier(target, items, register, sender=archive.settings.archive_name,
                                certificates=signer.certificates)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    manifest_sm3 = digest_file(target / layout.MANIFEST, ("sm3",))[0]["sm3"]
    result = TransferExport(transfer_id, target, register, items, manifest_sm3)
    record = {**result.to_dict(), "year": year, "fonds": fonds, "exported_at": register.transferred_at,
              "files": len(digests), "items": [i.to_dict() for i in items], "checks": tally.to_dict()}
    (_records_dir(archive, "out") / f"{transfer_id}.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    archive.audit.append(actor, "transfer.exported", transfer_id,
                         {"year": year, "fonds": fonds, "items": len(items), "bytes": register.bytes,
                          "manifest_sm3": manifest_sm3, "directory": str(target),
                          "virus_scan": {"engine": tally.engine, "scanned": tally.scanned, "infected": 0,
                                         "unscanned": 0},
                          "fixity_files": tally.fixity_files, "packages_verified": tally.packages_verified})
    return result


def _export_items(archive: Archive, rows: list[Item], target: Path, signer: Signer, keystore: Keystore,
                  scanner: Any, tally: ExportTally) -> list[ExportedItem]:
    """Copy out and scan every item first, then package: nothing is signed before all are clean."""
    work = Path(tempfile.mkdtemp(prefix=".transfer-", dir=archive.settings.staging_dir))
    try:
        for n, row in enumerate(rows):
            write_item_sip(archive.store, row.record_id, work / str(n), tally)
            _scan_item(scanner, row.record_id, work / str(n), tally)
        _refuse_unclean(tally)
        return [_export_item(row, target, work / str(n), signer, keystore, tally) for n, row in enumerate(rows)]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _export_item(row: Item, target: Path, work: Path, signer: Signer, keystore: Keystore,
                 tally: ExportTally) -> ExportedItem:
    relative = layout.item_path(row.year, row.category, row.archival_code or row.record_id, row.record_id)
    package = target / relative
    package.parent.mkdir(parents=True, exist_ok=True)
    build_eep(work, package, signer)
    shutil.rmtree(work, ignore_errors=True)
    problems = errors(verify_eep(package, keystore))
    if problems:  # never hand over a package we could not verify ourselves
        raise IntegrityError(f"{row.record_id} 的封装包自检未通过：{problems[0].message}",
                             f"{row.record_id}: package failed its own verification", findings=problems)
    tally.packages_verified += 1
    return ExportedItem(
        row.record_id, relative, package.stat().st_size, digest_file(package, ("sm3",))[0]["sm3"],
        row.archival_code, row.author, row.title, row.date, row.security_classification,
        "" if row.archival_code else "尚未编制档号，以电子文件号代替")


def _register(archive: Archive, transfer_id: str, year: int, fonds: str | None, rows: list[Item],
              items: list[ExportedItem], tally: ExportTally) -> TransferRegister:
    """The register from what ``tally`` recorded during this export — never from configuration."""
    units = sorted({r.fonds_unit for r in rows if r.fonds_unit})
    count, size = len(items), sum(i.size for i in items)
    checks = {
        "载体外观检测": "未检测：以文件目录形式交付，刻录到载体时另行检测",
        "病毒检测": (f"已检测：{tally.engine}，扫描 {tally.scanned} 个文件，感染 {len(tally.infected)} 个，"
                  f"未扫描 {len(tally.unscanned)} 个"),
        "真实性检测": f"通过：{tally.packages_verified} 件封装包经移交单位自检，SM2 签名与证书有效",
        "可靠性检测": f"通过：导出时逐文件核对 SM3，{tally.fixity_files} 个文件与存储固定性信息一致",
        "完整性检测": f"通过：{count} 件，{size} 字节，与文件目录一致",
        "可用性检测": f"通过：{tally.packages_verified} 件封装包自检时解析其元数据与文件数据",
    }
    return TransferRegister(unit_name="、".join(units) or archive.settings.archive_name, transfer_id=transfer_id,
                            transferred_at=_now(), fonds_code=fonds or "、".join(sorted({r.fonds_code for r in rows})),
                            year=str(year), items=count, bytes=size, checks=checks,
                            remarks=f"由 {archive.settings.archive_name} 生成；字节数为 电子档案/ 下全部封装包之和")


# -- receive --------------------------------------------------------------------------------------

@dataclass
class TransferReceipt:
    """What the receiver did with a carrier, and where its signed receipt is."""

    receipt: Receipt
    path: Path
    findings: list[Finding] = field(default_factory=list)
    checks: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not errors(self.findings) and all(i.received for i in self.receipt.items)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "receipt": str(self.path), **self.receipt.to_dict(),
                "findings": [f.to_dict() for f in self.findings], "checks_summary": self.checks}


def receive_transfer(archive: Archive, carrier_dir: Path, *, actor: str = "system", profile: str | None = None,
                     receipt_path: Path | None = None) -> TransferReceipt:
    """Check a carrier, ingest what passes, and write the signed receipt.

    ``profile`` is the DA/T 70 check profile of the yj item checks; by default the one ingest
    uses (``LANTAI_INGEST_PROFILE``), so both stages judge by the same rules.
    """

    profile = profile or ingest_profile_name(archive.settings)
    keystore = _keystore(archive)
    carrier = read_carrier(Path(carrier_dir))
    findings = check_carrier(carrier)
    notes: dict[str, str] = {}
    results: dict[str, str] = {}
    summary = None
    work = Path(tempfile.mkdtemp(prefix=".receive-", dir=archive.settings.staging_dir))
    try:
        sips = _extract_all(carrier, work, keystore, findings)
        if errors(findings):
            reason = _first(findings)
            results = {item.path: REJECTED for item in carrier.items}
            notes = {item.path: f"移交信息包未通过检测，整包拒收：{reason}" for item in carrier.items}
        else:
            summary = _check_and_ingest(archive, carrier, sips, profile, actor, results, notes, findings)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    receipt = _receipt(archive, carrier, findings, summary, results, notes)
    path = receipt_path or (_records_dir(archive, "in") / f"{carrier.transfer_id or uuid.uuid4().hex}-回执.xml")
    write_receipt(receipt, path, keystore)
    archive.audit.append(actor, "transfer.received", receipt.transfer_id or str(carrier_dir),
                         {"source": str(carrier_dir), "conclusion": receipt.conclusion, "counts": receipt.counts(),
                          "receipt": str(path), "findings": [f.to_dict() for f in errors(findings)][:50]})
    return TransferReceipt(receipt, Path(path), findings, summary)


def _first(findings: list[Finding]) -> str:
    found = errors(findings)
    more = f"（另有 {len(found) - 1} 项）" if len(found) > 1 else ""
    return f"[{found[0].code}] {found[0].message}{more}" if found else ""


def _extract_all(carrier: Carrier, work: Path, keystore: Keystore, findings: list[Finding]) -> dict[str, Path]:
    """Verify and unpack every listed package present on the carrier (DA/T 70 yj 1-1)."""
    sips: dict[str, Path] = {}
    present = set(carrier.packages)
    for n, item in enumerate(carrier.items):
        if item.path not in present:
            continue
        target = work / f"{n:06d}" / Path(item.path).stem
        try:
            extract_eep(carrier.root / item.path, target, keystore)
        except ValidationFailed as exc:
            problems = errors(exc.details.get("findings", []))
            findings.append(finding("yj-1-1", item.path, "failed", path=item.path, count=len(problems),
                                    detail="；".join(f"{p.element}: {p.message}" for p in problems[:3]),
                                    detail_en="; ".join(p.message_en or p.code for p in problems[:3]),
                                    codes=sorted({p.code for p in problems})))
            continue
        except LantaiError as exc:
            findings.append(replace(finding("yj-1-1", item.path, "unpack", path=item.path, detail=exc.message_zh,
                                            detail_en=exc.message_en), rule=Rule.STRUCTURE))
            continue
        sips[item.path] = target
    return sips


def _check_and_ingest(archive: Archive, carrier: Carrier, sips: dict[str, Path], profile: str, actor: str,
                      results: dict[str, str], notes: dict[str, str], findings: list[Finding]) -> dict[str, Any]:
    """DA/T 70 yj item checks on the unpacked items, the carrier's own results once beside them
    (``batch``); ingest the items that pass."""

    paths = [sips[i.path] for i in carrier.items if i.path in sips]
    report = check_paths(paths, stage="yj", profile=profile, settings=archive.settings,
                         workers=archive.settings.workers, operator=actor)
    report.batch = carrier_results(findings)
    if report.items:  # the receipt states these results: keep and record them first
        run_id = uuid.uuid4().hex
        record_run(archive, report, operator=actor, location=keep_report(archive, run_id, report), run_id=run_id)
    by_source = {Path(r.path): r for r in report.items}
    passing = []
    for path in paths:
        checked = by_source.get(path)
        if checked is not None and checked.failed:
            failures = checked.failures()
            key = _key(sips, path)
            results[key] = REJECTED
            notes[key] = "；".join(f"[yj-{r.rule or r.code}] {r.message}" for r in failures[:3])
        else:
            passing.append(path)
    ingested = ingest_paths(archive, passing, actor=actor) if passing else None
    # ingest names an item by its path when it cannot open it, else by the directory name
    keys = {str(path): key for key, path in sips.items()} | {path.name: key for key, path in sips.items()}
    for outcome in ingested.items if ingested else []:
        key = keys.get(outcome.source, outcome.source)
        results[key] = {"accepted": ACCEPTED, "duplicate": DUPLICATE}.get(outcome.status, REJECTED)
        notes[key] = outcome.message
    return report.summary()


def _key(sips: dict[str, Path], path: Path) -> str:
    for key, value in sips.items():
        if value == path:
            return key
    return str(path)


def _receipt(archive: Archive, carrier: Carrier, findings: list[Finding], summary: dict[str, Any] | None,
             results: dict[str, str], notes: dict[str, str]) -> Receipt:
    register = carrier.register
    items = [ReceiptItem(n, Path(i.path).stem, i.archival_code, i.path,
                         carrier.digests.get(i.path) or _sm3(carrier.root / i.path), results.get(i.path, REJECTED),
                         notes.get(i.path, ""))
             for n, i in enumerate(carrier.items, start=1)]
    received = sum(1 for i in items if i.received)
    conclusion = "全部接收" if items and received == len(items) else ("部分接收" if received else "拒收")
    manifest = carrier.root / layout.MANIFEST
    return Receipt(transfer_id=carrier.transfer_id, sender=register.unit_name if register else "",
                   receiver=archive.settings.archive_name, received_at=_now(),
                   manifest_sm3=_sm3(manifest), conclusion=conclusion,
                   checks=_check_lines(findings, summary), items=items)


def _sm3(path: Path) -> str:
    return digest_file(path, ("sm3",))[0]["sm3"] if path.is_file() else ""


def _check_lines(findings: list[Finding], summary: dict[str, Any] | None) -> list[dict[str, str]]:

    titles = load_registry().findings
    lines = []
    for code in CARRIER_CODES:
        name = titles[code].title_zh
        found = [f for f in errors(findings) if f.code == code]
        lines.append({"code": code, "result": "不通过" if found else "通过",
                      "message": f"{name}：" + ("；".join(f.message for f in found[:5]) if found else "未发现问题")})
    for code, counts in (summary or {}).get("by_code", {}).items():
        bad = counts.get("fail", 0) + counts.get("unscanned", 0)
        lines.append({"code": f"yj-{code}", "result": "不通过" if bad else "通过",
                      "message": "逐件检测：" + "，".join(f"{k} {v}" for k, v in counts.items() if v)})
    return lines


# -- verify the receipt (sender) ------------------------------------------------------------------

@dataclass
class ReceiptVerification:
    receipt: Receipt
    findings: list[Finding]
    marked: list[str] = field(default_factory=list)
    exported: int = 0

    @property
    def ok(self) -> bool:
        return not errors(self.findings)

    def to_dict(self) -> dict[str, Any]:
        counts = self.receipt.counts()
        return {"ok": self.ok, "transfer_id": self.receipt.transfer_id, "receiver": self.receipt.receiver,
                "signer": self.receipt.signer, "exported": self.exported, "received": counts[ACCEPTED] + counts[DUPLICATE],
                "rejected": counts[REJECTED], "marked_transferred": len(self.marked), "conclusion": self.receipt.conclusion,
                "findings": [f.to_dict() for f in self.findings]}


def verify_receipt(archive: Archive, receipt_path: Path, *, actor: str = "system") -> ReceiptVerification:
    """Verify the receiver's signature and that it speaks of what we sent; then mark what it received."""
    receipt, findings = read_receipt(Path(receipt_path), _keystore(archive))
    record = _export_record(archive, receipt.transfer_id)
    findings += _match_export(receipt, record)
    result = ReceiptVerification(receipt, findings, exported=len(record.get("items", [])))
    if not result.ok:
        archive.audit.append(actor, "transfer.receipt_rejected", receipt.transfer_id or str(receipt_path),
                             {"receipt": str(receipt_path), "findings": [f.to_dict() for f in errors(findings)][:50]})
        return result
    received = [i.record_id for i in receipt.items if i.received]
    result.marked = mark_transferred(archive, received, receipt, actor=actor)
    archive.audit.append(actor, "transfer.receipt_verified", receipt.transfer_id,
                         {"receipt": str(receipt_path), "receiver": receipt.receiver, "signer": receipt.signer,
                          "exported": result.exported, "received": len(received), "marked": len(result.marked),
                          "not_received": [i.record_id for i in receipt.items if not i.received][:200]})
    return result


def _export_record(archive: Archive, transfer_id: str) -> dict[str, Any]:
    path = archive.home / "transfers" / "out" / f"{Path(transfer_id).name}.json"
    if not transfer_id or not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def _match_export(receipt: Receipt, record: dict[str, Any]) -> list[Finding]:
    if not record:
        return [finding("receipt-unknown-transfer", "移交标识", transfer_id=receipt.transfer_id)]
    found = []
    if receipt.manifest_sm3 != record.get("manifest_sm3"):
        found.append(finding("receipt-manifest", "清单摘要"))
    sent = {i["path"]: i for i in record.get("items", [])}
    listed = {i.path for i in receipt.items}
    for item in receipt.items:
        original = sent.get(item.path)
        if original is None or original["sm3"] != item.sm3 or original["record_id"] != item.record_id:
            found.append(finding("receipt-item", item.path, path=item.path))
    for path in sorted(set(sent) - listed):
        found.append(finding("receipt-item-missing", path, path=path))
    return found


def mark_transferred(archive: Archive, record_ids: Iterable[str], receipt: Receipt, *, actor: str) -> list[str]:
    """Write ``lantai/transfer.json`` as a new OCFL version of each item (status ``transferred``),
    through the change path; idempotent: an item already marked for this transfer is left alone."""
    document = {"transfer_id": receipt.transfer_id, "receiver": receipt.receiver, "received_at": receipt.received_at,
                "signer": receipt.signer}
    marked = []
    for record_id in record_ids:
        if not archive.store.exists(record_id) or _already_marked(archive.store, record_id, receipt.transfer_id):
            continue
        data = json.dumps({**document, "record_id": record_id}, ensure_ascii=False, sort_keys=True, indent=1).encode()
        commit_change(archive, ItemChange(record_id, actor, "transfer.marked", "移交：接收方回执验证通过",
                                          files={TRANSFER_PATH: data}))
        marked.append(record_id)
    return marked


def _already_marked(store: OcflStore, record_id: str, transfer_id: str) -> bool:
    if TRANSFER_PATH not in {f.logical_path for f in store.files(record_id)}:
        return False
    return json.loads(store.read_bytes(record_id, TRANSFER_PATH)).get("transfer_id") == transfer_id


# -- BagIt ----------------------------------------------------------------------------------------

def export_bag(archive: Archive, record_ids: list[str], output: Path, *, actor: str = "system") -> dict[str, Any]:
    """Any selection of items as one BagIt 1.0 bag: ``data/<电子文件号>/`` is each item's SIP."""
    if not record_ids:
        raise BadInput("未指定要导出的电子文件号", "no record ids given")
    for record_id in record_ids:
        if not archive.store.exists(record_id):
            raise NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item {record_id}")
    target = _empty_target(output)
    try:
        total = sum(write_item_sip(archive.store, rid, target / layout.safe_name(rid)) for rid in record_ids)
        bag_package.make_bag(target, {"Source-Organization": archive.settings.archive_name,
                                      "External-Description": f"兰台导出的 {len(record_ids)} 件电子档案（每件一个 SIP 目录）",
                                      "Bagging-Date": dt.date.today().isoformat()})
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    archive.audit.append(actor, "bag.exported", str(target), {"items": list(record_ids)[:1000], "bytes": total})
    return {"bag": str(target), "items": len(record_ids), "content_bytes": total}


def import_bag(archive: Archive, bag_path: Path, *, actor: str = "system"):  # -> IngestReport
    """Validate a bag, then ingest each item directory under ``data/`` as a SIP."""

    report = bag_package.validate_bag(Path(bag_path))
    if not report.valid:
        raise ValidationFailed(f"BagIt 包校验未通过（{len(errors(report.findings))} 项），未接收",
                               "bag is invalid; nothing ingested", findings=report.findings)
    if bag_package.is_holey(Path(bag_path)):
        raise BadInput("BagIt 包含 fetch.txt（尚需下载的文件），不支持接收", "holey bags (fetch.txt) are not supported")
    return ingest_paths(archive, bag_package.bag_items(Path(bag_path)), actor=actor)
