"""The audit chain: append-only, hash-linked with SM3, journalled beside the store.

Every entry carries ``prev_hash`` (the hash of the entry before it) and ``hash`` = SM3 over the
canonical JSON of all its other fields, so changing, deleting, inserting or reordering any entry
breaks the chain at that point. The journal file (``<home>/audit/chain.jsonl``) is authoritative:
it is written first, under an exclusive file lock, and fsynced; the catalogue table is a copy that
``sync_catalogue`` brings up to date and ``lantai rebuild`` recreates. There is deliberately no
function that deletes or rewrites an entry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from lantai.catalog.models import AuditEntry
from lantai.crypto.digests import sm3_hex
from lantai.errors import StorageError

GENESIS_HASH = "0" * 64
_TAIL_BYTES = 64 * 1024


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ChainReport:
    """Outcome of ``verify``: ``first_bad_seq`` is None when the chain is intact."""

    entries: int = 0
    first_bad_seq: int | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.first_bad_seq is None and not self.problems

    def add(self, seq: int, problem: str, message: str) -> None:
        if self.first_bad_seq is None or seq < self.first_bad_seq:
            self.first_bad_seq = seq
        self.problems.append({"seq": seq, "problem": problem, "message": message})

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "first_bad_seq": self.first_bad_seq, "problems": self.problems}


def entry_hash(seq: int, time: str, actor: str, action: str, target: str, details: dict[str, Any], prev_hash: str) -> str:
    payload = {"seq": seq, "time": time, "actor": actor, "action": action, "target": target,
               "details": details, "prev_hash": prev_hash}
    return sm3_hex(json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _record_from_line(line: bytes) -> AuditRecord:
    data = json.loads(line)
    return AuditRecord(int(data["seq"]), data["time"], data["actor"], data["action"], data["target"],
                       data.get("details", {}), data["prev_hash"], data["hash"])


class AuditLog:
    """Appends to and verifies the chain. Safe across processes on one machine (flock)."""

    def __init__(self, journal: Path, sessions: sessionmaker[Session] | None, *, fsync: bool = True) -> None:
        self.journal = Path(journal)
        self.sessions = sessions
        self.fsync = fsync

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _last(self, fh: Any) -> AuditRecord | None:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        if end == 0:
            return None
        start = max(0, end - _TAIL_BYTES)
        while True:
            fh.seek(start)
            lines = fh.read(end - start).splitlines()
            complete = [ln for ln in lines if ln.strip()]
            if complete and (start == 0 or len(complete) > 1):
                return _record_from_line(complete[-1])
            if start == 0:
                return None
            start = max(0, start - _TAIL_BYTES)

    def append(self, actor: str, action: str, target: str = "", details: dict[str, Any] | None = None,
               *, session: Session | None = None) -> AuditRecord:
        return self.append_many([(actor, action, target, details or {})], session=session)[0]

    def append_many(self, entries: list[tuple[str, str, str, dict[str, Any]]], *,
                    session: Session | None = None) -> list[AuditRecord]:
        """Append one entry to the journal, then copy it into the catalogue.

        With ``session`` the catalogue copy joins the caller's unit of work; otherwise it is
        committed at once. If the catalogue copy is lost (crash, rollback), ``sync_catalogue``
        restores it from the journal.
        """
        if not entries:
            return []
        records: list[AuditRecord] = []
        try:
            with self._locked() as fh:
                last = self._last(fh)
                seq = 0 if last is None else last.seq
                prev = GENESIS_HASH if last is None else last.hash
                lines = []
                for actor, action, target, details in entries:
                    details = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
                    seq += 1
                    time = _now()
                    record = AuditRecord(seq, time, actor, action, target, details, prev,
                                         entry_hash(seq, time, actor, action, target, details, prev))
                    records.append(record)
                    prev = record.hash
                    lines.append(json.dumps(record.to_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8"))
                fh.seek(0, os.SEEK_END)
                fh.write(b"\n".join(lines) + b"\n")
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise StorageError(f"无法写入审计日志: {exc}", f"cannot write the audit journal: {exc}") from exc
        self._copy_to_catalogue(records, session)
        return records

    def _copy_to_catalogue(self, records: list[AuditRecord], session: Session | None) -> None:
        if session is not None:  # one executemany in the caller's transaction (ingest commits groups)
            session.execute(insert(AuditEntry.__table__), [_values(r) for r in records])
            return
        if self.sessions is None:
            return
        with self.sessions.begin() as own:
            own.add_all([_row(r) for r in records])

    def last_record(self) -> AuditRecord | None:
        if not self.journal.exists():
            return None
        with open(self.journal, "rb") as fh:
            return self._last(fh)

    def iter_journal(self) -> Iterator[AuditRecord | Exception]:
        if not self.journal.exists():
            return
        with open(self.journal, "rb") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    yield _record_from_line(line)
                except (ValueError, KeyError, TypeError) as exc:
                    yield exc

    def sync_catalogue(self) -> int:
        """Insert journal entries missing from the catalogue (after a crash or a rebuild)."""
        if self.sessions is None:
            return 0
        with self.sessions.begin() as session:
            present = set(session.scalars(select(AuditEntry.seq)))
            added = 0
            for record in self.iter_journal():
                if isinstance(record, AuditRecord) and record.seq not in present:
                    session.add(_row(record))
                    added += 1
            return added

    def verify(self) -> ChainReport:
        """Check the journal chain and that the catalogue copy agrees with it entry by entry."""
        report = ChainReport()
        prev_hash, expected_seq = GENESIS_HASH, 1
        journal_hashes: dict[int, str] = {}
        for index, record in enumerate(self.iter_journal(), start=1):
            report.entries = index
            if isinstance(record, Exception):
                report.add(expected_seq, "unreadable", f"第 {expected_seq} 条审计记录无法解析")
                break
            if record.seq != expected_seq:
                report.add(min(record.seq, expected_seq), "sequence",
                           f"序号不连续: 期望 {expected_seq}，实际 {record.seq}（记录被删除、插入或重排）")
                break
            recomputed = entry_hash(record.seq, record.time, record.actor, record.action, record.target,
                                    record.details, record.prev_hash)
            if record.prev_hash != prev_hash:
                report.add(record.seq, "link", f"第 {record.seq} 条记录的前序哈希与链不符")
                break
            if recomputed != record.hash:
                report.add(record.seq, "hash", f"第 {record.seq} 条记录内容已被篡改（SM3 不符）")
                break
            journal_hashes[record.seq] = record.hash
            prev_hash, expected_seq = record.hash, expected_seq + 1
        self._compare_catalogue(report, journal_hashes)
        return report

    def _compare_catalogue(self, report: ChainReport, journal_hashes: dict[int, str]) -> None:
        if self.sessions is None:
            return
        with self.sessions() as session:
            for row in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)):
                details = json.loads(row.details or "{}")
                recomputed = entry_hash(row.seq, row.time, row.actor, row.action, row.target, details, row.prev_hash)
                if row.seq not in journal_hashes and report.first_bad_seq is None:
                    report.add(row.seq, "catalogue_extra", f"数据库中的第 {row.seq} 条审计记录不在日志文件中")
                elif recomputed != row.hash or journal_hashes.get(row.seq, row.hash) != row.hash:
                    report.add(row.seq, "catalogue_mismatch", f"数据库中的第 {row.seq} 条审计记录与日志文件不符")


def _values(record: AuditRecord) -> dict[str, Any]:
    return {"seq": record.seq, "time": record.time, "actor": record.actor, "action": record.action,
            "target": record.target, "details": json.dumps(record.details, ensure_ascii=False, sort_keys=True),
            "prev_hash": record.prev_hash, "hash": record.hash}


def _row(record: AuditRecord) -> AuditEntry:
    return AuditEntry(**_values(record))
