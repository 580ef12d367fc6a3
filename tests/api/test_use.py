"""利用申请 → 审批 → 授权 → 利用登记, through the REST API, as role × action × 密级 cases.

Each test names its own accounts and items, so they share the module's world (SQLite and, when
LANTAI_TEST_DATABASE_URL is set, PostgreSQL) without depending on each other.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from lantai.catalog.models import AuditEntry
from lantai.catalog.use import UseGrant, UseRegisterEntry
from lantai.domain.permissions import Role
from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, SECRET_ID, World, _ingest, make_account

U = "/api/v1"
UNTIL = (dt.date.today() + dt.timedelta(days=30)).isoformat()
CONTENT = {"path": "content/正文.pdf"}
_n = itertools.count(1)


def account(world: World, role: Role, clearance: str) -> TestClient:
    name = f"use-{role.name.lower()}-{next(_n)}"
    client = world.client()
    client.headers["Authorization"] = f"Bearer {make_account(world.archive, name, [role.value], clearance)}"
    client.username = name  # type: ignore[attr-defined]
    return client


def secret_item(world: World, level: str = "秘密") -> str:
    record_id = f"Z109-WS-2025-U{next(_n):04d}"
    _ingest(world, record_id, level, f"关于利用测试事项{record_id}的通知")
    return record_id


def ask(client: TestClient, items: list, methods: tuple[str, ...] = ("在线阅览",), **extra) -> dict:
    body = {"items": items, "purpose": "工作查考", "methods": list(methods), "until": UNTIL} | extra
    response = client.post(f"{U}/requests", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def decide(client: TestClient, request_id: int, approve: bool = True, reason: str = "同意") -> object:
    return client.post(f"{U}/requests/{request_id}/decision", json={"approve": approve, "reason": reason})


def approved(world: World, reader: TestClient, record_id: str, methods: tuple[str, ...] = ("在线阅览",)) -> dict:
    request = ask(reader, [{"record_id": record_id}], methods)
    assert decide(world.client("archivist"), request["id"]).json()["status"] == "待保密审核"
    result = decide(world.client("secadmin"), request["id"]).json()
    assert result["status"] == "已批准" and result["grant_id"], result
    return result


def _shape(request: dict) -> dict:
    return {k: v for k, v in request.items() if k not in ("id", "created_at")} | {
        "items": [{"kind": i["kind"], "items": i["items"]} for i in request["items"]]}


def test_request_for_hidden_or_missing_item_reveals_nothing(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    hidden = ask(reader, [{"record_id": SECRET_ID}])
    missing = ask(reader, [{"record_id": "Z109-WS-2025-NOPE1"}])
    assert _shape(hidden) == _shape(missing)
    assert hidden["items"][0]["items"] == [] and "found" not in hidden["items"][0]
    assert "秘密" not in json.dumps(hidden, ensure_ascii=False)
    listed = reader.get(f"{U}/requests").json()
    assert [_shape(r) for r in listed] == [_shape(missing), _shape(hidden)]
    by_number = ask(reader, ["文号:X政办发〔2025〕99号"])
    assert by_number["items"][0]["items"] == []


def test_visible_item_is_named_back_to_its_requester(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    request = ask(reader, [{"record_id": PUBLIC_ID}])
    assert request["items"][0]["items"][0]["record_id"] == PUBLIC_ID


def test_bad_requests_are_refused_clearly(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    base = {"items": [PUBLIC_ID], "purpose": "工作查考", "methods": ["在线阅览"], "until": UNTIL}
    for change, word in (({"purpose": "好奇"}, "利用目的"), ({"purpose": "其他"}, "其他"),
                         ({"methods": ["拍照"]}, "利用方式"), ({"until": "2000-01-01"}, "期限")):
        response = reader.post(f"{U}/requests", json=base | change)
        assert response.status_code == 400 and word in response.json()["message"], response.text
    assert reader.post(f"{U}/requests", json=base | {"items": []}).status_code == 422


def test_grant_widens_only_named_items_and_methods(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    granted, other = secret_item(world), secret_item(world)
    assert reader.get(f"{U}/items/{granted}").status_code == 404
    approved(world, reader, granted, ("在线阅览",))
    assert reader.get(f"{U}/items/{granted}").status_code == 200
    assert reader.get(f"{U}/items/{other}").status_code == 404
    listed = {i["record_id"] for i in reader.get(f"{U}/items", params={"page_size": 100}).json()["items"]}
    assert granted in listed and other not in listed and SECRET_ID not in listed
    inline = reader.get(f"{U}/items/{granted}/content", params=CONTENT | {"disposition": "inline"})
    assert inline.status_code == 200
    assert reader.get(f"{U}/items/{granted}/content", params=CONTENT).status_code == 404  # 下载 not granted
    assert reader.get(f"{U}/me").json()["clearance"] == "内部"


def test_self_approval_is_refused(world: World) -> None:
    archivist = account(world, Role.ARCHIVIST, "机密")
    request = ask(archivist, [{"record_id": PUBLIC_ID}])
    response = decide(archivist, request["id"])
    assert response.status_code == 403 and "本人" in response.json()["message"]


def test_archivist_below_the_items_level_cannot_approve(world: World) -> None:
    reader = account(world, Role.READER, "公开")
    low = account(world, Role.ARCHIVIST, "内部")
    request = ask(reader, [{"record_id": SECRET_ID}])
    response = decide(low, request["id"])
    assert response.status_code == 403 and "密级" in response.json()["message"]
    assert decide(low, request["id"], approve=False, reason="不符合利用条件").json()["status"] == "未批准"


def test_two_step_for_secret_and_one_step_below(world: World) -> None:
    reader = account(world, Role.READER, "公开")
    internal = secret_item(world, "内部")
    one = ask(reader, [{"record_id": internal}])
    assert decide(world.client("archivist"), one["id"]).json()["status"] == "已批准"
    two = ask(reader, [{"record_id": SECRET_ID}])
    assert decide(world.client("secadmin"), two["id"]).status_code == 403  # the 档案管理员 decides first
    assert decide(world.client("archivist"), two["id"]).json()["status"] == "待保密审核"
    assert reader.get(f"{U}/items/{SECRET_ID}").status_code == 404
    assert decide(world.client("archivist"), two["id"]).status_code == 403  # second step is not theirs
    final = decide(world.client("secadmin"), two["id"]).json()
    assert final["status"] == "已批准" and [d["step"] for d in final["decisions"]] == ["archivist", "security"]
    assert decide(world.client("secadmin"), two["id"]).status_code == 409


def test_two_step_levels_are_configurable(world: World) -> None:
    reader = account(world, Role.READER, "公开")
    settings = world.archive.settings
    saved = settings.use_two_step_levels
    settings.use_two_step_levels = "绝密"
    try:
        request = ask(reader, [{"record_id": SECRET_ID}])
        assert decide(world.client("archivist"), request["id"]).json()["status"] == "已批准"
    finally:
        settings.use_two_step_levels = saved


def test_refusal_needs_a_reason_and_the_reader_sees_it(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    request = ask(reader, [{"record_id": PUBLIC_ID}])
    assert decide(world.client("archivist"), request["id"], approve=False, reason="").status_code == 400
    decide(world.client("archivist"), request["id"], approve=False, reason="目的与内容不符")
    mine = reader.get(f"{U}/requests").json()[0]
    assert mine["status"] == "未批准" and mine["decisions"][0]["reason"] == "目的与内容不符"


def test_expiry_and_revocation_stop_access_at_once(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    first, second = secret_item(world), secret_item(world)
    grant_one = approved(world, reader, first)["grant_id"]
    grant_two = approved(world, reader, second)["grant_id"]
    assert reader.get(f"{U}/items/{first}").status_code == 200
    with world.archive.session() as session:
        session.execute(update(UseGrant).where(UseGrant.id == grant_one)
                        .values(valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    assert reader.get(f"{U}/items/{first}").status_code == 404
    assert reader.get(f"{U}/items/{second}").status_code == 200
    assert reader.delete(f"{U}/grants/{grant_two}").status_code == 403
    assert world.client("archivist").delete(f"{U}/grants/{grant_two}", params={"reason": "项目结束"}).status_code == 200
    assert reader.get(f"{U}/items/{second}").status_code == 404
    states = {g["id"]: g["state"] for g in reader.get(f"{U}/grants").json()}
    assert states == {grant_one: "已过期", grant_two: "已撤销"}
    assert world.client("archivist").delete(f"{U}/grants/{grant_two}").status_code == 409


def test_every_act_is_audited(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    record_id = secret_item(world)
    grant = approved(world, reader, record_id)["grant_id"]
    world.client("archivist").delete(f"{U}/grants/{grant}")
    with world.archive.sessions() as session:
        actions = [(a.actor, a.action) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("use.%")).order_by(AuditEntry.seq))]
    name = reader.username  # type: ignore[attr-defined]
    assert (name, "use.requested") in actions
    assert ("archivist", "use.decided") in actions and ("secadmin", "use.decided") in actions
    assert ("secadmin", "use.granted") in actions and ("archivist", "use.revoked") in actions


def test_views_and_downloads_are_registered(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    record_id = secret_item(world)
    grant = approved(world, reader, record_id, ("在线阅览", "下载"))["grant_id"]
    assert reader.get(f"{U}/items/{record_id}/content", params=CONTENT).status_code == 200
    assert reader.get(f"{U}/items/{record_id}/pages/1", params=CONTENT).status_code == 200
    assert reader.get(f"{U}/items/{PUBLIC_ID}/content", params=CONTENT).status_code == 200
    name = reader.username  # type: ignore[attr-defined]
    with world.archive.sessions() as session:
        rows = session.scalars(select(UseRegisterEntry).where(UseRegisterEntry.username == name)
                               .order_by(UseRegisterEntry.id)).all()
        seen = [(r.record_id, r.method, r.grant_id, r.purpose, r.pages) for r in rows]
    assert seen == [(record_id, "下载", grant, "工作查考", 2), (record_id, "在线阅览", grant, "工作查考", 1),
                    (PUBLIC_ID, "下载", None, "", 2)]


def test_register_export_and_statistics(world: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from openpyxl import load_workbook

    from lantai.services import use_register

    reader = account(world, Role.READER, "内部")
    reader.get(f"{U}/items/{PUBLIC_ID}/content", params=CONTENT)
    reader.get(f"{U}/items/{PUBLIC_ID}/content", params=CONTENT)  # the same use twice a day: one 卷件次
    year = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year
    assert reader.get(f"{U}/use/register", params={"year": year}).status_code == 403
    response = world.client("archivist").get(f"{U}/use/register", params={"year": year})
    assert response.status_code == 200
    target = tmp_path / "r.xlsx"
    target.write_bytes(response.content)
    rows = list(load_workbook(target).worksheets[0].iter_rows(values_only=True))
    assert rows[1][0] == "序号" and any(r[3] == reader.username for r in rows[2:])  # type: ignore[attr-defined]
    entries = [e for e in use_register.register_entries(world.archive, _principal(world, "archivist"), year)
               if e["username"] == reader.username]  # type: ignore[attr-defined]
    stats = use_register.use_statistics(entries)
    assert (stats["person_times"], stats["item_times"]) == (1, 1)
    assert stats["by_fonds_year"] == [{"fonds_code": "Z109", "year": "2025", "item_times": 1}]
    pdf = world.client("archivist").get(f"{U}/use/register", params={"year": year, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def _principal(world: World, username: str):  # type: ignore[no-untyped-def]
    from lantai.services import users

    return users.resolve_token(world.archive, world.tokens[username])


# --- web ------------------------------------------------------------------------------------------
def _session(world: World, role: Role, clearance: str) -> TestClient:
    client = account(world, role, clearance)
    name = client.username  # type: ignore[attr-defined]
    session = world.session_client(name)
    session.headers["X-CSRF-Token"] = session.csrf  # type: ignore[attr-defined]
    session.username = name  # type: ignore[attr-defined]
    return session


def test_web_request_review_and_my_use(world: World) -> None:
    reader = _session(world, Role.READER, "内部")
    record_id = secret_item(world)
    page = reader.get("/use", params={"items": [record_id]})
    assert page.status_code == 200 and "申请利用" in page.text and record_id in page.text
    response = reader.post("/use/requests", data={"items": f"{record_id}\n档号:无此档号", "purpose": "其他",
                                                  "methods": ["在线阅览"], "until": UNTIL})
    assert response.status_code == 400 and "其他" in response.text
    response = reader.post("/use/requests", data={"items": f"{record_id}\n档号:无此档号", "purpose": "编史修志",
                                                  "methods": ["在线阅览", "下载"], "until": UNTIL})
    assert response.status_code == 200 and "已提交" in response.text
    assert "关于利用测试事项" not in response.text  # the hidden item is not named back
    request_id = reader.get(f"{U}/requests").json()[0]["id"]
    archivist = _session(world, Role.ARCHIVIST, "机密")
    review = archivist.get("/approvals")
    assert review.status_code == 200 and f"关于利用测试事项{record_id}的通知" in review.text and "未找到" in review.text
    assert archivist.post(f"/approvals/{request_id}/decision", data={"approve": "1"}).status_code == 200
    secadmin = _session(world, Role.SECADMIN, "绝密")
    assert "已同意" in secadmin.post(f"/approvals/{request_id}/decision", data={"approve": "1", "reason": "同意"}).text
    mine = reader.get("/use").text
    assert "已批准" in mine and f"关于利用测试事项{record_id}的通知" in mine
    assert reader.get(f"/items/{record_id}").status_code == 200
    assert reader.get("/approvals").status_code == 403


def test_open_page_is_off_by_default_and_lists_only_open_items(world: World) -> None:
    anonymous = world.client()
    response = anonymous.get("/open", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    world.archive.settings.public_open_page = True
    try:
        page = anonymous.get("/open")
        assert page.status_code == 200 and "关于做好2025年度电子文件归档工作的通知" in page.text
        assert "关于秘密事项的通知" not in page.text and "关于内部工作安排的通知" not in page.text
        assert "共 0 件" in anonymous.get("/open", params={"q": "秘密事项"}).text
        assert anonymous.get(f"/items/{PUBLIC_ID}", follow_redirects=False).status_code == 303  # nothing else
    finally:
        world.archive.settings.public_open_page = False


# --- CLI ------------------------------------------------------------------------------------------
def test_cli_request_decide_grants_revoke_register(world: World, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from lantai.cli.main import app

    settings = world.archive.settings
    monkeypatch.setenv("LANTAI_HOME", str(settings.home))
    if settings.database_url:
        monkeypatch.setenv("LANTAI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LANTAI_FSYNC", "false")
    reader = account(world, Role.READER, "公开").username  # type: ignore[attr-defined]
    runner = CliRunner()

    def run(*args: str) -> dict:
        result = runner.invoke(app, ["use", *args, "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    number = world.client("archivist").get(f"{U}/items/{SECRET_ID}").json()["document_number"]
    request = run("request", f"文号:{number}", "--user", reader, "--purpose", "学术研究",
                  "--method", "在线阅览", "--until", UNTIL)
    refused = runner.invoke(app, ["use", "decide", str(request["id"]), "--user", reader, "--json"])
    assert refused.exit_code != 0 and "permission_denied" in refused.stdout
    step = run("decide", str(request["id"]), "--user", "archivist")
    assert step["status"] == "待保密审核"  # the 文号 names the 秘密 item
    grant_id = run("decide", str(request["id"]), "--user", "secadmin", "--reason", "同意")["grant_id"]
    assert {g["id"] for g in run("grants", "--user", reader)} == {grant_id}
    assert run("revoke", str(grant_id), "--user", "archivist")["state"] == "已撤销"
    target = tmp_path / "利用登记簿.xlsx"
    year = str(dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).year)
    assert run("register", "--year", year, "--user", "archivist", "-o", str(target))["path"] == str(target)
    assert target.stat().st_size > 0


def test_internal_files_are_not_listed_to_readers(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    paths = {f["logical_path"] for f in reader.get(f"{U}/items/{PUBLIC_ID}/files").json()}
    assert "content/正文.pdf" in paths and not any(p.startswith(("lantai/", "derivatives/")) for p in paths)
    staff = {f["logical_path"] for f in world.client("archivist").get(f"{U}/items/{PUBLIC_ID}/files").json()}
    assert "lantai/ingest.json" in staff


def test_print_is_a_method_of_its_own(world: World) -> None:
    reader = _session(world, Role.READER, "内部")
    record_id = secret_item(world)
    grant = approved(world, reader, record_id, ("在线阅览",))["grant_id"]
    assert reader.get(f"/items/{record_id}/view", params=CONTENT).status_code == 200
    assert reader.get(f"/items/{record_id}/print", params=CONTENT).status_code == 404  # 打印 not granted
    printed = reader.get(f"/items/{PUBLIC_ID}/print", params=CONTENT)
    assert printed.status_code == 200 and printed.headers["content-type"] == "application/pdf"
    with world.archive.sessions() as session:
        rows = session.execute(select(UseRegisterEntry.record_id, UseRegisterEntry.method, UseRegisterEntry.grant_id)
                               .where(UseRegisterEntry.username == reader.username)  # type: ignore[attr-defined]
                               .order_by(UseRegisterEntry.id)).all()
    assert [tuple(r) for r in rows] == [(record_id, "在线阅览", grant), (PUBLIC_ID, "打印", None)]


def test_search_results_become_a_request(world: World) -> None:
    """Search → tick results → 申请利用 prefilled with exactly those → submitted request names them."""
    import re

    reader = _session(world, Role.READER, "内部")
    page = reader.get("/search", params={"q": "通知"})
    assert page.status_code == 200 and "将本页结果转为利用申请" in page.text and f"items={PUBLIC_ID}" in page.text
    form = re.search(r'<form id="to-request" method="get" action="(/use)"', page.text)
    boxes = re.findall(r'<input type="checkbox" name="items" value="([^"]+)" form="to-request"', page.text)
    assert form and {PUBLIC_ID, INTERNAL_ID} <= set(boxes) and SECRET_ID not in boxes
    chosen = [PUBLIC_ID, INTERNAL_ID]
    prefilled = reader.get(form.group(1), params={"items": chosen})  # what the browser sends for the ticked boxes
    area = re.search(r'<textarea name="items"[^>]*>([^<]*)</textarea>', prefilled.text)
    assert area and area.group(1).split() == chosen
    sent = reader.post("/use/requests", data={"items": area.group(1), "purpose": "工作查考", "methods": ["下载"],
                                              "until": UNTIL})
    assert sent.status_code == 200 and "已提交" in sent.text
    latest = reader.get(f"{U}/requests").json()[0]
    assert [i["reference"] for i in latest["items"]] == chosen
    assert [r["record_id"] for i in latest["items"] for r in i["items"]] == chosen


def test_statistics_gain_use_figures(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    reader.get(f"{U}/items/{PUBLIC_ID}/content", params=CONTENT)
    use = world.client("archivist").get(f"{U}/statistics").json()["use"]
    assert use["person_times"] >= 1 and use["item_times"] >= 1
    assert any(row["fonds_code"] == "Z109" for row in use["by_fonds_year"])
    page = _session(world, Role.ARCHIVIST, "机密").get("/statistics")
    assert page.status_code == 200 and "利用卷件次" in page.text


def test_register_year_out_of_range_is_bad_input(world: World) -> None:
    from lantai.errors import BadInput
    from lantai.services import use_register

    archivist = world.client("archivist")
    assert archivist.get(f"{U}/use/register", params={"year": 9999}).status_code == 422
    try:
        use_register.register_entries(world.archive, _principal(world, "archivist"), 9999)
    except BadInput as exc:
        assert "年度" in exc.message_zh
    else:
        raise AssertionError("year 9999 accepted")


def test_reader_records_the_use_effect_that_archivists_see(world: World) -> None:
    reader = account(world, Role.READER, "内部")
    granted = secret_item(world)
    request = approved(world, reader, granted)
    pending = ask(reader, [{"record_id": PUBLIC_ID}])
    assert reader.post(f"{U}/requests/{pending['id']}/effect", json={"effect": "解决问题"}).status_code == 409
    assert reader.post(f"{U}/requests/{request['id']}/effect", json={"effect": "很好"}).status_code == 400
    other = account(world, Role.READER, "内部")
    assert other.post(f"{U}/requests/{request['id']}/effect", json={"effect": "解决问题"}).status_code == 404
    done = reader.post(f"{U}/requests/{request['id']}/effect", json={"effect": "部分解决", "note": "补充了年鉴材料"})
    assert done.status_code == 200 and done.json()["effect"] == "部分解决"
    archivist = world.client("archivist")
    seen = {r["id"]: r for r in archivist.get(f"{U}/requests").json()}
    assert (seen[request["id"]]["effect"], seen[request["id"]]["effect_note"]) == ("部分解决", "补充了年鉴材料")
    with world.archive.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "use.effect")
                                .order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.target == f"request:{request['id']}" and "部分解决" in entry.details
    page = archivist.get("/approvals")
    assert "利用效果：部分解决" in page.text
