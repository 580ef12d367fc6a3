"""A small worker pool for checks that can kill a stuck worker and carry on.

``concurrent.futures`` cannot cancel a task that is already running, so a check hanging inside
a C library would hold a core forever. Here each worker reports when it starts each check; the
parent kills a worker whose current check has run past its limit plus a grace period, records a
"timeout" failure for that check, starts a fresh worker and re-queues the rest of the item with
the checks already decided skipped. A worker that dies (segfault, OOM) is handled the same way.
Workers are forked after the parent has loaded the format signatures once, so they start warm.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import shutil
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from lantai.checks import engine, loaders
from lantai.checks.model import ItemReport, Result
from lantai.checks.pool_results import failed_check, failed_item
from lantai.jobs.pool import die_with_parent

GRACE_SECONDS = 5.0
LOAD = "__load__"


@dataclass
class Task:
    index: int
    work: Any  # loaders.WorkItem
    stage: str
    profile: Any
    settings: Any
    skip: frozenset[str] = frozenset()
    prior: list[Result] = field(default_factory=list)


def execute(task: Task, send: Any = None) -> ItemReport:
    """Load and check one work item in this process (the body of a worker, and the inline path)."""

    def event(kind: str, payload: Any) -> None:
        if send is not None:
            send((kind, payload))

    event("start", LOAD)
    workdir = loaders.new_workdir(task.settings)
    try:
        subject = loaders.load(task.work, task.stage, task.profile, task.settings, workdir)
        profile = task.profile.for_item(*_fonds_category(subject))
        subject.profile = profile
        event("result", (LOAD, []))
        report = engine.check_subject(subject, batch=task.work.batch, skip=task.skip, on_event=event)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report.results = task.prior + report.results
    return report


def _fonds_category(subject: Any) -> tuple[str | None, str | None]:
    if subject.record is None:
        return None, None
    code = subject.record.archival_code
    return (code.fonds_identifier or "").strip() or None, (code.category_code or "").strip() or None


def _worker(conn: Connection, owner: int) -> None:

    die_with_parent(owner)  # a killed `lantai check` must not leave its check workers behind
    with contextlib.suppress(EOFError, KeyboardInterrupt, BrokenPipeError):
        while True:
            task = conn.recv()
            if task is None:
                return
            try:
                report = execute(task, conn.send)
                conn.send(("done", report))
            except Exception:
                conn.send(("crash", traceback.format_exc(limit=5)))


@dataclass
class _Slot:
    process: Any
    conn: Connection
    task: Task | None = None
    check: str | None = None
    started: float = 0.0
    decided: dict[str, list[Result]] = field(default_factory=dict)


class CheckPool:
    def __init__(self, workers: int, time_limit: float, grace: float = GRACE_SECONDS) -> None:
        self.workers = max(1, workers)
        self.time_limit = time_limit
        self.grace = grace
        self._ctx = mp.get_context("fork")

    def _spawn(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker, args=(child, os.getpid()), daemon=True)
        process.start()
        child.close()
        return _Slot(process, parent)

    def run(self, tasks: list[Task]) -> Iterator[tuple[int, ItemReport]]:
        queue = deque(tasks)
        slots = [self._spawn() for _ in range(min(self.workers, len(tasks)))]
        try:
            yield from self._loop(queue, slots)
        finally:
            for slot in slots:
                self._stop(slot)

    def _loop(self, queue: deque[Task], slots: list[_Slot]) -> Iterator[tuple[int, ItemReport]]:
        for slot in slots:
            self._assign(slot, queue)
        while any(slot.task is not None for slot in slots):
            ready = wait([s.conn for s in slots if s.task is not None], timeout=0.2)
            for slot in list(slots):
                if slot.task is None:
                    continue
                report = self._drain(slot, queue, slots) if slot.conn in ready else None
                if report is None and slot.task is not None and self._overdue(slot):
                    report = self._replace(slot, slots, queue, "t")
                if report is not None:
                    yield report

    def _assign(self, slot: _Slot, queue: deque[Task]) -> None:
        slot.task, slot.check, slot.decided = (queue.popleft() if queue else None), None, {}
        slot.started = time.monotonic()
        if slot.task is not None:
            slot.conn.send(slot.task)

    def _drain(self, slot: _Slot, queue: deque[Task], slots: list[_Slot]) -> tuple[int, ItemReport] | None:
        try:
            while slot.conn.poll():
                kind, payload = slot.conn.recv()
                if kind == "start":
                    slot.check, slot.started = payload, time.monotonic()
                elif kind == "result":
                    slot.decided[payload[0]] = payload[1]
                elif kind == "done":
                    assert slot.task is not None
                    index = slot.task.index
                    self._assign(slot, queue)
                    return index, payload
                elif kind == "crash":
                    return self._replace(slot, slots, queue, "z", payload.strip().splitlines()[-1])
        except (EOFError, OSError):
            return self._replace(slot, slots, queue, "z", "检测进程意外退出")
        return None

    def _overdue(self, slot: _Slot) -> bool:
        if not slot.process.is_alive():
            return True
        return time.monotonic() - slot.started > self.time_limit + self.grace

    def _replace(self, slot: _Slot, slots: list[_Slot], queue: deque[Task], letter: str,
                 error: str = "") -> tuple[int, ItemReport] | None:
        """Kill the worker, decide its current check as failed, and re-queue the rest of the item."""

        task, check, decided = slot.task, slot.check, slot.decided
        self._stop(slot, kill=True)
        fresh = self._spawn()
        slots[slots.index(slot)] = fresh
        assert task is not None
        if check is None or check == LOAD:
            self._assign(fresh, queue)
            return task.index, failed_item(task, letter, self.time_limit, error)
        prior = task.prior + [r for results in decided.values() for r in results]
        prior += failed_check(task, check, letter, self.time_limit, error)
        queue.appendleft(Task(task.index, task.work, task.stage, task.profile, task.settings,
                              task.skip | set(decided) | {check}, prior))
        self._assign(fresh, queue)
        return None

    def _stop(self, slot: _Slot, kill: bool = False) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            if not kill and slot.process.is_alive():
                slot.conn.send(None)
        slot.process.join(0 if kill else 2)
        if slot.process.is_alive():
            slot.process.kill()
            slot.process.join(5)
        slot.conn.close()
