"""Many workers, one archive: three ``lantai worker`` and two ``lantai serve`` processes on one
PostgreSQL catalogue and one store, concurrent ingest (API submissions queued as jobs), arrangement
(two arrange jobs at once, on different workers) and access (item views, downloads, search); one
worker is killed with SIGKILL at a random moment. Afterwards the store, catalogue, index and audit
chain agree: every submission is archived once, 件号 are gap-free, ``lantai verify`` and
``lantai audit verify`` pass. Ingest runs the default DA/T 70 profile with the real clamd, as in
production.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from lantai.catalog.arrangement import Arrangement
from lantai.catalog.models import Item, Submission
from lantai.services import jobs, users
from lantai.services.archive import init_archive, open_archive
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database, cli_env
from tests.integration.test_jobs import _redis_url
from tests.sipfactory import SipSpec, real_pdf, write_item, zip_item

LANTAI = [sys.executable, "-m", "lantai.cli.main"]
PASSWORD = "Lantai#Test2025"
ITEMS = 36

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.usefixtures("production_ingest")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(LANTAI + args, env=env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"web process on port {port} did not come up")


@pytest.fixture
def database_url() -> Iterator[str]:
    """PostgreSQL only: the point is one catalogue shared by processes that may be on many machines."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} not set")
    url = _create_pg_database(os.environ[PG_ENV])
    try:
        yield url
    finally:
        _drop_pg_database(url)


def _explain(archive, session, finished: list[dict]) -> str:
    """What a failed count says about itself: the record ids not catalogued, every submission not
    ``accepted`` (status, the reason its report gives), retried jobs, and what recovery left."""
    catalogued = set(session.scalars(select(Item.record_id)))
    missing = [f"Z109-WS-2025-{n + 1:05d}" for n in range(ITEMS) if f"Z109-WS-2025-{n + 1:05d}" not in catalogued]
    lines = [f"not catalogued: {missing}"]
    for row in session.scalars(select(Submission).where(Submission.status != "accepted")):
        report = json.loads(row.result or "{}").get("report") or {}
        lines.append(f"submission {row.id} {row.idempotency_key}: {row.status} {report.get('message', '')!r} "
                     f"{[f.get('message') for f in report.get('findings', []) if f.get('severity') == 'error'][:3]}")
    lines += [f"job {j['id'][:8]} {j['kind']} attempts={j['attempts']} worker={j['worker']} error={j['error']!r}"
              for j in finished if j["attempts"] != 1 or j["error"]]
    staging = archive.settings.staging_dir
    lines.append(f"left in staging: {sorted(p.name for p in staging.iterdir())}, intents: "
                 f"{sorted(p.name for d in ('intents', 'intents-change') for p in (staging / d).glob('*'))}, "
                 f"uploads: {sorted(p.name for p in (staging / 'uploads').glob('*'))}")
    return "\n".join(lines)


def test_three_workers_two_web_processes_one_archive(database_url: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "archive", database_url=database_url, fsync=True, workers=1,
                        broker_url=_redis_url(), job_lease_seconds=6)
    archive = init_archive(settings)
    tokens = {}
    for name, role, clearance in (("clerk", "文书", "内部"), ("archivist", "档案管理员", "机密"),
                                  ("reader", "利用者", "内部")):
        users.create_user(archive, "cli", name, PASSWORD, roles=[role], clearance=clearance, bootstrap=True)
        tokens[name] = users.issue_token(archive, "cli", name, "tests", 30, ["read", "submit", "write"])["token"]
    archive.close()
    env = cli_env(settings) | {"LANTAI_BROKER_URL": settings.broker_url or "", "LANTAI_WORKERS": "1",
                               "LANTAI_JOB_LEASE_SECONDS": "6", "LANTAI_FSYNC": "true"}
    ports = [_free_port(), _free_port()]
    logs = tmp_path / "logs"
    logs.mkdir()
    web = [_start(["serve", "--port", str(p)], env, logs / f"web{p}.log") for p in ports]
    workers = [_start(["worker", "--threads", "2", "--sweep-every", "1"], env, logs / f"worker{i}.log")
               for i in range(3)]
    replacement = None
    try:
        deadline = time.monotonic() + 120
        for port in ports:
            _wait_up(port, deadline)
        zips = []
        for n in range(ITEMS):
            record_id = f"Z109-WS-2025-{n + 1:05d}"
            spec = SipSpec(record_id=record_id, document_number=f"X政办发〔2025〕{n + 1}号",
                           date=f"2025-{n % 12 + 1:02d}-{n % 27 + 1:02d}", retention=("永久", "30年", "10年")[n % 3],
                           files={"正文.pdf": real_pdf(8 * 1024)})
            zips.append((record_id, zip_item(write_item(tmp_path / "sips" / record_id, spec)).read_bytes()))

        def submit(index: int) -> dict:
            record_id, data = zips[index]
            answer = httpx.post(f"http://127.0.0.1:{ports[index % 2]}/api/v1/submissions",
                                headers={"Authorization": f"Bearer {tokens['clerk']}", "Idempotency-Key": record_id},
                                files={"package": ("sip.zip", data, "application/zip")}, timeout=60)
            # 202 while a worker has the job; 201 when a worker had already finished it by the time
            # this web process read the submission back (the answer says what is true then)
            assert answer.status_code in (201, 202), answer.text
            assert (answer.status_code == 202) == (answer.json()["status"] == "processing"), answer.text
            return answer.json()

        def read(index: int) -> int:
            port = ports[index % 2]
            auth = {"Authorization": f"Bearer {tokens['reader']}"}
            listing = httpx.get(f"http://127.0.0.1:{port}/api/v1/items", headers=auth, timeout=60)
            found = httpx.get(f"http://127.0.0.1:{port}/api/v1/search", params={"q": "通知"}, headers=auth, timeout=60)
            codes = [listing.status_code, found.status_code]
            items = listing.json().get("items", []) if listing.status_code == 200 else []
            if items:
                record_id = items[index % len(items)]["record_id"]
                codes.append(httpx.get(f"http://127.0.0.1:{port}/api/v1/items/{record_id}", headers=auth,
                                       timeout=60).status_code)
                codes.append(httpx.get(f"http://127.0.0.1:{port}/api/v1/items/{record_id}/content", headers=auth,
                                       params={"path": "content/正文.pdf"}, timeout=60).status_code)
            assert all(c == 200 for c in codes), codes
            return len(codes)

        victim = random.randrange(3)
        kill_after = random.uniform(2.0, 8.0)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            submitted = list(pool.map(submit, range(ITEMS // 2)))
            reads = [pool.submit(read, i) for i in range(12)]
            with open_archive(settings, recover=False) as archive:
                arranges = [jobs.submit(archive, "arrange.run", {"fonds": "Z109", "year": 2025}, actor="archivist",
                                        run="queue")["id"] for _ in range(2)]
            time.sleep(kill_after)
            os.killpg(workers[victim].pid, signal.SIGKILL)
            workers[victim].wait()
            submitted += list(pool.map(submit, range(ITEMS // 2, ITEMS)))
            reads += [pool.submit(read, i) for i in range(12, 24)]
            replacement = _start(["worker", "--threads", "2", "--sweep-every", "1"], env, logs / "worker-new.log")
            assert all(r.result() >= 2 for r in reads)
        job_ids = [s["job_id"] for s in submitted] + arranges
        with open_archive(settings, recover=False) as archive:
            finished = [jobs.wait(archive, job_id, timeout=300) for job_id in job_ids]
            assert all(j["state"] == "done" for j in finished), [(j["kind"], j["state"], j["error"]) for j in finished
                                                               if j["state"] != "done"]
            # the items that arrived after both arrange jobs are numbered by a last one
            last = jobs.submit(archive, "arrange.run", {"fonds": "Z109", "year": 2025}, actor="archivist", run="queue")
            assert jobs.wait(archive, last["id"], timeout=300)["state"] == "done"
            with archive.sessions() as session:
                assert session.scalar(select(func.count(Item.id))) == ITEMS, _explain(archive, session, finished)
                statuses = session.scalars(select(Submission.status)).all()
                assert sorted(statuses) == ["accepted"] * ITEMS, _explain(archive, session, finished)
                numbers = session.execute(select(Arrangement.class_key, Arrangement.item_number)).all()
            journal = [r for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
        by_class: dict[str, list[int]] = {}
        for class_key, number in numbers:
            by_class.setdefault(class_key, []).append(number)
        assert sum(len(v) for v in by_class.values()) == ITEMS
        for class_key, got in by_class.items():
            assert sorted(got) == list(range(1, len(got) + 1)), (class_key, sorted(got))  # 件号 gap-free
        accepted = [r.target for r in journal if r.action == "ingest.accepted"]
        assert len(accepted) == len(set(accepted)) == ITEMS
        assert [r.seq for r in journal] == list(range(1, len(journal) + 1))  # one chain, in order
    finally:
        for process in [*web, *workers, *([replacement] if replacement else [])]:
            _stop(process)
    verify = subprocess.run([*LANTAI, "verify", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert verify.returncode == 0 and json.loads(verify.stdout)["objects"] == ITEMS, verify.stdout[-2000:]
    audit = subprocess.run([*LANTAI, "audit", "verify", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert audit.returncode == 0, audit.stdout[-3000:]
    search = subprocess.run([*LANTAI, "search", "query", "通知", "--json"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert search.returncode == 0, search.stderr
