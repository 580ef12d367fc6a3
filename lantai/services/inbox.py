"""The watched inbox (热文件夹): OA systems drop batches into a directory and Lantai archives them.

Layout of an inbox ``DIR``::

    DIR/<name>/               a batch (归档登记表.csv + item directories/zips) or one item directory
    DIR/<name>.zip            one zipped item
    DIR/.processing/<name>    taken, being ingested (resumed after a restart)
    DIR/done/<name>           ingested completely; <name>.report.json and <name>.报告.txt beside it
    DIR/rejected/<name>       something was refused; the report says what, and what was archived

When is a drop complete? A producer copying files in can be caught half-way, so an entry is
taken only when it says it is finished:

* a ``.ready`` marker file inside the directory (or ``<name>.zip.ready`` beside a zip), or
* for a batch, its ``归档登记表.csv`` written last: no file in the batch is newer than the
  register, and nothing has changed for ``settle`` seconds;
* a zip also qualifies when its size has not changed for ``settle`` seconds and it reads as a
  zip (its central directory, written last, is present).

Taking an entry is one ``rename`` into ``.processing`` on the same file system, so a producer
and the watcher never both own it, and a crash leaves it there: ingest is idempotent (an item
already archived is a no-op duplicate), so the next start ingests it again and finishes the job.
Only one watcher works an inbox at a time (an exclusive ``flock`` on ``DIR/.lantai-inbox.lock``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lantai.domain.clock import in_beijing
from lantai.errors import BadInput, Conflict
from lantai.packages.sip import REGISTER_NAME
from lantai.services.ingest import IngestReport, ingest_paths

if TYPE_CHECKING:
    from lantai.services.archive import Archive

READY_MARKER = ".ready"
PROCESSING, DONE, REJECTED = ".processing", "done", "rejected"
LOCK_NAME = ".lantai-inbox.lock"
RESERVED = {PROCESSING, DONE, REJECTED, LOCK_NAME}


@dataclass
class InboxResult:
    """What became of one drop: where it went and the ingest report written beside it."""

    name: str
    status: str  # done | rejected
    destination: str
    report_path: str
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "destination": self.destination,
                "report": self.report_path, "counts": self.counts, "message": self.message}


@contextlib.contextmanager
def inbox_lock(inbox: Path) -> Iterator[None]:
    """One watcher per inbox: a second one is refused instead of racing the first for the same drop."""
    if not inbox.is_dir():
        raise BadInput(f"收件目录不存在: {inbox}", f"the inbox directory does not exist: {inbox}")
    fd = os.open(inbox / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise Conflict(f"另一个 lantai watch 正在处理收件目录 {inbox}",
                           f"another lantai watch is already working the inbox {inbox}") from exc
        for sub in (PROCESSING, DONE, REJECTED):
            (inbox / sub).mkdir(exist_ok=True)
        yield
    finally:
        os.close(fd)


def complete_entries(inbox: Path, settle: float, now: float | None = None) -> list[Path]:
    """Drops that say they are finished, oldest first (see the module docstring for the rules)."""
    now = time.time() if now is None else now
    found = [entry for entry in inbox.iterdir() if entry.name not in RESERVED and not entry.name.startswith(".")
             and not entry.name.endswith(".ready") and _is_complete(entry, settle, now)]
    return sorted(found, key=lambda e: (e.stat().st_mtime, e.name))


def _is_complete(entry: Path, settle: float, now: float) -> bool:
    if entry.is_symlink():
        return False
    if entry.is_dir():
        if (entry / READY_MARKER).is_file():
            return True
        register = entry / REGISTER_NAME
        return register.is_file() and _register_written_last(entry, register, settle, now)
    if entry.suffix.lower() == ".zip" and entry.is_file():
        if entry.with_name(entry.name + ".ready").is_file():
            return True
        return now - entry.stat().st_mtime >= settle and zipfile.is_zipfile(entry)
    return False


def _register_written_last(batch: Path, register: Path, settle: float, now: float) -> bool:
    newest = max(_mtimes(batch), default=0.0)
    written = register.stat().st_mtime
    return written >= newest and now - written >= settle


def _mtimes(root: Path) -> Iterator[float]:
    for directory, dirs, files in os.walk(root):
        yield os.stat(directory).st_mtime if directory != str(root) else 0.0
        for name in (*dirs, *files):
            with contextlib.suppress(FileNotFoundError):
                yield os.lstat(os.path.join(directory, name)).st_mtime


def take(inbox: Path, entry: Path) -> Path:
    """Move a complete drop into .processing with one rename; its ready marker goes with it."""
    target = inbox / PROCESSING / entry.name
    if target.exists():
        raise Conflict(f"{entry.name} 已在处理中", f"{entry.name} is already being processed")
    os.rename(entry, target)
    marker = entry.with_name(entry.name + ".ready")
    if marker.is_file():
        marker.unlink()
    return target


def process_taken(archive: Archive, inbox: Path, taken: Path, *, actor: str) -> InboxResult:
    """Ingest one taken drop, write its report, and file it under done/ or rejected/."""
    if taken.is_dir():  # the marker is not part of the submission: an item would reject it as an extra file
        (taken / READY_MARKER).unlink(missing_ok=True)
    started = _now()
    report = _ingest(archive, taken, actor)
    status = DONE if report.ok else REJECTED
    destination = _free_name(inbox / status, taken.name)
    document = _report_document(taken.name, status, started, report)
    report_path = destination.with_name(destination.name + ".report.json")
    _write_atomically(report_path, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    _write_atomically(destination.with_name(destination.name + ".报告.txt"), _report_text(document))
    os.rename(taken, destination)
    return InboxResult(taken.name, status, str(destination), str(report_path), report.counts(),
                       _batch_message(report))


def _ingest(archive: Archive, taken: Path, actor: str) -> IngestReport:
    try:
        return ingest_paths(archive, [taken], actor=actor)
    except BadInput as exc:  # the drop is not a batch or item at all (no metadata, unreadable zip …)
        report = IngestReport()
        report.batches.append({"source": taken.name, "status": "rejected", "message": exc.message_zh,
                               "message_en": exc.message_en})
        return report


def run_once(archive: Archive, inbox: Path, *, settle: float = 5.0, actor: str = "inbox",
             on_result: Callable[[InboxResult], None] | None = None) -> list[InboxResult]:
    """Finish what a previous run left in .processing, then take and ingest every complete drop."""
    results = []
    leftovers = sorted((inbox / PROCESSING).iterdir(), key=lambda p: p.name)
    for taken in [*leftovers, *(take(inbox, e) for e in complete_entries(inbox, settle))]:
        result = process_taken(archive, inbox, taken, actor=actor)
        results.append(result)
        if on_result:
            on_result(result)
    return results


def watch(archive: Archive, inbox: Path, *, interval: float = 5.0, settle: float = 5.0, actor: str = "inbox",
          on_result: Callable[[InboxResult], None] | None = None, should_stop: Callable[[], bool] = lambda: False,
          ) -> int:
    """Poll the inbox until ``should_stop``; polling works on network mounts where inotify does not."""
    handled = 0
    while not should_stop():
        handled += len(run_once(archive, inbox, settle=settle, actor=actor, on_result=on_result))
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not should_stop():
            time.sleep(min(0.2, interval))
    return handled


def _free_name(directory: Path, name: str) -> Path:
    """done/<name>, or done/<name>~2 … when an earlier drop of the same name is already filed there."""
    candidate, n = directory / name, 1
    while candidate.exists():  # a report without its drop is from a run a crash cut short: overwritten
        n += 1
        candidate = directory / f"{name}~{n}"
    return candidate


def _report_document(name: str, status: str, started: dt.datetime, report: IngestReport) -> dict[str, Any]:
    return {"inbox_entry": name, "status": status, "received_at": started.isoformat(timespec="seconds"),
            "finished_at": _now().isoformat(timespec="seconds"), **report.to_dict()}


STATUS_ZH = {"accepted": "已接收", "duplicate": "重复（此前已归档，未改动）", "rejected": "拒收", "conflict": "冲突"}


def _report_text(document: dict[str, Any]) -> str:
    """The report in Chinese for the person at the OA end who opens the folder."""
    counts = document["counts"]
    lines = [f"收件：{document['inbox_entry']}",
             f"结果：{'全部归档' if document['status'] == DONE else '有未归档的内容，见下'}",
             f"接收时间：{_beijing(document['received_at'])}    完成时间：{_beijing(document['finished_at'])}",
             f"已接收 {counts.get('accepted', 0)} 件，重复 {counts.get('duplicate', 0)} 件，"
             f"拒收 {counts.get('rejected', 0)} 件，冲突 {counts.get('conflict', 0)} 件", ""]
    lines += [f"批次被拒收：{b.get('message', '')}" for b in document["batches"] if b.get("status") == "rejected"]
    for item in document["items"]:
        label = STATUS_ZH.get(item["status"], item["status"])
        lines.append(f"{Path(item['source']).name}\t{item.get('record_id') or ''}\t{label}\t{item.get('message') or ''}")
    return "\n".join(lines).rstrip() + "\n"


def _batch_message(report: IngestReport) -> str:
    return "；".join(str(b.get("message", "")) for b in report.batches if b.get("status") == "rejected")


def _beijing(iso: str) -> str:
    moment = in_beijing(dt.datetime.fromisoformat(iso))
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
