"""系统管理 → 全宗与保管期限表: read by the 系统管理员 and 档案管理员, saved only by the 系统管理员.

The page and ``/api/v1/reference`` share one rule set; a refused document (bad TOML, a 档号 rule
that cannot tell the fonds' classes apart, a stale edit) changes nothing.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lantai.catalog.models import AuditEntry
from lantai.services.arrange import current_reference
from tests.api.conftest import World
from tests.api.test_web import _login

NOT_UNIQUE = ('code_rules = {"*" = "DA/T 22-2015"}', 'code_rules = {"*" = "DA/T 13-2022 不分机构"}')


def _version(world: World) -> int:
    return current_reference(world.archive)[1]


def _form(page: str) -> dict[str, str]:
    """The editor's fields as the browser would send them."""
    document = re.search(r"<textarea[^>]*>(.*?)</textarea>", page, re.S).group(1)
    return {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1),
            "base_version": re.search(r'name="base_version" value="(\d+)"', page).group(1),
            "document": html.unescape(document), "note": ""}


def _saved_entries(world: World, version: int) -> list[AuditEntry]:
    with world.archive.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == "reference.saved",
                                                             AuditEntry.target == f"v{version}")))


def test_archivist_reads_fonds_categories_schedules_and_history(world: World) -> None:
    client, _ = _login(world, "archivist")
    page = client.get("/admin/reference")
    assert page.status_code == 200, page.text[-1500:]
    for shown in ("Z109", "示范区人民政府", "示范区人民政府办公室", "年度 → 机构(问题) → 保管期限", "DA/T 22-2015",
                  "BGS 办公室", "WS 文书", "区县人民政府文书档案保管期限表（默认）", "Y-01", "任免", "D10-01", "定期10年", "令第8号",
                  f"第 {_version(world)} 版", "默认参考数据"):
        assert shown in page.text, shown
    assert "<textarea" not in page.text and "只读" in page.text
    assert 'href="/admin/reference"' in page.text  # reachable from the navigation


def test_archivist_cannot_save(world: World) -> None:
    client, csrf = _login(world, "archivist")
    before = _version(world)
    refused = client.post("/admin/reference", data={"csrf_token": csrf, "document": "version = 1\n"})
    assert refused.status_code == 403 and _version(world) == before


def test_sysadmin_saves_a_new_audited_version(world: World) -> None:
    client, _ = _login(world, "sysadmin")
    form = _form(client.get("/admin/reference").text)
    before = _version(world)
    form |= {"document": form["document"].replace('name = "财政科"', 'name = "财政局"'), "note": "财政科更名"}
    saved = client.post("/admin/reference", data=form)
    assert saved.status_code == 200, saved.text[-1500:]
    assert f"已保存为第 {before + 1} 版" in saved.text and "CZK 财政局" in saved.text
    data, version = current_reference(world.archive)
    assert version == before + 1 and data.fonds["Z109"].organisation("CZK").name == "财政局"
    [entry] = _saved_entries(world, version)
    assert entry.actor == "sysadmin" and json.loads(entry.details)["note"] == "财政科更名"
    assert re.search(rf"第 {version} 版</td><td>sysadmin</td>", saved.text)


@pytest.mark.parametrize(("breakage", "message"), [
    (lambda doc: doc.replace("[[fonds]]", "[[fonds]"), "TOML 语法错误"),
    (lambda doc: doc.replace(*NOT_UNIQUE), "相同档号"),
    (lambda doc: doc.replace('schedule = "district-ws"', 'schedule = "nowhere"'), "不存在的保管期限表"),
])
def test_a_refused_document_shows_why_and_changes_nothing(world: World, breakage, message: str) -> None:
    client, _ = _login(world, "sysadmin")
    form = _form(client.get("/admin/reference").text)
    assert NOT_UNIQUE[0] in form["document"]
    before = _version(world)
    form["document"] = breakage(form["document"])
    refused = client.post("/admin/reference", data=form)
    assert refused.status_code == 400 and message in refused.text, refused.text[-1500:]
    assert _form(refused.text)["document"] == form["document"]  # the draft is kept for correction
    assert _version(world) == before and not _saved_entries(world, before + 1)


def test_an_edit_of_an_outdated_version_is_refused(world: World) -> None:
    client, _ = _login(world, "sysadmin")
    form = _form(client.get("/admin/reference").text)
    before = _version(world)
    world.client("sysadmin").put("/api/v1/reference", json={"document": form["document"], "note": "并发修改"})
    stale = client.post("/admin/reference", data=form)
    assert stale.status_code == 409 and "已被他人修改" in stale.text
    assert _version(world) == before + 1


def test_the_form_without_csrf_is_refused(world: World) -> None:
    client, _ = _login(world, "sysadmin")
    form = _form(client.get("/admin/reference").text)
    before = _version(world)
    for csrf in ("", "forged"):
        refused = client.post("/admin/reference", data=form | {"csrf_token": csrf})
        assert refused.status_code == 403 and "CSRF" in refused.text
    assert _version(world) == before


@pytest.mark.parametrize("username", ["reader", "auditor", "secadmin", "clerk"])
def test_other_roles_are_refused_everywhere(world: World, username: str) -> None:
    client, csrf = _login(world, username)
    assert client.get("/admin/reference").status_code == 403
    assert client.post("/admin/reference", data={"csrf_token": csrf, "document": "version = 1\n"}).status_code == 403
    assert 'href="/admin/reference"' not in client.get("/account").text
    api = world.client(username)
    assert api.get("/api/v1/reference").status_code == 403
    assert api.put("/api/v1/reference", json={"document": "version = 1\n"}).status_code == 403


def test_api_reads_and_saves_with_the_json_error_shape(world: World) -> None:
    read = world.client("archivist").get("/api/v1/reference")
    assert read.status_code == 200
    body = read.json()
    assert body["version"] == _version(world) and 'code = "Z109"' in body["document"]
    assert [f["code"] for f in body["content"]["fonds"]] == ["Z109"]
    assert body["versions"][-1]["version"] == body["version"] and body["versions"][0]["sm3"]
    assert world.client("archivist").put("/api/v1/reference", json={"document": body["document"]}).status_code == 403

    admin = world.client("sysadmin")
    bad = admin.put("/api/v1/reference", json={"document": body["document"].replace(*NOT_UNIQUE)})
    assert bad.status_code == 400 and bad.json()["code"] == "bad_input" and "相同档号" in bad.json()["message"]
    assert set(bad.json()) == {"code", "message", "message_en", "details"}
    saved = admin.put("/api/v1/reference", json={"document": body["document"], "note": "接口保存",
                                                 "base_version": body["version"]})
    assert saved.status_code == 200 and saved.json() == {"version": body["version"] + 1}
    assert _saved_entries(world, body["version"] + 1)[0].actor == "sysadmin"
    stale = admin.put("/api/v1/reference", json={"document": body["document"], "base_version": body["version"]})
    assert stale.status_code == 409 and stale.json()["details"]["current_version"] == body["version"] + 1


def test_anonymous_is_sent_to_login(world: World) -> None:
    anonymous = TestClient(world.app, raise_server_exceptions=False)
    assert anonymous.get("/admin/reference", follow_redirects=False).status_code == 303
    assert anonymous.get("/api/v1/reference").status_code == 401
