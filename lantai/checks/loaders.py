"""Turning what the user points at into :class:`~lantai.checks.subject.Subject` objects.

* a directory holding ``归档登记表.csv`` is a batch: each item is a SIP, checked together;
* a directory or ZIP holding ``元数据.xml`` is one SIP item;
* a DA/T 48 ``.eep`` is verified (structure, digests, SM2 signatures, trust in the archive's key
  store) and, when it verifies, its extracted SIP is checked like any item; a BagIt bag is
  validated and its one item checked in place. What the verification found is kept on the
  subject (``extra["package_findings"]``) for 1-1, 1-5 and 2-4;
* any other directory is walked and every file in it is checked on its own (single files);
* ``archived:<电子文件号>`` is an item in the OCFL store (``--archived``).

Loading never raises for bad input: a package that cannot be opened becomes a subject with
``package_error`` set, which the 1-5 check reports.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.facts import zip_is_sip
from lantai.checks.profiles import Profile
from lantai.checks.subject import ARCHIVED, SINGLE, SIP, STAGED, Subject, SubjectFile
from lantai.crypto.digests import copy_and_digest, digest_file
from lantai.domain import metadata as md
from lantai.errors import LantaiError, UnsafeInput
from lantai.packages import adapters, sip
from lantai.packages import bag as bagit
from lantai.packages.inline_data import extract_inline_data
from lantai.storage.ocfl import OcflStore

PACKAGE = "package"  # an EEP or a BagIt bag: verified, then its SIP is checked
METADATA_PATH = "metadata/元数据.xml"
PROCESS_PATH = "metadata/过程信息.xml"


@dataclass(frozen=True)
class WorkItem:
    """A picklable reference to one thing to check; ``batch`` groups items of one batch."""

    kind: str
    path: str
    batch: str | None = None
    reference: Any = None  # the archive's arrangement reference data (档号 rules), when checking for one
    fixity: Any = None  # archived items: the caller's ObjectFixity of the stored object (bc 1-5)


@dataclass
class BatchInfo:
    path: str
    register: Any | None = None
    register_error: str | None = None
    items: list[str] = field(default_factory=list)


def expand_paths(paths: list[Path]) -> tuple[list[WorkItem], dict[str, BatchInfo]]:
    """Everything to check, in a stable order, and the batches the items belong to."""
    work: list[WorkItem] = []
    batches: dict[str, BatchInfo] = {}
    for path in paths:
        if sip.is_batch(path):
            info = _batch_info(path)
            batches[info.path] = info
            work += [WorkItem(SIP, item, info.path) for item in info.items]
        elif adapters.is_eep(path) or bagit.is_bag(path):
            work.append(WorkItem(PACKAGE, str(path)))
        elif _is_sip(path):
            work.append(WorkItem(SIP, str(path)))
        elif path.is_dir():
            work += _walk(path)
        else:
            work.append(WorkItem(SINGLE, str(path)))
    return work, batches


def _batch_info(path: Path) -> BatchInfo:
    info = BatchInfo(str(path), items=[str(p) for p in sip.iter_batch_items(path)])
    try:
        info.register = sip.read_register(path)
    except LantaiError as exc:
        info.register_error = exc.message_zh
    return info


def _is_sip(path: Path) -> bool:
    if path.is_dir():
        return (path / sip.METADATA_NAME).is_file()
    return path.is_file() and path.suffix.lower() == ".zip" and zip_is_sip(path, sip.METADATA_NAME)


def _walk(root: Path) -> list[WorkItem]:
    """Files of a plain directory, each on its own; SIP items found inside are checked as items."""
    found: list[WorkItem] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        items = [d for d in dirnames if (Path(dirpath) / d / sip.METADATA_NAME).is_file()]
        found += [WorkItem(SIP, str(Path(dirpath) / d)) for d in sorted(items)]
        dirnames[:] = sorted(d for d in dirnames if d not in items)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            found.append(WorkItem(SIP if _is_sip(path) else SINGLE, str(path)))
    return found


# --- single files ------------------------------------------------------------------------------
def load_single(path: Path, stage: str, profile: Profile, settings: Any) -> Subject:
    subject = Subject(path.name, str(path), SINGLE, stage, profile, settings=settings)
    try:
        digests, size = digest_file(path, ("sm3",))
    except OSError as exc:
        subject.package_error = ("1-5a", f"文件无法读取: {exc.strerror or exc}")
        return subject
    subject.files[path.name] = SubjectFile(path.name, path, size, digests)
    return subject


# --- SIP items ---------------------------------------------------------------------------------
def _limits(settings: Any) -> sip.SipLimits:
    if settings is None:
        return sip.SipLimits()
    return sip.SipLimits(settings.max_item_bytes, settings.max_zip_entries, settings.max_zip_ratio,
                         settings.max_metadata_bytes)


def load_sip(path: Path, stage: str, profile: Profile, settings: Any, workdir: Path) -> Subject:
    subject = Subject(path.name, str(path), SIP, stage, profile, settings=settings)
    limits = _limits(settings)
    try:
        with sip.open_item(path, limits) as source:
            _read_sip(subject, source, limits, workdir)
    except UnsafeInput as exc:
        subject.package_error = ("1-5c", exc.message_zh)
    except LantaiError as exc:
        subject.package_error = ("1-5a", exc.message_zh)
    except (OSError, ValueError) as exc:
        subject.package_error = ("1-5a", f"{type(exc).__name__}: {exc}")
    return subject


def _read_sip(subject: Subject, source: sip.SipSource, limits: sip.SipLimits, workdir: Path) -> None:

    metadata = source.read(sip.METADATA_NAME, limits.max_metadata_bytes)
    inline: dict[str, Path] = {}
    try:
        metadata, inline = extract_inline_data(source.label, metadata, workdir / "inline")
    except LantaiError as exc:
        subject.metadata_error = exc.message_zh
    if subject.metadata_error is None:
        parse_metadata(subject, metadata)
    if sip.PROCESS_NAME in source.entries:
        parse_process(subject, source.read(sip.PROCESS_NAME, limits.max_metadata_bytes))
    for name, algorithm in sip.MANIFEST_NAMES.items():
        if name in source.entries:
            try:
                subject.manifests[algorithm] = sip.parse_manifest(source.label, name,
                                                                  source.read(name, limits.max_metadata_bytes))
            except LantaiError as exc:
                subject.manifest_errors[name] = exc.message_zh
    algorithms = ["sm3", *[a for a in subject.manifests if a != "sm3"]]
    for name, entry in sorted(source.entries.items()):
        if name in sip.RESERVED_NAMES:
            continue
        subject.files[name] = _materialise(entry, workdir / "files" / name, algorithms)
    for name, file in inline.items():
        digests, size = digest_file(file, algorithms)
        subject.files[name] = SubjectFile(name, file, size, digests)


def _materialise(entry: sip.SipEntry, target: Path, algorithms: list[str]) -> SubjectFile:
    """Directory items are read in place; ZIP members are extracted (bounded) so validators get a path."""
    if entry._dir_file is not None:
        digests, size = digest_file(entry._dir_file, algorithms)
        return SubjectFile(entry.path, entry._dir_file, size, digests)
    with entry.open() as stream:
        digests, size = copy_and_digest(stream, target, algorithms, max_bytes=entry.size, fsync=False)
    return SubjectFile(entry.path, target, size, digests)


def parse_metadata(subject: Subject, data: bytes) -> None:

    try:
        subject.record = md.parse_record_xml(data)
    except LantaiError as exc:
        subject.metadata_error = exc.message_zh
        return
    except Exception as exc:
        subject.metadata_error = f"{type(exc).__name__}: {exc}"
        return
    subject.id = (subject.record.electronic_record_code or "").strip() or subject.id
    subject.referenced = referenced_files(subject.record, subject.illegal_names)


def parse_process(subject: Subject, data: bytes) -> None:

    try:
        subject.process = md.parse_process_xml(data)
    except LantaiError as exc:
        subject.process_error = exc.message_zh
    except Exception as exc:
        subject.process_error = f"{type(exc).__name__}: {exc}"


def referenced_files(record: Any, illegal: list[str]) -> dict[str, int | None]:
    """计算机文件名 → declared 计算机文件大小; illegal or reserved names go to ``illegal``."""
    referenced: dict[str, int | None] = {}
    for _doc, _data, encoding in record.iter_encodings():
        raw = (encoding.computer_file_name or "").strip()
        if not raw:
            continue
        try:
            name = sip.check_relative_path("元数据.xml", raw)
        except LantaiError:
            illegal.append(raw)
            continue
        if name in sip.RESERVED_NAMES:
            illegal.append(raw)
            continue
        size = str(encoding.computer_file_size or "").strip()
        referenced[name] = int(size) if size.isdigit() else None
    return referenced


# --- staged ingest items -----------------------------------------------------------------------
def from_ingest_context(context: Any, stage: str, profile: Profile) -> Subject:
    """A subject over files ingest has already staged and digested (no second read for digests)."""
    subject = Subject(context.label, context.label, STAGED, stage, profile, settings=context.settings,
                      record=context.record, process=context.process, manifests=dict(context.manifests))
    if context.record is not None:
        subject.id = (context.record.electronic_record_code or "").strip() or context.label
        subject.referenced = referenced_files(context.record, subject.illegal_names)
    for name, staged in context.staged.items():
        digests = {"sm3": staged.sm3, "sha512": staged.sha512}
        if getattr(staged, "sha256", None):
            digests["sha256"] = staged.sha256
        subject.files[name] = SubjectFile(name, Path(staged.path), staged.size, digests)
    subject.extra["unstaged"] = list(getattr(context, "unstaged", []))
    if "record_validation" in context.extra:  # ingest validated the same record a moment ago
        subject.extra["record_validation"] = context.extra["record_validation"]
    return subject


# --- archived items ----------------------------------------------------------------------------
def load_archived(record_id: str, stage: str, profile: Profile, settings: Any) -> Subject:

    store = OcflStore(settings.store_root, settings.staging_dir, fsync=False)
    subject = Subject(record_id, f"archived:{record_id}", ARCHIVED, stage, profile, settings=settings)
    try:
        stored = store.files(record_id)
        base = store.object_path(record_id)
    except LantaiError as exc:
        subject.package_error = ("1-5d", exc.message_zh)
        return subject
    subject.stored_location = str(base)
    by_path = {f.logical_path: f for f in stored}
    if METADATA_PATH in by_path:
        parse_metadata(subject, _read_stored(store.content_path(record_id, by_path[METADATA_PATH].content_path)))
    else:
        subject.metadata_error = f"对象中没有 {METADATA_PATH}"
    if PROCESS_PATH in by_path:
        parse_process(subject, _read_stored(store.content_path(record_id, by_path[PROCESS_PATH].content_path)))
    for logical, f in sorted(by_path.items()):
        if logical.startswith("content/"):
            name = logical[len("content/"):]
            subject.files[name] = SubjectFile(name, store.content_path(record_id, f.content_path), max(f.size, 0),
                                              {"sm3": f.sm3})
    subject.id = record_id
    return subject


def _read_stored(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


# --- EEPs and bags ------------------------------------------------------------------------------
def load_package(path: Path, stage: str, profile: Profile, settings: Any, workdir: Path) -> Subject:
    """Verify the package, then load the SIP inside it; a package that does not verify has no SIP."""
    findings = _verify_package(path, settings)
    if any(f.is_error for f in findings):
        subject = Subject(path.name, str(path), SIP, stage, profile, settings=settings)
        first = next(f for f in findings if f.is_error)
        subject.package_error = ("1-5a", f"{path.name} 验证未通过: {first.code or first.rule} {first.message}")
    else:
        try:
            sip_dir = adapters.materialise_sip(path, workdir / "package", _keystore(path, settings))
        except LantaiError as exc:
            subject = Subject(path.name, str(path), SIP, stage, profile, settings=settings)
            subject.package_error = ("1-5a", exc.message_zh)
        else:
            subject = load_sip(sip_dir or path, stage, profile, settings, workdir)
            subject.source = str(path)
    subject.extra["package_findings"] = findings
    subject.extra["package_kind"] = "eep" if adapters.is_eep(path) else "bagit"
    return subject


def _verify_package(path: Path, settings: Any) -> list[Any]:
    try:
        if adapters.is_eep(path):
            from lantai.packages.eep import verify_eep

            return list(verify_eep(path, _keystore(path, settings)))
        return list(bagit.validate_bag(path).findings)
    except LantaiError as exc:
        from lantai.checks.registry import finding

        return [finding("package-unreadable", path.name, detail=exc.message_zh, detail_en=exc.message_en)]


def _keystore(path: Path, settings: Any) -> Any:
    if settings is None or not adapters.is_eep(path):
        return None
    return adapters.archive_keystore(settings)


def load(work: WorkItem, stage: str, profile: Profile, settings: Any, workdir: Path) -> Subject:
    if work.kind == SIP:
        subject = load_sip(Path(work.path), stage, profile, settings, workdir)
    elif work.kind == PACKAGE:
        subject = load_package(Path(work.path), stage, profile, settings, workdir)
    elif work.kind == ARCHIVED:
        subject = load_archived(work.path, stage, profile, settings)
    else:
        subject = load_single(Path(work.path), stage, profile, settings)
    if work.reference is not None:
        subject.extra["reference"] = work.reference
    if work.fixity is not None:
        subject.extra["fixity"] = work.fixity
    return subject


def new_workdir(settings: Any) -> Path:
    base = None
    if settings is not None and getattr(settings, "staging_dir", None) is not None and settings.staging_dir.is_dir():
        base = settings.staging_dir
    return Path(tempfile.mkdtemp(prefix="check-", dir=base))
