"""The audit chain: append-only, hash-linked with SM3, authenticated, anchored, journalled beside the store.

Every entry carries ``prev_hash`` (the hash of the entry before it) and ``hash`` = SM3 over the
canonical JSON of all its other fields, so changing, deleting, inserting or reordering any entry
breaks the chain at that point. A hash chain alone can be recomputed by whoever writes the file,
so each entry also carries ``mac`` = HMAC-SM3 of its hash under a key derived from the archive's
signing key (``keys/signing.key``, 0600), and signed checkpoints of the chain head are written to
a second location (:mod:`lantai.services.audit_checkpoints`): a forged entry, a cut tail or a
re-chained range is detected even when every hash has been recomputed.

The journal file (``<home>/audit/chain.jsonl``, JSON lines people can read) is authoritative: it
is written first, under an exclusive file lock, in one write of whole records, and fsynced; a
write that fails (a full disk) is cut back to the last whole record before the error is raised,
and a torn tail left by a crash is moved to ``audit/quarantine/`` and journalled. The catalogue
table is a copy that ``sync_catalogue`` brings up to date and ``lantai rebuild`` recreates. A
journal shorter than its catalogue copy or its checkpoints never restarts at 1: appending
continues after the highest known entry and journals the gap. There is deliberately no function
that deletes or rewrites an entry.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lantai.catalog import locks
from lantai.catalog.db import insert_ignoring_duplicates
from lantai.catalog.models import AuditEntry
from lantai.crypto import sm2
from lantai.crypto.digests import sm3_hex
from lantai.errors import LantaiError, StorageError, storage_error
from lantai.services import audit_checkpoints as checkpoints
from lantai.services.audit_checkpoints import Anchoring, Checkpoint

if TYPE_CHECKING:
    from lantai.services.archive import Archive

GENESIS_HASH = "0" * 64
_TAIL_BYTES = 64 * 1024
TAIL_QUARANTINED = "audit.tail_quarantined"
LEGACY_ADOPTED = "audit.legacy_adopted"
JOURNAL_GAP = "audit.journal_gap"
DENIALS_SUPPRESSED = "access.denials_suppressed"
_MAC_LABEL = b"lantai-audit-mac\x00"
SYNC_CHUNK = 2000  # journal entries copied into the catalogue per statement by sync_catalogue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    time: str
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str
    mac: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TornTail(ValueError):
    """Bytes after the last whole record: a write cut short by a crash (or, before, a full disk)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes of an incomplete record at the end of the journal")
        self.size = size


@dataclass
class ChainReport:
    """Outcome of ``verify``: ``first_bad_seq`` is None when the chain is intact."""

    entries: int = 0
    first_bad_seq: int | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None and not self.problems

    def add(self, seq: int, problem: str, message: str, **extra: Any) -> None:
        if self.first_bad_seq is None or seq < self.first_bad_seq:
            self.first_bad_seq = seq
        self.problems.append({"seq": seq, "problem": problem, "message": message, **extra})

    def add_missing(self, where: str, start: int, end: int, why: str) -> None:
        """A range of entries that a copy lacks though another copy or a signed checkpoint has them."""
        name = {"journal": "日志文件", "catalogue": "数据库"}[where]
        span = f"第 {start} 条" if start == end else f"第 {start}–{end} 条"
        self.missing.append({"where": where, "from": start, "to": end})
        self.add(start, f"{where}_missing", f"{name}缺少{span}审计记录（{why}）", **{"from": start, "to": end})

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq,
                "problems": self.problems, "missing": self.missing, "checkpoints": self.checkpoints,
                "notes": self.notes}


def entry_hash(seq: int, time: str, actor: str, action: str, target: str, details: dict[str, Any], prev_hash: str) -> str:
    payload = {"seq": seq, "time": time, "actor": actor, "action": action, "target": target,
               "details": details, "prev_hash": prev_hash}
    return sm3_hex(json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def entry_mac(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode("ascii"), "sm3").hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _record_from_line(line: bytes) -> AuditRecord:
    data = json.loads(line)
    return AuditRecord(int(data["seq"]), data["time"], data["actor"], data["action"], data["target"],
                       data.get("details", {}), data["prev_hash"], data["hash"], str(data.get("mac", "")))


@dataclass
class _Tail:
    """The journal's end: the last whole record, where it ends, and where the file ends."""

    last: AuditRecord | None
    good_end: int
    end: int

    @property
    def torn(self) -> bool:
        return self.end > self.good_end


class AuditLog:
    """Appends to and verifies the chain. Safe across processes on one machine (flock) and, on a
    PostgreSQL catalogue, across machines (an advisory lock taken before the flock)."""

    def __init__(self, journal: Path, sessions: sessionmaker[Session] | None, *, fsync: bool = True,
                 keys_dir: Path | None = None, anchoring: Anchoring | None = None,
                 denials_per_minute: int = 20) -> None:
        self.journal = Path(journal)
        self.sessions = sessions
        self.fsync = fsync
        self.keys_dir = Path(keys_dir) if keys_dir else None
        self.anchoring = anchoring
        self.denials = DenialLimiter(denials_per_minute)
        self._keypair: sm2.Sm2KeyPair | None = None
        self._mac: bytes | None = None
        self._local = threading.local()  # the cluster lock's connection, while this thread appends

    # --- keys -----------------------------------------------------------------------------------
    def keypair(self) -> sm2.Sm2KeyPair | None:
        """The archive's signing key, once it exists (``lantai init`` creates it before the first entry)."""
        if self._keypair is None and self.keys_dir is not None and (self.keys_dir / "signing.key").is_file():
            from lantai.crypto.keystore import Keystore

            self._keypair = Keystore(self.keys_dir, "").signing_key()
        return self._keypair

    def _mac_key(self) -> bytes | None:
        """HMAC key for entries: derived from the signing key, so there is no second secret to keep."""
        if self._mac is None:
            keypair = self.keypair()
            self._mac = hashlib.new("sm3", _MAC_LABEL + keypair.private_key).digest() if keypair else None
        return self._mac

    # --- appending ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, mode: int = fcntl.LOCK_EX) -> Iterator[Any]:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "a+b") as fh:
            fcntl.flock(fh, mode)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _tail(self, fh: Any) -> _Tail:
        """Find the last record that parses; anything after it is a torn (or garbled) tail."""
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        start = max(0, end - _TAIL_BYTES)
        while end:
            fh.seek(start)
            chunk = fh.read(end - start)
            cut = len(chunk)
            while True:
                newline = chunk.rfind(b"\n", 0, cut)
                if newline < 0:
                    break
                line_start = chunk.rfind(b"\n", 0, newline) + 1
                if line_start == 0 and start > 0:
                    break  # the line may begin before this chunk: read further back
                line = chunk[line_start:newline]
                if line.strip():
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        return _Tail(_record_from_line(line), start + newline + 1, end)
                cut = line_start
            if start == 0:
                return _Tail(None, 0, end)
            start = max(0, start - _TAIL_BYTES)
        return _Tail(None, 0, 0)

    def append(self, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None,
               *, session: Session | None = None) -> AuditRecord:
        return self.append_many([(actor, action, target, details or {})], session=session)[0]

    def append_many(self, entries: list[tuple[str, str, str, dict[str, Any]]], *,
                    session: Session | None = None) -> list[AuditRecord]:
        """Append entries to the journal, then copy them into the catalogue.

        With ``session`` the catalogue copy joins the caller's unit of work; otherwise it is
        committed at once. If the catalogue copy is lost (crash, rollback), ``sync_catalogue``
        restores it from the journal. Raises :class:`DiskFull` (journal unchanged) when there is
        no space.
        """
        if not entries:
            return []
        written = self._append(entries)
        self._copy_to_catalogue(written, session)
        return written[-len(entries):]

    def adopt_legacy(self) -> int:
        """Anchor the entries an earlier release wrote without MACs, once, with a signed checkpoint.

        Without this, every entry of an upgraded archive would read as forged. The checkpoint
        records how far the MAC-less prefix goes, so MACs cannot be stripped from any later entry;
        the prefix itself stays protected by its hash chain, the catalogue copy and this
        signature. Returns the sequence adopted through (0 when there was nothing to adopt).
        """
        keypair = self.keypair()
        if keypair is None or self.anchoring is None or not self._starts_without_mac():
            return 0
        if checkpoints.legacy_through(self.anchoring.directory, keypair.public_key):
            return 0
        last = self._intact_legacy_prefix()
        if last is None:
            return 0  # a broken prefix is not vouched for: verify reports it
        cp = self.anchoring.write(keypair, last.seq, last.hash, last.time, legacy_through=last.seq)
        self.append("system", LEGACY_ADOPTED, self.journal.name,
                    {"through": last.seq, "head_hash": last.hash, "checkpoint_time": cp.time})
        return last.seq

    def _starts_without_mac(self) -> bool:
        for record in self.iter_journal():
            return isinstance(record, AuditRecord) and not record.mac
        return False

    def _intact_legacy_prefix(self) -> AuditRecord | None:
        """The last MAC-less entry, when every entry up to it links and hashes correctly."""
        prev_hash, expected, last = GENESIS_HASH, 1, None
        for record in self.iter_journal():
            if not isinstance(record, AuditRecord) or record.mac:
                break
            if record.seq != expected or record.prev_hash != prev_hash or record.hash != entry_hash(
                    record.seq, record.time, record.actor, record.action, record.target, record.details,
                    record.prev_hash):
                return None
            prev_hash, expected, last = record.hash, expected + 1, record
        return last

    def repair_tail(self) -> AuditRecord | None:
        """At start-up: move a torn tail aside and journal that it was; None when there was none."""
        if not self.journal.exists():
            return None
        with open(self.journal, "rb") as fh:
            if not self._tail(fh).torn:
                return None
        written = self._append([])
        self._copy_to_catalogue(written, None)
        return written[0] if written else None

    @contextlib.contextmanager
    def _cluster_locked(self) -> Iterator[Any]:
        """On a PostgreSQL catalogue, an advisory lock that every process on every machine takes
        before it appends: the flock below serialises one machine only (and not every shared file
        system honours it). Yields the lock's connection (it reads the catalogue's head too), or
        None on SQLite, where one machine and the flock suffice."""
        engine = self.sessions.kw.get("bind") if self.sessions is not None else None
        if engine is None or not locks.is_postgres(engine):
            yield None
            return
        held = locks.HeldLock(engine, locks.AUDIT_CHAIN, 0)
        try:
            yield held
        finally:
            held.release()

    def _append(self, entries: list[tuple[str, str, str, dict[str, Any]]]) -> list[AuditRecord]:
        try:
            with self._cluster_locked() as cluster, self._locked() as fh:
                self._local.connection = cluster
                try:
                    tail = self._tail(fh)
                    system: list[tuple[str, str, str, dict[str, Any]]] = []
                    if tail.torn:
                        system.append(("system", TAIL_QUARANTINED, self.journal.name, self._quarantine(fh, tail)))
                    seq, prev, gap = self._continue_from(tail.last)
                    if gap:
                        system.append(("system", JOURNAL_GAP, self.journal.name, gap))
                    if not entries and not system:
                        return []
                    records = self._records(system + entries, seq, prev)
                    data = b"".join(json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"
                                    for r in records)
                    self._write(fh, data, tail.good_end)
                    self._anchor(records[-1])
                finally:
                    self._local.connection = None
        except OSError as exc:
            raise storage_error(exc, (f"磁盘空间不足，无法写入审计日志 {self.journal}；本次操作未生效，请释放空间后重试",
                                      f"disk full: cannot write the audit journal {self.journal}; nothing was "
                                      "recorded, free space and retry"),
                                (f"无法写入审计日志: {exc}", f"cannot write the audit journal: {exc}")) from exc
        return records

    def _records(self, entries: list[tuple[str, str, str, dict[str, Any]]], seq: int, prev: str) -> list[AuditRecord]:
        key = self._mac_key()
        records = []
        for actor, action, target, details in entries:
            details = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
            seq += 1
            moment = _now()
            digest = entry_hash(seq, moment, actor, action, target, details, prev)
            records.append(AuditRecord(seq, moment, actor, action, target, details, prev, digest,
                                       entry_mac(key, digest) if key else ""))
            prev = digest
        return records

    def _write(self, fh: Any, data: bytes, at: int) -> None:
        """One appending write of whole records; on any failure cut the file back to ``at``."""
        fd = fh.fileno()
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, at)  # frees space, so it works on a full disk
                os.fsync(fd)
            raise

    def _quarantine(self, fh: Any, tail: _Tail) -> dict[str, Any]:
        """Copy the torn bytes to ``audit/quarantine/`` (fsynced), then cut them off the journal."""
        fh.seek(tail.good_end)
        torn = fh.read(tail.end - tail.good_end)
        directory = self.journal.parent / "quarantine"
        directory.mkdir(exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = directory / f"{self.journal.stem}-tail-{stamp}-{os.getpid()}.bin"
        with open(target, "xb") as out:
            out.write(torn)
            out.flush()
            os.fsync(out.fileno())
        os.ftruncate(fh.fileno(), tail.good_end)
        os.fsync(fh.fileno())
        log.warning("audit journal: %d torn bytes moved to %s", len(torn), target)
        return {"file": f"{directory.name}/{target.name}", "bytes": len(torn), "sm3": sm3_hex(torn),
                "after_seq": tail.last.seq if tail.last else 0}

    def _continue_from(self, last: AuditRecord | None) -> tuple[int, str, dict[str, Any] | None]:
        """Where the next entry goes: after the highest entry the journal, catalogue or a checkpoint knows.

        A journal that was cut or deleted must not restart at 1 (that would re-use sequence numbers
        and hide the loss); the missing range is journalled as a gap instead.
        """
        seq, prev = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        known = [head for head in (self._catalogue_head(), self._checkpoint_head()) if head is not None]
        best = max(known, default=None)
        if best is None or best[0] <= seq:
            return seq, prev, None
        gap = {"missing_from": seq + 1, "missing_to": best[0],
               "message": f"审计日志文件缺少第 {seq + 1}–{best[0]} 条记录（数据库或检查点中有），序号从 {best[0] + 1} 续写"}
        log.error("audit journal is missing entries %d-%d; continuing after %d", seq + 1, best[0], best[0])
        return best[0], best[1], gap

    def _catalogue_head(self) -> tuple[int, str] | None:
        """The catalogue's last entry, read on a pooled connection of its own (never the caller's
        snapshot) through the DB-API directly: this runs on every append, and a session costs 10×."""
        engine = self.sessions.kw.get("bind") if self.sessions is not None else None
        if engine is None:
            return None
        held = getattr(self._local, "connection", None)
        try:
            connection = held.connection if held is not None else engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(f"SELECT seq, hash FROM {AuditEntry.__tablename__} ORDER BY seq DESC LIMIT 1")
                row = cursor.fetchone()
                cursor.close()
                if held is not None:
                    connection.commit()
            finally:
                if held is None:
                    connection.close()
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:  # the journal is authoritative
            log.error("cannot read the catalogue's last audit entry: %s", exc)
            return None
        return (int(row[0]), str(row[1])) if row else None

    def _checkpoint_head(self) -> tuple[int, str] | None:
        last = self.anchoring.last() if self.anchoring else None
        return (last.seq, last.head_hash) if last else None

    def _anchor(self, record: AuditRecord) -> None:
        """Write a signed checkpoint when one is due; failing to is logged, never loses the entry."""
        keypair = self.keypair()
        if self.anchoring is None or keypair is None or not self.anchoring.due(record.seq):
            return
        try:
            self.anchoring.write(keypair, record.seq, record.hash, record.time)
        except OSError as exc:
            log.error("cannot write audit checkpoint to %s: %s", self.anchoring.directory, exc)

    def anchor_pending(self) -> Checkpoint | None:
        """Sign the head if entries were added since the last checkpoint (when an archive closes),
        so that a command's last entries are not left outside every checkpoint."""
        keypair = self.keypair()
        known = self.anchoring.last() if self.anchoring else None
        last = self.last_record()
        if self.anchoring is None or keypair is None or last is None or (known and known.seq >= last.seq):
            return None
        try:
            return self.anchoring.write(keypair, last.seq, last.hash, last.time)
        except OSError as exc:
            log.error("cannot write audit checkpoint to %s: %s", self.anchoring.directory, exc)
            return None

    def checkpoint(self) -> Checkpoint:
        """Sign the current head now (``lantai audit checkpoint export``)."""
        keypair = self.keypair()
        if keypair is None:
            raise StorageError("密钥库尚未初始化，无法签署审计检查点（请运行 lantai keys init）",
                               "key store not initialised: cannot sign an audit checkpoint")
        self._copy_to_catalogue(self._append([]), None)  # a torn tail or a gap is journalled first
        last = self.last_record()
        if last is None:
            raise StorageError("审计日志为空，没有可签署的记录", "the audit journal is empty: nothing to sign")
        if self.anchoring is None:
            return checkpoints.sign(keypair, last.seq, last.hash, last.time, "")
        try:
            return self.anchoring.write(keypair, last.seq, last.hash, last.time)
        except OSError as exc:
            raise StorageError(f"无法写入审计检查点: {exc}", f"cannot write the audit checkpoint: {exc}") from exc

    def _copy_to_catalogue(self, records: list[AuditRecord], session: Session | None) -> None:
        if not records:
            return
        if session is not None:  # one executemany in the caller's transaction (ingest commits groups)
            _insert_copies(session, records)
            return
        if self.sessions is None:
            return
        with self.sessions.begin() as own:
            _insert_copies(own, records)

    # --- reading --------------------------------------------------------------------------------
    def last_record(self) -> AuditRecord | None:
        if not self.journal.exists():
            return None
        with open(self.journal, "rb") as fh:
            return self._tail(fh).last

    def stable_size(self) -> int:
        """How many bytes of the journal hold whole entries now (a backup copies exactly these)."""
        return self._stable_size()

    def _stable_size(self) -> int:
        """The journal's length at a moment no writer is mid-record (a shared lock, held briefly)."""
        if not self.journal.exists():
            return 0
        with self._locked(fcntl.LOCK_SH) as fh:
            return os.fstat(fh.fileno()).st_size

    def iter_journal(self, limit: int | None = None) -> Iterator[AuditRecord | Exception]:
        """Every record; an unreadable line is yielded as the exception, a torn tail as :class:`TornTail`."""
        if not self.journal.exists():
            return
        with open(self.journal, "rb") as fh:
            remaining = limit if limit is not None else os.fstat(fh.fileno()).st_size
            for line in fh:
                if remaining <= 0:
                    return
                remaining -= len(line)
                if not line.endswith(b"\n"):
                    if line.strip():
                        yield TornTail(len(line))
                    return
                if not line.strip():
                    continue
                try:
                    yield _record_from_line(line)
                except (ValueError, KeyError, TypeError) as exc:
                    yield exc

    def sync_catalogue(self) -> int:
        """Insert journal entries missing from the catalogue (after a crash or a rebuild).

        Streams: the catalogue's seqs are held as ranges and the missing entries are inserted
        :data:`SYNC_CHUNK` at a time, so memory does not grow with the journal (a rebuild into
        an empty catalogue copies every entry)."""
        if self.sessions is None:
            return 0
        with self.sessions.begin() as session:
            present = _ranges(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
            starts = [start for start, _end in present]
            missing: dict[int, AuditRecord] = {}
            copied = 0
            for record in self.iter_journal():
                if isinstance(record, AuditRecord) and not _in_ranges(present, starts, record.seq):
                    missing[record.seq] = record
                    if len(missing) >= SYNC_CHUNK:
                        copied += self._copy_chunk(session, missing)
            return copied + self._copy_chunk(session, missing)

    @staticmethod
    def _copy_chunk(session: Session, missing: dict[int, AuditRecord]) -> int:
        _insert_copies(session, [missing[seq] for seq in sorted(missing)])
        session.flush()
        count = len(missing)
        missing.clear()
        return count

    # --- verifying ------------------------------------------------------------------------------
    def verify(self, against: list[Checkpoint] | None = None) -> ChainReport:
        """Check the journal, its catalogue copy and the signed checkpoints against each other.

        ``against`` are checkpoints kept elsewhere (``--against FILE``). Findings name the first
        bad entry, or the missing range for a cut or deleted journal or catalogue.
        """
        report = ChainReport()
        keypair = self.keypair()
        legacy = checkpoints.legacy_through(self.anchoring.directory, keypair.public_key if keypair else None) \
            if self.anchoring else 0
        walk = self._verify_journal(report, legacy)
        catalogue = self._verify_catalogue(report, walk.hashes)
        anchors = self._verify_checkpoints(report, walk.hashes, catalogue, against or [])
        _report_missing(report, walk, catalogue, anchors)
        return report

    def _verify_journal(self, report: ChainReport, legacy_through: int = 0) -> _Walk:
        """Walk the chain; a gap in sequence numbers is recorded and walking goes on after it.

        Entries up to ``legacy_through`` (vouched for by a signed checkpoint) may lack a MAC."""
        walk = _Walk()
        prev_hash, expected = GENESIS_HASH, 1
        key = self._mac_key()
        legacy_prefix = True  # entries an earlier release wrote: no MAC, only at the start of the journal
        for record in self.iter_journal(self._stable_size()):
            if isinstance(record, TornTail):
                report.add(expected, "torn_tail", f"日志文件末尾有 {record.size} 字节不完整的记录（写入中断），"
                           "下次启动时将移入 audit/quarantine/")
                walk.broke = True
                break
            if isinstance(record, Exception):
                report.add(expected, "unreadable", f"第 {expected} 条审计记录无法解析")
                walk.broke = True
                break
            report.entries += 1
            if record.seq > expected:  # entries missing here; reported with the other copies in view
                walk.gaps.append((expected, record.seq - 1))
                prev_hash, expected = record.prev_hash, record.seq
            legacy_prefix = legacy_prefix and not record.mac
            problem = self._check_record(record, expected, prev_hash, None if legacy_prefix else key)
            if legacy_prefix and record.seq > legacy_through:
                walk.unanchored = record.seq
            if problem:
                report.add(min(record.seq, expected), *problem)
                walk.broke = True
                break
            walk.hashes[record.seq] = record.hash
            walk.times[record.seq] = record.time
            prev_hash, expected = record.hash, expected + 1
        walk.last = expected - 1
        if walk.unanchored and not walk.broke:
            report.notes.append(f"第 {legacy_through + 1}–{walk.unanchored} 条由旧版本写入（无认证码），哈希链完整，"
                                "尚未由签名检查点确认；下次以写方式打开档案库时自动确认")
        return walk

    @staticmethod
    def _check_record(record: AuditRecord, expected: int, prev_hash: str, key: bytes | None) -> tuple[str, str] | None:
        if record.seq != expected:
            return "sequence", f"序号不连续: 期望 {expected}，实际 {record.seq}（记录被删除、插入或重排）"
        if record.prev_hash != prev_hash:
            return "link", f"第 {record.seq} 条记录的前序哈希与链不符"
        recomputed = entry_hash(record.seq, record.time, record.actor, record.action, record.target,
                                record.details, record.prev_hash)
        if recomputed != record.hash:
            return "hash", f"第 {record.seq} 条记录内容已被篡改（SM3 不符）"
        if key is not None and not hmac.compare_digest(record.mac, entry_mac(key, record.hash)):
            return "forged", f"第 {record.seq} 条记录的认证码不符：不是本档案库写入的（伪造、插入或重新链接）"
        return None

    def _verify_catalogue(self, report: ChainReport, journal: dict[int, str]) -> dict[int, str]:
        """Every catalogue row must hash correctly, link to the row before it and equal the journal's."""
        hashes: dict[int, str] = {}
        if self.sessions is None:
            return hashes
        prev: tuple[int, str] | None = None
        with self.sessions() as session:
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
                details = json.loads(row.details or "{}")
                recomputed = entry_hash(row.seq, row.time, row.actor, row.action, row.target, details, row.prev_hash)
                in_journal = journal.get(row.seq)
                linked = prev is None or prev[0] != row.seq - 1 or prev[1] == row.prev_hash
                if recomputed != row.hash or not linked or (in_journal is not None and in_journal != row.hash):
                    report.add(row.seq, "catalogue_mismatch", f"数据库中的第 {row.seq} 条审计记录与日志文件或前一条不符")
                hashes[row.seq] = row.hash
                prev = (row.seq, row.hash)
        return hashes

    def _verify_checkpoints(self, report: ChainReport, journal: dict[int, str], catalogue: dict[int, str],
                            against: list[Checkpoint]) -> list[Checkpoint]:
        """Signatures first; then every valid checkpoint's head must be in both copies, unchanged."""
        keypair = self.keypair()
        public = keypair.public_key if keypair else None
        stored = checkpoints.read_all(self.anchoring.directory) if self.anchoring else []
        valid: list[Checkpoint] = []
        for source, items in (("stored", [(p.name, cp) for p, cp in stored]),
                              ("against", [("--against", cp) for cp in against])):
            for name, cp in items:
                if cp is None:
                    report.add(_seq_of(name), "checkpoint_unreadable", f"检查点文件 {name} 无法解析")
                elif public is None or not cp.verify(public):
                    why = "签名密钥不是本档案库的" if public is not None and cp.public_key != public.hex() else "签名无效"
                    report.add(cp.seq, "checkpoint_signature", f"检查点（第 {cp.seq} 条，{cp.time}）{why}：伪造或被改动",
                               source=source)
                else:
                    valid.append(cp)
        valid.sort(key=lambda c: c.seq)
        for name, copy in (("日志文件", journal), ("数据库", catalogue)):
            _compare_heads(report, name, valid, copy)
        last = valid[-1] if valid else None
        journal_top = max(journal, default=0)
        report.checkpoints = {"stored": len(stored), "against": len(against), "valid": len(valid),
                              "last_seq": last.seq if last else None, "last_time": last.time if last else None,
                              "entries_after_last": max(0, journal_top - last.seq) if last else journal_top}
        if last is None:
            report.notes.append("没有有效的签名检查点：截断与重新链接只能由数据库副本发现")
        return valid


@dataclass
class _Walk:
    """What walking the journal found: verified hashes and times by seq, gaps, where it stopped."""

    hashes: dict[int, str] = field(default_factory=dict)
    times: dict[int, str] = field(default_factory=dict)
    gaps: list[tuple[int, int]] = field(default_factory=list)
    last: int = 0
    broke: bool = False
    unanchored: int = 0  # last MAC-less entry of an earlier release that no signed checkpoint covers yet


def _compare_heads(report: ChainReport, name: str, valid: list[Checkpoint], copy: dict[int, str]) -> None:
    """The first checkpoint a copy disagrees with bounds the rewritten range (after the last it agrees with)."""
    good = 0
    for cp in valid:
        have = copy.get(cp.seq)
        if have is None:
            continue  # cut or missing: reported as a missing range
        if have == cp.head_hash:
            good = max(good, cp.seq)
            continue
        report.add(good + 1, "rechained", f"{name}第 {good + 1}–{cp.seq} 条记录被改写或重新链接："
                   f"第 {cp.seq} 条与签名检查点（{cp.time}）不符", **{"from": good + 1, "to": cp.seq})
        return


_PENDING_SECONDS = 120  # a catalogue row this recent may still be in another process's open transaction


def _report_missing(report: ChainReport, walk: _Walk, catalogue: dict[int, str], anchors: list[Checkpoint]) -> None:
    """Ranges one copy lacks that another copy or a signed checkpoint proves existed."""
    for start, end in walk.gaps:
        report.add_missing("journal", start, end, "日志文件中间缺失")
    anchored = max((cp.seq for cp in anchors), default=0)
    top = max(max(catalogue, default=0), anchored)
    if not walk.broke and top > walk.last:
        report.add_missing("journal", walk.last + 1, top, "日志被截断或删除；数据库或签名检查点中有这些记录")
    catalogue_top = max(catalogue, default=0)
    cutoff = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=_PENDING_SECONDS)).isoformat().replace("+00:00", "Z")
    holes = [s for s in range(1, catalogue_top + 1) if s not in catalogue]
    pending = [s for s in holes if walk.times.get(s, "") > cutoff]
    for start, end in _ranges(s for s in holes if s not in pending):
        report.add_missing("catalogue", start, end, "数据库记录被删除")
    if anchored > catalogue_top:
        report.add_missing("catalogue", catalogue_top + 1, anchored, "数据库记录被截断或删除；签名检查点中有")
    elif walk.last > catalogue_top or pending:
        report.notes.append(f"数据库副本尚缺日志文件中最近的记录（第 {catalogue_top + 1} 条起或正在写入），下次启动时同步")
    if not walk.hashes and not catalogue and not anchors and not walk.broke and not report.problems:
        report.add(1, "empty", "审计日志为空：档案库初始化后至少有一条记录，日志文件与数据库副本均已被删除")


def _seq_of(name: str) -> int:
    digits = "".join(ch for ch in name if ch.isdigit())
    return int(digits) if digits else 0


def _ranges(seqs: Iterator[int] | Any) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for s in seqs:
        if ranges and ranges[-1][1] == s - 1:
            ranges[-1] = (ranges[-1][0], s)
        else:
            ranges.append((s, s))
    return ranges


def _in_ranges(ranges: list[tuple[int, int]], starts: list[int], seq: int) -> bool:
    at = bisect.bisect_right(starts, seq) - 1
    return at >= 0 and ranges[at][0] <= seq <= ranges[at][1]


def _values(record: AuditRecord) -> dict[str, Any]:
    return {"seq": record.seq, "time": record.time, "actor": record.actor, "action": record.action,
            "target": record.target, "details": json.dumps(record.details, ensure_ascii=False, sort_keys=True),
            "prev_hash": record.prev_hash, "hash": record.hash}


def _insert_copies(session: Session, records: list[AuditRecord]) -> None:
    """Copy journal records into the catalogue, in ascending ``seq``, skipping any already there.

    A live writer copies its entries in its own transaction while recovery in another process
    may sync the same entries from the journal: whichever commits second skips them (and, both
    inserting in ascending order, the two never wait on each other in a cycle), so recovery
    never makes a live writer's transaction fail."""
    if records:
        session.execute(insert_ignoring_duplicates(session, AuditEntry.__table__, ["seq"]),
                        [_values(r) for r in sorted(records, key=lambda r: r.seq)])


# --- denials --------------------------------------------------------------------------------------
class DenialLimiter:
    """At most ``per_minute`` journalled denials per (client, action) a minute; the rest are counted.

    A prober that sends thousands of requests gets ``per_minute`` entries and then one summary
    entry for the window, so the journal stays readable and the disk cannot be filled through it.
    State is per process (one ``lantai serve``); bounded to ``max_keys`` clients.
    """

    def __init__(self, per_minute: int, window: float = 60.0, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.window, self.max_keys, self.clock = per_minute, window, max_keys, clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], list[float]] = {}  # key -> [start, admitted, suppressed]

    def admit(self, client: str, action: str, now: float | None = None) -> tuple[bool, list[tuple[str, str, int, float]]]:
        """Whether to journal this denial, and summaries of closed windows that suppressed some."""
        now = self.clock() if now is None else now
        with self._lock:
            summaries = self._close_expired(now)
            state = self._windows.get((client, action))
            if state is None:
                if len(self._windows) >= self.max_keys:
                    return False, summaries
                state = self._windows[(client, action)] = [now, 0, 0]
            if state[1] < self.per_minute:
                state[1] += 1
                return True, summaries
            state[2] += 1
            return False, summaries

    def _close_expired(self, now: float) -> list[tuple[str, str, int, float]]:
        expired = [k for k, (start, _a, _s) in self._windows.items() if now - start >= self.window]
        summaries = []
        for key in expired:
            start, _admitted, suppressed = self._windows.pop(key)
            if suppressed:
                summaries.append((key[0], key[1], int(suppressed), now - start))
        return summaries


DENIAL_ACTIONS = {401: "access.unauthenticated", 403: "access.denied", 404: "access.not_found"}
CSRF_ACTION = "access.csrf_failed"


def record_denial(archive: Archive, *, status: int, client: str, actor: str, method: str, path: str,
                  code: str = "", csrf: bool = False) -> AuditRecord | None:
    """Journal a refused request (401, 403, CSRF failure, 404 probe), rate-limited per client and action.

    Called from the API and web error handlers. It never raises: the refusal must reach the
    client even when the journal cannot be written (that failure is logged).
    """
    action = CSRF_ACTION if csrf else DENIAL_ACTIONS.get(status, "access.denied")
    admitted, summaries = archive.audit.denials.admit(client, action)
    entries = [("system", DENIALS_SUPPRESSED, c, {"client": c, "action": a, "suppressed": n,
                                                    "window_seconds": round(w)}) for c, a, n, w in summaries]
    if admitted:
        entries.append((actor or "-", action, path[:500],
                        {"status": status, "method": method, "client": client, "code": code}))
    try:
        written = archive.audit.append_many(entries)
    except LantaiError as exc:
        log.error("cannot journal a denial (%s %s from %s): %s", status, path, client, exc.message_en)
        return None
    return written[-1] if admitted and written else None
