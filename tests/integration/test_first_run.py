"""The README's first command as a new user runs it: a relative LANTAI_HOME, from another directory.

`make demo` sets ``LANTAI_HOME=./lantai-data``; before paths were resolved in ``Settings`` the
private clamd's configuration held relative paths and clamd refused to start, with an empty
message. These tests run the demo scenario the same way, in a subprocess whose working
directory differs from the repository, and check that a helper process that fails to start
shows its own words.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lantai.checks.clamav import ClamdServer

pytestmark = pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")

REPO_ROOT = Path(__file__).resolve().parents[2]


def _lantai(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("LANTAI_") or k == "LANTAI_TEST_DATABASE_URL"}
    env.pop("LANTAI_TEST_DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.mark.slow
def test_demo_builds_with_a_relative_home_from_another_directory(tmp_path: Path) -> None:
    cwd = tmp_path / "somewhere" / "else"
    cwd.mkdir(parents=True)
    result = _lantai(["demo", "--no-serve", "--items", "12", "--json"], cwd, _clean_env(LANTAI_HOME="./lantai-data"))
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    summary = json.loads(result.stdout)
    home = cwd / "lantai-data"
    assert summary["home"] == str(home)
    assert summary["ingest"]["accepted"] + summary["ingest"]["rejected"] == 12
    assert summary["ingest"]["accepted"] >= 10, summary["rejected"]
    assert summary["arranged"]["items"] == summary["ingest"]["accepted"]
    assert Path(summary["virus_scanner"]).is_absolute()
    config = (home / "run" / "clamd" / "clamd.conf").read_text(encoding="utf-8")
    for line in config.splitlines():
        key, value = line.split(" ", 1)
        if key in {"LocalSocket", "DatabaseDirectory", "TemporaryDirectory", "PidFile", "LogFile"}:
            assert Path(value).is_absolute(), line
    assert not _running_with(str(home / "run" / "clamd" / "clamd.conf")), "the demo left its clamd running"
    secadmin = next(a for a in summary["accounts"] if a["username"] == "secadmin")
    assert secadmin["clearance"] == "绝密"
    _secadmin_can_raise_classification(home)
    # The archive it built is the one a later command finds from yet another directory.
    verify = _lantai(["verify", "--json"], tmp_path, _clean_env(LANTAI_HOME=str(home)))
    assert verify.returncode == 0, verify.stderr[-2000:]
    assert json.loads(verify.stdout)["ok"] is True


def _running_with(argument: str) -> list[str]:
    """Command lines of live processes that name ``argument`` (zombies have no command line)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if argument in cmdline:
            found.append(cmdline)
    return found


def _secadmin_can_raise_classification(home: Path) -> None:
    """The demo's 安全保密管理员 holds 绝密, so a 密级 change made in the demo succeeds."""
    from fastapi.testclient import TestClient

    from lantai.api import create_app
    from lantai.demo.scenario import DEMO_PASSWORD
    from lantai.services.archive import open_archive
    from lantai.settings import Settings

    with open_archive(Settings(home=home)) as archive:
        client = TestClient(create_app(archive), raise_server_exceptions=False)
        login = client.post("/api/v1/auth/login", json={"username": "secadmin", "password": DEMO_PASSWORD})
        assert login.status_code == 200, login.text
        csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
        record_id = client.get("/api/v1/items", params={"limit": 1}).json()
        record_id = (record_id.get("items") or record_id.get("results"))[0]["record_id"]
        changed = client.put(f"/api/v1/items/{record_id}/classification", headers=csrf,
                             json={"level": "机密", "reason": "演示：提高密级"})
        assert changed.status_code == 200, changed.text


def test_clamd_that_fails_to_start_shows_its_own_error(tmp_path: Path) -> None:
    database = tmp_path / "db"
    database.mkdir()
    (database / "broken.ndb").write_text("this is not a signature\n", encoding="ascii")
    with pytest.raises(RuntimeError) as failure:
        ClamdServer(run_dir=tmp_path / "run", database_dir=database).start()
    message = str(failure.value)
    assert "clamd exited with" in message
    assert "Malformed database" in message
    assert "broken.ndb" in message


def test_clamd_with_a_relative_run_directory_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ClamdServer(run_dir=Path("relative-run")) as server:
        assert Path(server.socket).is_absolute()
        assert Path(server.socket).exists()


def test_clamd_in_a_deep_directory_gets_a_socket_path_the_kernel_accepts(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["深层目录"] * 8)
    with ClamdServer(run_dir=deep) as server:
        assert len(os.fsencode(server.socket)) <= 100
        assert Path(server.socket).exists()


def test_readme_lists_the_demo_accounts_as_the_demo_creates_them() -> None:
    from lantai.demo.scenario import DEMO_ACCOUNTS

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for username, role, clearance, _display in DEMO_ACCOUNTS:
        assert f"| `{username}` | {role} | {clearance}" in readme, username


@pytest.mark.slow
def test_generate_init_import_ingest_arrange_with_the_default_profile(tmp_path: Path) -> None:
    """The path the README gives a new user, with no hand-made reference data in between."""
    with ClamdServer(run_dir=tmp_path / "clamd") as clamd:
        env = _clean_env(LANTAI_HOME=str(tmp_path / "archive"), LANTAI_CLAMD_SOCKET=clamd.socket)
        steps = [["demo", "generate", "-o", "batch", "--items", "8", "--year", "2025", "--seed", "3"],
                 ["init"], ["fonds", "import", "batch/参考数据.json", "--json"], ["ingest", "batch", "--json"],
                 ["arrange", "--fonds", "Z101", "--year", "2025", "--json"]]
        results = []
        for step in steps:
            result = _lantai(step, tmp_path, env)
            assert result.returncode == 0, (step, result.stdout[-2000:], result.stderr[-2000:])
            results.append(result)
    imported = json.loads(results[2].stdout)
    assert imported["fonds"] == ["Z101"]
    ingested = json.loads(results[3].stdout)
    assert ingested["counts"]["accepted"] == 8
    arranged = json.loads(results[4].stdout)
    assert arranged["items"] == 8
    listing = _lantai(["fonds", "list", "--json"], tmp_path, env)
    organisations = next(f for f in json.loads(listing.stdout)["fonds"] if f["code"] == "Z101")["organisations"]
    assert {"code": "QHBGS", "name": "青禾区人民政府办公室", "aliases": []} in organisations


def test_fonds_import_refuses_a_schedule_that_differs_from_the_archives_own(tmp_path: Path) -> None:
    from lantai.demo.generate import write_reference

    env = _clean_env(LANTAI_HOME=str(tmp_path / "archive"))
    assert _lantai(["init"], tmp_path, env).returncode == 0
    document = json.loads(write_reference(tmp_path).read_text(encoding="utf-8"))
    document["schedules"][0]["default_retention"] = "永久" if document["schedules"][0]["default_retention"] != "永久" else "定期30年"
    (tmp_path / "changed.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    refused = _lantai(["fonds", "import", "changed.json", "--json"], tmp_path, env)
    assert refused.returncode == 2
    assert "district-ws" in json.loads(refused.stdout)["message"]
    listing = json.loads(_lantai(["fonds", "list", "--json"], tmp_path, env).stdout)
    assert "Z101" not in {f["code"] for f in listing["fonds"]}
