"""Ingest: SIP → checks → OCFL version → catalogue row, atomically per item and idempotently.

Two phases, so the expensive part runs on every core:

* **prepare** (worker processes): open the SIP, parse and validate metadata, stream every file
  into a private staging directory computing SM3 and SHA-512 in the same pass, run the ingest
  checks (the DA/T 70 engine plugs in through :mod:`lantai.checks.hooks`), and build the complete
  OCFL version in staging. Nothing outside staging is touched.
* **commit** (the main process, one item at a time): write an intent, move the version into the
  store, then write catalogue rows and the audit entry in one transaction, then drop the intent.
  A crash anywhere leaves either nothing or the whole item; recovery finishes or rolls back.

Re-submitting the same item (same 电子文件号 and content) is a no-op reported as ``duplicate``;
the same 电子文件号 with different content is a ``conflict``.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy.exc
from sqlalchemy import func, select

from lantai.catalog.models import Batch, Item, utcnow
from lantai.checks import hooks
from lantai.checks.ingest import ingest_profile_name
from lantai.checks.registry import finding
from lantai.crypto.digests import copy_and_digest
from lantai.domain import metadata as md
from lantai.domain.findings import Finding
from lantai.domain.metadata.messages import MESSAGES
from lantai.errors import Conflict, LantaiError, NotFound, StorageError
from lantai.jobs.pool import worker_pool
from lantai.packages import sip
from lantai.packages.adapters import materialised
from lantai.packages.inline_data import extract_inline_data, strip_inline_data_with_sizes
from lantai.services import intents
from lantai.services.audit_incremental import verify_incremental
from lantai.services.catalogue import (
    INGEST_RECORD_PATH,
    METADATA_PATH,
    PROCESS_PATH,
    Projection,
    insert_ignoring_duplicates,
    insert_projections,
    project,
    upsert_item,
    upsert_items,
)
from lantai.services.ingest_workers import worker_preload
from lantai.services.search_index import TEXT_PATH, extract_body, index_items
from lantai.settings import Settings
from lantai.storage.ocfl import OcflStore, PreparedVersion, new_object_content_dir

if TYPE_CHECKING:
    from lantai.services.archive import Archive

ACCEPTED, DUPLICATE, REJECTED, CONFLICT = "accepted", "duplicate", "rejected", "conflict"


@dataclass
class ItemOutcome:
    """What happened to one submitted item."""

    source: str
    status: str
    record_id: str | None = None
    version: int | None = None
    files: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (ACCEPTED, DUPLICATE)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "status": self.status, "record_id": self.record_id, "version": self.version,
                "files": self.files, "bytes": self.bytes, "message": self.message,
                "findings": [f.to_dict() for f in self.findings]}


@dataclass
class IngestReport:
    items: list[ItemOutcome] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items) and all(b.get("status") != REJECTED for b in self.batches)

    def counts(self) -> dict[str, int]:
        result = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0, CONFLICT: 0}
        for item in self.items:
            result[item.status] = result.get(item.status, 0) + 1
        return result

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts(), "batches": self.batches,
                "items": [i.to_dict() for i in self.items]}


@dataclass
class PreparedItem:
    outcome: ItemOutcome
    version: PreparedVersion | None = None
    digests: dict[str, str] = field(default_factory=dict)  # logical path -> sha512, for duplicate detection
    transaction: str = ""
    projection: Projection | None = None  # catalogue rows, projected from the staged object by the worker
    body: str = ""  # extracted text, as stored in derivatives/text.txt
    metadata: bytes = b""  # 元数据.xml as it would be stored, to tell a resubmission from a change


@dataclass(frozen=True)
class BatchContext:
    batch_id: str | None = None
    register: dict[str, Any] | None = None
    submitted_by: str = "system"
    batch_source: str = ""


# ---------------------------------------------------------------------------------------------
# prepare (runs in worker processes; touches only staging)
# ---------------------------------------------------------------------------------------------
def _refusal(exc: LantaiError, element: str) -> Finding:
    """An error of the error tree as an ingest finding under the error's own code (registered in the
    check registry, with the error's Chinese and English text as its detail)."""
    return finding(exc.code, element, detail=exc.message_zh, detail_en=exc.message_en)


def _limits(settings: Settings) -> sip.SipLimits:
    return sip.SipLimits(settings.max_item_bytes, settings.max_zip_entries, settings.max_zip_ratio,
                         settings.max_metadata_bytes)


def prepare_item(settings: Settings, path: Path, context: BatchContext) -> PreparedItem:
    """Stage and check one item. Never raises for bad input: the outcome says why it was rejected."""
    # Workers never fsync file by file: the committing process makes the whole group durable
    # with one syncfs before and one after moving the versions in (see _commit_ready).
    store = OcflStore(settings.store_root, settings.staging_dir, fsync=False)
    label = path.name
    staging = None
    try:
        with materialised(path, settings) as sip_path, sip.open_item(sip_path, _limits(settings)) as source:
            staging = store.new_staging_dir()
            return _prepare_open_item(settings, store, source, staging, context)
    except LantaiError as exc:
        if staging is not None:
            store.abort(staging)
        refusal = _refusal(exc, label)
        return PreparedItem(ItemOutcome(str(path), REJECTED, findings=[refusal], message=exc.message_zh))
    except OSError as exc:
        if staging is not None:
            store.abort(staging)
        unreadable = finding("io", label, _os_error_kind(exc), label=label, error=str(exc))
        return PreparedItem(ItemOutcome(str(path), REJECTED, findings=[unreadable], message=unreadable.message))
    finally:
        if staging is not None:  # decoded inline data has been copied into the version by now
            shutil.rmtree(inline_dir_for(staging), ignore_errors=True)


def inline_dir_for(staging: Path) -> Path:
    """Where inline 编码数据 is decoded: beside the staging directory, which becomes the object.

    Named ``tx-….inline`` so start-up clean-up of abandoned staging (``tx-*``) removes it too.
    """
    return staging.with_name(f"{staging.name}.inline")


def _os_error_kind(exc: OSError) -> str:
    """The registry variant of finding ``io`` for an operating-system error."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "disk_full"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission"
    return "other"


def _prepare_open_item(settings: Settings, store: OcflStore, source: sip.SipSource, staging: Path,
                       context: BatchContext) -> PreparedItem:
    label = source.label
    metadata_bytes = source.read(sip.METADATA_NAME, settings.max_metadata_bytes)
    inline_dir = inline_dir_for(staging)  # beside staging: that directory becomes the object
    metadata_bytes, inline_files = extract_inline_data(label, metadata_bytes, inline_dir)
    record = md.parse_record_xml(metadata_bytes)
    process_bytes = source.read(sip.PROCESS_NAME, settings.max_metadata_bytes) if sip.PROCESS_NAME in source.entries else None
    process = md.parse_process_xml(process_bytes) if process_bytes is not None else None
    record_id = (record.electronic_record_code or "").strip()
    outcome = ItemOutcome(label, REJECTED, record_id=record_id or None)
    record_findings = md.validate_record(record)
    findings = list(record_findings)
    if process is not None:
        findings += md.validate_process(process)
    referenced = _referenced_files(record, findings)
    findings += _structure_findings(source, referenced, inline_files)
    manifests = {alg: sip.parse_manifest(label, name, source.read(name, settings.max_metadata_bytes))
                 for name, alg in sip.MANIFEST_NAMES.items() if name in source.entries}
    # Content is copied straight to where a new object's version keeps it: nothing moves later.
    staged = _stage_content(source, referenced, inline_files, new_object_content_dir(staging) / "content", manifests,
                            findings)
    context_for_checks = hooks.IngestContext(label=label, record=record, process=process, staged=staged,
                                             manifests=manifests, settings=settings,
                                             extra={"audit_chain": _audit_chain(settings),
                                                    "record_validation": record_findings},
                                             unstaged=sorted(set(source.entries) - set(referenced) - sip.RESERVED_NAMES),
                                             operator=context.submitted_by)
    findings = _one_pipeline(settings, findings) + hooks.run_ingest_checks(context_for_checks)
    outcome.findings = findings
    outcome.files = len(staged)
    outcome.bytes = sum(s.size for s in staged.values())
    if any(f.is_error for f in findings) or not record_id:
        if not record_id and not any(f.element.endswith("电子文件号") for f in findings):
            findings.append(finding("record_id_missing", "电子文件号"))
        store.abort(staging)
        outcome.message = _first_error(findings)
        return PreparedItem(outcome)
    digests = {f"content/{p}": s.sha512 for p, s in staged.items()}
    derived = dict(context_for_checks.extra.get("ocfl_files", {}))  # e.g. the DA/T 70 gd report
    body = extract_body(staged, record)
    if body:
        derived[TEXT_PATH] = body  # extracted once, here; re-indexing reads it from the store
    version = _build_version(store, staging, record_id, source, metadata_bytes, process_bytes, staged, findings,
                             context, bool(inline_files), derived)
    outcome.status = ACCEPTED
    projection = _project_staged(version, record, process) if version.version == 1 else None
    return PreparedItem(outcome, version, digests, staging.name, projection, body, metadata_bytes)


def _project_staged(version: PreparedVersion, record: Any, process: Any) -> Projection:
    """The catalogue rows of a new object while it is still in staging (same function as rebuild uses)."""
    objdir = version.staging_dir  # a new object's staging directory is the object (OcflStore.commit renames it)
    by_path = {f.logical_path: f.content_path for f in version.files}
    return project(version.object_id, version.inventory, version.files,
                   lambda logical_path: (objdir / by_path[logical_path]).read_bytes(), record=record, process=process)


# Ingest's own file checks that DA/T 70 gd also makes (1-1 manifests, 1-3 sizes, 2-3 missing or empty
# files, 2-4 extra files) and the DA/T 46 metadata validation (gd 1-2, 2-2, 3-1 report it): with a
# profile on, the registry reports them, once, under its codes.
REGISTRY_CHECKED = frozenset({"missing_file", "extra_file", "empty_file", "size_mismatch", "manifest_missing",
                              "digest_mismatch", "manifest_unlisted"})


def _one_pipeline(settings: Settings, findings: list[Finding]) -> list[Finding]:
    """Keep ingest's structural refusals (unreadable package, no 电子文件号, unsafe or reserved paths);
    leave everything the DA/T 70 registry checks to the registry. With the profile ``off`` (tests of
    the ingest mechanics only) ingest's own checks stand."""

    if ingest_profile_name(settings) == "off":
        return findings
    return [f for f in findings if f.code not in REGISTRY_CHECKED and f.code not in MESSAGES]


def _audit_chain(settings: Settings) -> Any:
    """The audit chain as far as this worker has verified it (DA/T 70 4-3), None without a journal."""

    journal = getattr(settings, "audit_journal", None)
    if ingest_profile_name(settings) == "off" or journal is None or not Path(journal).exists():
        return None
    return verify_incremental(Path(journal))


def _first_error(findings: list[Finding]) -> str:
    errors = [f for f in findings if f.is_error]
    if not errors:
        return ""
    more = f"（另有 {len(errors) - 1} 项）" if len(errors) > 1 else ""
    return f"{errors[0].element}: {errors[0].message}{more}"


def _referenced_files(record: Any, findings: list[Finding]) -> dict[str, int | None]:
    """计算机文件名 → declared 计算机文件大小 for every 编码."""
    referenced: dict[str, int | None] = {}
    for _doc, _data, encoding in record.iter_encodings():
        name = (encoding.computer_file_name or "").strip()
        if not name:
            continue
        try:
            name = sip.check_relative_path("元数据.xml", name)
        except LantaiError as exc:
            findings.append(finding("unsafe_file_name", "电子属性/计算机文件名", detail=exc.message_zh,
                                    detail_en=exc.message_en))
            continue
        if name in sip.RESERVED_NAMES:
            findings.append(finding("reserved_file_name", name, name=name))
            continue
        if name in referenced:
            findings.append(finding("duplicate_reference", name, name=name))
        try:
            size = int(encoding.computer_file_size) if encoding.computer_file_size not in (None, "") else None
        except (TypeError, ValueError):
            size = None
        referenced[name] = size
    return referenced


def _structure_findings(source: sip.SipSource, referenced: dict[str, int | None],
                        inline_files: dict[str, Path]) -> list[Finding]:
    findings = []
    present = set(source.entries) | set(inline_files)
    for name in sorted(referenced):
        if name not in present:
            findings.append(finding("missing_file", name, name=name))
    for name in sorted(set(source.entries) - set(referenced) - sip.RESERVED_NAMES):
        findings.append(finding("extra_file", name, name=name))
    return findings


@dataclass(frozen=True)
class StagedFile:
    path: Path
    size: int
    sha512: str
    sm3: str
    sha256: str | None = None


def _stage_content(source: sip.SipSource, referenced: dict[str, int | None], inline_files: dict[str, Path],
                   target: Path, manifests: dict[str, dict[str, str]], findings: list[Finding]) -> dict[str, StagedFile]:
    """Copy every referenced file into staging, hashing as it goes; compare sizes and manifests."""

    algorithms = ["sha512", "sm3"] + (["sha256"] if "sha256" in manifests else [])
    staged: dict[str, StagedFile] = {}
    for name, declared in referenced.items():
        if name in inline_files:
            stream_factory: Callable[[], Any] = functools.partial(inline_files[name].open, "rb")
            limit = inline_files[name].stat().st_size
        elif name in source.entries:
            stream_factory = source.entries[name].open
            limit = source.entries[name].size
        else:
            continue
        with stream_factory() as stream:
            digests, size = copy_and_digest(stream, target / name, algorithms, max_bytes=limit, fsync=False)
        staged[name] = StagedFile(target / name, size, digests["sha512"], digests["sm3"], digests.get("sha256"))
        _size_findings(name, declared, size, findings)
    _manifest_findings(staged, manifests, findings)
    return staged


def _size_findings(name: str, declared: int | None, size: int, findings: list[Finding]) -> None:
    if size == 0:
        findings.append(finding("empty_file", name, name=name))
    if declared is not None and declared != size:
        findings.append(finding("size_mismatch", name, declared=declared, actual=size))


def _manifest_findings(staged: dict[str, StagedFile], manifests: dict[str, dict[str, str]],
                       findings: list[Finding]) -> None:
    for algorithm, entries in manifests.items():
        for name, expected in sorted(entries.items()):
            file = staged.get(name)
            if file is None:
                findings.append(finding("manifest_missing", name, name=name, algorithm=algorithm))
                continue
            actual = {"sm3": file.sm3, "sha256": file.sha256, "sha512": file.sha512}[algorithm]
            if actual != expected:
                findings.append(finding("digest_mismatch", name, name=name, algorithm=algorithm, expected=expected,
                                        actual=actual))
        for name in sorted(set(staged) - set(entries)):
            findings.append(finding("manifest_unlisted", name, name=name, algorithm=algorithm))


def _build_version(store: OcflStore, staging: Path, record_id: str, source: sip.SipSource, metadata_bytes: bytes,
                   process_bytes: bytes | None, staged: dict[str, StagedFile], findings: list[Finding],
                   context: BatchContext, had_inline: bool, check_files: dict[str, bytes | str]) -> PreparedVersion:
    builder = store.begin_version(record_id, staging) if not store.exists(record_id) else None
    if builder is None:
        # Already archived: prepare nothing; commit decides duplicate vs conflict.
        return PreparedVersion(record_id, 0, staging, {})
    for name, file in sorted(staged.items()):
        builder.add_staged_file(f"content/{name}", file.path, file.sha512, file.sm3, file.size)
    builder.add_bytes(METADATA_PATH, metadata_bytes)
    if process_bytes is not None:
        builder.add_bytes(PROCESS_PATH, process_bytes)
    for name in sip.MANIFEST_NAMES:
        if name in source.entries:
            builder.add_bytes(f"submission/{name}", source.read(name, 64 * 1024**2))
    ingest_record = {
        "record_id": record_id,
        "source": source.label,
        "batch_id": context.batch_id,
        "register": context.register,
        "batch_source": context.batch_source,
        "submitted_by": context.submitted_by,
        "inline_data_extracted": had_inline,
        "files": [{"path": f"content/{n}", "size": f.size, "sm3": f.sm3, "sha512": f.sha512}
                  for n, f in sorted(staged.items())],
        "warnings": [f.to_dict() for f in findings if not f.is_error],
    }
    builder.add_bytes(INGEST_RECORD_PATH, json.dumps(ingest_record, ensure_ascii=False, indent=2).encode("utf-8"))
    for logical_path, data in sorted(check_files.items()):  # e.g. the DA/T 70 gd report
        builder.add_bytes(logical_path, data.encode("utf-8") if isinstance(data, str) else data)
    return builder.prepare(message="接收归档", user_name=context.submitted_by)


# ---------------------------------------------------------------------------------------------
# commit (main process)
# ---------------------------------------------------------------------------------------------
def commit_item(archive: Archive, prepared: PreparedItem, context: BatchContext) -> ItemOutcome:
    return commit_group(archive, [prepared], context)[0]


def _rejection_entry(outcome: ItemOutcome, context: BatchContext) -> tuple[str, str, str, dict[str, Any]]:
    return (context.submitted_by, "ingest.rejected", outcome.record_id or outcome.source,
            {"source": outcome.source, "batch_id": context.batch_id,
             "findings": [f.to_dict() for f in outcome.findings if f.is_error][:50]})


def commit_group(archive: Archive, group: list[PreparedItem], context: BatchContext) -> list[ItemOutcome]:
    """Commit several prepared items with one intent, one transaction and one audit fsync.

    Group commit is what lets the single committing process keep up with the workers; the unit
    of atomicity is still the item (each OCFL object is one rename), and the intent lists every
    object of the group so recovery can finish or roll back each one.
    """
    outcomes: dict[int, ItemOutcome] = {}
    rejections = []
    ready: list[tuple[int, PreparedItem]] = []
    later: list[tuple[int, PreparedItem]] = []
    claimed: set[str] = set()
    for index, prepared in enumerate(group):
        outcome = prepared.outcome
        if outcome.status != ACCEPTED or prepared.version is None:
            rejections.append(_rejection_entry(outcome, context))
            outcomes[index] = outcome
        elif outcome.record_id in claimed:
            later.append((index, prepared))  # same 电子文件号 twice in one group: judge it after the first
        elif prepared.version.version == 0 or archive.store.exists(outcome.record_id or ""):
            archive.store.abort(prepared.version.staging_dir)
            outcomes[index] = _duplicate_or_conflict(archive, prepared, context)
        else:
            claimed.add(outcome.record_id or "")
            ready.append((index, prepared))
    if rejections:
        archive.audit.append_many(rejections)
    if ready:
        outcomes.update(_commit_ready(archive, ready, context))
    for index, prepared in later:
        outcomes[index] = commit_group(archive, [prepared], context)[0]
    return [outcomes[i] for i in range(len(group))]


def _commit_ready(archive: Archive, ready: list[tuple[int, PreparedItem]],
                  context: BatchContext) -> dict[int, ItemOutcome]:
    store = archive.store
    results: dict[int, ItemOutcome] = {}
    intent = intents.write_intent(
        archive, [(p.outcome.record_id or "", p.version.staging_dir) for _i, p in ready if p.version], context.submitted_by)
    # The intent stays behind if anything below fails, so recovery can finish the commit; this
    # process lets go of it at once, so the next recovery (of any process) can take it.
    try:
        durable = archive.settings.fsync
        if durable:
            store.sync()  # staged content and inventories reach the disk before any rename
        committed: list[tuple[int, PreparedItem]] = []
        for index, prepared in ready:
            assert prepared.version is not None
            try:
                store.commit(prepared.version, sync=False)  # the group's syncfs below covers the renames
                committed.append((index, prepared))
            except StorageError:
                if not store.exists(prepared.outcome.record_id or ""):
                    raise
                store.abort(prepared.version.staging_dir)  # another process won the race
                results[index] = _duplicate_or_conflict(archive, prepared, context)
        if durable and committed:
            store.sync()  # the renames themselves, before the catalogue says the items exist
        with archive.session() as session:
            projected = [p.projection for _i, p in committed if p.projection is not None]
            unprojected = [p.outcome.record_id or "" for _i, p in committed if p.projection is None]
            items = insert_projections(session, store, projected)
            items += upsert_items(session, store, unprojected, flush=False)
            index_items(session, store, archive.home, items,
                        bodies={p.outcome.record_id or "": p.body for _i, p in committed if p.projection is not None})
            archive.audit.append_many(
                [(context.submitted_by, "ingest.accepted", p.outcome.record_id or "",
                  {"source": p.outcome.source, "batch_id": context.batch_id, "version": 1,
                   "files": p.outcome.files, "bytes": p.outcome.bytes}) for _i, p in committed],
                session=session)
    except BaseException:
        intent.release()
        raise
    intents.clear_intent(intent)
    for index, prepared in committed:
        prepared.outcome.version = 1
        results[index] = prepared.outcome
    return results


def _duplicate_or_conflict(archive: Archive, prepared: PreparedItem, context: BatchContext) -> ItemOutcome:
    outcome = prepared.outcome
    record_id = outcome.record_id or ""
    stored = {f.logical_path: f.sha512 for f in archive.store.files(record_id) if f.logical_path.startswith("content/")}
    changed = _changed_metadata(archive, record_id, prepared) if stored == prepared.digests else []
    if changed:
        return _metadata_conflict(archive, prepared, context, changed)
    if stored == prepared.digests:
        _catalogue_if_missing(archive, record_id)
        archive.audit.append(context.submitted_by, "ingest.duplicate", record_id, {"source": outcome.source})
        outcome.status = DUPLICATE
        outcome.message = f"电子文件号 {record_id} 已归档且内容相同，本次提交未作改动"
        return outcome
    conflict = Conflict(f"电子文件号 {record_id} 已存在且内容不同", f"record {record_id} already exists with different content")
    archive.audit.append(context.submitted_by, "ingest.conflict", record_id, {"source": outcome.source})
    outcome.status = CONFLICT
    outcome.message = conflict.message_zh
    outcome.findings.append(_refusal(conflict, "电子文件号"))
    return outcome


def _catalogue_if_missing(archive: Archive, record_id: str) -> None:
    """The store has the object but the catalogue may not yet: add its rows unless another
    process (the ingest that committed it) does so first — then its rows stand."""
    try:
        with archive.session() as session:
            if session.scalar(select(Item.id).where(Item.record_id == record_id)) is None:
                upsert_item(session, archive.store, record_id)
    except sqlalchemy.exc.IntegrityError:
        pass  # catalogued meanwhile by the process that won the race; the rows are the same projection


def _changed_metadata(archive: Archive, record_id: str, prepared: PreparedItem) -> list[str]:
    """Elements of the submitted 元数据.xml that differ from the one archived with the item (v1).

    Compared with v1 first: arrangement adds 档号 in later versions, and resubmitting what was sent
    then is still the same submission. Equal to the head apart from 档号 is the same too: what
    was sent says what the archive says now, after a correction (著录更正).
    """
    if not prepared.metadata:
        return []
    try:
        changed = md.differing_elements(archive.store.read_bytes(record_id, METADATA_PATH, version=1),
                                        prepared.metadata)
        if changed and archive.store.head_version(record_id) != 1:
            now = md.differing_elements(archive.store.read_bytes(record_id, METADATA_PATH), prepared.metadata)
            if not [e for e in now if not e.startswith("档号")]:
                return []
        return changed
    except NotFound:
        return []
    except LantaiError:
        return [METADATA_PATH]  # the archived copy no longer parses: not provably the same submission


def _metadata_conflict(archive: Archive, prepared: PreparedItem, context: BatchContext,
                       changed: list[str]) -> ItemOutcome:
    """Same content, other metadata: a change must go through a correction, not a resubmission."""
    outcome = prepared.outcome
    record_id = outcome.record_id or ""
    names = "、".join(changed[:20]) + ("…" if len(changed) > 20 else "")
    conflict = Conflict(f"电子文件号 {record_id} 已归档，内容相同但元数据不同（{names}）；元数据更正须通过著录更正"
                        f"（lantai correct 或 POST /api/v1/items/{record_id}/corrections），并说明理由",
                        f"record {record_id} is archived with the same content but different metadata "
                        f"({', '.join(changed[:20])}); corrections go through `lantai correct` or "
                        f"POST /api/v1/items/{record_id}/corrections, with a reason")
    archive.audit.append(context.submitted_by, "ingest.conflict", record_id,
                         {"source": outcome.source, "metadata_elements": changed[:100]})
    outcome.status = CONFLICT
    outcome.message = conflict.message_zh
    for element in changed:
        outcome.findings.append(finding("metadata_conflict", element, detail=conflict.message_zh,
                                        detail_en=conflict.message_en))
    return outcome


def refresh_batch(session: Any, batch_id: str) -> None:
    """Recount a batch from the catalogue so its totals are a pure function of the items."""
    batch = session.get(Batch, batch_id)
    if batch is None:
        return
    count, total = session.execute(
        select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0)).where(Item.batch_id == batch_id)
    ).one()
    batch.actual_items, batch.actual_bytes = int(count), int(total)
    first = session.scalar(select(func.min(Item.archived_at)).where(Item.batch_id == batch_id))
    if first is not None:
        batch.created_at = first
    batch.status = "complete" if batch.declared_items is not None and count >= batch.declared_items else "open"


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------
ProgressFn = Callable[[ItemOutcome], None]


def ingest_paths(archive: Archive, paths: Iterable[Path], *, actor: str = "system",
                 progress: ProgressFn | None = None, on_total: Callable[[int], None] | None = None) -> IngestReport:
    report = IngestReport()
    singles: list[Path] = []
    for path in paths:
        if sip.is_batch(path):
            ingest_batch(archive, path, report, actor=actor, progress=progress, on_total=on_total)
        else:
            singles.append(path)
    if singles:
        if on_total:
            on_total(len(singles))
        for outcome in _run(archive, singles, BatchContext(submitted_by=actor)):
            report.items.append(outcome)
            if progress:
                progress(outcome)
    return report


def batch_identifier(batch_dir: Path, register: sip.Register) -> str:
    """Stable across re-runs of the same batch, so a resumed batch reuses its row."""
    names = ",".join(p.name for p in sip.iter_batch_items(batch_dir))
    material = f"{register.unit_name}|{register.archived_at}|{register.items}|{register.bytes}|{names}"
    return "B" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]


def ingest_batch(archive: Archive, batch_dir: Path, report: IngestReport, *, actor: str = "system",
                 progress: ProgressFn | None = None, on_total: Callable[[int], None] | None = None) -> None:
    """Ingest a batch. The register (归档登记表) must agree with the content or nothing is ingested;
    the items are checked all the same, so the report shows every finding, not the mismatch alone."""
    register = sip.read_register(batch_dir)
    items = list(sip.iter_batch_items(batch_dir))
    totals = batch_totals(archive.settings, items)
    batch_id = batch_identifier(batch_dir, register)
    summary = {"batch_id": batch_id, "source": str(batch_dir), "unit_name": register.unit_name,
               "archived_at": register.archived_at, "category": register.category, "years": totals.years,
               "declared_items": register.items, "declared_bytes": register.bytes,
               "actual_items": totals.items, "actual_bytes": totals.bytes}
    context = BatchContext(batch_id, {"unit_name": register.unit_name, "archived_at": register.archived_at,
                                      "category": register.category, "items": register.items,
                                      "bytes": register.bytes}, actor, str(batch_dir))
    if on_total:
        on_total(len(items))
    if (register.items, register.bytes) != (totals.items, totals.bytes) and not totals.unreadable:
        summary["status"] = REJECTED
        summary["message"] = (f"归档登记表与批次内容不符: 登记 {register.items} 件 {register.bytes} 字节，"
                              f"实际 {totals.items} 件 {totals.bytes} 字节（检测项 2-1）；整批未接收，各件检测结果见下")
        outcomes = []
        for outcome in _run(archive, items, context, commit=False):
            outcomes.append(outcome)
            report.items.append(outcome)
            if progress:
                progress(outcome)
        failed = sum(1 for o in outcomes if any(f.is_error for f in o.findings))
        summary["checked"] = {"passed": len(outcomes) - failed, "failed": failed}
        archive.audit.append(actor, "batch.rejected", batch_id, summary)
        report.batches.append(summary)
        return
    with archive.session() as session:  # another ingest of the same batch may be creating the row too
        session.execute(insert_ignoring_duplicates(session, Batch.__table__, ["id"]).values(
            id=batch_id, source=str(batch_dir), unit_name=register.unit_name, declared_items=register.items,
            declared_bytes=register.bytes, actual_items=0, actual_bytes=0, status="open", created_at=utcnow()))
    outcomes = []
    for outcome in _run(archive, items, context):
        outcomes.append(outcome)
        report.items.append(outcome)
        if progress:
            progress(outcome)
    with archive.session() as session:
        refresh_batch(session, batch_id)
    summary["status"] = "complete" if all(o.ok for o in outcomes) else "partial"
    report.batches.append(summary)


@dataclass(frozen=True)
class BatchTotals:
    items: int
    bytes: int
    unreadable: bool
    years: list[str]


def batch_totals(settings: Settings, items: list[Path]) -> BatchTotals:
    """Count items and the bytes of their files as they are (check 2-1, as DA/T 70's check counts them).

    The bytes are those of every file the metadata references that is present — in the package
    or as inline 编码数据 — never the 计算机文件大小 it declares: a wrong declared size is that item's
    finding (1-3), not a difference between the register and the batch. Only the metadata is
    parsed; sizes come from the zip directory or one ``lstat`` per file.
    """
    total, unreadable, years = 0, False, set()
    for path in items:
        try:
            data, size_of = sip.read_metadata_and_sizes(path, _limits(settings))
            stripped, inline = strip_inline_data_with_sizes(path.name, data)
            files, year = md.declared_files(stripped)
        except LantaiError:
            unreadable = True  # the item itself will be rejected with the reason
            continue
        if year:
            years.add(year)
        for name in dict.fromkeys(name for name, _size in files if name):
            size = inline[name] if name in inline else size_of(name)
            total += size or 0
    return BatchTotals(len(items), total, unreadable, sorted(years))


# Group commit: the committing process gathers prepared items until it has this many or the
# oldest has waited this long. Workers do not wait for it (finished items are replaced in the
# pool before the group commits, and each worker has several queued), so gathering costs only
# latency, while each group pays two syncfs, an intent file and a transaction once: at one or two
# items a group those fixed costs made the committer the bottleneck.
GROUP_MAX_ITEMS = 16
GROUP_MAX_SECONDS = 0.5
IN_FLIGHT_PER_WORKER = 8  # submitted, not finished: more work than a group commit takes to write


NOT_RECEIVED = "本件检测未发现须拒收的问题；因归档登记表与批次内容不符，整批未接收"


def _discard_group(archive: Archive, group: list[PreparedItem], _context: BatchContext) -> list[ItemOutcome]:
    """The outcomes of items checked but not committed (their batch was refused): staging dropped."""
    outcomes = []
    for prepared in group:
        if prepared.version is not None:
            archive.store.abort(prepared.version.staging_dir)
        outcome = prepared.outcome
        if outcome.status == ACCEPTED:
            outcome.message = NOT_RECEIVED
        outcome.status = REJECTED
        outcomes.append(outcome)
    return outcomes


def _run(archive: Archive, paths: list[Path], context: BatchContext, *, commit: bool = True) -> Iterator[ItemOutcome]:
    """Prepare on a pool of workers, commit in this process in completion order, in groups.

    With ``commit=False`` the items are prepared and checked only, and every staged version is
    dropped: a batch refused as a whole still reports each item's findings.
    """
    finish = commit_group if commit else _discard_group
    workers = max(1, archive.settings.workers)
    if workers == 1 or len(paths) == 1:
        for path in paths:
            yield finish(archive, [prepare_item(archive.settings, path, context)], context)[0]
        return
    # A bounded window of items in flight: wait() visits every pending future on each call, so
    # submitting a whole batch up front made committing O(n²) (at 3,000 items, millions of lock
    # operations in the committer) and held every prepared result of a huge batch at once.
    in_flight = workers * IN_FLIGHT_PER_WORKER
    remaining = iter(paths)
    with worker_pool(workers, preload=worker_preload(archive.settings)) as pool:
        pending = {pool.submit(prepare_item, archive.settings, path, context) for path in islice(remaining, in_flight)}
        ready: list[Future[PreparedItem]] = []
        deadline = 0.0
        while pending:
            timeout = max(0.0, deadline - time.monotonic()) if ready else None
            done, pending = wait(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            if done and not ready:
                deadline = time.monotonic() + GROUP_MAX_SECONDS
            ready.extend(done)
            pending |= {pool.submit(prepare_item, archive.settings, path, context)
                        for path in islice(remaining, in_flight - len(pending))}
            if ready and (len(ready) >= GROUP_MAX_ITEMS or not pending or time.monotonic() >= deadline):
                yield from finish(archive, [future.result() for future in ready], context)
                ready = []


__all__ = ["ACCEPTED", "CONFLICT", "DUPLICATE", "REJECTED", "IngestReport", "ItemOutcome", "StorageError",
           "ingest_batch", "ingest_paths", "prepare_item"]
