"""Dramatiq on Redis or RabbitMQ: delivers "run job N" to ``lantai worker`` processes.

Two actors on two queues — ``interactive`` (priority 0: a reader's single item, a submitted
item) and ``bulk`` (priority 100: batches, check runs, reindex, exports). Within one worker,
Dramatiq hands prefetched messages to its threads by actor priority, so interactive work
overtakes bulk work waiting in the same worker; a worker started with ``--queues interactive``
serves only people. Dramatiq's own retries and time limit are off: the ``jobs`` row carries
attempts and the lease (:mod:`lantai.services.jobs`), and a fixity run may take hours.

Messages are acknowledged after the job ran. A worker killed mid-job — or holding messages it
had prefetched but not started — leaves them unacknowledged: RabbitMQ redelivers them as soon as
the connection drops; on Redis, every live worker's sweep moves a worker's unacknowledged
messages back to their queue once its heartbeat is older than ``heartbeat_timeout``
(:meth:`_RedisBroker.recover_dead_workers`). Either way — or, failing both, the stale-job sweep
every worker runs — the job row is claimed again and the job runs again.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, ShutdownNotifications

INTERACTIVE_ACTOR, BULK_ACTOR = "lantai_interactive", "lantai_bulk"
NAMESPACE = "lantai"  # prefix of every Redis key of the broker
REDIS_HEARTBEAT_MS = 15_000  # a dead worker's Redis messages come back after this long
log = logging.getLogger(__name__)
_lock = threading.Lock()
_handler: Any = None  # set by the worker: run(job_id) in this process


class _RedisBroker(RedisBroker):
    """Dramatiq's Redis broker, with the recovery of dead workers' messages on demand.

    Dramatiq moves a dead worker's unacknowledged messages back to their queue only in its
    "maintenance", which it runs on one broker command in a thousand, at random, and per queue.
    Idle workers poll about once a second, so a job whose message a killed worker had prefetched
    could wait many minutes — or, as a CI run saw, more than five — before anyone ran it.
    """

    _forced = threading.local()

    def _should_do_maintenance(self, command: str) -> int:
        return 1 if getattr(self._forced, "on", False) else super()._should_do_maintenance(command)

    def recover_dead_workers(self) -> None:
        """Run Dramatiq's maintenance on every declared queue now: messages held by workers whose
        heartbeat is older than ``heartbeat_timeout`` go back to their queue."""
        self._forced.on = True
        try:
            for queue in sorted(self.get_declared_queues() | self.get_declared_delay_queues()):
                self.do_requeue(queue)  # with no message ids: nothing but the maintenance
        finally:
            self._forced.on = False


@functools.lru_cache(maxsize=4)
def broker_for(url: str) -> dramatiq.Broker:
    """One broker per URL per process, with both actors declared on it."""
    middleware = [AgeLimit(), ShutdownNotifications(), Callbacks(), Pipelines()]
    if url.startswith(("redis://", "rediss://")):
        broker: dramatiq.Broker = _RedisBroker(url=url, middleware=middleware, namespace=NAMESPACE,
                                              heartbeat_timeout=REDIS_HEARTBEAT_MS)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, middleware=middleware, confirm_delivery=True)
    else:
        raise ValueError(f"unsupported broker URL {url!r}")
    for name, queue, priority in ((INTERACTIVE_ACTOR, "interactive", 0), (BULK_ACTOR, "bulk", 100)):
        dramatiq.actor(_deliver, actor_name=name, queue_name=queue, priority=priority, broker=broker)
    return broker


def _deliver(job_id: str) -> None:
    if _handler is None:
        raise RuntimeError("no job handler in this process (only `lantai worker` runs jobs)")
    _handler(job_id)


def send(url: str, job_id: str, queue: str, *, delay_ms: int = 0) -> None:
    broker = broker_for(url)
    actor = broker.get_actor(INTERACTIVE_ACTOR if queue == "interactive" else BULK_ACTOR)
    actor.send_with_options(args=(job_id,), delay=delay_ms or None)


def ping(url: str) -> None:
    """Raise when the broker cannot be reached (``/readyz``, ``lantai doctor``)."""
    if url.startswith(("redis://", "rediss://")):
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    else:
        import pika

        parameters = pika.URLParameters(url)
        parameters.socket_timeout = 3
        parameters.blocked_connection_timeout = 3
        pika.BlockingConnection(parameters).close()


def waiting(url: str, queue: str) -> int:
    """Messages on ``queue`` and its delay queue that no worker has taken yet."""
    broker = broker_for(url)
    if isinstance(broker, _RedisBroker):
        return sum(int(broker.client.llen(f"{NAMESPACE}:{name}")) for name in (queue, f"{queue}.DQ"))
    ready, delayed, _dead = broker.get_queue_message_counts(queue)  # type: ignore[attr-defined]
    return int(ready) + int(delayed)


def recover_dead_workers(url: str) -> None:
    """Give back the messages of workers that died holding them (Redis; RabbitMQ does it itself)."""
    broker = broker_for(url)
    if isinstance(broker, _RedisBroker):
        broker.recover_dead_workers()


def run_worker(url: str, handler: Any, *, queues: set[str] | None, threads: int,
               stop: threading.Event, every: float, sweep: Any) -> None:
    """Consume until ``stop`` is set; every ``every`` seconds, dead workers' messages are given back
    and ``sweep()`` runs (stale jobs, orphans)."""
    global _handler
    from dramatiq import Worker

    with _lock:
        _handler = handler
    broker = broker_for(url)
    worker = Worker(broker, queues=queues, worker_threads=threads, worker_timeout=1000)
    worker.start()
    try:
        while not stop.wait(every):
            try:
                recover_dead_workers(url)
            except Exception:  # the broker may be down a while; the next round tries again
                log.exception("worker: recovering dead workers' messages")
            sweep()
    finally:
        worker.stop(timeout=5000)
        broker.close()
