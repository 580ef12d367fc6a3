"""Worker processes die with the process that started them (issue 17, point 6): after a kill -9
of ``lantai ingest`` its fork server, workers and resource tracker are gone within seconds and
none of them holds the dead process's stdout or stderr (a caller reading them sees EOF)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch


def _descendants(pid: int) -> set[int]:
    """Every process whose ancestry (read from /proc, before the kill) leads to ``pid``."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_9_of_ingest_leaves_no_workers_and_releases_its_output(settings: Settings, tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "lantai.cli.main", "init"], env=cli_env(settings), check=True,
                   capture_output=True)
    batch = write_batch(tmp_path, specs(400, size=200_000))
    env = {**cli_env(settings), "LANTAI_WORKERS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "lantai.cli.main", "ingest", str(batch), "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while time.monotonic() < deadline and len(workers) < 3 and proc.poll() is None:
        time.sleep(0.2)
        workers = _descendants(proc.pid)
    assert proc.poll() is None and len(workers) >= 3, "ingest finished before its workers were seen"
    proc.send_signal(signal.SIGKILL)
    started = time.monotonic()
    proc.communicate(timeout=30)  # EOF on both pipes: nobody else holds them
    released = time.monotonic() - started
    while time.monotonic() - started < 15 and any(_alive(p) for p in workers):
        time.sleep(0.1)
    survivors = [p for p in workers if _alive(p)]
    assert not survivors, f"still alive {time.monotonic() - started:.1f} s after the kill: {survivors}"
    assert released < 10, f"stdout/stderr held for {released:.1f} s"  # generous: CI machines are loaded
