"""延长 of an arranged item keeps its 档号 true: DA/T 22 puts the 保管期限 in the 档号, so an approved
extension of a filed item is recorded as a 更正 (as ``lantai arrange correct`` writes it) and a draft
one's year is arranged again — and 档号, 元数据.xml, arrangement record, catalogue and index agree."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from sqlalchemy import select

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import Item
from lantai.services import appraisal, arrange
from lantai.services.arrange_publish import ARRANGEMENT_PATH
from lantai.services.catalogue import METADATA_PATH
from lantai.services.catalogue_search import search
from lantai.services.fixity import verify_fixity
from lantai.services.rebuild import rebuild_catalogue
from tests.integration.appraisal_world import AppraisalWorld, seed

FILED, FILED_SECRET, DRAFT = "Z109-WS-2010-00001", "Z109-WS-2010-00005", "Z109-WS-2014-00003"


@pytest.fixture
def world(archive, tmp_path) -> AppraisalWorld:  # type: ignore[no-untyped-def]
    world = seed(archive, tmp_path)
    arrange.arrange(archive, "Z109", 2010, actor="zhang")
    arrange.file_arrangement(archive, "Z109", 2010, actor="zhang")  # 2010: 归档
    arrange.arrange(archive, "Z109", 2014, actor="zhang")  # 2014: arranged, not filed
    return world


def _extend(world: AppraisalWorld, decisions: dict[str, str]) -> dict:  # type: ignore[type-arg]
    zhang = world.as_user("zhang")
    campaign = appraisal.open_campaign(world.archive, zhang, "到期", 2025)
    cid = campaign["id"]
    others = [r["record_id"] for r in campaign["rows"] if r["record_id"] not in decisions]
    if others:
        appraisal.decide(world.archive, zhang, cid, others, "保持", "暂不处置")
    for record_id, value in decisions.items():
        appraisal.decide(world.archive, zhang, cid, [record_id], "延长", "仍有查考价值", value=value)
    appraisal.submit(world.archive, zhang, cid, ["li", "wang"])
    for name in ("li", "wang"):
        appraisal.approve(world.archive, world.as_user(name), cid, True, "同意")
    return appraisal.execute(world.archive, zhang, cid)


def _stored_code(archive, record_id: str) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """(档号 text, 档号/保管期限, 内容描述… any other 保管期限) as 元数据.xml in the store says."""
    root = etree.fromstring(archive.store.read_bytes(record_id, METADATA_PATH))
    code = next(e for e in root.iter() if etree.QName(e).localname == "档号")
    inner = next(e for e in code if etree.QName(e).localname == "保管期限")
    others = {e.text for e in root.iter() if etree.QName(e).localname == "保管期限"}
    return (code.text or "").strip(), inner.text or "", "|".join(sorted(others))


def _agree(archive, record_id: str, label: str) -> str:  # type: ignore[no-untyped-def]
    """Store, arrangement row, catalogue and index agree on the item's 档号 and 保管期限; returns the 档号."""
    text, inner, every = _stored_code(archive, record_id)
    record = json.loads(archive.store.read_bytes(record_id, ARRANGEMENT_PATH))
    with archive.sessions() as session:
        row = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
        item = session.scalar(select(Item).where(Item.record_id == record_id))
        assert not row.pending and row.published_version == item.ocfl_version
    assert text == row.archival_code == item.archival_code == record["archival_code"]
    assert inner == every == label == item.retention
    assert record["retention"] == row.retention
    return text


def test_extending_a_filed_item_corrects_its_archival_code(world: AppraisalWorld) -> None:
    archive = world.archive
    before = _agree(archive, FILED, "10年")
    assert "D10" in before
    executed = _extend(world, {FILED: "D30", FILED_SECRET: "Y"})
    assert executed["status"] == "已执行" and executed["execution"]["renumbered"] == 2
    after = _agree(archive, FILED, "30年")
    assert after == before.replace("D10", "D30").rsplit("-", 1)[0] + "-" + after.rsplit("-", 1)[1]
    assert "D30" in after and after != before
    secret = _agree(archive, FILED_SECRET, "永久")
    assert "-Y-" in secret or "·Y" in secret or "Y-" in secret
    with archive.sessions() as session:
        corrections = {c.record_id: c for c in session.scalars(select(ArrangementCorrection))}
        row = session.scalar(select(Arrangement).where(Arrangement.record_id == FILED))
        assert row.state == "filed" and row.change == "corrected" and row.previous_code == before
    assert corrections[FILED].old_code == before and corrections[FILED].new_code == after
    assert "鉴定任务" in corrections[FILED].reason and corrections[FILED].actor == "zhang"
    # the record's own store copy keeps the correction history (rebuild restores it)
    history = json.loads(archive.store.read_bytes(FILED, ARRANGEMENT_PATH))["corrections"]
    assert [(h["old_code"], h["new_code"]) for h in history] == [(before, after)]
    # the index carries the new 档号
    found = {h["record_id"]: h for h in search(archive, world.as_user("reader"), "工作")["items"]}
    assert found[FILED]["archival_code"] == after and found[FILED_SECRET]["archival_code"] == secret
    journal = [(e.action, e.target) for e in archive.audit.iter_journal() if not isinstance(e, Exception)]
    assert ("arrange.correction_recorded", FILED) in journal and ("item.appraised", FILED) in journal
    assert verify_fixity(archive).ok and archive.audit.verify().ok
    # an extension that leaves the class as it was is no correction: nothing to do a second time
    assert arrange.publish_pending(archive) == 0


def test_extending_a_draft_item_renumbers_its_year(world: AppraisalWorld) -> None:
    archive = world.archive
    before = _agree(archive, DRAFT, "10年")
    executed = _extend(world, {DRAFT: "D30"})
    assert executed["status"] == "已执行"
    after = _agree(archive, DRAFT, "30年")
    assert "D30" in after and after != before
    with archive.sessions() as session:
        row = session.scalar(select(Arrangement).where(Arrangement.record_id == DRAFT))
        assert row.state == "draft" and row.retention == "D30"
        assert not session.scalars(select(ArrangementCorrection)).all()  # before filing: no 更正 record
    assert arrange.arrange(archive, "Z109", 2014, actor="zhang").changes == []  # the year is settled


def test_rebuild_keeps_the_corrected_code(world: AppraisalWorld) -> None:
    archive = world.archive
    _extend(world, {FILED: "D30"})
    after = _agree(archive, FILED, "30年")
    rebuild_catalogue(archive)
    assert _agree(archive, FILED, "30年") == after
