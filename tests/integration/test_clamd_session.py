"""One clamd session per item gives exactly the verdicts of one connection per file (real clamd)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lantai.checks import clamav
from lantai.checks.clamav import CLEAN, EICAR, INFECTED, UNSCANNED, ClamdServer, Scanner

pytestmark = [pytest.mark.clamd, pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")]


@pytest.fixture(scope="module")
def clamd():  # type: ignore[no-untyped-def]
    with ClamdServer() as server:
        yield server


def _files(root: Path) -> list[Path]:
    (root / "附件").mkdir(parents=True)
    files = {"clean.txt": b"hello", "附件/病毒.com": EICAR, "big.bin": os.urandom(4096),
             "空文件": b"", "嵌入.txt": b"prefix " + EICAR + b" suffix"}
    for name, data in files.items():
        (root / name).write_bytes(data)
    return [root / n for n in files] + [root / "missing.pdf"]


def test_session_verdicts_equal_per_file_verdicts(clamd, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scanner = Scanner(clamd.socket, max_file_bytes=1024)
    paths = _files(tmp_path)
    batched = scanner.scan_many(paths)
    assert batched == [scanner.scan(p) for p in paths]
    by_name = {p.name: r for p, r in zip(paths, batched, strict=True)}
    assert by_name["clean.txt"].status == CLEAN
    assert by_name["病毒.com"].status == INFECTED and "EICAR" in by_name["病毒.com"].signature
    assert by_name["big.bin"] == clamav.ScanResult(UNSCANNED, reason="too_large")
    assert by_name["missing.pdf"].status == UNSCANNED


def test_more_files_than_one_session_holds(clamd, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(clamav, "SESSION_FILES", 3)
    scanner = Scanner(clamd.socket, max_file_bytes=1 << 20)
    paths = []
    for i in range(8):
        path = tmp_path / f"f{i}.txt"
        path.write_bytes(EICAR if i in (2, 6) else f"file {i}".encode())
        paths.append(path)
    statuses = [r.status for r in scanner.scan_many(paths)]
    assert statuses == [INFECTED if i in (2, 6) else CLEAN for i in range(8)]


def test_unreachable_clamd_leaves_every_file_unscanned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    scanner = Scanner(str(tmp_path / "no.sock"), max_file_bytes=1 << 20)
    path = tmp_path / "a.txt"
    path.write_bytes(b"a")
    [result] = scanner.scan_many([path])
    assert result.status == UNSCANNED and "clamd" in result.reason
