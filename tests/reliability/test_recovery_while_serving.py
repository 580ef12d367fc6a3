"""Recovery runs whenever a writer starts, even while ``lantai serve`` runs (issue 17, point 7),
and never touches the work of a writer that is alive.

Ownership of an intent is an exclusive ``flock`` its writer holds on the intent file (see
:mod:`lantai.services.recovery`): the kernel drops it when the writer dies, so the next writer to
start — while serve keeps serving — finds the intent free and resolves it, and an intent whose
writer is merely slow stays locked and untouched.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lantai.catalog.models import AuditEntry, Item
from lantai.services.archive import init_archive, open_archive
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from lantai.storage.ocfl import OcflStore
from tests.conftest import cli_env
from tests.reliability import trials
from tests.reliability.consistency import check_agreement, indexed
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.slow
FIRST, SECOND = 6, 3  # items of the crashed batch and of the next one


def _settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(home=tmp_path / "archive", database_url=database_url, fsync=False, workers=1,
                    ingest_profile="off")


def _env(settings: Settings) -> dict[str, str]:
    return {**cli_env(settings), "LANTAI_INGEST_PROFILE": "off", "LANTAI_WORKERS": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/login", timeout=10) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def served(tmp_path: Path, database_url: str | None):  # type: ignore[no-untyped-def]
    """A real ``lantai serve`` (uvicorn, its own process) over a fresh archive."""
    settings = _settings(tmp_path, database_url)
    init_archive(settings).close()
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lantai.cli.main", "serve", "--port", str(port)],
                            env=_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not _serving(url) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _serving(url), proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else "serve did not start"
    try:
        yield settings, url, proc
    finally:
        trials.kill_group(proc)


def _ingest_cli(settings: Settings, batch: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "ingest", str(batch), "--json"],
                          env=_env(settings), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def _intents(settings: Settings) -> list[Path]:
    return sorted((settings.staging_dir / "intents").glob("*.json"))


def _actions(settings: Settings, action: str) -> list[tuple[str, dict]]:
    with open_archive(settings, recover=False) as archive, archive.sessions() as session:
        return [(a.target, json.loads(a.details)) for a in
                session.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def test_a_crashed_ingest_is_recovered_by_the_next_writer_while_serve_runs(served, tmp_path: Path) -> None:
    settings, url, serve = served
    first = write_batch(tmp_path / "one", specs(FIRST, size=8 * 1024))
    second = write_batch(tmp_path / "two", specs(SECOND, prefix="Z109-WS-2026-", size=8 * 1024))
    crashed = trials.start(settings, "ingest", "after_store", first)  # SIGKILLs itself mid-commit
    crashed.wait(timeout=300)
    trials.kill_group(crashed)
    assert crashed.returncode == -9, crashed.stderr.read().decode() if crashed.stderr else ""
    [intent] = _intents(settings)
    named = [o["object_id"] for o in json.loads(intent.read_text(encoding="utf-8"))["objects"]]
    store = OcflStore(settings.store_root, settings.staging_dir)
    moved = [oid for oid in named if store.exists(oid)]
    assert moved, "the kill should come after one object reached the store"

    report = _ingest_cli(settings, second)  # a writer starts while serve runs: recovery runs
    assert {i["status"] for i in report["items"]} == {"accepted"}
    assert _intents(settings) == [], "the crashed ingest's intent was not resolved"
    assert serve.poll() is None and _serving(url), "serve stopped serving"
    accepted = {target: details for target, details in _actions(settings, "ingest.accepted")}
    rolled_back = {target for target, _d in _actions(settings, "ingest.rolled_back")}
    for oid in moved:
        assert accepted[oid].get("recovered") is True
    assert rolled_back == set(named) - set(moved)
    with open_archive(settings, recover=False) as archive:
        with archive.sessions() as session:
            catalogued = set(session.scalars(select(Item.record_id)))
        assert set(moved) <= catalogued and set(moved) <= set(indexed(archive))
        check_agreement(archive, context="after recovery while serving")
        resubmitted = ingest_paths(archive, [first])  # the operator resubmits the crashed batch
        assert {i.status for i in resubmitted.items} == {"accepted", "duplicate"}
        check_agreement(archive, context="after resubmission")
        with archive.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM search_docs")).scalar() == FIRST + SECOND
    assert serve.poll() is None and _serving(url)


@pytest.mark.parametrize("kind", ["ingest", "classify"])
def test_recovery_never_touches_the_work_of_a_live_writer(served, tmp_path: Path, kind: str) -> None:
    settings, url, serve = served
    first = write_batch(tmp_path / "one", specs(FIRST, size=8 * 1024))
    if kind == "classify":
        with open_archive(settings) as archive:
            assert ingest_paths(archive, [first]).ok
    pause = tmp_path / "paused"
    writer = trials.start(settings, kind, "pause_after_store", first, {"LANTAI_TRIAL_PAUSE": str(pause)})
    try:
        deadline = time.monotonic() + 120
        while not pause.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pause.exists(), writer.stderr.read().decode() if writer.poll() is not None and writer.stderr else ""
        held = sorted(p for d in ("intents", "intents-change") for p in (settings.staging_dir / d).glob("*.json"))
        assert len(held) == 1
        content = held[0].read_bytes()
        staged = sorted(p.name for p in settings.staging_dir.glob("tx-*"))

        second = write_batch(tmp_path / "two", specs(SECOND, prefix="Z109-WS-2026-", size=8 * 1024))
        report = _ingest_cli(settings, second)  # starts, runs recovery, ingests, while the writer waits
        assert {i["status"] for i in report["items"]} == {"accepted"}
        assert held[0].read_bytes() == content, "recovery took the intent of a live writer"
        assert sorted(p.name for p in settings.staging_dir.glob("tx-*")) == staged, "live staging removed"
        assert not [t for t, _d in _actions(settings, "ingest.rolled_back")]
        assert not [t for t, _d in _actions(settings, "change.rolled_back")]
    finally:
        pause.with_name(pause.name + ".go").write_text("go", encoding="utf-8")
    assert writer.wait(timeout=300) == 0, writer.stderr.read().decode() if writer.stderr else ""
    assert serve.poll() is None and _serving(url)
    with open_archive(settings) as archive:
        check_agreement(archive, context=f"live {kind} writer finished after another writer's recovery")
        with archive.sessions() as session:
            items = list(session.scalars(select(Item).order_by(Item.record_id)))
        assert len(items) == FIRST + SECOND
        if kind == "classify":  # the live writer's changes all stand
            assert [i.security_classification for i in items[:FIRST]] == [("机密", "秘密")[n % 2] for n in range(FIRST)]


def test_an_archive_from_init_is_a_live_writer_to_other_processes(tmp_path: Path, database_url: str | None) -> None:
    """``init_archive`` hands out an archive that may ingest at once, so it holds the locks
    ``open_archive`` holds: another process starting meanwhile must not take the archive for idle
    and sweep this process's ``tx-*`` staging (found in issue 17: the sweep removed a live writer's)."""
    settings = _settings(tmp_path, database_url)
    archive = init_archive(settings)
    try:
        staged = archive.store.staging / "tx-live-writer"
        staged.mkdir(parents=True)
        (staged / "part").write_bytes(b"being written")
        other = subprocess.run([sys.executable, "-m", "lantai.cli.main", "verify", "--json"], env=_env(settings),
                               capture_output=True, timeout=300)
        assert other.returncode == 0, other.stderr.decode()
        assert staged.is_dir(), "another process's start-up recovery removed this live writer's staging"
    finally:
        archive.close()
    with open_archive(settings):  # idle now: the abandoned staging goes
        assert not staged.exists()
