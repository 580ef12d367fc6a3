"""Backup and restore (issue 18 point 4, DA/T 70 bc 3-4) on a demo archive built like ``lantai demo``.

The demo archive is ingested with the default profile and the session's real clamd, arranged and
indexed. It is backed up, the original home is moved out of reach, and a new home is restored from
the backup alone: every item row, every audit entry and the result count of every search asked
must be the same. A corrupt backup is reported file by file; a restore killed with SIGKILL is
resumed by running it again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from lantai.catalog.models import AuditEntry, CheckRecord, Item, ItemFile, User
from lantai.domain.roles import Role
from lantai.services.archive import Archive, open_archive
from lantai.services.backup import create_backup
from lantai.services.backup_restore import restore_backup, verify_backup
from lantai.services.search_index import search
from lantai.services.users import Principal
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database

PASSPHRASE = "备份口令-correct-horse-42"
ITEMS = 10
QUERIES = ("通知", "关于", "报告", "2025", "人民政府", "会议", "工作", "办公室", "不存在的词语甲乙丙")
PUBLIC_ITEM_FIELDS = [c for c in Item.__table__.columns.keys() if c not in ("id", "created_at", "updated_at")]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, real_clamd: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A small demo archive (generated 公文, default profile, real clamd, arranged, indexed) and its backup."""
    from lantai.demo.scenario import run_demo

    urls: list[str] = []
    if request.param == "postgresql":
        if not os.environ.get(PG_ENV):
            pytest.skip(f"{PG_ENV} is not set; PostgreSQL variant skipped")
        urls.append(_create_pg_database(os.environ[PG_ENV]))
    base = tmp_path_factory.mktemp(f"backup-{request.param}")
    env = {"LANTAI_HOME": str(base / "home"), "LANTAI_FSYNC": "false", "LANTAI_CLAMD_SOCKET": real_clamd,
           "LANTAI_INGEST_PROFILE": "default"}
    if urls:
        env["LANTAI_DATABASE_URL"] = urls[0]
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        if not urls:
            mp.delenv("LANTAI_DATABASE_URL", raising=False)
        summary = run_demo(items=ITEMS, year=2025, seed=11, quiet=True)
    assert summary["ingest"]["accepted"] == ITEMS, summary
    settings = Settings(home=base / "home", database_url=urls[0] if urls else None, fsync=False)
    yield {"settings": settings, "base": base, "urls": urls, "param": request.param}
    for url in urls:
        _drop_pg_database(url)


def _new_settings(demo: dict[str, Any], name: str) -> Settings:
    url = None
    if demo["urls"]:
        url = _create_pg_database(os.environ[PG_ENV])
        demo["urls"].append(url)
    return Settings(home=demo["base"] / name, database_url=url, fsync=False)


def _state(archive: Archive) -> dict[str, Any]:
    """Every item (catalogue columns and files), every audit entry, every search count, every account."""
    with archive.sessions() as session:
        items = {i.record_id: {f: getattr(i, f) for f in PUBLIC_ITEM_FIELDS if f != "batch_id"}
                 for i in session.scalars(select(Item))}
        files = sorted((rid, f.logical_path, f.sm3, f.size) for rid, f in session.execute(
            select(Item.record_id, ItemFile).join(ItemFile, ItemFile.item_id == Item.id)).tuples())
        audit = [(a.seq, a.hash, a.action, a.target) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        users = sorted((u.username, u.roles, u.clearance, u.password_hash) for u in session.scalars(select(User)))
    counts = {(q, level): search(archive, q, clearance=level, limit=5).total
              for q in QUERIES for level in ("公开", "绝密")}
    return {"items": items, "files": files, "audit": audit, "search": counts, "users": users}


def _secadmin() -> Principal:
    return Principal(1, "secadmin", "secadmin", frozenset({Role.SECADMIN}), "绝密", via="cli")


def test_restore_from_the_backup_alone_gives_back_every_item_audit_entry_and_search_count(demo: dict[str, Any]) -> None:
    settings = demo["settings"]
    destination = demo["base"] / "backup-full"
    with open_archive(settings) as archive:
        first = create_backup(archive, str(destination), passphrase=PASSPHRASE, actor="tester")
        assert first.ok and first.objects == ITEMS and first.versions_present == 0
        record_id = sorted(_state(archive)["items"])[0]
        from lantai.services.classification import change_classification

        change_classification(archive, _secadmin(), record_id, "秘密", "备份测试：密级提升")
        second = create_backup(archive, destination.as_uri(), passphrase=PASSPHRASE, actor="tester")
        # Incremental by OCFL version: only the one version the change wrote is copied again.
        assert second.ok and second.versions_copied == 1
        assert second.versions_present == first.versions_copied
        before = _state(archive)
    assert before["items"][record_id]["security_classification"] == "秘密"

    moved = demo["base"] / "original-home-moved-away"
    shutil.move(settings.home, moved)  # nothing of the original may be consulted
    try:
        target = _new_settings(demo, "restored")
        result = restore_backup(target, str(destination), passphrase=PASSPHRASE, actor="tester")
        assert result.ok, result.to_dict()
        assert result.reference_matches and result.audit["ok"] and result.objects == ITEMS
        with open_archive(target) as restored:
            after = _state(restored)
            report = restored.audit.verify()
            with restored.sessions() as session:
                entries = [(a.seq, a.hash) for a in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    finally:
        shutil.move(moved, settings.home)

    assert after["items"] == before["items"]
    assert after["files"] == before["files"]
    assert after["search"] == before["search"] and any(after["search"].values())
    assert after["users"] == before["users"]
    # Every audit entry the archive had when the backup was taken is there, byte-identical (same hash),
    # followed only by what the backup and the restore themselves journalled.
    original = [(seq, digest) for seq, digest, _a, _t in before["audit"]]
    assert entries[:len(original) - 1] == original[:-1]  # the last live entry is `backup.created`, written after the copy
    assert before["audit"][-1][2] == "backup.created"
    restored_actions = [a for _s, _h, a, _t in after["audit"][len(original) - 1:]]
    assert "backup.restored" in restored_actions and "catalogue.rebuilt" in restored_actions
    assert report.ok


def test_corrupt_backup_is_reported_file_by_file_and_verify_records_bc_3_4(demo: dict[str, Any]) -> None:
    settings = demo["settings"]
    destination = demo["base"] / "backup-corrupt"
    with open_archive(settings) as archive:
        assert create_backup(archive, str(destination), passphrase=PASSPHRASE).ok
        good = verify_backup(archive, str(destination), sample=3, passphrase=PASSPHRASE, actor="tester", seed=1)
        assert good.ok and good.keys == "ok" and len(good.sampled) == 3
    content = sorted(destination.glob("store/*/*/*/*/v1/content/content/*"))
    changed, removed = content[0], content[-1]
    changed.write_bytes(changed.read_bytes()[:-1] + b"!")
    removed.unlink()
    rel = lambda p: p.relative_to(destination).as_posix()  # noqa: E731

    target = _new_settings(demo, "restored-corrupt")
    result = restore_backup(target, str(destination), passphrase=PASSPHRASE)
    assert not result.ok
    assert {(p["file"], p["problem"]) for p in result.problems} == {(rel(changed), "digest"), (rel(removed), "missing")}
    assert not (target.home / "lantai.toml").exists()  # not an archive: nothing can open it half-restored

    with open_archive(settings) as archive:
        bad = verify_backup(archive, str(destination), sample=ITEMS, actor="auditor-test")
        assert not bad.ok
        named = {p["file"] for problems in bad.problems.values() for p in problems}
        assert named == {rel(changed), rel(removed)}
        with archive.sessions() as session:
            rows = list(session.scalars(select(CheckRecord).where(CheckRecord.run_id == bad.run_id)))
        assert {r.stage for r in rows} == {"bc"} and len(rows) == ITEMS
        assert sum(r.status == "failed" for r in rows) == 2 and all(r.failed_codes in ("", "3-4") for r in rows)
        # The ordinary bc run reports the newest verification under 3-4.
        from lantai.services.item_checks import check_archived_items

        run = check_archived_items(archive, [sorted(bad.sampled)[0]], operator="tester", workers=0)
        three_four = [r for r in run.report.items[0].results if r.code == "3-4"]
        assert [r.rule for r in three_four] == ["3-4h"]


def test_wrong_passphrase_and_non_empty_home_are_refused_before_anything_is_written(demo: dict[str, Any]) -> None:
    from lantai.errors import BadInput, IntegrityError

    destination = demo["base"] / "backup-refusals"
    with open_archive(demo["settings"]) as archive:
        assert create_backup(archive, str(destination), passphrase=PASSPHRASE).ok
    target = _new_settings(demo, "restored-refused")
    with pytest.raises(IntegrityError, match="口令错误"):
        restore_backup(target, str(destination), passphrase="not-the-passphrase")
    assert not target.home.exists() or not any(target.home.iterdir())
    target.home.mkdir(parents=True, exist_ok=True)
    (target.home / "其他文件.txt").write_text("x", encoding="utf-8")
    with pytest.raises(BadInput, match="不为空"):
        restore_backup(target, str(destination), passphrase=PASSPHRASE)


def _cli(settings: Settings, *args: str, fsync: bool = False, **extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LANTAI_HOME=str(settings.home), LANTAI_FSYNC="true" if fsync else "false",
               LANTAI_BACKUP_PASSPHRASE=PASSPHRASE, **extra)
    env.pop("LANTAI_DATABASE_URL", None)
    if settings.database_url:
        env["LANTAI_DATABASE_URL"] = settings.database_url
    return subprocess.Popen([sys.executable, "-m", "lantai.cli.main", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _kill_when(proc: subprocess.Popen[bytes], ready: Any, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if ready():
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait()
    return False


def test_restore_killed_mid_way_is_resumed_by_running_it_again(demo: dict[str, Any]) -> None:
    destination = demo["base"] / "backup-kill"
    with open_archive(demo["settings"]) as archive:
        assert create_backup(archive, str(destination), passphrase=PASSPHRASE).ok
        expected = _state(archive)
    killed_at = []
    for name, ready in (("during-copy", lambda h: sum(1 for _ in (h / "store").rglob("*")) > 40),
                        ("during-rebuild", lambda h: (h / "lantai.toml").exists())):
        target = _new_settings(demo, f"restored-kill-{name}")
        proc = _cli(target, "backup", "restore", str(destination), "--json", fsync=True)
        if _kill_when(proc, lambda t=target, r=ready: r(t.home)):
            killed_at.append(name)
            assert (target.home / ".lantai-restore.json").exists()
        resumed = _cli(target, "backup", "restore", str(destination), "--json")
        out, err = resumed.communicate(timeout=300)
        assert resumed.returncode == 0, (out + err).decode()
        assert json.loads(out)["ok"] and json.loads(out)["resumed"] == (name in killed_at)
        with open_archive(target) as restored:
            after = _state(restored)
            assert restored.audit.verify().ok
        assert after["items"] == expected["items"] and after["files"] == expected["files"]
        assert after["search"] == expected["search"]
        assert not (target.home / ".lantai-restore.json").exists()
    assert killed_at, "the restore finished before it could be killed at either point"


def test_cli_backup_commands_speak_json_and_exit_codes(demo: dict[str, Any]) -> None:
    destination = demo["base"] / "backup-cli"
    create = _cli(demo["settings"], "backup", "create", str(destination), "--json")
    out, err = create.communicate(timeout=300)
    assert create.returncode == 0, err.decode()
    assert json.loads(out)["objects"] == ITEMS
    verify = _cli(demo["settings"], "backup", "verify", destination.as_uri(), "--sample", "2", "--keys", "--json")
    out, err = verify.communicate(timeout=300)
    assert verify.returncode == 0, err.decode()
    assert json.loads(out)["keys"] == "ok"
    bad = _cli(demo["settings"], "backup", "create", "ftp://host/prefix", "--json")
    out, _err = bad.communicate(timeout=120)
    assert bad.returncode == 2 and json.loads(out)["code"] == "bad_input"
    # An S3 destination nobody answers for (the discard port on this machine): unavailable, exit 2.
    gone = _cli(demo["settings"], "backup", "create", "s3://bucket/prefix", "--json",
                LANTAI_S3_ENDPOINT_URL="http://127.0.0.1:9", LANTAI_S3_ACCESS_KEY="k", LANTAI_S3_SECRET_KEY="s")
    out, _err = gone.communicate(timeout=120)
    assert gone.returncode == 2 and json.loads(out)["code"] == "root_unavailable"
    inside = _cli(demo["settings"], "backup", "create", str(demo["settings"].home / "backups"), "--json")
    out, _err = inside.communicate(timeout=120)
    assert inside.returncode == 2 and "档案目录之内" in json.loads(out)["message"]
    with open_archive(demo["settings"]) as archive:
        actions = [r.action for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
    assert "backup.created" in actions and "backup.verified" in actions


def test_an_object_damaged_in_the_store_is_named_and_not_backed_up(demo: dict[str, Any]) -> None:
    settings = demo["settings"]
    victim = sorted((settings.home / "store").glob("*/*/*/*/v1/content/content/*"))[0]
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    try:
        destination = demo["base"] / "backup-damaged-store"
        with open_archive(settings) as archive:
            result = create_backup(archive, str(destination), passphrase=PASSPHRASE)
        assert not result.ok and result.objects == ITEMS - 1
        [problem] = result.problems
        assert problem["object"] == victim.parents[3].name and problem["file"].endswith(victim.name)
        assert not list(destination.glob(f"store/*/*/*/{victim.parents[3].name}/v1"))  # never the backup of record
        assert not list(destination.glob("store/**/.v*.partial"))
    finally:
        victim.write_bytes(original)


def _s3(settings: Settings, gateway: dict[str, str]) -> Settings:
    """The same settings with the gateway's endpoint and credentials, and a one-day COMPLIANCE retention."""
    return settings.model_copy(update={"s3_endpoint_url": gateway["LANTAI_TEST_S3_ENDPOINT"],
                                       "s3_access_key": gateway["LANTAI_TEST_S3_ACCESS_KEY"],
                                       "s3_secret_key": gateway["LANTAI_TEST_S3_SECRET_KEY"],
                                       "s3_object_lock_days": 1})


@pytest.mark.s3
def test_backup_to_an_s3_root_is_incremental_locked_restorable_and_damage_is_named(
        demo: dict[str, Any], s3_gateway: dict[str, str]) -> None:
    """``backup create s3://bucket/prefix`` on Ceph RGW: incremental by version, every file under
    COMPLIANCE retention, one writer at a time; restore and verify read it back, and a damaged or
    missing object is named file by file."""
    import uuid

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    from lantai.errors import StorageError
    from lantai.storage.backup_target import open_backup_target

    settings = _s3(demo["settings"], s3_gateway)
    bucket = f"lantai-backup-{uuid.uuid4().hex[:12]}"
    destination = f"s3://{bucket}/archive-backup"
    client = boto3.client("s3", endpoint_url=s3_gateway["LANTAI_TEST_S3_ENDPOINT"], region_name="us-east-1",
                          aws_access_key_id=s3_gateway["LANTAI_TEST_S3_ACCESS_KEY"],
                          aws_secret_access_key=s3_gateway["LANTAI_TEST_S3_SECRET_KEY"],
                          config=Config(s3={"addressing_style": "path"}))
    with open_archive(settings) as archive:
        first = create_backup(archive, destination, passphrase=PASSPHRASE, actor="tester")
        assert first.ok and first.objects == ITEMS and first.versions_copied >= ITEMS and first.versions_present == 0
        second = create_backup(archive, destination, passphrase=PASSPHRASE, actor="tester")
        assert second.ok and second.versions_copied == 0 and second.versions_present == first.versions_copied
        before = _state(archive)
        # One writer per destination, across processes and machines: the lock is an object.
        target = open_backup_target(destination, s3=settings.s3_options)
        with target.lock(), pytest.raises(StorageError, match="another backup"):
            create_backup(archive, destination, passphrase=PASSPHRASE)
        good = verify_backup(archive, destination, sample=ITEMS, passphrase=PASSPHRASE, actor="tester", seed=3)
        assert good.ok and good.keys == "ok", good.to_dict()

    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="archive-backup/")
            for o in page.get("Contents", [])]
    assert "archive-backup/lantai-backup.json" in keys and "archive-backup/恢复说明.TXT" in keys
    content = sorted(k for k in keys if "/v1/content/content/" in k)
    assert len(content) >= ITEMS
    # Every backup file is retained: deleting a stored version is refused until the retention expires.
    version = client.list_object_versions(Bucket=bucket, Prefix=content[0])["Versions"][0]
    assert client.get_object_retention(Bucket=bucket, Key=content[0],
                                       VersionId=version["VersionId"])["Retention"]["Mode"] == "COMPLIANCE"
    with pytest.raises(ClientError):
        client.delete_object(Bucket=bucket, Key=content[0], VersionId=version["VersionId"])

    restored = _s3(_new_settings(demo, "restored-from-s3"), s3_gateway)
    result = restore_backup(restored, destination, passphrase=PASSPHRASE, actor="tester")
    assert result.ok and result.objects == ITEMS, result.to_dict()
    with open_archive(restored) as archive:
        after = _state(archive)
    assert after["items"] == before["items"] and after["files"] == before["files"]
    assert after["search"] == before["search"] and after["users"] == before["users"]

    # Damage: a new (current) version with other bytes for one file, a delete marker hiding another.
    changed, removed = content[0], content[-1]
    client.put_object(Bucket=bucket, Key=changed, Body=b"%PDF-1.7 not the archived bytes")
    client.delete_object(Bucket=bucket, Key=removed)
    rel = lambda key: key.split("/", 1)[1]  # noqa: E731
    damaged = restore_backup(_s3(_new_settings(demo, "restored-from-damaged-s3"), s3_gateway), destination,
                             passphrase=PASSPHRASE)
    assert not damaged.ok
    assert {(p["file"], p["problem"]) for p in damaged.problems} == {(rel(changed), "digest"), (rel(removed), "missing")}
    with open_archive(settings) as archive:
        bad = verify_backup(archive, destination, sample=ITEMS, actor="tester")
    assert not bad.ok
    assert {p["file"] for problems in bad.problems.values() for p in problems} == {rel(changed), rel(removed)}
