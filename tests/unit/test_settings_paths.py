"""Every path setting is absolute once ``Settings`` has read it, whatever the working directory.

clamd refuses relative paths in its configuration, and worker processes, LibreOffice and URLs
printed to users would each resolve a relative path against their own working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lantai.settings import Settings

DERIVED = ("home", "store_root", "staging_dir", "audit_journal", "keys_dir", "index_dir")


@pytest.fixture()
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for name in ("LANTAI_HOME", "LANTAI_CLAMD_SOCKET", "LANTAI_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return cwd


def test_default_home_is_absolute_under_the_working_directory(elsewhere: Path) -> None:
    settings = Settings()
    assert settings.home == elsewhere / "lantai-data"


def test_relative_home_from_the_environment_is_resolved(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTAI_HOME", "archives/../archive")
    assert Settings().home == elsewhere / "archive"


def test_relative_home_passed_in_is_resolved(elsewhere: Path) -> None:
    assert Settings(home="data").home == elsewhere / "data"


def test_home_with_tilde_is_expanded(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(elsewhere / "user"))
    assert Settings(home="~/lantai").home == elsewhere / "user" / "lantai"


@pytest.mark.parametrize("derived", DERIVED)
def test_every_derived_directory_is_absolute(elsewhere: Path, derived: str) -> None:
    path = getattr(Settings(home="rel"), derived)
    assert path.is_absolute()
    assert str(path).startswith(str(elsewhere / "rel"))


def test_default_catalogue_url_names_an_absolute_file(elsewhere: Path) -> None:
    url = Settings(home="rel").catalogue_url
    assert url == f"sqlite:///{elsewhere}/rel/catalog.sqlite3"


def test_clamd_socket_is_resolved(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", "run/clamd.sock")
    assert Settings().clamd_socket == str(elsewhere / "run" / "clamd.sock")
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", "/var/run/clamav/clamd.ctl")
    assert Settings().clamd_socket == "/var/run/clamav/clamd.ctl"


def test_settings_do_not_change_when_the_working_directory_does(elsewhere: Path, tmp_path: Path) -> None:
    settings = Settings(home="rel")
    os.chdir(tmp_path)
    assert settings.home == elsewhere / "rel"


def test_lantai_toml_is_read_from_the_home_in_use(elsewhere: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    chosen, other = tmp_path / "chosen", tmp_path / "other"
    for home, name in ((chosen, "选中的档案馆"), (other, "环境变量的档案馆")):
        home.mkdir()
        (home / "lantai.toml").write_text(f'archive_name = "{name}"\n', encoding="utf-8")
    monkeypatch.setenv("LANTAI_HOME", str(other))
    assert Settings().archive_name == "环境变量的档案馆"
    assert Settings(home=chosen).archive_name == "选中的档案馆"
