"""Phase 2 of a destruction interrupted at each step resumes to the same end; the auditor can
reconstruct a destruction from the journal and the archived 销毁清册 alone."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lantai.catalog.appraisal import AppraisalItem
from lantai.crypto.digests import sm3_hex
from lantai.services import appraisal, destruction, recovery
from lantai.services.archive import open_archive
from lantai.services.catalogue import DESTRUCTION_PATH
from lantai.services.fixity import verify_fixity
from lantai.storage.ocfl import OcflStore
from lantai.storage.replica import content_files
from tests.integration.appraisal_world import AppraisalWorld, seed
from tests.integration.test_appraisal_flow import DESTROY, _approved_expiry


class Crash(BaseException):
    """Stands for the process dying: nothing below catches it."""


@pytest.fixture
def executed(archive, tmp_path) -> tuple[AppraisalWorld, int]:  # type: ignore[no-untyped-def]
    world = seed(archive, tmp_path)
    cid = _approved_expiry(world)
    appraisal.execute(archive, world.as_user("zhang"), cid)
    return world, cid


def _pdf_text(data: bytes) -> str:
    import subprocess

    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True, timeout=60)
    return "".join(done.stdout.decode("utf-8").split())  # the layout wraps long cells: compare without spaces


def _state(archive, cid: int) -> str:  # type: ignore[no-untyped-def]
    with archive.sessions() as session:
        return session.scalar(select(AppraisalItem.state).where(AppraisalItem.campaign_id == cid,
                                                                AppraisalItem.record_id == DESTROY))


@pytest.mark.parametrize("step", ["before_tombstone", "before_deletion", "mid_deletion"])
def test_phase2_resumes_after_a_crash(executed, monkeypatch: pytest.MonkeyPatch, step: str) -> None:  # type: ignore[no-untyped-def]
    world, cid = executed
    archive = world.archive
    original = OcflStore.destroy_content

    def crash(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise Crash

    def half(self, object_id, paths):  # type: ignore[no-untyped-def]
        original(self, object_id, paths[:1])
        raise Crash

    if step == "before_tombstone":
        monkeypatch.setattr(destruction, "commit_change", crash)
    else:
        monkeypatch.setattr(OcflStore, "destroy_content", crash if step == "before_deletion" else half)
    with pytest.raises(Crash):
        destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    monkeypatch.undo()
    assert _state(archive, cid) == "待销毁"
    intents = list((archive.settings.staging_dir / destruction.INTENTS).glob("*.json"))
    assert len(intents) == 1  # the interrupted item says so
    if step == "before_deletion":  # the tombstone is in, the bytes are not gone: verify says so
        problems = verify_fixity(archive, [DESTROY]).problems
        assert {p["problem"] for p in problems} == {"not_destroyed"}

    archive.close()
    reopened = open_archive(archive.settings)  # start-up recovery finishes the item
    try:
        assert not list((reopened.settings.staging_dir / destruction.INTENTS).glob("*.json"))
        assert _state(reopened, cid) == "已销毁"
        tombstone = json.loads(reopened.store.read_bytes(DESTROY, DESTRUCTION_PATH))
        assert all(not reopened.store.content_path(DESTROY, r["content_path"]).exists() for r in tombstone["removed"])
        assert verify_fixity(reopened).ok
        assert recovery.recover(reopened)["destructions"] == {"resumed": [], "failed": []}
        assert reopened.audit.verify().ok
    finally:
        reopened.close()


def test_auditor_reconstructs_a_destruction_from_the_journal(executed) -> None:  # type: ignore[no-untyped-def]
    world, cid = executed
    archive = world.archive
    destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    entries = [e for e in archive.audit.iter_journal() if not isinstance(e, Exception)]
    target = f"campaign:{cid}"
    by_action: dict[str, list] = {}
    for entry in entries:
        if entry.target == target or entry.details.get("campaign") == cid:
            by_action.setdefault(entry.action, []).append(entry)
    # who proposed, what was decided and why, who approved, who executed, who destroyed
    assert by_action["appraisal.opened"][0].actor == "zhang"
    destroyed_decision = next(e for e in by_action["appraisal.decided"] if e.details["decision"] == "销毁")
    assert [i["record_id"] for i in destroyed_decision.details["items"]] == [DESTROY]
    assert sorted(e.actor for e in by_action["appraisal.approved"]) == ["li", "wang"]
    assert by_action["appraisal.executed"][0].actor == "zhang"
    item_destroyed = next(e for e in by_action["item.destroyed"] if e.target == DESTROY)
    assert item_destroyed.actor == "zhao" and item_destroyed.details["removed"]
    final = by_action["appraisal.destroyed"][0]
    register_sm3 = by_action["destruction.register"][0].details["sm3"]
    assert final.details["register_sm3"] == register_sm3
    # the archived 销毁清册 is the very register the journal names, and lists the destroyed item
    archived = archive.store.read_bytes(final.details["register_record_id"], "content/销毁清册.pdf")
    assert sm3_hex(archived) == register_sm3
    assert DESTROY in by_action["destruction.register"][0].details["record_ids"]
    # the 清册 itself names what was destroyed, why, and by whose approval — what the journal says
    register_text = _pdf_text(archived)
    decided_item = destroyed_decision.details["items"][0]
    for expected in (decided_item["title"], destroyed_decision.details["reason"], f"电子文件号 {DESTROY}",
                     *[e.actor for e in by_action["appraisal.approved"]]):
        assert "".join(expected.split()) in register_text, expected
    # the deleted digests in the journal are those the tombstone keeps
    tombstone = json.loads(archive.store.read_bytes(DESTROY, DESTRUCTION_PATH))
    assert sorted(r["sm3"] for r in item_destroyed.details["removed"]) == sorted(r["sm3"] for r in tombstone["removed"])


def test_destruction_removes_the_bytes_from_every_replica_root(archive, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No copy survives on a replica, and the scheduled fixity run accepts the tombstoned absences
    on every root instead of flagging the destroyed item 损坏."""
    from lantai.services import fixity, replicas

    world = seed(archive, tmp_path)
    (tmp_path / "offsite").mkdir()  # a mounted disk: it exists before it is declared
    replicas.add_root(archive, "offsite", (tmp_path / "offsite").as_uri())
    assert replicas.sync(archive).ok
    offsite = replicas.replica_roots(archive.settings)["offsite"]
    before = [c.content_path for c in content_files(offsite.inventory(DESTROY))]
    assert before and all(offsite.backend.exists(offsite.key(DESTROY, p)) for p in before)
    cid = _approved_expiry(world)
    appraisal.execute(archive, world.as_user("zhang"), cid)
    destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    assert _state(archive, cid) == "已销毁"
    tombstone = json.loads(archive.store.read_bytes(DESTROY, DESTRUCTION_PATH))
    removed = [r["content_path"] for r in tombstone["removed"]]
    assert removed and not any(offsite.backend.exists(offsite.key(DESTROY, p)) for p in removed)
    assert replicas.sync(archive).ok  # the tombstone version reaches the replica too
    report = fixity.run_scheduled(archive)
    assert report.ok and not report.unrecoverable, report
