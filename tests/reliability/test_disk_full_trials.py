"""A full disk under the store, the catalogue and the journal (issue 17): every writer — ingest,
arrangement, 著录更正, 密级 change, search reindex and rebuild — either finishes or stops with the
clear zh/en ``DiskFull`` message (exit 2, no traceback) and leaves the archive consistent; once
space is freed, every command works and ``lantai verify`` is ok.

The archive home (store, staging, journal, and on SQLite the catalogue and index) lives on a real
64 MiB tmpfs, filled to nothing and to a few pages (the amount drawn from the run's seed, so the
failure lands at different steps: store, catalogue, journal). Mounting needs root, which CI has;
elsewhere the test skips, and under ``LANTAI_REQUIRE_REAL=1`` (CI) a skip fails the run.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lantai.domain.roles import Role
from lantai.services import users
from lantai.services.archive import init_archive, open_archive
from lantai.settings import Settings
from tests.conftest import REQUIRE_REAL_ENV, cli_env
from tests.diskfull import fill
from tests.reliability import driver, trials
from tests.reliability.consistency import check_agreement
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.slow
SIZE = "64m"
ITEM = "Z109-WS-2025-00001"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "fs"
    mount.mkdir()
    why = "mounting a tmpfs needs root" if os.geteuid() != 0 else ""
    if not why:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
                              capture_output=True, text=True)
        why = f"mounting a tmpfs is not permitted here: {done.stderr.strip()}" if done.returncode else ""
    if why:
        if os.environ.get(REQUIRE_REAL_ENV) == "1":
            pytest.fail(f"{REQUIRE_REAL_ENV}=1: the disk-full trials must run (CI runs as root): {why}")
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)




def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(settings), "LANTAI_INGEST_PROFILE": "off", "LANTAI_WORKERS": "1"}
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def _driver(settings: Settings, kind: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(settings), "LANTAI_INGEST_PROFILE": "off", "LANTAI_WORKERS": "1"}
    return subprocess.run([sys.executable, str(trials.DRIVER), kind, "-", ""], env=env, capture_output=True, text=True,
                          timeout=300)


def _operations(batch: Path) -> dict[str, Callable[[Settings, int], subprocess.CompletedProcess[str]]]:
    """Each writer as an operator runs it; ``n`` makes a correction differ from the last one."""
    return {
        "ingest": lambda s, n: _cli(s, "ingest", str(batch), "--json"),
        "arrange": lambda s, n: _cli(s, "arrange", "--fonds", "Z109", "--year", "2025", "--json"),
        "correct": lambda s, n: _cli(s, "correct", ITEM, "--set", f"题名=关于第{n}次更正的通知", "--reason", "核对原件",
                                     "--user", "archivist", "--json"),
        "classify": lambda s, n: _driver(s, "classify"),  # no CLI: the service, in a process of its own
        "reindex": lambda s, n: _cli(s, "search", "reindex", "--workers", "1", "--json"),
        "rebuild": lambda s, n: _cli(s, "rebuild", "--json"),
    }


def _assert_clear(name: str, done: subprocess.CompletedProcess[str], context: str) -> bool:
    """The operation finished, or stopped with the DiskFull message; True when it stopped."""
    output = done.stdout + done.stderr
    if done.returncode == 0:
        return False
    if name == "classify":  # the driver is no CLI: the error's class must be the translated one
        assert "lantai.errors.DiskFull" in done.stderr, f"{context}: {output[-3000:]}"
        assert "OperationalError" not in done.stderr.splitlines()[-1], f"{context}: {output[-3000:]}"
        return True
    if name == "ingest" and done.returncode == 1:  # items refused one by one: each for the full disk
        refused = [i for i in json.loads(done.stdout)["items"] if i["status"] not in ("accepted", "duplicate")]
        said = [" ".join(f["message"] + f["message_en"] for f in i["findings"]) for i in refused]
        assert refused and all("磁盘空间不足" in m and "disk full" in m for m in said), f"{context}: {said}"
        assert "磁盘空间不足" in output and "disk full" in output, f"{context}: {output[-3000:]}"
        return True
    assert done.returncode == 2, f"{context}: exit {done.returncode}: {output[-3000:]}"
    assert "Traceback" not in output and "OperationalError" not in output, f"{context}: {output[-3000:]}"
    assert "磁盘空间不足" in output and "disk full" in output, f"{context}: {output[-3000:]}"
    if "--json" in done.args:
        assert json.loads(done.stdout)["code"] == "disk_full", f"{context}: {output[-3000:]}"
    return True


def test_full_disk_under_store_catalogue_and_journal(small_disk: Path, database_url: str | None,
                                                     tmp_path: Path) -> None:
    seed = trials.run_seed()
    rng = random.Random(seed)
    settings = Settings(home=small_disk / "archive", database_url=database_url, fsync=True, workers=1,
                        ingest_profile="off")
    with init_archive(settings) as archive:
        trials._bring_to(archive, "ingested", tmp_path)
        users.create_user(archive, "cli", "archivist", "Lantai-Trial-2026!x", display_name="档案员",
                          roles=[Role.ARCHIVIST], clearance="绝密", bootstrap=True)
    batch = write_batch(tmp_path / "in", specs(6, prefix="Z109-WS-2025-9", size=256 * 1024), name="full-disk")
    stopped: dict[str, int] = {}
    n = 0
    only = os.environ.get("LANTAI_DISK_FULL_OPS")  # e.g. "correct,rebuild": to repeat a failure quickly
    for name, operation in _operations(batch).items():
        if only and name not in only.split(","):
            continue
        for leave in (0, rng.choice((16, 64, 256, 1024)) * 1024):
            n += 1
            context = f"seed {seed}: {name} with {leave // 1024} KiB free on {'PostgreSQL' if database_url else 'SQLite'}"
            filler = fill(small_disk, leave)
            try:
                stopped[name] = stopped.get(name, 0) + _assert_clear(name, operation(settings, n), context)
            finally:
                filler.unlink()
            with open_archive(settings) as archive:  # recovery, as any writer starting
                check_agreement(archive, context=f"{context}, after space was freed")
            n += 1
            again = operation(settings, n)
            assert again.returncode == 0, f"{context}, run again: {again.stdout[-2000:]}{again.stderr[-2000:]}"
            with open_archive(settings) as archive:
                check_agreement(archive, context=f"{context}, after running it again")
    print(f"disk-full trials (seed {seed}): stopped with DiskFull {stopped} of 2 runs each")
    if not only:
        assert stopped["ingest"] >= 1, "ingest never met the full disk"  # the store and journal are on it
        if database_url is None:  # catalogue and index on the small disk too
            assert stopped["reindex"] >= 1 and stopped["rebuild"] >= 1, stopped
    verified = _cli(settings, "verify", "--json")
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"], verified.stdout + verified.stderr
    chain = _cli(settings, "audit", "verify", "--json")
    assert chain.returncode == 0, chain.stdout + chain.stderr
    if not only:
        with open_archive(settings) as archive:
            assert driver.classification_of(archive, ITEM) in ("机密", "秘密")
