"""docs/examples/submit_client.py, the client integrators are told to copy, against a real server.

The server is uvicorn on a loopback port over an archive with the default DA/T 70 profile and a
real clamd; the client runs as its own process with only the standard library, authenticated
by a token of a service account created and approved by two administrators, as the guide says.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from lantai.checks.clamav import ClamdServer
from lantai.domain.roles import Role
from lantai.services import users
from lantai.services.archive import init_archive
from lantai.settings import Settings
from tests.sipfactory import zip_item

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT = REPO_ROOT / "docs" / "examples" / "submit_client.py"

pytestmark = [pytest.mark.clamd, pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, database_url: str | None):  # type: ignore[no-untyped-def]
    import uvicorn

    from lantai.api import create_app

    with ClamdServer(run_dir=tmp_path / "clamd") as clamd:
        settings = Settings(home=tmp_path / "archive", database_url=database_url, fsync=False, workers=1,
                            ingest_profile="default", clamd_socket=clamd.socket)
        archive = init_archive(settings)
        users.create_user(archive, "sysadmin", "oa-system", None, roles=[Role.CLERK], clearance="内部", service=True)
        users.approve_account(archive, "secadmin", "oa-system")
        token = users.create_token(archive, "secadmin", "oa-system", "OA 归档接口", scopes=("submit", "read"))["token"]
        port = _free_port()
        config = uvicorn.Config(create_app(archive), host="127.0.0.1", port=port, log_level="warning")
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not running.started and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", token, archive
        finally:
            running.should_exit = True
            thread.join(10)
            archive.close()


@pytest.fixture(scope="module")
def generated_item(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lantai.demo.generate import generate

    batch = tmp_path_factory.mktemp("gen") / "batch"
    generate(batch, year=2025, items=1, seed=9, workers=1)
    item = next(p for p in batch.iterdir() if p.is_dir())
    return zip_item(item, tmp_path_factory.mktemp("zips") / f"{item.name}.zip")


def _client(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", ""), "LANTAI_URL": url, "LANTAI_TOKEN": token}
    return subprocess.run([sys.executable, str(CLIENT), *args], env=env, capture_output=True, text=True, timeout=300)


def test_the_example_client_archives_an_item_and_a_retry_is_safe(server, generated_item: Path) -> None:  # type: ignore[no-untyped-def]
    url, token, archive = server
    first = _client(url, token, "item", str(generated_item))
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-2000:]
    result = json.loads(first.stdout)
    assert result["status"] == "accepted", result
    assert result["record_id"] == generated_item.stem
    again = _client(url, token, "item", str(generated_item))  # the OA system retries after a timeout
    assert again.returncode == 0, again.stderr[-2000:]
    replay = json.loads(again.stdout)
    assert replay["id"] == result["id"] and replay["status"] == "accepted"
    from sqlalchemy import func, select

    from lantai.catalog.models import Item

    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == 1


def test_the_example_client_reports_a_refusal_with_the_servers_message(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _token, _archive = server
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    refused = _client(url, "lt_not-a-real-token", "item", str(junk))
    assert refused.returncode != 0
    assert "HTTP 401" in refused.stderr
