"""The whole of appraisal and disposition on SQLite and PostgreSQL, with the default profile and clamd:
open → decide → submit → approve → execute (phase 1) → destroy (phase 2), and what each leaves."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied
from lantai.services import appraisal, destruction, holds
from lantai.services.access import visible_item
from lantai.services.catalogue import DESTRUCTION_PATH
from lantai.services.catalogue_search import search
from lantai.services.fixity import verify_fixity
from tests.integration.appraisal_world import AppraisalWorld, seed

DESTROY, EXTEND, KEEP = "Z109-WS-2010-00001", "Z109-WS-2014-00003", "Z109-WS-2010-00005"


@pytest.fixture
def world(archive, tmp_path) -> AppraisalWorld:  # type: ignore[no-untyped-def]
    return seed(archive, tmp_path)


def _approved_expiry(world: AppraisalWorld) -> int:
    zhang = world.as_user("zhang")
    campaign = appraisal.open_campaign(world.archive, zhang, "到期", 2025)
    cid = campaign["id"]
    appraisal.decide(world.archive, zhang, cid, [DESTROY], "销毁", "已到保管期限，无继续保存价值")
    appraisal.decide(world.archive, zhang, cid, [EXTEND], "延长", "仍有查考价值", value="D30")
    appraisal.decide(world.archive, zhang, cid, [KEEP], "保持", "待密级鉴定后再定")
    appraisal.submit(world.archive, zhang, cid, ["li", "wang"])
    appraisal.approve(world.archive, world.as_user("li"), cid, True, "同意")
    appraisal.approve(world.archive, world.as_user("wang"), cid, True, "同意")
    return cid


def test_expiry_campaign_proposes_what_is_due(world: AppraisalWorld) -> None:
    campaign = appraisal.open_campaign(world.archive, world.as_user("zhang"), "到期", 2025)
    assert {r["record_id"] for r in campaign["rows"]} == {DESTROY, EXTEND, KEEP}
    again = appraisal.open_campaign(world.archive, world.as_user("zhang"), "到期", 2025)
    assert again["items"] == 0  # already in a campaign: not proposed twice
    opening = appraisal.open_campaign(world.archive, world.as_user("zhang"), "开放", 2025)
    assert [r["record_id"] for r in opening["rows"]] == ["Z109-WS-1998-00006"]
    with pytest.raises(PermissionDenied):
        appraisal.open_campaign(world.archive, world.as_user("zhang"), "密级", 2025)
    secrecy = appraisal.open_campaign(world.archive, world.as_user("secadmin"), "密级", 2025)
    assert [r["record_id"] for r in secrecy["rows"]] == [KEEP]


def test_full_destruction_flow(world: AppraisalWorld) -> None:
    archive = world.archive
    cid = _approved_expiry(world)
    executed = appraisal.execute(archive, world.as_user("zhang"), cid)
    assert executed["status"] == "已执行" and executed["execution"]["applied"] == 3
    assert executed["states"] == {"已执行": 2, "待销毁": 1}
    reader = world.as_user("reader")
    with archive.sessions() as session:
        with pytest.raises(NotFound):  # 待销毁: withdrawn from use
            visible_item(session, reader, DESTROY)
        extended = session.scalar(select(Item).where(Item.record_id == EXTEND))
        assert extended.retention == "30年" and extended.ocfl_version == 2
        assert any(e.activity == "到期鉴定" for e in extended.events)
    assert DESTROY not in {h["record_id"] for h in search(archive, reader, "工作")["items"]}
    pdf = archive.home / executed["execution"]["register"]["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.with_suffix(".xlsx").is_file()

    with pytest.raises(PermissionDenied):  # the proposer and executor cannot destroy
        destruction.destroy(archive, world.as_user("zhang"), cid, immediately=True)
    with pytest.raises(Conflict):  # the waiting period
        destruction.destroy(archive, world.as_user("zhao"), cid)
    done = destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    assert done["status"] == "已销毁" and done["destruction"]["destroyed"] == 1
    register_id = done["register_record_id"]
    assert archive.store.exists(register_id)

    tombstone = json.loads(archive.store.read_bytes(DESTROY, DESTRUCTION_PATH))
    assert tombstone["register"]["record_id"] == register_id and tombstone["removed"]
    for removed in tombstone["removed"]:
        assert not archive.store.content_path(DESTROY, removed["content_path"]).exists()
    with archive.sessions() as session:
        item = session.scalar(select(Item).where(Item.record_id == DESTROY))
        assert item.status == "destroyed" and item.file_count == 0
        register = session.scalar(select(Item).where(Item.record_id == register_id))
        assert register.retention == "永久"
    report = verify_fixity(archive)
    assert report.ok, report.problems
    assert archive.audit.verify().ok


def test_verify_names_content_a_tombstone_says_is_gone(world: AppraisalWorld) -> None:
    """Deleted bytes that come back (or were never deleted) are reported, not silently accepted."""
    archive = world.archive
    cid = _approved_expiry(world)
    appraisal.execute(archive, world.as_user("zhang"), cid)
    destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    tombstone = json.loads(archive.store.read_bytes(DESTROY, DESTRUCTION_PATH))
    path = archive.store.content_path(DESTROY, tombstone["removed"][0]["content_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not destroyed")
    problems = verify_fixity(archive, [DESTROY]).problems
    assert problems and problems[0]["object"] == DESTROY


def test_refusals(world: AppraisalWorld) -> None:
    archive = world.archive
    zhang = world.as_user("zhang")
    cid = appraisal.open_campaign(archive, zhang, "到期", 2025)["id"]
    with pytest.raises(BadInput):  # 开放 is no 到期 decision
        appraisal.decide(archive, zhang, cid, [DESTROY], "开放", "理由")
    with pytest.raises(BadInput):  # a reason is required
        appraisal.decide(archive, zhang, cid, [DESTROY], "销毁", "")
    with pytest.raises(BadInput):  # 延长 must lengthen
        appraisal.decide(archive, zhang, cid, [EXTEND], "延长", "理由", value="D10")
    with pytest.raises(NotFound):
        appraisal.decide(archive, zhang, cid, ["Z109-WS-2015-00004"], "销毁", "不在任务中")
    with pytest.raises(Conflict):  # undecided items
        appraisal.submit(archive, zhang, cid, ["li", "wang"])
    appraisal.decide(archive, zhang, cid, [DESTROY, EXTEND, KEEP], "保持", "暂不处置")
    with pytest.raises(BadInput):  # one's own campaign
        appraisal.submit(archive, zhang, cid, ["zhang", "li"])
    with pytest.raises(BadInput):  # fewer than two
        appraisal.submit(archive, zhang, cid, ["li"])
    with pytest.raises(BadInput):  # a reader cannot approve
        appraisal.submit(archive, zhang, cid, ["li", "reader"])
    with pytest.raises(Conflict):  # not approved: not executable
        appraisal.execute(archive, zhang, cid)
    appraisal.submit(archive, zhang, cid, ["li", "wang"])
    with pytest.raises(PermissionDenied):  # approving one's own proposal
        appraisal.approve(archive, zhang, cid, True, "")
    with pytest.raises(PermissionDenied):  # not on the committee
        appraisal.approve(archive, world.as_user("zhao"), cid, True, "")
    with pytest.raises(BadInput):
        appraisal.approve(archive, world.as_user("li"), cid, False, "")
    rejected = appraisal.approve(archive, world.as_user("li"), cid, False, "理由不充分")
    assert rejected["status"] == "草稿" and rejected["round"] == 2
    with pytest.raises(Conflict):  # destruction only from an approved, executed 到期 campaign
        destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)


def test_held_items_are_neither_decided_nor_destroyed(world: AppraisalWorld) -> None:
    archive = world.archive
    zhang = world.as_user("zhang")
    hold = holds.place_hold(archive, world.as_user("secadmin"), "审计检查", record_id=DESTROY)
    cid = appraisal.open_campaign(archive, zhang, "到期", 2025)["id"]
    with pytest.raises(Conflict):
        appraisal.decide(archive, zhang, cid, [DESTROY], "销毁", "到期")
    holds.lift_hold(archive, world.as_user("zhao"), hold["id"], "审计结束")
    appraisal.decide(archive, zhang, cid, [DESTROY], "销毁", "到期")
    appraisal.decide(archive, zhang, cid, [EXTEND, KEEP], "保持", "暂不处置")
    appraisal.submit(archive, zhang, cid, ["li", "wang"])
    appraisal.approve(archive, world.as_user("li"), cid, True, "")
    appraisal.approve(archive, world.as_user("wang"), cid, True, "")
    appraisal.execute(archive, zhang, cid)
    year_hold = holds.place_hold(archive, world.as_user("zhao"), "诉讼", fonds_code="Z109", year=2010)
    done = destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)
    assert done["destruction"]["waiting"] == [DESTROY] and done["status"] == "已执行"
    assert archive.store.read_bytes(DESTROY, "content/正文.pdf").startswith(b"%PDF")
    holds.lift_hold(archive, world.as_user("zhao"), year_hold["id"], "结案")
    assert destruction.destroy(archive, world.as_user("zhao"), cid, immediately=True)["status"] == "已销毁"
    assert [h["state"] for h in holds.list_holds(archive, world.as_user("zhao"))] == ["已解除", "已解除"]
