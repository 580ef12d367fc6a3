"""One set of ZIP limits: the SIP reader, the format readers, the DA/T 70 container inspection and
batch extraction all refuse the same hostile archives, by the rules of lantai.packages.zipsafe."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lantai.checks.containers import ContainerLimits, inspect_zip
from lantai.errors import LantaiError
from lantai.packages import sip, zipsafe


def _zip(path: Path, members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_a_bomb_is_refused_by_every_caller(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.zip", {"元数据.xml": b"<x/>", "正文.pdf": b"\0" * (4 * 1024 * 1024)})
    info = zipfile.ZipFile(bomb).getinfo("正文.pdf")
    assert zipsafe.suspicious_ratio(info, 200)
    with pytest.raises(LantaiError, match="zip"):
        sip.open_item(bomb)
    with zipfile.ZipFile(bomb) as zf, pytest.raises(zipsafe.ZipLimitError):
        zipsafe.read_member(zf, info)
    assert [rule for rule, _params in inspect_zip(bomb, ContainerLimits())] == ["3-4c"]
    with pytest.raises(zipsafe.ZipLimitError):
        zipsafe.extract(bomb, tmp_path / "out", zipsafe.ZipLimits())
    assert not (tmp_path / "out" / "正文.pdf").exists() or (tmp_path / "out" / "正文.pdf").stat().st_size == 0


def test_small_members_compress_as_well_as_they_like(tmp_path: Path) -> None:
    fine = _zip(tmp_path / "fine.zip", {"a.txt": b"\0" * (512 * 1024)})
    assert not zipsafe.suspicious_ratio(zipfile.ZipFile(fine).getinfo("a.txt"), 200)
    assert inspect_zip(fine, ContainerLimits()) == []
    assert [p.name for p in zipsafe.extract(fine, tmp_path / "out", zipsafe.ZipLimits())] == ["a.txt"]


def test_extraction_refuses_traversal_and_too_many_members(tmp_path: Path) -> None:
    evil = _zip(tmp_path / "evil.zip", {"../escape.txt": b"x"})
    with pytest.raises(zipsafe.ZipLimitError):
        zipsafe.extract(evil, tmp_path / "out", zipsafe.ZipLimits())
    assert not (tmp_path / "escape.txt").exists()
    many = _zip(tmp_path / "many.zip", {f"{n}.txt": b"x" for n in range(5)})
    with pytest.raises(zipsafe.ZipLimitError):
        zipsafe.extract(many, tmp_path / "out2", zipsafe.ZipLimits(max_members=4))
    assert not (tmp_path / "out2").exists()  # judged before anything was written

