"""The web tier: ``lantai serve --workers 2`` where any process serves any request (sessions and CSRF
state in the catalogue), /healthz, /readyz, /metrics summed over the processes, static cache headers,
and ``lantai doctor``."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from lantai.api import create_app
from lantai.services import users
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.integration.test_scale_out import _free_port

LANTAI = [sys.executable, "-m", "lantai.cli.main"]
PASSWORD = "Lantai#Test2025"


def _account(archive, name: str, role: str) -> str:
    users.create_user(archive, "cli", name, PASSWORD, roles=[role], clearance="内部", bootstrap=True)
    return users.issue_token(archive, "cli", name, "tests", 30, ["read", "submit"])["token"]


def test_health_ready_metrics_and_static(archive, production_ingest: str) -> None:
    sysadmin = _account(archive, "ops-admin", "系统管理员")
    reader = _account(archive, "ops-reader", "利用者")
    client = TestClient(create_app(archive), raise_server_exceptions=False)
    assert client.get("/healthz").json() == {"ok": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"ok": True, "components": {"database": True, "store": True, "clamd": True}}
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {reader}"}).status_code == 403
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {sysadmin}"})
    assert metrics.status_code == 200 and metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert 'lantai_http_requests_total{method="GET",route="/readyz",status="200"}' in text
    assert "lantai_items 0.0" in text and "lantai_http_request_seconds_bucket" in text
    assert "fixity" not in text and "replication" not in text  # not measured yet: not exported
    static = client.get("/static/app.css") if (Path(__file__).parents[2] / "lantai/web/static/app.css").exists() \
        else client.get("/static/swagger/swagger-ui.css")
    assert static.status_code == 200 and static.headers["cache-control"] == "public, max-age=86400"
    assert "etag" in static.headers


def test_readyz_is_503_when_clamd_is_required_and_absent(archive) -> None:
    archive.settings = archive.settings.model_copy(update={"clamd_socket": str(archive.home / "no-such.sock"),
                                                           "ingest_profile": "default"})
    client = TestClient(create_app(archive), raise_server_exceptions=False)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["components"]["clamd"] is False
    assert "no-such.sock" not in ready.text  # public: says which component, never a path


@pytest.mark.slow
def test_two_uvicorn_workers_share_sessions_csrf_and_metrics(archive, settings: Settings, tmp_path: Path) -> None:
    sysadmin = _account(archive, "ops-admin2", "系统管理员")
    users.create_user(archive, "cli", "ops-person", PASSWORD, roles=["利用者"], clearance="内部", bootstrap=True)
    archive.close()
    port = _free_port()
    env = cli_env(settings)
    server = subprocess.Popen([*LANTAI, "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=open(tmp_path / "serve.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        pids = _worker_pids(server.pid)
        assert len(pids) >= 2, (tmp_path / "serve.log").read_text()
        _assert_keeps_idle_connection(port)
        with httpx.Client(base_url=base, timeout=30) as person:
            login = person.post("/api/v1/auth/login", json={"username": "ops-person", "password": PASSWORD})
            assert login.status_code == 200, login.text
            csrf = login.json()["csrf_token"]
            for n in range(8):  # new connections: the kernel spreads them over both processes
                person.headers["Connection"] = "close"
                made = person.post("/api/v1/tokens", json={"name": f"t{n}", "days": 1},
                                   headers={"X-CSRF-Token": csrf})
                assert made.status_code == 201, made.text
            refused = person.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "wrong"})
            assert refused.status_code == 403
        counts = _request_count(base, sysadmin)
        assert counts >= 10  # the login, eight token requests and the refusal, whichever process served them
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _assert_keeps_idle_connection(port: int) -> None:
    """A connection idle for longer than the client's keep-alive (httpx: 5 s) is still open: the
    client, not the server, decides when to drop it, so no request is sent on a closing socket."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for round_ in range(2):
            conn.request("GET", "/healthz")  # on the same socket: http.client does not reconnect by itself
            answer = conn.getresponse()
            assert answer.status == 200 and answer.read() == b'{"ok":true}', f"round {round_}"
            if round_ == 0:
                time.sleep(6.5)
    except (http.client.RemoteDisconnected, ConnectionError) as exc:
        raise AssertionError(f"the server dropped an idle keep-alive connection after ≤ 6.5 s: {exc!r}") from exc
    finally:
        conn.close()


def _worker_pids(parent: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _request_count(base: str, token: str) -> float:
    text = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("lantai_http_requests_total{") and 'route="/api/v1/' in line)


def test_doctor_names_each_problem_in_both_languages(archive, settings: Settings) -> None:
    env = cli_env(settings) | {"LANTAI_BROKER_URL": "redis://127.0.0.1:1/0", "LANTAI_CLAMD_SOCKET": "/nonexistent.sock"}
    result = subprocess.run([*LANTAI, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["database"]["ok"] and checks["migrations"]["ok"] and checks["store"]["ok"] and checks["keys"]["ok"]
    assert not checks["broker"]["ok"] and "消息队列不可达" in checks["broker"]["message"]
    assert "broker unreachable" in checks["broker"]["message_en"]
    assert not checks["clamd"]["ok"] and checks["clamd"]["required"]
    (settings.keys_dir / "signing.key").chmod(0o644)
    env.pop("LANTAI_BROKER_URL")
    env["LANTAI_INGEST_PROFILE"] = "off"
    again = json.loads(subprocess.run([*LANTAI, "doctor", "--json"], env=env, capture_output=True, text=True,
                                      timeout=120).stdout)
    bad = [c["name"] for c in again["checks"] if not c["ok"] and c["required"]]
    assert bad == ["keys"] and not again["ok"]


def test_doctor_says_when_the_search_index_needs_a_rebuild(archive, settings: Settings) -> None:
    """A stale index is advice (searches go on), named with its reason and the command; on
    PostgreSQL the doctor also compares the search table and GIN index with shared_buffers."""
    env = cli_env(settings) | {"LANTAI_INGEST_PROFILE": "off"}

    def doctor() -> tuple[int, dict]:
        run = subprocess.run([*LANTAI, "doctor", "--json"], env=env, capture_output=True, text=True, timeout=120)
        return run.returncode, {c["name"]: c for c in json.loads(run.stdout)["checks"]}

    code, checks = doctor()
    assert code == 0 and checks["search"]["ok"]
    postgresql = archive.engine.dialect.name == "postgresql"
    assert ("search_buffers" in checks) is postgresql
    if postgresql:  # a test archive's index is a few pages: it fits the smallest shared_buffers
        assert checks["search_buffers"]["ok"] and not checks["search_buffers"]["message"]
    with archive.engine.begin() as conn:
        conn.execute(text("UPDATE search_state SET value = '0' WHERE key = 'layout'"))
    code, checks = doctor()
    stale = checks["search"]
    assert code == 0 and not stale["ok"] and not stale["required"]
    assert "lantai search reindex" in stale["message"] and "layout 0" in stale["message_en"]
    subprocess.run([*LANTAI, "search", "reindex"], env=env, capture_output=True, text=True, timeout=300, check=True)
    assert doctor()[1]["search"]["ok"]
    # where the database refused to record it, a failed index write leaves the stale file
    (settings.home / "index").mkdir(exist_ok=True)
    (settings.home / "index" / "STALE").write_text("2026-12-04T00:00:00+00:00 upsert 1: disk full\n", "utf-8")
    stale = doctor()[1]["search"]
    assert not stale["ok"] and "upsert 1: disk full" in stale["message"]


def test_doctor_checks_each_replica_root_and_names_the_s3_endpoint(archive, settings: Settings, tmp_path: Path) -> None:
    offsite = tmp_path / "offsite"
    offsite.mkdir()
    roots = {"offsite": offsite.as_uri(), "gone": (tmp_path / "gone").as_uri(), "cloud": "s3://lantai-z109/archive"}
    env = cli_env(settings) | {"LANTAI_REPLICA_ROOTS": json.dumps(roots), "LANTAI_INGEST_PROFILE": "off",
                               "LANTAI_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
    report = json.loads(subprocess.run([*LANTAI, "doctor", "--json"], env=env, capture_output=True, text=True,
                                       timeout=120).stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["replica:offsite"]["ok"]
    assert not checks["replica:gone"]["ok"] and "副本存储根 gone" in checks["replica:gone"]["message"]
    cloud = checks["replica:cloud"]
    assert not cloud["ok"] and not cloud["required"] and "http://127.0.0.1:1" in cloud["message_en"]
