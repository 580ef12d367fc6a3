"""``lantai rebuild`` cannot destroy: it never writes to the store, names damaged objects and
keeps their rows, keeps users, tokens and check runs, and a kill -9 at any moment leaves the old
catalogue intact and usable (issue 17, point 3)."""

from __future__ import annotations

import hashlib
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from lantai.catalog.models import CheckRecord, Item
from lantai.cli.main import app
from lantai.services.archive import Archive, open_archive
from lantai.services.catalogue import dump_catalogue, upsert_item
from lantai.services.ingest import ingest_paths
from lantai.services.users import create_user, issue_token, resolve_token
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch

V1, V2 = "Z109-WS-2025-00001", "Z109-WS-2025-00002"


def _store_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _items(archive: Archive) -> dict:
    with archive.sessions() as session:
        return {row["record_id"]: row for row in dump_catalogue(session)["items"]}


def _flip_hex(path: Path) -> None:
    text_ = path.read_text(encoding="utf-8")
    i = next(i for i in range(len(text_) // 2, len(text_)) if text_[i] in "0123456789abcdef")
    path.write_text(text_[:i] + ("1" if text_[i] != "1" else "2") + text_[i + 1:], encoding="utf-8")


def test_rebuild_names_damaged_objects_keeps_their_rows_and_never_writes_the_store(
        archive: Archive, settings: Settings, tmp_path: Path) -> None:
    assert ingest_paths(archive, [write_batch(tmp_path, specs(5))]).ok
    builder = archive.store.begin_version(V2)
    builder.add_bytes("lantai/note.json", b'{"note": "second version"}')
    archive.store.commit(builder.prepare(message="test v2", user_name="test"))
    with archive.session() as session:
        upsert_item(session, archive.store, V2)
        session.add(CheckRecord(run_id="r1", stage="bc", profile="default", item_id=V1, status="passed"))
    archive.audit.append("operator", "check.run", "run-lost", {  # a run whose catalogue rows were lost
        "stage": "bc", "profile": "default", "report_sm3": "ab" * 32, "location": "/reports/r.json",
        "items": 2, "passed": 1, "failed": 1, "verdicts": {V1: "passed", "Z109-WS-2025-00003": "failed"}})
    archive.audit.append("zhangwei", "check.confirmed", f"item:{V1}", {  # a verdict whose row was lost
        "scope": "item", "scope_id": V1, "stage": "gd", "code": "4-2", "verdict": "conforms", "note": "载体完好"})
    create_user(archive, "admin", "oa-system", "Lantai#2025test", roles=["文书"])
    token = issue_token(archive, "admin", "oa-system", "oa")["token"]
    before = _items(archive)
    (archive.store.object_path(V1) / "inventory.json").open("r+b").write(b"[")  # corrupt root inventory
    _flip_hex(archive.store.object_path(V2) / "v2" / "inventory.json")  # the issue's one hex digit
    store_before = _store_digest(settings.store_root)

    result = CliRunner().invoke(app, ["rebuild", "--json"], env=cli_env(settings))
    assert result.exit_code == 1, result.stdout
    out = json.loads(result.stdout)
    assert {d["object"] for d in out["damaged"]} == {V1, V2}
    assert out["items"] == 3 and out["kept"] == 2
    assert _store_digest(settings.store_root) == store_before  # nothing written to the store
    after = _items(archive)
    assert after == before  # damaged items keep their rows, the others are rebuilt identically
    assert out["check_runs_restored"] == 1
    assert out["check_verdicts_restored"] == 1
    from lantai.services.check_verdicts import verdicts

    assert verdicts(archive, "item", V1, "gd")["4-2"]["confirmed_by"] == "zhangwei"
    with archive.sessions() as session:
        runs = session.execute(select(CheckRecord.run_id, CheckRecord.item_id, CheckRecord.status)).all()
        assert sorted(runs) == [("r1", V1, "passed"), ("run-lost", V1, "passed"),
                                ("run-lost", "Z109-WS-2025-00003", "failed")]
    assert resolve_token(archive, token) is not None
    shown = CliRunner().invoke(app, ["show", V1, "--json"], env=cli_env(settings))
    assert shown.exit_code == 0 and json.loads(shown.stdout)["record_id"] == V1


def test_rebuild_keeps_the_row_of_a_catalogued_item_whose_object_is_gone(archive: Archive, settings: Settings,
                                                                          tmp_path: Path) -> None:
    import shutil

    assert ingest_paths(archive, [write_batch(tmp_path, specs(3))]).ok
    shutil.rmtree(archive.store.object_path(V1))
    result = CliRunner().invoke(app, ["rebuild", "--json"], env=cli_env(settings))
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and [d["object"] for d in out["damaged"]] == [V1]
    assert out["damaged"][0]["problems"][0]["problem"] == "object_missing"
    assert set(_items(archive)) == {V1, "Z109-WS-2025-00002", "Z109-WS-2025-00003"}


def _scratch_exists(settings: Settings) -> bool:
    if not settings.database_url:
        return any(settings.home.glob(".lantai_rebuild_*.sqlite3"))
    from sqlalchemy import create_engine

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT count(*) FROM information_schema.schemata "
                                          "WHERE schema_name LIKE 'lantai_rebuild_%'")).scalar())
    finally:
        engine.dispose()


def _start_rebuild(settings: Settings) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lantai.cli.main", "rebuild", "--json"], env=cli_env(settings),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_kill_9_during_rebuild_leaves_the_old_catalogue_intact_and_usable(archive: Archive, settings: Settings,
                                                                         tmp_path: Path) -> None:
    count = 120
    assert ingest_paths(archive, [write_batch(tmp_path, specs(count))]).ok
    before = _items(archive)
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}")
    # One aimed kill (as soon as the scratch catalogue exists) and a few at random moments.
    for trial, delay in enumerate([None, *(rng.uniform(0.5, 3.0) for _ in range(3))]):
        proc = _start_rebuild(settings)
        deadline = time.monotonic() + 60
        if delay is None:
            while not _scratch_exists(settings) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
        else:
            time.sleep(delay)
        running = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert running or delay is not None, "the aimed kill came after rebuild had finished"
        with open_archive(settings) as reopened:
            assert _items(reopened) == before, f"trial {trial} (seed {seed}, delay {delay})"
    result = CliRunner().invoke(app, ["rebuild", "--json"], env=cli_env(settings))
    assert result.exit_code == 0, result.stdout
    assert json.loads(result.stdout)["items"] == count
    assert not _scratch_exists(settings)  # leftovers of the killed runs were removed
    with archive.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Item)) == count
    assert _items(archive) == before
