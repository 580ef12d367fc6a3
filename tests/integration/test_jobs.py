"""Background jobs: in-process by default, on Redis/RabbitMQ with ``lantai worker``; a worker killed
with SIGKILL mid-ingest leaves the archive consistent and its job is run again by another worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lantai.services import jobs
from lantai.services.archive import open_archive
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch

LANTAI = [sys.executable, "-m", "lantai.cli.main"]
REDIS_URL = "redis://127.0.0.1:6379/{db}"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _redis_url() -> str:
    """A Redis database of this test's own (emptied), so parallel test workers do not share queues:
    one per xdist worker (gw0 → 8, gw1 → 9, …), not by pid, which two workers may share modulo 8 —
    and then one test's flush empties the other's queues under it."""
    import redis

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    db = 8 + (int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else os.getpid()) % 8
    url = REDIS_URL.format(db=db)
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    return url


def _run(args: list[str], env: dict[str, str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(LANTAI + args, env=env, capture_output=True, text=True, timeout=300, **kwargs)


def _worker(env: dict[str, str], log: Path, *queues: str) -> subprocess.Popen:
    args = LANTAI + ["worker", "--threads", "2", "--sweep-every", "1"] + [f"--queue={q}" for q in queues]
    return subprocess.Popen(args, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# Jobs run the path users take: the default DA/T 70 profile against the session's real clamd.
pytestmark = pytest.mark.usefixtures("production_ingest")


def test_a_dead_workers_prefetched_message_goes_back_to_its_queue_at_the_next_sweep() -> None:
    """A worker killed with messages it had fetched but not acknowledged: a live worker's sweep
    puts them back on the queue once the dead one's heartbeat is older than the timeout — at
    once, not when Dramatiq's one-in-a-thousand random maintenance happens to run."""
    import redis
    from dramatiq.brokers.redis import RedisBroker

    from lantai.jobs import broker

    url = _redis_url()
    client = redis.Redis.from_url(url)
    broker.send(url, "job-held-by-the-dead", "interactive")
    dead = RedisBroker(url=url, namespace="lantai", maintenance_chance=0)
    dead.declare_queue("interactive")
    fetched = dead.do_fetch("interactive", 4)
    assert len(fetched) == 1 and client.llen("lantai:interactive") == 0
    broker.recover_dead_workers(url)  # the dead worker's heartbeat is still fresh: nothing moves
    assert client.llen("lantai:interactive") == 0
    client.zadd("lantai:__heartbeats__", {dead.broker_id: 0})  # it stopped beating long ago
    broker.recover_dead_workers(url)
    back = client.lrange("lantai:interactive", 0, -1)
    assert len(back) == 1
    assert b"job-held-by-the-dead" in client.hget("lantai:interactive.msgs", back[0])
    dead.close()


def test_in_process_job_runs_inline_and_is_listed(archive, tmp_path: Path) -> None:
    batch = write_batch(tmp_path, specs(3))
    job = jobs.submit(archive, "ingest.paths", {"paths": [str(batch)], "actor": "tester"}, actor="tester")
    assert job["state"] == "done" and job["attempts"] == 1 and job["done"] == job["total"] == 3
    assert job["result"]["counts"]["accepted"] == 3
    listed = jobs.list_jobs(archive)
    assert [j["id"] for j in listed] == [job["id"]] and listed[0]["label"] == "接收归档"
    actions = [r.action for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
    assert "job.queued" in actions and "job.done" in actions


def test_a_crashing_job_is_retried_then_failed_with_its_error(archive, tmp_path: Path) -> None:
    from lantai.errors import BadInput

    with pytest.raises(TypeError):  # a crash is retried up to max_attempts, then raised to the inline caller
        jobs.submit(archive, "search.reindex", {"unexpected": 1}, actor="tester")
    failed = jobs.list_jobs(archive, state="failed")
    assert len(failed) == 1 and failed[0]["attempts"] == failed[0]["max_attempts"] == 3
    assert "TypeError" in failed[0]["error"]
    with pytest.raises(BadInput):
        jobs.submit(archive, "no.such.kind", {}, actor="tester")


def test_catalogue_export_job_writes_what_the_user_may_see(archive, tmp_path: Path) -> None:
    from lantai.services import users

    jobs.submit(archive, "ingest.paths", {"paths": [str(write_batch(tmp_path, specs(2)))]}, actor="tester")
    users.create_user(archive, "cli", "exporter", "Lantai#Test2025", roles=["档案管理员"], clearance="内部",
                      bootstrap=True)
    job = jobs.submit(archive, "export.catalogue", {"filters": {}, "username": "exporter"}, actor="exporter")
    assert job["state"] == "done" and job["result"]["rows"] == 2
    text = Path(job["result"]["file"]).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("档号,电子文件号") and "Z109-WS-2025-" in text
    assert not list(Path(job["result"]["file"]).parent.glob("*.part"))


def test_queue_requires_a_broker(archive) -> None:
    from lantai.errors import BadInput

    with pytest.raises(BadInput) as caught:
        jobs.submit(archive, "search.reindex", {}, actor="tester", run="queue")
    assert "LANTAI_BROKER_URL" in caught.value.message_zh


def test_stale_running_job_is_claimed_again_once(archive) -> None:
    """A running job whose heartbeat is older than the lease belongs to a dead worker: one claim wins."""
    import datetime as dt

    from sqlalchemy import update

    from lantai.catalog.jobs import Job

    job = jobs.submit(archive, "search.reindex", {}, actor="tester")
    with archive.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(
            state="running", attempts=1, heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    assert jobs.claim(archive, job["id"], "w1") is True
    assert jobs.claim(archive, job["id"], "w2") is False  # fresh heartbeat now
    assert jobs.get_job(archive, job["id"])["attempts"] == 2


def test_a_dead_workers_job_is_queued_again_once_however_many_sweeps(archive) -> None:
    """Many workers sweep every few seconds: a dead worker's job goes back to the queue once, with
    one ``job.requeued`` in the audit journal, not once per sweep until someone claims it."""
    import datetime as dt

    from sqlalchemy import update

    from lantai.catalog.jobs import Job

    job = jobs.submit(archive, "search.reindex", {}, actor="tester")
    with archive.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(
            state="running", attempts=1, worker="dead", heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    assert jobs.requeue_stale(archive) == [job["id"]]
    assert jobs.requeue_stale(archive) == [] and jobs.sweep(archive)["requeued"] == []
    row = jobs.get_job(archive, job["id"])
    assert (row["state"], row["worker"], row["attempts"]) == ("queued", "", 1) and "worker died" in row["error"]
    requeued = [r for r in archive.audit.iter_journal()
                if not isinstance(r, Exception) and r.action == "job.requeued" and r.target == job["id"]]
    assert len(requeued) == 1
    assert jobs.claim(archive, job["id"], "alive") is True and jobs.get_job(archive, job["id"])["error"] == ""


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_a_queued_job_whose_message_never_reached_the_broker_is_sent_again(settings: Settings, tmp_path: Path,
                                                                            broker_kind: str) -> None:
    """The process that queued a job died between committing its row and sending its message: a
    worker's sweep sends it once the queue is empty and the job has waited ``LOST_AFTER``."""
    import datetime as dt

    from lantai.catalog.jobs import Job
    from lantai.jobs import broker
    from lantai.services.archive import init_archive

    url = _redis_url() if broker_kind == "redis" else AMQP_URL
    if broker_kind == "rabbitmq":
        _drain_rabbitmq(url)
    archive = init_archive(settings.model_copy(update={"broker_url": url}))
    try:
        long_ago = dt.datetime.now(dt.UTC) - jobs.LOST_AFTER - dt.timedelta(minutes=1)

        def queued_row(job_id: str, created: dt.datetime) -> None:
            with archive.session() as session:
                session.add(Job(id=job_id, kind="search.reindex", queue="bulk", priority=100, state="queued",
                                params="{}", error="", done=0, attempts=0, max_attempts=3, created_by="tester",
                                worker="", created_at=created))

        queued_row("lost", long_ago)
        queued_row("recent", dt.datetime.now(dt.UTC))
        assert broker.waiting(url, "bulk") == 0
        assert jobs.redispatch_lost(archive) == ["lost"]  # not "recent": it may still be on its way
        assert broker.waiting(url, "bulk") == 1
        assert jobs.redispatch_lost(archive) == []  # sent once, not once per sweep
        queued_row("behind", long_ago)
        assert jobs.redispatch_lost(archive) == []  # a message is waiting on the queue: nothing is lost
        requeued = [r.target for r in archive.audit.iter_journal()
                    if not isinstance(r, Exception) and r.action == "job.requeued"]
        assert requeued == ["lost"]
    finally:
        archive.close()
        if broker_kind == "rabbitmq":
            _drain_rabbitmq(url)


def test_a_run_whose_job_was_taken_over_records_nothing(archive) -> None:
    """A worker whose heartbeat lapsed (a long pause) finds its job claimed by another: its late
    answer — done or failed, progress, heartbeat — must not overwrite the new run's state."""
    import datetime as dt

    from sqlalchemy import update

    from lantai.catalog.jobs import Job

    job = jobs.submit(archive, "search.reindex", {}, actor="tester")
    with archive.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(state="queued", attempts=0, done=0))
    assert jobs.claim(archive, job["id"], "slow") is True
    with archive.session() as session:
        session.execute(update(Job).where(Job.id == job["id"]).values(
            heartbeat_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    assert jobs.claim(archive, job["id"], "fresh") is True
    late = jobs.JobContext(archive, job["id"], "tester", ("slow", 1))
    late.progress(7, 9, force=True)
    assert jobs._finish(archive, job["id"], ("slow", 1), jobs.DONE, result={"late": True}) is False
    row = jobs.get_job(archive, job["id"])
    assert (row["state"], row["worker"], row["attempts"], row["done"]) == ("running", "fresh", 2, 0)
    assert jobs._finish(archive, job["id"], ("fresh", 2), jobs.DONE, result={"ok": True}, done=3) is True
    row = jobs.get_job(archive, job["id"])
    assert (row["state"], row["done"]) == ("done", 3)


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_async_ingest_on_a_broker(archive, settings: Settings, tmp_path: Path, broker: str) -> None:
    url = _redis_url() if broker == "redis" else AMQP_URL
    env = cli_env(settings) | {"LANTAI_BROKER_URL": url, "LANTAI_WORKERS": "1", "LANTAI_JOB_LEASE_SECONDS": "6"}
    if broker == "rabbitmq":
        _drain_rabbitmq(url)
    batch = write_batch(tmp_path, specs(4))
    queued = _run(["ingest", "--async", str(batch), "--json"], env)
    assert queued.returncode == 0, queued.stderr
    job_id = json.loads(queued.stdout)["id"]
    worker = _worker(env, tmp_path / "worker.log")
    try:
        shown = _run(["jobs", "show", job_id, "--wait", "--timeout", "120", "--json"], env)
    finally:
        _stop(worker)
    job = json.loads(shown.stdout)
    assert shown.returncode == 0 and job["state"] == "done", (job, (tmp_path / "worker.log").read_text())
    assert job["result"]["counts"]["accepted"] == 4 and job["attempts"] == 1
    listed = json.loads(_run(["jobs", "list", "--json"], env).stdout)
    assert listed[0]["id"] == job_id and listed[0]["percent"] == 100


def _drain_rabbitmq(url: str) -> None:
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPConnectionError:
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    channel = connection.channel()
    for queue in ("interactive", "bulk", "interactive.DQ", "bulk.DQ", "interactive.XQ", "bulk.XQ"):
        try:
            channel.queue_purge(queue)
        except pika.exceptions.ChannelClosedByBroker:
            channel = connection.channel()
    connection.close()


@pytest.mark.slow
def test_worker_killed_mid_ingest_is_retried_and_the_archive_stays_consistent(settings: Settings,
                                                                                 tmp_path: Path) -> None:
    """SIGKILL a real ``lantai worker`` while it commits a batch; a second worker finishes the job.

    Afterwards every item of the batch is archived once, ``lantai verify`` and ``lantai audit verify``
    pass, no intent is left, and the job ran twice (attempts 2).
    """
    from lantai.services.archive import init_archive

    url = _redis_url()
    settings = settings.model_copy(update={"fsync": True})
    init_archive(settings).close()
    env = cli_env(settings) | {"LANTAI_BROKER_URL": url, "LANTAI_WORKERS": "1", "LANTAI_JOB_LEASE_SECONDS": "6",
                               "LANTAI_FSYNC": "true"}
    total = 60
    batch = write_batch(tmp_path, specs(total, size=64 * 1024))
    queued = _run(["ingest", "--async", str(batch), "--json"], env)
    job_id = json.loads(queued.stdout)["id"]
    first = _worker(env, tmp_path / "worker1.log")
    try:
        deadline = time.monotonic() + 120
        with open_archive(settings, recover=False) as archive:
            while time.monotonic() < deadline:
                job = jobs.get_job(archive, job_id)
                if job["state"] == "running" and job["done"] >= 5:
                    break
                time.sleep(0.05)
            assert job["done"] < total, "the batch finished before the worker could be killed"
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    second = _worker(env, tmp_path / "worker2.log")
    try:
        shown = _run(["jobs", "show", job_id, "--wait", "--timeout", "180", "--json"], env)
    finally:
        _stop(second)
    job = json.loads(shown.stdout)
    logs = (tmp_path / "worker2.log").read_text()
    assert job["state"] == "done" and job["attempts"] == 2, (job, logs)
    counts = job["result"]["counts"]
    assert counts["accepted"] + counts["duplicate"] == total and counts["rejected"] == counts["conflict"] == 0
    verify = _run(["verify", "--json"], env)
    assert verify.returncode == 0, verify.stdout[-2000:]
    assert json.loads(verify.stdout)["objects"] == total
    audit = _run(["audit", "verify", "--json"], env)
    assert audit.returncode == 0, audit.stdout[-2000:]
    assert not list((settings.staging_dir / "intents").glob("*.json"))
    with open_archive(settings, recover=False) as archive:
        from sqlalchemy import func, select

        from lantai.catalog.models import Item

        with archive.sessions() as session:
            assert session.scalar(select(func.count(Item.id))) == total
        journal = [r for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
        accepted = [r.target for r in journal if r.action == "ingest.accepted"]
        assert sorted(set(accepted)) == sorted(accepted) and len(accepted) == total  # each item once


# A worker that SIGKILLs itself once the first arrangement unit's version is in the store: its
# change intent is left behind with the catalogue, index and audit not yet written (the point the
# crash trials call ``after_store``), and several units per run (PUBLISH_GROUP 3).
KILLED_WORKER = """
import sys
from tests.reliability.driver import aim
from lantai.services import arrange_publish
aim("after_store")
arrange_publish.PUBLISH_GROUP = 3
sys.argv = ["lantai", "worker", "--threads", "1", "--sweep-every", "1"]
from lantai.cli.main import main
main()
"""


@pytest.mark.slow
def test_worker_killed_mid_arrangement_is_resolved_by_a_live_workers_sweep_and_retried(
        settings: Settings, tmp_path: Path) -> None:
    """A job of another kind than ingest: ``arrange.run`` is killed after its first unit reached
    the store. The sweep every live worker runs (``jobs.sweep``, not start-up recovery) finishes
    the dead worker's change; the job runs again and gives every item its 档号 and a gap-free 件号;
    store, catalogue, index and audit agree afterwards (tests/reliability/consistency.py)."""
    from sqlalchemy import select

    from lantai.catalog.models import Item
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths
    from tests.reliability.consistency import check_agreement

    url = _redis_url()
    settings = settings.model_copy(update={"broker_url": url, "job_lease_seconds": 4})
    total = 8
    with init_archive(settings) as archive:
        report = ingest_paths(archive, [write_batch(tmp_path, specs(total))])
        assert report.counts()["accepted"] == total, report.to_dict()
    env = cli_env(settings) | {"LANTAI_BROKER_URL": url, "LANTAI_WORKERS": "1", "LANTAI_JOB_LEASE_SECONDS": "4",
                               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with open(tmp_path / "killed.log", "ab") as log:
        killed = subprocess.Popen([sys.executable, "-c", KILLED_WORKER], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        with open_archive(settings, recover=False) as archive:
            job_id = jobs.submit(archive, "arrange.run", {"fonds": "Z109", "year": 2025}, actor="archivist")["id"]
        assert killed.wait(timeout=180) == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
    left = list((settings.staging_dir / "intents-change").glob("*.json"))
    assert len(left) == 1, "the killed worker left no change intent: the kill missed its point"
    with open_archive(settings, recover=False) as archive:  # a live worker: no start-up recovery
        assert jobs.get_job(archive, job_id)["state"] == "running"
        swept = jobs.sweep(archive)
        assert not list((settings.staging_dir / "intents-change").glob("*.json")), swept
        orphans = swept["orphans"]
        # The unit's 3 items are each resolved as the store says: finished if its version moved in
        # before the kill, rolled back if not (the kill lands after the first object's commit).
        resolved = orphans["changes"] + orphans["changes_rolled_back"]
        assert sorted(resolved) == sorted(set(resolved)) and len(resolved) == 3 and not orphans["failed"], swept
        assert orphans["changes"], swept
        assert jobs.sweep(archive)["orphans"]["changes"] == []  # resolved once
    second = _worker(env, tmp_path / "worker2.log")
    try:
        shown = _run(["jobs", "show", job_id, "--wait", "--timeout", "180", "--json"], env)
    finally:
        _stop(second)
    job = json.loads(shown.stdout)
    assert job["state"] == "done" and job["attempts"] == 2, (job, (tmp_path / "worker2.log").read_text()[-3000:])
    with open_archive(settings, recover=False) as archive:
        check_agreement(archive, context="worker killed mid-arrangement")
        with archive.sessions() as session:
            codes = sorted(session.scalars(select(Item.archival_code)))
        assert all(codes) and len(set(codes)) == total, codes
        assert sorted(int(c.rsplit("-", 1)[1]) for c in codes) == list(range(1, total + 1)), codes
        journal = [r for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
        assert [r.details.get("changes") for r in journal if r.action == "recovery.orphans"] == [orphans["changes"]]


# A worker that SIGKILLs itself when its submission job has archived the item and is answering the
# submission: the journal has ``submission.processed``, the submission row is not yet committed.
ANSWER_KILLED_WORKER = """
import sys
from tests.reliability.driver import _after
from lantai.services.audit import AuditLog
_after(AuditLog, "append", when=lambda _log, _actor, action, *_a, **_k: action == "submission.processed")
sys.argv = ["lantai", "worker", "--threads", "1", "--sweep-every", "1"]
from lantai.cli.main import main
main()
"""


@pytest.mark.slow
def test_submission_job_killed_while_answering_is_retried_to_the_same_answer(settings: Settings,
                                                                              tmp_path: Path) -> None:
    """A worker dies after the submission's item is archived, before the submission row says so.
    The job's second run still has the package (it is removed only once the answer is committed)
    and answers ``accepted`` — its first run archived the item, which is no one else's duplicate;
    the item is catalogued and journalled as accepted once."""
    import hashlib
    import shutil

    from sqlalchemy import func, select

    from lantai.catalog.models import Item
    from lantai.services import submissions, users
    from lantai.services.archive import init_archive
    from tests.sipfactory import SipSpec, write_item, zip_item

    url = _redis_url()
    settings = settings.model_copy(update={"broker_url": url, "job_lease_seconds": 4})
    package = zip_item(write_item(tmp_path / "sips", SipSpec(record_id="Z109-WS-2025-00001")))
    with init_archive(settings) as archive:
        users.create_user(archive, "cli", "clerk", "Lantai#Test2025", roles=["文书"], bootstrap=True)
    env = cli_env(settings) | {"LANTAI_BROKER_URL": url, "LANTAI_WORKERS": "1", "LANTAI_JOB_LEASE_SECONDS": "4",
                               "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    with open(tmp_path / "killed.log", "ab") as log:
        killed = subprocess.Popen([sys.executable, "-c", ANSWER_KILLED_WORKER], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        with open_archive(settings, recover=False) as archive:
            upload = tmp_path / "upload.zip"
            shutil.copy(package, upload)
            answer = submissions.submit(archive, users.principal_for(archive, "clerk"), upload, kind="item",
                                        key="Z109-WS-2025-00001",
                                        request_digest=hashlib.sha256(package.read_bytes()).hexdigest())
        assert killed.wait(timeout=180) == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
            killed.wait()
    with open_archive(settings, recover=False) as archive:
        row = submissions.get_submission(archive, users.principal_for(archive, "clerk"), answer["id"])
        assert row["status"] == "processing", "the kill missed its point: the submission was answered"
    second = _worker(env, tmp_path / "worker2.log")
    try:
        shown = _run(["jobs", "show", answer["job_id"], "--wait", "--timeout", "180", "--json"], env)
    finally:
        _stop(second)
    job = json.loads(shown.stdout)
    assert job["state"] == "done" and job["attempts"] == 2, (job, (tmp_path / "worker2.log").read_text()[-3000:])
    with open_archive(settings, recover=False) as archive:
        row = submissions.get_submission(archive, users.principal_for(archive, "clerk"), answer["id"])
        assert (row["status"], row["record_id"], row["recheck_available"]) == ("accepted", "Z109-WS-2025-00001",
                                                                                False), row
        assert not list(submissions.uploads_dir(archive).glob("*.zip"))  # the package went with the answer
        with archive.sessions() as session:
            assert session.scalar(select(func.count(Item.id))) == 1
        journal = [r for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
        assert [r.target for r in journal if r.action == "ingest.accepted"] == ["Z109-WS-2025-00001"]
