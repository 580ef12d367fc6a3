"""The watched inbox (热文件夹): complete drops are archived and filed with a report; partial ones wait.

The mechanics tests use synthetic SIPs (the ingest profile the suite sets for them); the
end-to-end tests run ``lantai watch`` as a process over generated 公文 with the default DA/T 70
profile and a real clamd, as an agency's OA system would feed it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lantai.errors import Conflict
from lantai.services.archive import Archive
from lantai.services.inbox import complete_entries, inbox_lock, run_once, take
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, specs, write_batch, write_item, zip_item

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


def _age(path: Path, seconds: float) -> None:
    """Make a whole drop look written ``seconds`` ago, the register last."""
    then = time.time() - seconds
    for child in sorted(path.rglob("*"), key=lambda p: p.name == "归档登记表.csv"):
        os.utime(child, (then, then))
    os.utime(path, (then, then))


def _item_count(archive: Archive) -> int:
    from sqlalchemy import func, select

    from lantai.catalog.models import Item

    with archive.sessions() as session:
        return session.scalar(select(func.count()).select_from(Item))


def test_a_batch_whose_register_came_last_is_archived_and_filed_with_reports(archive: Archive, inbox: Path) -> None:
    write_batch(inbox, specs(3), name="2025第1批")
    _age(inbox / "2025第1批", 30)
    with inbox_lock(inbox):
        results = run_once(archive, inbox, settle=5)
    assert [(r.name, r.status) for r in results] == [("2025第1批", "done")]
    assert results[0].counts["accepted"] == 3
    assert (inbox / "done" / "2025第1批" / "归档登记表.csv").is_file()
    report = json.loads((inbox / "done" / "2025第1批.report.json").read_text(encoding="utf-8"))
    assert report["status"] == "done" and report["counts"]["accepted"] == 3
    text = (inbox / "done" / "2025第1批.报告.txt").read_text(encoding="utf-8")
    assert "已接收 3 件" in text and "全部归档" in text
    assert _item_count(archive) == 3
    assert not any((inbox / ".processing").iterdir())


def test_a_batch_still_being_copied_is_left_alone(archive: Archive, inbox: Path) -> None:
    batch = write_batch(inbox, specs(2), name="copying")
    _age(batch, 30)
    late = next(batch.glob("*/正文.pdf"))
    os.utime(late, None)  # a file newer than the register: the copy is still going on
    assert complete_entries(inbox, settle=5) == []
    fresh = write_batch(inbox, specs(1, prefix="Z109-WS-2025-9"), name="just-written")
    assert fresh not in complete_entries(inbox, settle=5)  # register written now: not settled yet
    with inbox_lock(inbox):
        assert run_once(archive, inbox, settle=5) == []
    assert batch.is_dir() and _item_count(archive) == 0


def test_an_item_directory_needs_its_ready_marker_which_is_not_archived(archive: Archive, inbox: Path) -> None:
    item = write_item(inbox, SipSpec(record_id="Z109-WS-2025-00042"))
    _age(item, 60)
    assert complete_entries(inbox, settle=5) == []
    (item / ".ready").write_text("", encoding="utf-8")
    with inbox_lock(inbox):
        results = run_once(archive, inbox, settle=5)
    assert results[0].status == "done", results[0].to_dict()
    assert results[0].counts["accepted"] == 1
    assert not (inbox / "done" / item.name / ".ready").exists()


def test_a_zip_with_a_ready_marker_beside_it_is_archived(archive: Archive, inbox: Path, tmp_path: Path) -> None:
    item = write_item(tmp_path / "work", SipSpec(record_id="Z109-WS-2025-00077"))
    zipped = zip_item(item, inbox / "Z109-WS-2025-00077.zip")
    (inbox / (zipped.name + ".ready")).write_text("", encoding="utf-8")
    with inbox_lock(inbox):
        results = run_once(archive, inbox, settle=3600)
    assert results[0].status == "done" and results[0].counts["accepted"] == 1
    assert not (inbox / (zipped.name + ".ready")).exists()


def test_a_batch_that_fails_its_register_goes_to_rejected_with_the_reason(archive: Archive, inbox: Path) -> None:
    batch = write_batch(inbox, specs(2), name="bad-count", count_delta=1)
    (batch / ".ready").write_text("", encoding="utf-8")
    with inbox_lock(inbox):
        results = run_once(archive, inbox, settle=5)
    assert results[0].status == "rejected"
    assert (inbox / "rejected" / "bad-count").is_dir()
    text = (inbox / "rejected" / "bad-count.报告.txt").read_text(encoding="utf-8")
    assert "批次被拒收" in text
    assert _item_count(archive) == 0


def test_something_that_is_not_a_submission_is_rejected_not_fatal(archive: Archive, inbox: Path) -> None:
    junk = inbox / "随手放的文件夹"
    junk.mkdir()
    (junk / "readme.txt").write_text("not a SIP", encoding="utf-8")
    (junk / ".ready").write_text("", encoding="utf-8")
    write_batch(inbox, specs(1), name="good")
    (inbox / "good" / ".ready").write_text("", encoding="utf-8")
    with inbox_lock(inbox):
        results = {r.name: r.status for r in run_once(archive, inbox, settle=5)}
    assert results == {"随手放的文件夹": "rejected", "good": "done"}


def test_a_drop_left_in_processing_by_a_crash_is_finished_on_the_next_run(archive: Archive, inbox: Path) -> None:
    write_batch(inbox, specs(2), name="interrupted")
    (inbox / "interrupted" / ".ready").write_text("", encoding="utf-8")
    with inbox_lock(inbox):
        take(inbox, inbox / "interrupted")  # the watcher died right after taking it
    with inbox_lock(inbox):
        results = run_once(archive, inbox, settle=5)
    assert [(r.name, r.status, r.counts["accepted"]) for r in results] == [("interrupted", "done", 2)]


def test_a_resubmitted_drop_of_the_same_name_is_filed_beside_the_first(archive: Archive, inbox: Path,
                                                                        tmp_path: Path) -> None:
    import shutil

    template = write_batch(tmp_path / "template", specs(1), name="same")
    for _ in range(2):
        shutil.copytree(template, inbox / "same")
        (inbox / "same" / ".ready").write_text("", encoding="utf-8")
        with inbox_lock(inbox):
            run_once(archive, inbox, settle=5)
    assert (inbox / "done" / "same").is_dir() and (inbox / "done" / "same~2").is_dir()
    second = json.loads((inbox / "done" / "same~2.report.json").read_text(encoding="utf-8"))
    assert second["counts"]["duplicate"] == 1


def test_one_watcher_per_inbox(inbox: Path) -> None:
    with inbox_lock(inbox), pytest.raises(Conflict), inbox_lock(inbox):
        pass


# -- as a process, on realistic 公文 with the default profile and a real clamd -------------------

@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lantai.demo.generate import generate

    out = tmp_path_factory.mktemp("gen") / "批次"
    generate(out, year=2025, items=4, seed=5, workers=2)
    return out


def _watch_env(settings, clamd_socket: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = cli_env(settings)
    env.update(LANTAI_CLAMD_SOCKET=clamd_socket, LANTAI_INGEST_PROFILE="default",
               PYTHONPATH=str(REPO_ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def _copy_as_oa_would(source: Path, inbox: Path) -> Path:
    """Copy items first and the register last, as the inbox contract asks of producers."""
    import shutil

    target = inbox / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("归档登记表.csv"))
    time.sleep(0.05)
    shutil.copy(source / "归档登记表.csv", target / "归档登记表.csv")
    return target


@pytest.mark.slow
def test_watch_once_archives_generated_公文_with_the_default_profile(archive, settings, inbox, generated,
                                                                   clamd_socket) -> None:  # type: ignore[no-untyped-def]
    from lantai.services.arrange import import_fonds

    import_fonds(archive, json.loads((generated / "参考数据.json").read_text(encoding="utf-8")), actor="test")
    _copy_as_oa_would(generated, inbox)
    result = subprocess.run([sys.executable, "-m", "lantai.cli.main", "watch", str(inbox), "--once", "--settle", "0",
                             "--json"], env=_watch_env(settings, clamd_socket), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    processed = json.loads(result.stdout)["processed"]
    assert [(p["name"], p["status"], p["counts"]["accepted"]) for p in processed] == [("批次", "done", 4)]
    report = json.loads((inbox / "done" / "批次.report.json").read_text(encoding="utf-8"))
    assert all(item["status"] == "accepted" for item in report["items"])


@pytest.mark.slow
def test_watch_service_picks_up_a_drop_and_stops_cleanly_on_sigterm(settings, inbox, generated,
                                                                   clamd_socket) -> None:  # type: ignore[no-untyped-def]
    from lantai.services.archive import init_archive

    init_archive(settings).close()
    process = subprocess.Popen([sys.executable, "-m", "lantai.cli.main", "watch", str(inbox), "--interval", "0.2",
                                "--settle", "0", "--json"], env=_watch_env(settings, clamd_socket),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _copy_as_oa_would(generated, inbox)
        deadline = time.monotonic() + 240
        while not (inbox / "done" / "批次.report.json").exists() and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.2)
        assert (inbox / "done" / "批次.report.json").exists()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr[-3000:]
    assert json.loads(stdout)["processed"][0]["counts"]["accepted"] == 4
