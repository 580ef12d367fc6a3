"""The 鉴定 and 销毁 pages and the /appraisals API as people and systems use them: a 密级鉴定 worked
in the browser (open, bulk decision on a page, submit, two approvals, execute), holds, and the
pages in Chinese only."""

from __future__ import annotations

import re

from lantai.domain.roles import Role
from tests.api.conftest import ACCOUNTS, SECRET_ID, World, make_account

ALLOWED_WORDS = {"PDF", "XLSX", "SM3", "approver", *ACCOUNTS}  # formats, and account names (data, not UI)


def _english_words(html: str) -> set[str]:
    text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", text)
    words = set(re.findall(r"\b[A-Za-z]{3,}\b", text.replace("pg-approver", "approver")))
    return {w for w in words if w not in ALLOWED_WORDS}


def _form(client, url: str, data: dict) -> object:  # type: ignore[no-untyped-def]
    return client.post(url, data=data | {"csrf_token": client.csrf})


def test_secrecy_campaign_worked_in_the_pages(world: World) -> None:
    make_account(world.archive, "pg-approver", [Role.ARCHIVIST.value], "机密")
    secadmin = world.session_client("secadmin")
    home = secadmin.get("/appraisal")
    assert home.status_code == 200 and "到期提醒" in home.text and not _english_words(home.text)
    opened = _form(secadmin, "/appraisal/campaigns", {"kind": "密级", "year": "2040"})
    assert opened.status_code == 200 and SECRET_ID in opened.text, opened.text[:500]
    cid = re.search(r"鉴定任务 (\d+)：密级鉴定", opened.text).group(1)
    assert not _english_words(opened.text)
    fragment = secadmin.get(f"/appraisal/campaigns/{cid}?page=1", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and SECRET_ID in fragment.text
    missing = _form(secadmin, f"/appraisal/campaigns/{cid}/decisions", {"decision": "解密", "reason": "保密期限已满"})
    assert missing.status_code == 400 and "本页全部" in missing.text
    decided = _form(secadmin, f"/appraisal/campaigns/{cid}/decisions",
                    {"decision": "解密", "reason": "保密期限已满", "whole_page": "1", "page_ids": [SECRET_ID]})
    assert decided.status_code == 200 and "已鉴定为“解密”" in decided.text
    own = _form(secadmin, f"/appraisal/campaigns/{cid}/submit", {"approvers": "secadmin,archivist"})
    assert own.status_code == 400 and "提出人" in own.text
    submitted = _form(secadmin, f"/appraisal/campaigns/{cid}/submit", {"approvers": "archivist，pg-approver"})
    assert submitted.status_code == 200 and "待审批" in submitted.text
    for name in ("archivist", "pg-approver"):
        approved = _form(world.session_client(name), f"/appraisal/campaigns/{cid}/approval",
                         {"approve": "1", "comment": "同意"})
        assert approved.status_code == 200, approved.text[:300]
    executed = _form(secadmin, f"/appraisal/campaigns/{cid}/execute", {})
    assert executed.status_code == 200 and "已执行" in executed.text
    item = world.client("reader").get(f"/api/v1/items/{SECRET_ID}")  # 解密: 公开 now, the reader sees it
    assert item.status_code == 200 and item.json()["security_classification"] == "公开"


def test_appraisal_api_and_holds(world: World) -> None:
    archivist = world.client("archivist")
    opened = archivist.post("/api/v1/appraisals", json={"type": "到期", "year": 2025})
    assert opened.status_code == 201 and opened.json()["status"] == "草稿"
    assert archivist.post("/api/v1/appraisals", json={"type": "密级", "year": 2025}).status_code == 403
    assert archivist.post("/api/v1/appraisals", json={"type": "无此类", "year": 2025}).json()["code"] == "bad_input"
    assert world.client("reader").get("/api/v1/appraisals").status_code == 403
    due = archivist.get("/api/v1/appraisals/due", params={"year": 2060})
    assert due.status_code == 200 and all(r["kind"] != "密级" for r in due.json())
    hold = archivist.post("/api/v1/holds", json={"fonds_code": "Z109", "year": 2025, "reason": "审计"})
    assert hold.status_code == 201 and hold.json()["state"] == "冻结中"
    assert archivist.post("/api/v1/holds", json={"reason": "审计"}).status_code == 400
    lifted = archivist.post(f"/api/v1/holds/{hold.json()['id']}/lift", json={"reason": "审计结束"})
    assert lifted.json()["state"] == "已解除"
    again = archivist.post(f"/api/v1/holds/{hold.json()['id']}/lift", json={"reason": "再次"})
    assert again.status_code == 409
    page = world.session_client("archivist").get("/destruction")
    assert page.status_code == 200 and "冻结" in page.text and not _english_words(page.text)
