"""Background jobs: one registry, one table, run in-process or by ``lantai worker`` through a broker.

A job kind is a function registered with :func:`job_kind`; it receives a :class:`JobContext`
(the archive, progress reporting) and its JSON parameters, and returns a JSON-able result. Other
long work registers the same way, in its own module::

    @job_kind("fixity.run", label="固定性校验", queue=BULK)
    def fixity_run(ctx: JobContext, record_ids: list[str] | None = None) -> dict: ...

and is started with ``jobs.submit(archive, "fixity.run", {...}, actor=...)``. The module that
registers must be listed in :data:`JOB_MODULES` so a worker process knows every kind.

The ``jobs`` row is the truth about a job, the broker only delivers "run job N" (see
:mod:`lantai.catalog.jobs`). With ``LANTAI_BROKER_URL`` set, :func:`submit` queues the job on
Redis or RabbitMQ for ``lantai worker``; without one it runs in this process — in the calling
thread (``run="inline"``, as the CLI and API did before) or in a background thread of this
process (``run="thread"``, as the web UI's batch checks did). Every job must be idempotent: a
worker killed mid-job leaves the row ``running`` with a stale heartbeat, and the job is run again
from the start by the next worker (:func:`requeue_stale`), after the dead worker's half-done
commits were finished or rolled back (:func:`lantai.services.recovery.recover_orphans`).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update

from lantai.catalog.jobs import DONE, FAILED, QUEUED, RUNNING, STATES, Job
from lantai.domain.roles import Permission
from lantai.errors import BadInput, LantaiError, NotFound, StorageError
from lantai.services.recovery import recover_orphans

if TYPE_CHECKING:
    from lantai.services.archive import Archive

log = logging.getLogger(__name__)

INTERACTIVE, BULK = "interactive", "bulk"
QUEUES = {INTERACTIVE: 0, BULK: 100}  # queue → priority (lower runs first)
# A queued job on an empty broker queue for this long has lost its message (see redispatch_lost)
LOST_AFTER = dt.timedelta(minutes=5)
PROGRESS_SECONDS = 1.0  # progress is written at most this often (and at the end)

# Modules that register job kinds; a worker imports them all before it takes work.
JOB_MODULES = ("lantai.services.job_kinds",)

STATE_LABELS = {QUEUED: "排队中", RUNNING: "运行中", DONE: "已完成", FAILED: "失败"}


@dataclass(frozen=True)
class JobKind:
    name: str
    func: Callable[..., dict[str, Any] | None]
    label: str
    queue: str
    max_attempts: int


REGISTRY: dict[str, JobKind] = {}


def job_kind(name: str, *, label: str, queue: str = BULK, max_attempts: int = 3
             ) -> Callable[[Callable[..., dict[str, Any] | None]], Callable[..., dict[str, Any] | None]]:
    """Register ``func(ctx, **params)`` as the job kind ``name`` (label: how people see it, in Chinese)."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue}")

    def register(func: Callable[..., dict[str, Any] | None]) -> Callable[..., dict[str, Any] | None]:
        REGISTRY[name] = JobKind(name, func, label, queue, max_attempts)
        return func

    return register


def load_kinds() -> dict[str, JobKind]:
    for module in JOB_MODULES:
        importlib.import_module(module)
    return REGISTRY


def lease(archive: Archive) -> dt.timedelta:
    """A running job without a heartbeat this long belongs to a dead worker."""
    return dt.timedelta(seconds=archive.settings.job_lease_seconds)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def worker_name() -> str:
    """host:pid:thread — who holds a running job, as the list shows it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class JobContext:
    """What a running job sees: the archive, its parameters' owner, and a progress reporter."""

    def __init__(self, archive: Archive, job_id: str, actor: str, mine: tuple[str, int] | None = None) -> None:
        self.archive, self.job_id, self.actor, self.mine = archive, job_id, actor, mine
        self._last = 0.0
        self.done, self.total = 0, None

    def progress(self, done: int, total: int | None = None, *, force: bool = False) -> None:
        """Record progress (throttled); also the job's heartbeat."""
        self.done = done
        if total is not None:
            self.total = total
        moment = time.monotonic()
        if not force and moment - self._last < PROGRESS_SECONDS:
            return
        self._last = moment
        values: dict[str, Any] = {"done": done, "heartbeat_at": now()}
        if self.total is not None:
            values["total"] = self.total
        with self.archive.session() as session:
            run = _this_run(self.job_id, self.mine) if self.mine else (Job.id == self.job_id,)
            session.execute(update(Job).where(*run).values(**values).execution_options(synchronize_session=False))

    def advance(self, step: int = 1) -> None:
        self.progress(self.done + step)


# --- submitting -------------------------------------------------------------------------------------

def broker_configured(archive: Archive) -> bool:
    return bool(archive.settings.broker_url)


def submit(archive: Archive, kind: str, params: dict[str, Any], *, actor: str, run: str = "auto",
           queue: str | None = None) -> dict[str, Any]:
    """Create a job row and start it: on the broker when one is configured, else as ``run`` says.

    ``run``: ``"auto"`` (broker, else inline), ``"inline"`` (broker, else now in this thread),
    ``"thread"`` (broker, else a background thread of this process), ``"queue"`` (broker only:
    without one, a clear error). Returns the job as :func:`job_public` shows it.
    """
    spec = load_kinds().get(kind)
    if spec is None:
        raise BadInput(f"未知的作业类型 {kind}", f"unknown job kind {kind}")
    queue = queue or spec.queue
    if run == "queue" and not broker_configured(archive):
        raise BadInput("未配置消息队列（LANTAI_BROKER_URL），无法排队执行；请去掉 --async 或配置 redis:// 或 amqp:// 地址",
                       "no broker configured (LANTAI_BROKER_URL): cannot queue; drop --async or set a redis:// "
                       "or amqp:// URL")
    job_id = uuid.uuid4().hex
    with archive.session() as session:
        session.add(Job(id=job_id, kind=kind, queue=queue, priority=QUEUES[queue], state=QUEUED,
                        params=json.dumps(params, ensure_ascii=False), error="", done=0, attempts=0,
                        max_attempts=spec.max_attempts, created_by=actor, worker="", created_at=now()))
    archive.audit.append(actor, "job.queued", job_id, {"kind": kind, "queue": queue})
    if broker_configured(archive):
        try:
            dispatch(archive, job_id, queue)
        except Exception as exc:  # no message was queued: the row must not wait forever
            with archive.session() as session:  # still queued, never claimed
                session.execute(update(Job).where(Job.id == job_id).values(
                    state=FAILED, error=f"消息队列不可达 (broker unreachable): {exc}", finished_at=now()))
            raise StorageError(f"消息队列不可达，作业未能排队: {exc}", f"broker unreachable, job not queued: {exc}") from exc
    elif run == "thread":
        threading.Thread(target=_run_quietly, args=(archive, job_id), name=f"job-{job_id[:8]}", daemon=True).start()
    else:
        run_job(archive, job_id, reraise=True)
    return get_job(archive, job_id)


def dispatch(archive: Archive, job_id: str, queue: str, *, delay_ms: int = 0) -> None:
    """Hand "run job N" to the broker (lazy: the embedded default never imports Dramatiq)."""
    from lantai.jobs import broker

    broker.send(archive.settings.broker_url or "", job_id, queue, delay_ms=delay_ms)


def _run_quietly(archive: Archive, job_id: str) -> None:
    try:
        run_job(archive, job_id)
    except Exception:  # run_job records failures; a thread must never die loudly
        log.exception("job %s", job_id)


# --- running ----------------------------------------------------------------------------------------

def claim(archive: Archive, job_id: str, worker: str) -> bool:
    """Take the job: queued, or running under a dead worker (heartbeat older than the lease).

    One conditional UPDATE, so two workers given the same message (a redelivery) never both run it.
    """
    moment = now()
    with archive.session() as session:
        claimed = session.execute(
            update(Job).where(Job.id == job_id, Job.attempts < Job.max_attempts,
                              or_(Job.state == QUEUED,
                                  (Job.state == RUNNING) & (Job.heartbeat_at < moment - lease(archive))))
            .values(state=RUNNING, worker=worker, attempts=Job.attempts + 1, started_at=moment,
                    heartbeat_at=moment, error="")
            .execution_options(synchronize_session=False)).rowcount
    return claimed == 1


def run_job(archive: Archive, job_id: str, *, worker: str | None = None, reraise: bool = False
            ) -> dict[str, Any] | None:
    """Run one job if it can be claimed; returns its final public form, or None if not ours.

    A failure is retried (by the broker, with a delay) until ``max_attempts``; a :class:`LantaiError`
    (bad input, a conflict) is final at once — running it again gives the same answer. With
    ``reraise`` (a job run inline for a caller that waits) a final failure is raised to the caller.
    """
    worker = worker or worker_name()
    if not claim(archive, job_id, worker):
        return None
    with archive.sessions() as session:
        row = session.get(Job, job_id)
        kind, params, actor, attempts, limit = row.kind, json.loads(row.params), row.created_by, row.attempts, row.max_attempts
    spec = load_kinds().get(kind)
    mine = (worker, attempts)
    ctx = JobContext(archive, job_id, actor, mine)
    beat = _Heartbeat(archive, job_id, mine)
    beat.start()
    try:
        if spec is None:
            raise BadInput(f"未知的作业类型 {kind}", f"unknown job kind {kind}")
        result = spec.func(ctx, **params) or {}
    except BaseException as exc:
        beat.stop()
        final = (isinstance(exc, LantaiError) and not isinstance(exc, StorageError)) or attempts >= limit or not isinstance(exc, Exception)
        message = (f"{exc.message_zh} ({exc.message_en})" if isinstance(exc, LantaiError)
                   else f"{type(exc).__name__}: {exc}")
        if not _finish(archive, job_id, mine, FAILED if final else QUEUED, error=message, done=ctx.done):
            return get_job(archive, job_id)  # taken over meanwhile: the new run answers for it
        archive.audit.append(actor, "job.failed" if final else "job.retrying", job_id,
                             {"kind": kind, "attempt": attempts, "error": message[:500]})
        if final and reraise:
            raise
        if not final:
            log.warning("job %s (%s) attempt %d failed, retrying: %s\n%s", job_id, kind, attempts, message,
                        traceback.format_exc())
            if broker_configured(archive):
                dispatch(archive, job_id, row.queue, delay_ms=1000 * 2 ** attempts)
            elif isinstance(exc, Exception):
                return run_job(archive, job_id, worker=worker, reraise=reraise)
        if not isinstance(exc, Exception):
            raise
        return get_job(archive, job_id)
    beat.stop()
    if not _finish(archive, job_id, mine, DONE, result=result, done=ctx.done if ctx.total is None else ctx.total):
        return get_job(archive, job_id)
    archive.audit.append(actor, "job.done", job_id, {"kind": kind, "attempt": attempts})
    return get_job(archive, job_id)


def _finish(archive: Archive, job_id: str, mine: tuple[str, int], state: str, *,
            result: dict[str, Any] | None = None, error: str = "", done: int = 0) -> bool:
    """Record this run's end — only while the job is still this run's (``mine``: the worker and the
    attempt its claim set). A worker whose heartbeat lapsed (a long pause, a lost connection) may
    find its job taken over by another; its late answer must not overwrite the new run's state.
    Returns False, and changes nothing, when the job is no longer this run's."""
    values: dict[str, Any] = {"state": state, "error": error, "heartbeat_at": now(), "done": done}
    if state in (DONE, FAILED):
        values["finished_at"] = now()
    if result is not None:
        values["result"] = json.dumps(result, ensure_ascii=False, default=str)
    with archive.session() as session:
        changed = session.execute(update(Job).where(*_this_run(job_id, mine)).values(**values)
                                  .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        log.warning("job %s was taken over by another worker; this run's %s is not recorded", job_id, state)
    return changed == 1


def _this_run(job_id: str, mine: tuple[str, int]) -> tuple[Any, ...]:
    worker, attempt = mine
    return Job.id == job_id, Job.state == RUNNING, Job.worker == worker, Job.attempts == attempt


class _Heartbeat:
    """Keeps a running job's lease fresh while its function works between progress reports."""

    def __init__(self, archive: Archive, job_id: str, mine: tuple[str, int]) -> None:
        self.archive, self.job_id, self.mine = archive, job_id, mine
        self.every = archive.settings.job_lease_seconds / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{job_id[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every * 2)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.archive.session() as session:
                    session.execute(update(Job).where(*_this_run(self.job_id, self.mine))
                                    .values(heartbeat_at=now()).execution_options(synchronize_session=False))
            except Exception as exc:  # a missed beat only risks a takeover, which claim() makes safe
                log.warning("heartbeat of job %s: %s", self.job_id, exc)


def requeue_stale(archive: Archive) -> list[str]:
    """Jobs whose worker died (no heartbeat for a lease): queue them again, or fail them at the limit.

    Run by every ``lantai worker`` now and then. The row goes back to ``queued`` in one conditional
    UPDATE, so of many sweeping workers exactly one journals and dispatches it, once — while the
    row stayed ``running``, every sweep of every worker sent another message and journalled
    another ``job.requeued`` until someone claimed it, which behind a long queue took many sweeps.
    """
    cutoff = now() - lease(archive)
    with archive.sessions() as session:
        stale = session.execute(select(Job.id, Job.queue, Job.attempts, Job.max_attempts)
                                .where(Job.state == RUNNING, Job.heartbeat_at < cutoff)).all()
    again = []
    for job_id, queue, attempts, limit in stale:
        last = attempts >= limit
        values: dict[str, Any] = (
            {"state": FAILED, "finished_at": now(),
             "error": f"工作进程在第 {attempts} 次运行中停止，已达重试上限 (worker died on attempt {attempts}; "
                      "no retries left)"} if last else
            {"state": QUEUED, "heartbeat_at": now(), "worker": "",
             "error": f"工作进程在第 {attempts} 次运行中停止，已重新排队 (worker died on attempt {attempts}; queued again)"})
        with archive.session() as session:
            taken = session.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING, Job.heartbeat_at < cutoff)
                                    .values(**values).execution_options(synchronize_session=False)).rowcount
        if not taken:  # claimed by a redelivery, or requeued by another worker's sweep meanwhile
            continue
        if last:
            archive.audit.append("system", "job.failed", job_id, {"attempt": attempts, "error": "worker died"})
            continue
        archive.audit.append("system", "job.requeued", job_id, {"attempt": attempts, "reason": "worker died"})
        if broker_configured(archive):
            dispatch(archive, job_id, queue)
        again.append(job_id)
    return again


def redispatch_lost(archive: Archive) -> list[str]:
    """Queued jobs no broker message stands for: the process that queued one died between
    committing its row and sending its message, or the broker lost the message.

    Looked for only on a queue where the broker holds no waiting message: every job queued there
    for longer than :data:`LOST_AFTER` is then either lost or held by a live worker busy with other
    work — and for that one a second message is harmless (whoever claims first runs it, the other
    finds it taken). Each job is sent again at most once per :data:`LOST_AFTER` (one conditional
    UPDATE of its hand-over time, ``heartbeat_at``, which a queued row does not otherwise use but
    for the time it was last put back), so many sweeping workers do not multiply the messages.
    """
    if not broker_configured(archive):
        return []
    from lantai.jobs import broker

    cutoff = now() - LOST_AFTER
    handed_over = func.coalesce(Job.heartbeat_at, Job.created_at)
    again = []
    for queue in QUEUES:
        if broker.waiting(archive.settings.broker_url or "", queue) != 0:
            continue
        with archive.sessions() as session:
            lost = session.scalars(select(Job.id).where(Job.state == QUEUED, Job.queue == queue, handed_over < cutoff)
                                   .order_by(Job.priority, Job.created_at).limit(1000)).all()
        for job_id in lost:
            with archive.session() as session:
                taken = session.execute(update(Job).where(Job.id == job_id, Job.state == QUEUED, handed_over < cutoff)
                                        .values(heartbeat_at=now()).execution_options(synchronize_session=False)
                                        ).rowcount
            if taken:
                archive.audit.append("system", "job.requeued", job_id, {"reason": "no message on the broker"})
                dispatch(archive, job_id, queue)
                again.append(job_id)
    return again


# --- reading ----------------------------------------------------------------------------------------

def job_public(row: Job) -> dict[str, Any]:
    total = row.total
    percent = round(100 * row.done / total) if total else (100 if row.state == DONE else 0)
    return {"id": row.id, "kind": row.kind, "label": REGISTRY[row.kind].label if row.kind in REGISTRY else row.kind,
            "queue": row.queue, "priority": row.priority, "state": row.state,
            "state_label": STATE_LABELS.get(row.state, row.state), "done": row.done, "total": total,
            "percent": percent, "attempts": row.attempts, "max_attempts": row.max_attempts,
            "created_by": row.created_by, "worker": row.worker, "error": row.error,
            "result": json.loads(row.result) if row.result else None,
            "created_at": _iso(row.created_at), "started_at": _iso(row.started_at),
            "finished_at": _iso(row.finished_at)}


def _iso(value: dt.datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value else None


def get_job(archive: Archive, job_id: str, *, owner: str | None = None) -> dict[str, Any]:
    """One job; with ``owner``, only if that user created it (others get NotFound, not Forbidden)."""
    load_kinds()
    with archive.sessions() as session:
        row = session.get(Job, job_id)
        if row is None or (owner is not None and row.created_by != owner):
            raise NotFound(f"作业 {job_id} 不存在", f"no job {job_id}")
        return job_public(row)


def list_jobs(archive: Archive, *, state: str | None = None, owner: str | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
    if state and state not in STATES:
        raise BadInput(f"未知的作业状态 {state}（可选 {', '.join(STATES)}）", f"unknown job state {state}")
    load_kinds()
    query = select(Job).order_by(Job.created_at.desc(), Job.id).limit(max(1, min(limit, 1000)))
    if state:
        query = query.where(Job.state == state)
    if owner is not None:
        query = query.where(Job.created_by == owner)
    with archive.sessions() as session:
        return [job_public(row) for row in session.scalars(query)]


def jobs_for(archive: Archive, principal: Any, *, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The jobs a person may see: their own, or everyone's with ``job.read_all`` — whose results
    (which may name items above that person's clearance) are shown to their owner only."""

    everyone = principal.can(Permission.JOB_READ)
    rows = list_jobs(archive, state=state, owner=None if everyone else principal.username, limit=limit)
    return [_for(principal, job) for job in rows]


def job_for(archive: Archive, principal: Any, job_id: str) -> dict[str, Any]:

    everyone = principal.can(Permission.JOB_READ)
    return _for(principal, get_job(archive, job_id, owner=None if everyone else principal.username))


def _for(principal: Any, job: dict[str, Any]) -> dict[str, Any]:
    return job if job["created_by"] == principal.username else {**job, "result": None}


def queue_depth(archive: Archive) -> dict[tuple[str, str], int]:
    """(queue, state) → number of jobs, for /metrics."""
    with archive.sessions() as session:
        rows = session.execute(select(Job.queue, Job.state, func.count()).group_by(Job.queue, Job.state)).all()
    return {(queue, state): int(count) for queue, state, count in rows}


def wait(archive: Archive, job_id: str, *, timeout: float = 600.0, poll: float = 0.2) -> dict[str, Any]:
    """Block until the job is done or failed (tests, ``lantai jobs wait``)."""
    deadline = time.monotonic() + timeout
    while True:
        job = get_job(archive, job_id)
        if job["state"] in (DONE, FAILED) or time.monotonic() > deadline:
            return job
        time.sleep(poll)


# --- the worker -------------------------------------------------------------------------------------

def sweep(archive: Archive) -> dict[str, Any]:
    """What every worker does now and then: finish what dead processes left half-committed, queue
    again the jobs they held, and send again the messages of queued jobs the broker lost. Safe on
    any number of workers at once."""

    orphans = recover_orphans(archive)
    return {"orphans": orphans, "requeued": requeue_stale(archive), "redispatched": redispatch_lost(archive)}


def work(archive: Archive, *, queues: set[str] | None, threads: int, stop: threading.Event,
         sweep_every: float = 10.0) -> None:
    """``lantai worker``: run jobs from the broker until ``stop`` is set (SIGTERM lets running jobs finish)."""
    if not broker_configured(archive):
        raise BadInput("未配置消息队列（LANTAI_BROKER_URL），工作进程无事可做；请设置 redis:// 或 amqp:// 地址",
                       "no broker configured (LANTAI_BROKER_URL): set a redis:// or amqp:// URL")
    unknown = (queues or set()) - set(QUEUES)
    if unknown:
        raise BadInput(f"未知的队列 {', '.join(sorted(unknown))}（可选 {', '.join(QUEUES)}）",
                       f"unknown queue(s) {', '.join(sorted(unknown))}")

    load_kinds()

    def safe_sweep() -> None:
        try:
            sweep(archive)
        except Exception:  # the sweep is retried on the next round; the worker keeps working
            log.exception("worker sweep")

    safe_sweep()
    archive.audit.append("system", "worker.started", worker_name(), {"queues": sorted(queues or QUEUES),
                                                                      "threads": threads})
    from lantai.jobs import broker  # lazy (start-up): only a worker or a queued job loads Dramatiq

    try:
        broker.run_worker(archive.settings.broker_url or "", lambda job_id: run_job(archive, job_id),
                          queues=queues, threads=threads, stop=stop, every=sweep_every, sweep=safe_sweep)
    finally:
        archive.audit.append("system", "worker.stopped", worker_name(), {})
