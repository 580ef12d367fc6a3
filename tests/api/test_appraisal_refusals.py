"""The issue's "bad input and security" points through REST, each with the one error shape: deciding
销毁 for a held item and destroying a held item, an item that is not in the campaign, destroying from
a campaign that is not approved and executed (or not a 到期鉴定), approving one's own proposal, and
phase 2 by the proposer or the executor — and every refusal is journalled."""

from __future__ import annotations

from lantai.domain.roles import Role
from lantai.services.ingest import BatchContext, commit_item, prepare_item
from tests.api.conftest import PUBLIC_ID, World, make_account, pdf_bytes
from tests.sipfactory import SipSpec, write_item

DUE, OTHER = "Z109-WS-2010-00101", "Z109-WS-2010-00102"


def _ingest_due(world: World) -> None:
    for n, record_id in enumerate((DUE, OTHER), 1):
        title = f"关于2010年第{n}项工作的通知"
        item = write_item(world.tmp / "due", SipSpec(record_id=record_id, title=title, year="2010", date="2010-03-18",
                                                      retention="10年", document_number=f"X政办发〔2010〕{n}号",
                                                      files={"正文.pdf": pdf_bytes(title)}))
        context = BatchContext(submitted_by="seed")
        assert commit_item(world.archive, prepare_item(world.archive.settings, item, context), context).status == "accepted"


def _refused(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def, type-arg]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"] and body["message_en"], body
    return body


def test_refusals_through_the_api(world: World) -> None:
    _ingest_due(world)
    for name in ("api-li", "api-wang", "api-zhao"):
        world.tokens[name] = make_account(world.archive, name, [Role.ARCHIVIST.value], "机密")
    proposer = world.client("archivist")
    opened = proposer.post("/api/v1/appraisals", json={"type": "到期", "year": 2025})
    assert opened.status_code == 201, opened.text
    cid = opened.json()["id"]
    assert {r["record_id"] for r in opened.json()["rows"]} == {DUE, OTHER}
    decisions = f"/api/v1/appraisals/{cid}/decisions"

    # an item not in the campaign
    _refused(proposer.post(decisions, json={"record_ids": [PUBLIC_ID], "decision": "销毁", "reason": "到期"}),
             404, "not_found")
    # a held item cannot be decided 销毁
    hold = world.client("secadmin").post("/api/v1/holds", json={"record_id": DUE, "reason": "诉讼"}).json()
    _refused(proposer.post(decisions, json={"record_ids": [DUE], "decision": "销毁", "reason": "到期"}),
             409, "conflict")
    assert world.client("api-zhao").post(f"/api/v1/holds/{hold['id']}/lift", json={"reason": "结案"}).status_code == 200
    assert proposer.post(decisions, json={"record_ids": [DUE], "decision": "销毁", "reason": "到期"}).status_code == 200
    assert proposer.post(decisions, json={"record_ids": [OTHER], "decision": "保持", "reason": "仍有价值"}).status_code == 200

    # destruction only from an approved and executed 到期 campaign
    _refused(world.client("api-zhao").post(f"/api/v1/appraisals/{cid}/destroy"), 409, "conflict")
    _refused(proposer.post(f"/api/v1/appraisals/{cid}/execute"), 409, "conflict")
    # the proposer is never on the committee, and cannot approve their own proposal
    _refused(proposer.post(f"/api/v1/appraisals/{cid}/submit", json={"approvers": ["archivist", "api-li"]}),
             400, "bad_input")
    assert proposer.post(f"/api/v1/appraisals/{cid}/submit", json={"approvers": ["api-li", "api-wang"]}).status_code == 200
    _refused(proposer.post(f"/api/v1/appraisals/{cid}/approval", json={"approve": True}), 403, "permission_denied")
    _refused(world.client("api-zhao").post(f"/api/v1/appraisals/{cid}/approval", json={"approve": True}),
             403, "permission_denied")  # not on the committee
    for name in ("api-li", "api-wang"):
        answered = world.client(name).post(f"/api/v1/appraisals/{cid}/approval", json={"approve": True, "comment": "同意"})
        assert answered.status_code == 200, answered.text
    executed = proposer.post(f"/api/v1/appraisals/{cid}/execute")
    assert executed.status_code == 200 and executed.json()["states"] == {"已执行": 1, "待销毁": 1}

    # phase 2: never by the proposer/executor, never before the waiting period, never of a held item
    _refused(proposer.post(f"/api/v1/appraisals/{cid}/destroy"), 403, "permission_denied")
    _refused(world.client("api-zhao").post(f"/api/v1/appraisals/{cid}/destroy"), 409, "conflict")  # waiting period
    world.archive.settings.destruction_wait_days = 0
    try:
        held = world.client("secadmin").post("/api/v1/holds", json={"fonds_code": "Z109", "year": 2010, "reason": "审计"})
        waiting = world.client("api-zhao").post(f"/api/v1/appraisals/{cid}/destroy")
        assert waiting.status_code == 200, waiting.text
        assert waiting.json()["destruction"]["waiting"] == [DUE] and waiting.json()["status"] == "已执行"
        assert "冻结" in waiting.json()["destruction"]["reasons"][DUE]
        assert world.client("api-zhao").post(f"/api/v1/holds/{held.json()['id']}/lift", json={"reason": "结束"}).status_code == 200
        done = world.client("api-zhao").post(f"/api/v1/appraisals/{cid}/destroy")
        assert done.status_code == 200 and done.json()["status"] == "已销毁", done.text
    finally:
        world.archive.settings.destruction_wait_days = 30

    # an 开放鉴定, approved and executed, destroys nothing
    opening = proposer.post("/api/v1/appraisals", json={"type": "开放", "year": 2100}).json()
    if opening["items"]:
        ids = [r["record_id"] for r in opening["rows"]]
        proposer.post(f"/api/v1/appraisals/{opening['id']}/decisions",
                      json={"record_ids": ids, "decision": "开放", "reason": "可以开放"})
        proposer.post(f"/api/v1/appraisals/{opening['id']}/submit", json={"approvers": ["api-li", "api-wang"]})
        for name in ("api-li", "api-wang"):
            world.client(name).post(f"/api/v1/appraisals/{opening['id']}/approval", json={"approve": True})
        assert proposer.post(f"/api/v1/appraisals/{opening['id']}/execute").status_code == 200
    _refused(world.client("api-zhao").post(f"/api/v1/appraisals/{opening['id']}/destroy"), 409, "conflict")

    denied = {(e.actor, e.target) for e in world.archive.audit.iter_journal() if not isinstance(e, Exception)
              and e.action == "access.denied"}
    assert ("archivist", f"/api/v1/appraisals/{cid}/approval") in denied  # refusals are journalled
