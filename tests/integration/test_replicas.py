"""Replicas on a second file root: every committed version is queued in its own catalogue
transaction and copied; an unreachable root waits and is retried; a root added later is
back-filled; a full disk fails cleanly; reads fall back to a sound replica; scheduled fixity
repairs a damaged copy from a sound one and flags an object with no sound copy as 损坏.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lantai.catalog.models import AuditEntry
from lantai.catalog.preservation import ReplicationTask, RootObject
from lantai.services import changes, replicas
from lantai.services.archive import Archive, init_archive, open_archive
from lantai.services.fixity import run_scheduled
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from lantai.storage.backends import FileBackend
from lantai.storage.replica import OcflRoot
from tests.conftest import cli_env
from tests.ocfl_validation import validate_store
from tests.sipfactory import SipSpec, real_pdf, specs, write_batch, write_item

BODY = "v1/content/content/正文.pdf"


@pytest.fixture
def second(tmp_path: Path) -> Path:
    path = tmp_path / "second"
    path.mkdir()
    return path


@pytest.fixture
def replicated(settings: Settings, second: Path) -> Archive:
    settings.replica_roots = {"second": second.as_uri()}
    archive = init_archive(settings)
    try:
        yield archive
    finally:
        archive.close()


def _ingest(archive: Archive, tmp: Path, n: int = 3) -> list[str]:
    report = ingest_paths(archive, [write_batch(tmp, specs(n))])
    assert report.ok, report.to_dict()
    return sorted(archive.store.iter_object_ids())


def _queued(archive: Archive, root: str = "second") -> dict[str, int]:
    with archive.sessions() as session:
        return dict(session.execute(select(ReplicationTask.object_id, ReplicationTask.version)
                                    .where(ReplicationTask.root == root)).tuples().all())


def _actions(archive: Archive, action: str) -> list[dict]:
    with archive.sessions() as session:
        return [json.loads(r.details) | {"target": r.target}
                for r in session.scalars(select(AuditEntry).where(AuditEntry.action == action))]


def test_every_version_is_queued_with_its_commit_and_copied(replicated: Archive, second: Path, tmp_path: Path) -> None:
    ids = _ingest(replicated, tmp_path / "in")
    assert _queued(replicated) == dict.fromkeys(ids, 1)  # queued in ingest's own transaction
    report = replicas.sync(replicated)
    assert report.ok and report.copied == 3 and report.bytes > 0
    assert _queued(replicated) == {}
    root = OcflRoot("second", FileBackend(second))
    for object_id in ids:
        assert root.head(object_id) == 1
        assert root.inventory_bytes(object_id) == (replicated.store.object_path(object_id) / "inventory.json").read_bytes()
    assert validate_store(second) == []  # the replica is a valid OCFL root on its own

    # A change after ingest (the one change path) queues v2 in the same transaction, and only v2 is copied.
    result = changes.commit_change(replicated, changes.ItemChange(ids[0], "system", "transfer.marked", "移交",
                                                                 files={"lantai/transfer.json": b'{"transfer_id": "X"}'}))
    assert result.version == 2
    assert _queued(replicated) == {ids[0]: 2}
    report = replicas.sync(replicated)
    assert report.copied == 1 and root.head(ids[0]) == 2
    assert validate_store(second) == []
    rows = replicas.status(replicated)
    by_name = {r["name"]: r for r in rows}
    assert by_name["second"]["objects"] == 3 and by_name["second"]["queued"] == 0 and by_name["second"]["reachable"]
    assert by_name["primary"]["primary"] and by_name["primary"]["objects"] == 3


def test_an_unreachable_root_waits_and_retries_and_loses_nothing(settings: Settings, tmp_path: Path) -> None:
    absent = tmp_path / "not-mounted"
    settings.replica_roots = {"offsite": absent.as_uri()}
    with init_archive(settings) as archive:
        ids = _ingest(archive, tmp_path / "in", 2)
        report = replicas.sync(archive)
        assert report.unavailable == ["offsite"] and report.copied == 0 and report.pending == 2
        with archive.sessions() as session:
            tasks = list(session.scalars(select(ReplicationTask)))
        assert {t.object_id for t in tasks} == set(ids)
        assert [t.attempts for t in tasks if t.last_error] == [1]  # only the task tried; the root was then skipped
        assert all("不可用" in t.last_error for t in tasks if t.last_error)
        assert replicas.sync(archive, force=False).copied == 0  # its back-off has not expired: not asked again
        assert replicas.backoff_seconds(1, 3600) == 30 and replicas.backoff_seconds(20, 3600) == 3600
        absent.mkdir()  # the mount is back
        report = replicas.sync(archive)
        assert report.ok and report.copied == 2
        assert (absent / "0=ocfl_1.1").read_text() == "ocfl_1.1\n"
        assert validate_store(absent) == []


def test_a_root_added_later_is_backfilled(archive: Archive, tmp_path: Path, second: Path) -> None:
    ids = _ingest(archive, tmp_path / "in", 2)
    result = replicas.add_root(archive, "later", second.as_uri(), actor="admin")
    assert result["queued"] == 2 and not result["object_lock"]
    assert 'replica_roots.later = "' in (archive.home / "lantai.toml").read_text(encoding="utf-8")
    assert Settings(home=archive.home).replica_roots == {"later": second.as_uri()}
    assert replicas.sync(archive).copied == 2
    assert sorted(p.name for p in second.glob("*/*/*/*")) == ids
    assert _actions(archive, "replica.registered")[-1]["roots"] == {"later": second.as_uri()}
    with pytest.raises(Exception, match="later"):
        replicas.add_root(archive, "later", second.as_uri())


def test_a_crash_after_the_commit_keeps_the_pending_copy(replicated: Archive, tmp_path: Path) -> None:
    """The queue row is part of the commit: a process that dies before replicating leaves it for the next."""
    item = write_item(tmp_path / "in", SipSpec("Z-CRASH"))
    code = ("import sys, os; from lantai.services.archive import open_archive; from lantai.services.ingest import "
            f"ingest_paths; from pathlib import Path\na = open_archive()\nr = ingest_paths(a, [Path({str(item)!r})])\n"
            "os._exit(0 if r.ok else 3)")
    env = cli_env(replicated.settings) | {"LANTAI_REPLICA_ROOTS": json.dumps(replicated.settings.replica_roots)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _queued(replicated) == {"Z-CRASH": 1}
    assert replicas.sync(replicated).copied == 1


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, 1024 * 1024))


def test_a_full_disk_fails_the_copy_cleanly(replicated: Archive, second: Path, tmp_path: Path) -> None:
    spec = SipSpec("Z-BIG", files={"正文.pdf": real_pdf(3 * 1024 * 1024)})
    assert ingest_paths(replicated, [write_item(tmp_path / "in", spec)]).ok
    env = cli_env(replicated.settings) | {"LANTAI_REPLICA_ROOTS": json.dumps(replicated.settings.replica_roots)}
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "replicas", "sync", "--json"], env=env,
                          capture_output=True, text=True, timeout=300, preexec_fn=_limit_file_size)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["failed"][0]["error"]["code"] == "disk_full" and result["pending"] == 1
    root = OcflRoot("second", FileBackend(second))
    assert root.head("Z-BIG") == 0  # no inventory was written: the replica does not claim the object
    assert not list(second.rglob("*.tmp"))  # nothing half-written is left behind
    assert _queued(replicated) == {"Z-BIG": 1}
    assert replicas.sync(replicated).copied == 1 and root.head("Z-BIG") == 1


def test_a_read_falls_back_to_a_sound_replica_and_repairs_the_primary(replicated: Archive, tmp_path: Path) -> None:
    ids = _ingest(replicated, tmp_path / "in", 1)
    replicas.sync(replicated)
    damaged = replicated.store.object_path(ids[0]) / BODY
    good = damaged.read_bytes()
    damaged.write_bytes(b"%PDF bit rot")
    with replicas.open_verified(replicated, ids[0], "content/正文.pdf") as fh:
        assert fh.read() == good
    assert damaged.read_bytes() == good  # repaired in place from the replica
    event = _actions(replicated, "preservation.repaired")[0]
    assert event.items() >= {"root": "primary", "source": "second", "reason": "read", "target": ids[0]}.items()


def test_fixity_repairs_each_root_from_the_other(replicated: Archive, second: Path, tmp_path: Path) -> None:
    ids = _ingest(replicated, tmp_path / "in", 3)
    replicas.sync(replicated)
    report = run_scheduled(replicated, max_bytes=10**12)
    assert report.ok and report.checked == 6 and not report.repaired  # 3 objects × 2 roots, all sound
    primary_copy = replicated.store.object_path(ids[0]) / BODY
    good = primary_copy.read_bytes()
    primary_copy.write_bytes(b"changed")
    replica_dir = next(second.glob(f"*/*/*/{ids[1]}"))
    (replica_dir / BODY).unlink()
    (replica_dir / "inventory.json").write_text("{}", encoding="utf-8")
    # The damaged copies are now the most recently verified; bounds let a full pass see them.
    report = run_scheduled(replicated, max_bytes=10**12)
    assert report.ok, report.to_dict()
    assert {(r["root"], r["object"], r["file"], r["problem"]) for r in report.repaired} == {
        ("primary", ids[0], BODY, "digest_mismatch"),
        ("second", ids[1], BODY, "missing"),
        ("second", ids[1], "inventory.json", "inventory"),
    }
    assert primary_copy.read_bytes() == good
    assert validate_store(second) == [] and validate_store(replicated.settings.store_root) == []
    assert len(_actions(replicated, "preservation.repaired")) == 3


def test_no_sound_copy_flags_the_item_and_fails(replicated: Archive, second: Path, tmp_path: Path) -> None:
    ids = _ingest(replicated, tmp_path / "in", 1)
    replicas.sync(replicated)
    (replicated.store.object_path(ids[0]) / BODY).write_bytes(b"rot one")
    (next(second.glob(f"*/*/*/{ids[0]}")) / BODY).write_bytes(b"rot two")
    env = cli_env(replicated.settings) | {"LANTAI_REPLICA_ROOTS": json.dumps(replicated.settings.replica_roots)}
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "fixity", "run", "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert {(u["root"], u["object"]) for u in result["unrecoverable"]} == {("primary", ids[0]), ("second", ids[0])}
    with replicated.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RootObject).where(RootObject.unrecoverable)) == 2
    assert _actions(replicated, "preservation.damaged")


def test_bounds_and_oldest_first(replicated: Archive, tmp_path: Path) -> None:
    _ingest(replicated, tmp_path / "in", 4)
    replicas.sync(replicated)
    first = run_scheduled(replicated, root="primary", max_bytes=1)
    assert first.checked == 1  # at least one object, then the byte bound stops the run
    second_run = run_scheduled(replicated, root="primary", max_bytes=10**12)
    assert second_run.checked == 4
    with replicated.sessions() as session:
        verified = session.scalars(select(RootObject.object_id).where(RootObject.root == "primary")
                                   .order_by(RootObject.verified_at, RootObject.object_id)).all()
    assert len(verified) == 4
    # Without bounds: every overdue copy (never verified: the replica's four) plus the nightly share.
    unbounded = run_scheduled(replicated)
    assert unbounded.planned >= 4 and unbounded.ok
    assert unbounded.coverage["second"] == 1.0


def test_cli_commands(archive: Archive, tmp_path: Path) -> None:
    _ingest(archive, tmp_path / "in", 1)
    env = cli_env(archive.settings)
    third = tmp_path / "third"
    third.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args, "--json"], env=env,
                              capture_output=True, text=True, timeout=300)

    added = run("replicas", "add", "third", third.as_uri())
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["queued"] == 1
    assert run("replicas", "add", "bad", "ftp://x/y").returncode == 2
    synced = run("replicas", "sync")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    status = json.loads(run("replicas", "status").stdout)["roots"]
    assert [(r["name"], r["objects"], r["queued"]) for r in status] == [("primary", 1, 0), ("third", 1, 0)]
    fixity = run("fixity", "run", "--max-duration", "60")
    assert fixity.returncode == 0 and json.loads(fixity.stdout)["checked"] == 2
    assert run("fixity", "run", "--root", "nowhere").returncode == 2
    with open_archive(Settings(home=archive.home, database_url=archive.settings.database_url)) as again:
        assert again.settings.replica_roots == {"third": third.as_uri()}


def test_dashboard_shows_lag_coverage_repairs_and_damage(replicated: Archive, second: Path, tmp_path: Path) -> None:
    from lantai.domain.roles import Role
    from lantai.errors import PermissionDenied
    from lantai.services import preservation
    from lantai.services.users import Principal

    ids = _ingest(replicated, tmp_path / "in", 2)
    archivist = Principal(1, "archivist", "档案管理员", frozenset({Role.ARCHIVIST}), "绝密", via="cli")
    sysadmin = Principal(2, "sysadmin", "系统管理员", frozenset({Role.SYSADMIN}), "公开", via="cli")
    before = preservation.dashboard(replicated, archivist)
    assert {r["name"]: r["queued"] for r in before["roots"]} == {"primary": 0, "second": 2}
    replicas.sync(replicated)
    (replicated.store.object_path(ids[0]) / BODY).write_bytes(b"rot")  # repairable from the replica
    (replicated.store.object_path(ids[1]) / BODY).write_bytes(b"rot")
    (next(second.glob(f"*/*/*/{ids[1]}")) / BODY).write_bytes(b"rot")  # no sound copy left
    assert not run_scheduled(replicated, max_bytes=10**12).ok
    seen = preservation.dashboard(replicated, archivist)
    assert seen["coverage"] == {"primary": 1.0, "second": 1.0}
    assert seen["ages"]["primary"]["7 天内"] == 2 and seen["repairs_total"] == 1
    assert {(d["root"], d["object"]) for d in seen["damaged"]} == {("primary", ids[1]), ("second", ids[1])}
    from lantai.services.items import item_detail

    copies = {c["root"]: c for c in item_detail(replicated, archivist, ids[1])["preservation"]}
    assert copies["primary"]["damaged"] and copies["second"]["damaged"]  # the item shows 损坏
    assert not any(c["damaged"] for c in item_detail(replicated, archivist, ids[0])["preservation"])
    hidden = preservation.dashboard(replicated, sysadmin)  # a 系统管理员 reads no records
    assert {d["object"] for d in hidden["damaged"]} == {""} and {r["object"] for r in hidden["repairs"]} == {""}
    reader = Principal(3, "reader", "利用者", frozenset({Role.READER}), "公开", via="cli")
    with pytest.raises(PermissionDenied):
        preservation.dashboard(replicated, reader)


def test_follow_replicates_as_a_service_loop(replicated: Archive, tmp_path: Path) -> None:
    ids = _ingest(replicated, tmp_path / "in", 1)
    reports: list[replicas.SyncReport] = []
    replicas.follow(replicated, stop=lambda: bool(reports), interval=0.1, on_report=reports.append)
    assert reports[0].copied == 1 and _queued(replicated) == {}
    assert OcflRoot("second", FileBackend(Path(replicated.settings.replica_roots["second"][7:]))).head(ids[0]) == 1
