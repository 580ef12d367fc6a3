"""Role × action × 密级: every API and web route, called as every role at several clearances.

The expected answer is computed from the one permission table (:mod:`lantai.domain.permissions`)
and the action each route declares (``Allowed(…)``, read back from ``app.routes``):

* the route's action is not in the caller's permissions (roles ∩ token scopes) → 403;
* it is, but the route is about an item above the caller's clearance → 404, as for a missing item;
* otherwise → success (2xx, or a 3xx redirect for web forms).

``test_every_route_is_declared_and_exercised`` fails when a route exists that declares no action
or that this table does not call — so a new route cannot slip past the matrix.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from httpx import Response

from lantai.api.errors import MACHINE_PATHS
from lantai.domain.permissions import SCOPES, Permission, Role, permissions_of
from lantai.domain.roles import may_see
from lantai.services import use, users
from tests.api.conftest import (
    PASSWORD,
    PUBLIC_ID,
    SECRET_ID,
    World,
    make_account,
    metadata_xml_for,
    pdf_bytes,
    sip_zip,
)
from tests.sipfactory import SipSpec, write_batch

P = Permission
ITEM, ITEM_LEVEL = SECRET_ID, "秘密"
CLEARANCE_LEVELS = ("公开", "秘密", "绝密")
CONTENT = {"path": "content/正文.pdf"}
FRAMEWORK_ROUTES = {("GET", "/api/openapi.json"), ("HEAD", "/api/openapi.json")}  # FastAPI's own, public
_n = itertools.count(1)


@dataclass
class Ctx:
    """One caller: an account with one role at one clearance, by token (all scopes) or by session."""

    world: World
    username: str
    clearance: str
    via: str
    client: TestClient
    perms: frozenset[Permission] = field(default_factory=frozenset)

    def can(self, permission: Permission) -> bool:
        return permission in self.perms

    def anonymous(self) -> TestClient:
        """A client without this caller's cookies (logging in elsewhere must not replace its session)."""
        client = TestClient(self.world.app, raise_server_exceptions=False)
        if self.via == "token":
            client.headers["Authorization"] = self.client.headers["Authorization"]
        return client


@dataclass(frozen=True)
class Case:
    call: Callable[[Ctx], Response]
    item: bool = False  # about ITEM: hidden (404) below its 密级


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_n):05d}"


# --- request builders ---------------------------------------------------------------------------
def _pending_user(ctx: Ctx) -> str:
    name = unique("mx-pending")
    users.create_user(ctx.world.archive, "cli", name, PASSWORD, roles=[Role.READER.value])
    return name


def _token_owner(ctx: Ctx) -> str | None:
    """Own token from a session; a token may only act on the service account (安全保密管理员)."""
    return "mx-service" if ctx.via == "token" and ctx.can(P.TOKEN_MANAGE) else None


def _token_to_revoke(ctx: Ctx) -> int:
    owner = _token_owner(ctx) or ctx.username
    return users.issue_token(ctx.world.archive, "cli", owner, "matrix", 1, ["read"])["id"]


def _sip(ctx: Ctx) -> dict:
    record_id = unique("Z109-WS-2025-MX")
    return {"files": {"package": ("sip.zip", sip_zip(ctx.world.tmp, record_id), "application/zip")},
            "headers": {"Idempotency-Key": record_id}}


def _batch(ctx: Ctx) -> dict:
    base = unique("Z109-WS-2025-MB")
    batch = write_batch(ctx.world.tmp / base, [SipSpec(record_id=f"{base}-{i}", files={"正文.pdf": pdf_bytes("批")})
                                               for i in (1, 2)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in sorted(batch.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(batch.parent).as_posix())
    return {"files": {"package": ("b.zip", buffer.getvalue(), "application/zip")}, "headers": {"Idempotency-Key": base}}


def _own_submission(ctx: Ctx) -> int:
    if ctx.can(P.SUBMIT):
        return ctx.client.post("/api/v1/submissions", **_sip(ctx)).json()["id"]
    return ctx.world.base_submission  # type: ignore[attr-defined]


def _transfer_record(world: World) -> str:
    """A sent transfer as ``lantai transfer export`` records it (no items: its register is anyone's to print)."""
    import json

    from lantai.packages.transfer.register import TransferRegister

    register = TransferRegister("X区人民政府办公室", "mx0transfer", "2026-01-05T10:00:00+08:00", year="2025")
    target = world.archive.home / "transfers" / "out"
    target.mkdir(parents=True, exist_ok=True)
    (target / "mx0transfer.json").write_text(json.dumps(
        {"transfer_id": "mx0transfer", "year": 2025, "fonds": None, "exported_at": register.transferred_at,
         "items": [], "bytes": 0, "register": register.to_dict()}, ensure_ascii=False), encoding="utf-8")
    return "mx0transfer"


def _rejected_submission(ctx: Ctx) -> int:
    if not ctx.can(P.SUBMIT):
        return ctx.world.base_submission  # type: ignore[attr-defined]
    xml = metadata_xml_for(unique("Z109-WS-2025-MR"))
    response = ctx.client.post("/api/v1/submissions", files=[("metadata", ("元数据.xml", xml, "application/xml"))],
                               headers={"Idempotency-Key": unique("rej")})
    assert response.json()["status"] == "rejected", response.text
    return response.json()["id"]


def _login(ctx: Ctx, web: bool) -> Response:
    client = ctx.anonymous()
    body = {"username": "mx-login", "password": PASSWORD}
    if not web:
        return client.post("/api/v1/auth/login", json=body)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post("/login", data=body | {"csrf_token": token}, follow_redirects=False)


def _logout(ctx: Ctx, path: str) -> Response:
    if ctx.via != "session":
        return ctx.client.post(path, follow_redirects=False)
    fresh = ctx.world.session_client(ctx.username)
    return fresh.post(path, headers={"X-CSRF-Token": fresh.csrf}, follow_redirects=False)


def _change_password(ctx: Ctx, web: bool) -> Response:
    """Change the password and put it back, so the account keeps working for the next route."""
    new = "Matrix#Changed2026"
    if web:
        response = ctx.client.post("/account/password", data={"old_password": PASSWORD, "new_password": new})
    else:
        response = ctx.client.put("/api/v1/me/password", json={"old_password": PASSWORD, "new_password": new})
    if response.status_code == 200:
        raw = ctx.client.cookies.get("lantai_session")
        users.change_own_password(ctx.world.archive, users.resolve_session(ctx.world.archive, raw), new, PASSWORD, raw)
    return response


def _reference_document(ctx: Ctx) -> dict:
    from lantai.domain.reference import dump_reference
    from lantai.services.arrange import current_reference

    data, version = current_reference(ctx.world.archive)
    return {"document": dump_reference(data), "note": "矩阵测试", "base_version": version}


def _other_retention(ctx: Ctx) -> str:
    """A 保管期限 the item has neither in its metadata nor in its arrangement, so the edit changes something."""
    from sqlalchemy import select

    from lantai.catalog.arrangement import Arrangement
    from lantai.catalog.models import Item
    from lantai.domain.retention import normalise_retention

    with ctx.world.archive.sessions() as session:
        held = {session.scalar(select(Item.retention).where(Item.record_id == ITEM)),
                session.scalar(select(Arrangement.retention).where(Arrangement.record_id == ITEM))}
    codes = {normalise_retention(v) for v in held if v}
    return next(code for code in ("Y", "D30", "D10") if code not in codes)


def _item_volume(ctx: Ctx) -> dict[str, str]:
    """The volume (保管期限 and 机构) the matrix item is arranged in, so printing it needs its clearance."""
    from sqlalchemy import select

    from lantai.catalog.arrangement import Arrangement

    with ctx.world.archive.sessions() as session:
        row = session.execute(select(Arrangement.retention, Arrangement.organisation)
                              .where(Arrangement.record_id == ITEM)).first()
    return {"retention": row.retention, "organisation": row.organisation} if row else {}


def _until() -> str:
    return (dt.date.today() + dt.timedelta(days=30)).isoformat()


def _archivist(ctx: Ctx) -> users.Principal:
    return users.resolve_token(ctx.world.archive, ctx.world.tokens["archivist"])


def _own_approved_request(ctx: Ctx) -> int:
    """The caller's own request, approved (so its 利用效果 can be recorded); a caller who may not ask
    gets an id that is not theirs, and its effect call is refused before the id matters."""
    made = ctx.client.post(f"{U}/requests", json={"items": [{"record_id": PUBLIC_ID}], "purpose": "编史修志",
                                                  "methods": ["在线阅览"], "until": _until()})
    if made.status_code != 201:
        return _request_to_decide(ctx)
    request_id = made.json()["id"]
    archive = ctx.world.archive
    decided = use.decide(archive, _archivist(ctx), request_id, True, "同意")
    if decided["status"] != "已批准":
        use.decide(archive, users.resolve_token(archive, ctx.world.tokens["secadmin"]), request_id, True, "同意")
    return request_id


def _request_to_decide(ctx: Ctx) -> int:
    """A request by another account at the step this caller takes: 档案管理员 first, 安全保密管理员 second."""
    reader = users.Principal(0, "mx-target", "矩阵目标", frozenset({Role.READER}), "公开")
    until = dt.date.today() + dt.timedelta(days=7)
    request = use.create_request(ctx.world.archive, reader, [use.Reference("record_id", ITEM)], "工作查考",
                                 ["在线阅览"], until)
    if not ctx.can(P.USE_APPROVE) and ctx.can(P.USE_SECURITY_APPROVE):
        use.decide(ctx.world.archive, _archivist(ctx), request["id"], True, "同意")
    return request["id"]


def _grant_to_revoke(ctx: Ctx) -> int:
    reader = users.Principal(0, "mx-target", "矩阵目标", frozenset({Role.READER}), "公开")
    request = use.create_request(ctx.world.archive, reader, [use.Reference("record_id", PUBLIC_ID)], "工作查考",
                                 ["在线阅览"], dt.date.today() + dt.timedelta(days=7))
    return use.decide(ctx.world.archive, _archivist(ctx), request["id"], True, "同意")["grant_id"]


USE_BODY = {"items": [{"record_id": ITEM}, "档号:Z109-WS-2025-无此件"], "purpose": "编史修志",
            "methods": ["在线阅览"]}


def _matrix_batch(ctx: Ctx) -> str:
    """A batch holding one item at ITEM's 密级 (made once): the batch-level check routes act on it."""
    world = ctx.world
    if not hasattr(world, "matrix_batch"):
        from lantai.services.ingest import ingest_paths

        spec = SipSpec("Z109-WS-2025-MXB001", title="关于矩阵批次的通知", security=ITEM_LEVEL,
                       document_number="X政办发〔2025〕MXB1号", files={"正文.pdf": pdf_bytes("矩阵批次")})
        report = ingest_paths(world.archive, [write_batch(world.tmp / unique("mx-batch"), [spec])])
        assert report.counts()["accepted"] == 1, report.to_dict()
        world.matrix_batch = report.batches[0]["batch_id"]  # type: ignore[attr-defined]
    return world.matrix_batch  # type: ignore[attr-defined]


def _item_run(ctx: Ctx) -> str:
    """A recorded bc check run over ITEM (made once)."""
    world = ctx.world
    if not hasattr(world, "item_run"):
        from lantai.services.item_checks import check_item

        world.item_run = check_item(world.archive, "cli", ITEM)["run_id"]  # type: ignore[attr-defined]
    return world.item_run  # type: ignore[attr-defined]


def _job_status(ctx: Ctx) -> Response:
    """Start a batch check as the caller, then poll it; a caller who could not start one asks for a job
    that does not exist (404 — the same as a job that is not theirs)."""
    started = ctx.client.post("/checks/run", data={"batch": _matrix_batch(ctx)})
    found = re.search(r"/checks/jobs/([0-9a-f]{32})", started.text) if started.status_code == 200 else None
    if started.status_code == 403:
        return started
    return ctx.client.get(f"/checks/jobs/{found.group(1) if found else '0' * 32}")


def _some_job(ctx: Ctx) -> Response:
    """A job the caller may see: its own reindex job (everyone may ask about their own jobs)."""
    from lantai.services import jobs

    job = jobs.submit(ctx.world.archive, "search.reindex", {}, actor=ctx.username)
    return ctx.client.get(f"/api/v1/jobs/{job['id']}")


def _campaign(ctx: Ctx, status: str, *, kind: str | None = None, committee: str = "", decision: str = "保持",
              register: bool = False) -> int:
    """A campaign in ``status`` over PUBLIC_ID, of a kind the caller may work on, proposed by someone else."""
    from lantai.catalog.appraisal import AppraisalApproval, AppraisalCampaign, AppraisalItem

    kind = kind or ("到期" if ctx.can(P.APPRAISE) or not ctx.can(P.ITEM_CLASSIFY) else "密级")
    archive = ctx.world.archive
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    with archive.session() as session:
        campaign = AppraisalCampaign(kind=kind, year=2025, fonds_code="", status=status, proposer="mx-proposer",
                                     committee=committee, note="", created_at=old, executed_by="mx-executor",
                                     executed_at=old if status == "已执行" else None, register_path="",
                                     register_sm3="", register_record_id="", destroyed_by="")
        session.add(campaign)
        session.flush()
        session.add(AppraisalItem(campaign_id=campaign.id, record_id=PUBLIC_ID, archival_code="", title="矩阵",
                                  document_number="", date="", retention="永久", security_classification="公开",
                                  fonds_code="Z109", year=2025, decision="" if status == "草稿" else decision,
                                  new_value="", reason="" if status == "草稿" else "矩阵测试", decided_by="",
                                  state="待鉴定" if status == "草稿" else "已鉴定", error=""))
        campaign_id = campaign.id
        if status in ("已批准", "已执行"):  # approved by a 鉴定小组 of two
            session.add_all(AppraisalApproval(campaign_id=campaign_id, round=1, approver=a, approve=True, comment="",
                                              at=old) for a in ("archivist", "secadmin"))
    if register:
        from lantai.services import destruction

        destruction.write_register(archive, campaign_id)
    return campaign_id


def _approval_campaign(ctx: Ctx) -> int:
    return _campaign(ctx, "待审批", committee=f"{ctx.username},secadmin")


def _hold(ctx: Ctx) -> int:
    from lantai.services import holds

    secadmin = users.resolve_token(ctx.world.archive, ctx.world.tokens["secadmin"])
    return holds.place_hold(ctx.world.archive, secadmin, "矩阵测试", record_id=PUBLIC_ID)["id"]


def _submit(ctx: Ctx, web: bool) -> Response:
    """Submit a decided draft to a committee of two approvers who are not the caller."""
    approvers = ["archivist", "secadmin"]  # callers are other accounts (mt-…, ms-…)
    campaign_id = _campaign(ctx, "草稿")
    if ctx.can(P.APPRAISE) or ctx.can(P.ITEM_CLASSIFY):
        from lantai.services import appraisal

        manager = users.resolve_token(ctx.world.archive, ctx.world.tokens[
            "archivist" if _open_kind(ctx) == "到期" else "secadmin"])
        appraisal.decide(ctx.world.archive, manager, campaign_id, [PUBLIC_ID], "保持", "矩阵测试")
    if web:
        return ctx.client.post(f"/appraisal/campaigns/{campaign_id}/submit", data={"approvers": ",".join(approvers)})
    return ctx.client.post(f"{U}/appraisals/{campaign_id}/submit", json={"approvers": approvers})


def _open_kind(ctx: Ctx) -> str:
    return "到期" if ctx.can(P.APPRAISE) or not ctx.can(P.ITEM_CLASSIFY) else "密级"


DECIDE = {"record_ids": [PUBLIC_ID], "decision": "保持", "reason": "矩阵测试"}
U = "/api/v1"
ROUTES: dict[tuple[str, str], Case] = {
    # Operations: health and readiness are public; metrics need system.metrics
    ("GET", "/healthz"): Case(lambda c: c.anonymous().get("/healthz")),
    ("GET", "/readyz"): Case(lambda c: c.anonymous().get("/readyz")),
    ("GET", "/metrics"): Case(lambda c: c.client.get("/metrics")),
    ("GET", f"{U}/jobs"): Case(lambda c: c.client.get(f"{U}/jobs")),
    ("GET", f"{U}/jobs/{{job_id}}"): Case(_some_job),
    # API: authentication and one's own account
    ("POST", f"{U}/auth/login"): Case(lambda c: _login(c, web=False)),
    ("POST", f"{U}/auth/logout"): Case(lambda c: _logout(c, f"{U}/auth/logout")),
    ("GET", f"{U}/me"): Case(lambda c: c.client.get(f"{U}/me")),
    ("PUT", f"{U}/me/password"): Case(lambda c: _change_password(c, web=False)),
    # API: accounts (系统管理员), roles, clearance, approval (安全保密管理员)
    ("GET", f"{U}/users"): Case(lambda c: c.client.get(f"{U}/users")),
    ("POST", f"{U}/users"): Case(lambda c: c.client.post(f"{U}/users", json={"username": unique("mx-new"),
                                                                             "password": PASSWORD})),
    ("GET", f"{U}/users/{{username}}"): Case(lambda c: c.client.get(f"{U}/users/mx-target")),
    ("PATCH", f"{U}/users/{{username}}"): Case(lambda c: c.client.patch(f"{U}/users/mx-target",
                                                                         json={"display_name": "矩阵目标"})),
    ("PUT", f"{U}/users/{{username}}/roles"): Case(lambda c: c.client.put(f"{U}/users/mx-target/roles",
                                                                           json={"roles": [Role.READER.value]})),
    ("POST", f"{U}/users/{{username}}/approve"): Case(lambda c: c.client.post(f"{U}/users/{_pending_user(c)}/approve")),
    ("POST", f"{U}/users/{{username}}/unlock"): Case(lambda c: c.client.post(f"{U}/users/mx-target/unlock")),
    ("PUT", f"{U}/users/{{username}}/password"): Case(lambda c: c.client.put(f"{U}/users/mx-target/password",
                                                                              json={"password": "Initial#Pass2026"})),
    ("PUT", f"{U}/users/{{username}}/clearance"): Case(lambda c: c.client.put(f"{U}/users/mx-target/clearance",
                                                                               json={"clearance": "公开"})),
    # API: tokens
    ("GET", f"{U}/tokens"): Case(lambda c: c.client.get(f"{U}/tokens")),
    ("POST", f"{U}/tokens"): Case(lambda c: c.client.post(f"{U}/tokens", json={
        "username": _token_owner(c), "name": "matrix", "days": 1, "scopes": ["read"]})),
    ("DELETE", f"{U}/tokens/{{token_id}}"): Case(lambda c: c.client.delete(f"{U}/tokens/{_token_to_revoke(c)}")),
    # API: items (the 秘密 item: hidden below 秘密)
    ("GET", f"{U}/items"): Case(lambda c: c.client.get(f"{U}/items")),
    ("GET", f"{U}/items/facets"): Case(lambda c: c.client.get(f"{U}/items/facets")),
    ("GET", f"{U}/items/{{record_id}}"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}"), item=True),
    ("GET", f"{U}/items/{{record_id}}/files"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/files"), item=True),
    ("GET", f"{U}/items/{{record_id}}/versions"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/versions"), item=True),
    ("GET", f"{U}/items/{{record_id}}/events"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/events"), item=True),
    ("GET", f"{U}/items/{{record_id}}/checks"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/checks"), item=True),
    ("POST", f"{U}/items/{{record_id}}/checks"): Case(lambda c: c.client.post(f"{U}/items/{ITEM}/checks"), item=True),
    ("GET", f"{U}/items/{{record_id}}/content"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/content", params=CONTENT),
                                                      item=True),
    ("GET", f"{U}/items/{{record_id}}/pages/{{page}}"): Case(
        lambda c: c.client.get(f"{U}/items/{ITEM}/pages/1", params=CONTENT), item=True),
    ("GET", f"{U}/items/{{record_id}}/package"): Case(lambda c: c.client.get(f"{U}/items/{ITEM}/package"), item=True),
    ("PUT", f"{U}/items/{{record_id}}/classification"): Case(lambda c: c.client.put(
        f"{U}/items/{ITEM}/classification", json={"level": ITEM_LEVEL, "reason": "密级复核，维持原密级"}), item=True),
    ("POST", f"{U}/items/{{record_id}}/corrections"): Case(lambda c: c.client.post(
        f"{U}/items/{ITEM}/corrections", json={"values": {"主送": f"更正主送{next(_n)}"},
                                                "reason": "核对原件后更正"}), item=True),
    ("GET", f"{U}/search"): Case(lambda c: c.client.get(f"{U}/search", params={"q": "通知"})),
    ("GET", f"{U}/search/export.csv"): Case(lambda c: c.client.get(f"{U}/search/export.csv", params={"q": "通知"})),
    # API: submissions
    ("POST", f"{U}/submissions"): Case(lambda c: c.client.post(f"{U}/submissions", **_sip(c))),
    ("POST", f"{U}/batches"): Case(lambda c: c.client.post(f"{U}/batches", **_batch(c))),
    ("GET", f"{U}/submissions"): Case(lambda c: c.client.get(f"{U}/submissions")),
    ("GET", f"{U}/submissions/{{submission_id}}"): Case(lambda c: c.client.get(f"{U}/submissions/{_own_submission(c)}")),
    ("POST", f"{U}/submissions/{{submission_id}}/recheck"): Case(
        lambda c: c.client.post(f"{U}/submissions/{_rejected_submission(c)}/recheck")),
    ("POST", f"{U}/submissions/{{submission_id}}/resubmit"): Case(
        lambda c: c.client.post(f"{U}/submissions/{_rejected_submission(c)}/resubmit", files=_sip(c)["files"])),
    # API: export, audit, statistics, reference data
    ("GET", f"{U}/export/catalogue.csv"): Case(lambda c: c.client.get(f"{U}/export/catalogue.csv")),
    ("GET", f"{U}/audit"): Case(lambda c: c.client.get(f"{U}/audit")),
    ("GET", f"{U}/audit/verify"): Case(lambda c: c.client.get(f"{U}/audit/verify")),
    ("GET", f"{U}/audit/export"): Case(lambda c: c.client.get(f"{U}/audit/export")),
    ("GET", f"{U}/statistics"): Case(lambda c: c.client.get(f"{U}/statistics")),
    ("GET", f"{U}/statistics/annual"): Case(lambda c: c.client.get(f"{U}/statistics/annual", params={"year": 2026})),
    ("GET", f"{U}/reference"): Case(lambda c: c.client.get(f"{U}/reference")),
    ("PUT", f"{U}/reference"): Case(lambda c: c.client.put(f"{U}/reference", json=_reference_document(c))),
    ("GET", "/api/docs"): Case(lambda c: c.anonymous().get("/api/docs")),
    # API: 利用 (requests never reveal whether the item exists, so they are not item cases)
    ("POST", f"{U}/requests"): Case(lambda c: c.client.post(f"{U}/requests", json=USE_BODY | {"until": _until()})),
    ("GET", f"{U}/requests"): Case(lambda c: c.client.get(f"{U}/requests")),
    ("POST", f"{U}/requests/{{request_id}}/decision"): Case(lambda c: c.client.post(
        f"{U}/requests/{_request_to_decide(c)}/decision", json={"approve": False, "reason": "矩阵测试驳回"})),
    ("POST", f"{U}/requests/{{request_id}}/effect"): Case(lambda c: c.client.post(
        f"{U}/requests/{_own_approved_request(c)}/effect", json={"effect": "解决问题"})),
    ("GET", f"{U}/grants"): Case(lambda c: c.client.get(f"{U}/grants")),
    ("DELETE", f"{U}/grants/{{grant_id}}"): Case(lambda c: c.client.delete(f"{U}/grants/{_grant_to_revoke(c)}")),
    ("GET", f"{U}/use/register"): Case(lambda c: c.client.get(f"{U}/use/register", params={"year": 2026})),
    # API: 鉴定与处置
    ("GET", f"{U}/appraisals"): Case(lambda c: c.client.get(f"{U}/appraisals")),
    ("POST", f"{U}/appraisals"): Case(lambda c: c.client.post(f"{U}/appraisals", json={"type": _open_kind(c),
                                                                                        "year": 2025})),
    ("GET", f"{U}/appraisals/due"): Case(lambda c: c.client.get(f"{U}/appraisals/due", params={"year": 2040})),
    ("GET", f"{U}/appraisals/{{campaign_id}}"): Case(lambda c: c.client.get(
        f"{U}/appraisals/{_campaign(c, '草稿', kind='到期')}")),
    ("POST", f"{U}/appraisals/{{campaign_id}}/decisions"): Case(lambda c: c.client.post(
        f"{U}/appraisals/{_campaign(c, '草稿')}/decisions", json=DECIDE)),
    ("POST", f"{U}/appraisals/{{campaign_id}}/submit"): Case(lambda c: _submit(c, web=False)),
    ("POST", f"{U}/appraisals/{{campaign_id}}/approval"): Case(lambda c: c.client.post(
        f"{U}/appraisals/{_approval_campaign(c)}/approval", json={"approve": True, "comment": "同意"})),
    ("POST", f"{U}/appraisals/{{campaign_id}}/execute"): Case(lambda c: c.client.post(
        f"{U}/appraisals/{_campaign(c, '已批准')}/execute")),
    ("POST", f"{U}/appraisals/{{campaign_id}}/destroy"): Case(lambda c: c.client.post(
        f"{U}/appraisals/{_campaign(c, '已执行', kind='到期', register=True)}/destroy")),
    ("GET", f"{U}/appraisals/{{campaign_id}}/register"): Case(lambda c: c.client.get(
        f"{U}/appraisals/{_campaign(c, '已执行', kind='到期', register=True)}/register")),
    ("GET", f"{U}/holds"): Case(lambda c: c.client.get(f"{U}/holds")),
    ("POST", f"{U}/holds"): Case(lambda c: c.client.post(f"{U}/holds", json={"record_id": PUBLIC_ID,
                                                                              "reason": "矩阵测试"})),
    ("POST", f"{U}/holds/{{hold_id}}/lift"): Case(lambda c: c.client.post(f"{U}/holds/{_hold(c)}/lift",
                                                                          json={"reason": "矩阵测试"})),
    # Web: 鉴定, 销毁
    ("GET", "/appraisal"): Case(lambda c: c.client.get("/appraisal")),
    ("POST", "/appraisal/campaigns"): Case(lambda c: c.client.post("/appraisal/campaigns", data={
        "kind": _open_kind(c), "year": "2025"})),
    ("GET", "/appraisal/campaigns/{campaign_id}"): Case(lambda c: c.client.get(
        f"/appraisal/campaigns/{_campaign(c, '草稿', kind='到期')}")),
    ("POST", "/appraisal/campaigns/{campaign_id}/decisions"): Case(lambda c: c.client.post(
        f"/appraisal/campaigns/{_campaign(c, '草稿')}/decisions", data=DECIDE)),
    ("POST", "/appraisal/campaigns/{campaign_id}/submit"): Case(lambda c: _submit(c, web=True)),
    ("POST", "/appraisal/campaigns/{campaign_id}/approval"): Case(lambda c: c.client.post(
        f"/appraisal/campaigns/{_approval_campaign(c)}/approval", data={"approve": "1", "comment": "同意"})),
    ("POST", "/appraisal/campaigns/{campaign_id}/execute"): Case(lambda c: c.client.post(
        f"/appraisal/campaigns/{_campaign(c, '已批准')}/execute")),
    ("GET", "/appraisal/campaigns/{campaign_id}/register"): Case(lambda c: c.client.get(
        f"/appraisal/campaigns/{_campaign(c, '已执行', kind='到期', register=True)}/register")),
    ("GET", "/destruction"): Case(lambda c: c.client.get("/destruction")),
    ("POST", "/destruction/campaigns/{campaign_id}"): Case(lambda c: c.client.post(
        f"/destruction/campaigns/{_campaign(c, '已执行', kind='到期', register=True)}")),
    ("POST", "/destruction/holds"): Case(lambda c: c.client.post("/destruction/holds", data={
        "record_id": PUBLIC_ID, "reason": "矩阵测试"})),
    ("POST", "/destruction/holds/{hold_id}/lift"): Case(lambda c: c.client.post(
        f"/destruction/holds/{_hold(c)}/lift", data={"reason": "矩阵测试"})),
    # Web: login and one's own account
    ("GET", "/"): Case(lambda c: c.client.get("/", follow_redirects=False)),
    ("GET", "/login"): Case(lambda c: c.anonymous().get("/login")),
    ("POST", "/login"): Case(lambda c: _login(c, web=True)),
    ("POST", "/logout"): Case(lambda c: _logout(c, "/logout")),
    ("GET", "/account"): Case(lambda c: c.client.get("/account")),
    ("POST", "/account/password"): Case(lambda c: _change_password(c, web=True)),
    # Web: 收集, 整理, 档案库, 检索, 统计, 审计
    ("GET", "/collect"): Case(lambda c: c.client.get("/collect")),
    ("POST", "/collect/upload"): Case(lambda c: c.client.post("/collect/upload", files=_sip(c)["files"],
                                                              follow_redirects=False)),
    ("POST", "/collect/{submission_id}/recheck"): Case(lambda c: c.client.post(f"/collect/{_rejected_submission(c)}/recheck")),
    ("GET", "/collect/{submission_id}"): Case(lambda c: c.client.get(f"/collect/{_own_submission(c)}")),
    ("POST", "/collect/{submission_id}/resubmit"): Case(lambda c: c.client.post(
        f"/collect/{_rejected_submission(c)}/resubmit", files=_sip(c)["files"], follow_redirects=False)),
    ("GET", "/arrange"): Case(lambda c: c.client.get("/arrange")),
    ("GET", "/arrange/{fonds}/{year}"): Case(lambda c: c.client.get("/arrange/Z109/2025")),
    ("POST", "/arrange/{fonds}/{year}/summary"): Case(lambda c: c.client.post("/arrange/Z109/2025/summary",
                                                                              data={"whole": "1"})),
    ("POST", "/arrange/{fonds}/{year}/confirm"): Case(lambda c: c.client.post("/arrange/Z109/2025/confirm",
                                                                              data={"whole": "1"})),
    ("GET", "/arrange/{fonds}/{year}/print/{document}.{kind}"): Case(
        lambda c: c.client.get("/arrange/Z109/2025/print/catalogue.xlsx", params=_item_volume(c)), item=True),
    ("POST", "/arrange/{fonds}/{year}/file"): Case(lambda c: c.client.post("/arrange/Z109/2025/file")),
    ("POST", "/arrange/items/{record_id}/edit"): Case(lambda c: c.client.post(
        f"/arrange/items/{ITEM}/edit", data={"retention": _other_retention(c), "reason": "矩阵测试"},
        follow_redirects=False), item=True),
    ("GET", "/library"): Case(lambda c: c.client.get("/library")),
    ("GET", "/items/{record_id}"): Case(lambda c: c.client.get(f"/items/{ITEM}"), item=True),
    ("GET", "/items/{record_id}/view"): Case(lambda c: c.client.get(f"/items/{ITEM}/view", params=CONTENT), item=True),
    ("GET", "/items/{record_id}/download"): Case(lambda c: c.client.get(f"/items/{ITEM}/download", params=CONTENT),
                                                 item=True),
    ("GET", "/items/{record_id}/print"): Case(lambda c: c.client.get(f"/items/{ITEM}/print", params=CONTENT),
                                              item=True),
    ("GET", "/items/{record_id}/reader"): Case(lambda c: c.client.get(f"/items/{ITEM}/reader", params=CONTENT),
                                               item=True),
    ("GET", "/items/{record_id}/pages/{page}.png"): Case(lambda c: c.client.get(f"/items/{ITEM}/pages/1.png",
                                                                                params=CONTENT), item=True),
    ("POST", "/items/{record_id}/checks"): Case(lambda c: c.client.post(f"/items/{ITEM}/checks"), item=True),
    # Web: 检测 (DA/T 70 checks of archived items and the 四性检测报告)
    ("GET", "/checks"): Case(lambda c: c.client.get("/checks")),
    ("POST", "/checks/run"): Case(lambda c: c.client.post("/checks/run", data={"batch": _matrix_batch(c)}), item=True),
    ("GET", "/checks/jobs/{job_id}"): Case(_job_status, item=True),
    ("GET", "/checks/{run_id}/report.{kind}"): Case(lambda c: c.client.get(f"/checks/{_item_run(c)}/report.xlsx"),
                                                     item=True),
    ("GET", "/items/{record_id}/ingest-report.{kind}"): Case(lambda c: c.client.get(f"/items/{ITEM}/ingest-report.xlsx"),
                                                             item=True),
    ("GET", "/batches/{batch_id}/ingest-report.{kind}"): Case(
        lambda c: c.client.get(f"/batches/{_matrix_batch(c)}/ingest-report.xlsx"), item=True),
    ("GET", "/checks/confirm/{scope}/{scope_id}"): Case(lambda c: c.client.get(f"/checks/confirm/item/{ITEM}"),
                                                          item=True),
    ("POST", "/checks/confirm/{scope}/{scope_id}"): Case(lambda c: c.client.post(
        f"/checks/confirm/item/{ITEM}", data={"code": "4-2", "verdict": "conforms", "note": "矩阵"}), item=True),
    ("POST", f"{U}/checks/verdicts"): Case(lambda c: c.client.post(f"{U}/checks/verdicts", json={
        "scope": "item", "scope_id": ITEM, "code": "4-2", "verdict": "符合"}), item=True),
    ("POST", "/items/{record_id}/classification"): Case(lambda c: c.client.post(
        f"/items/{ITEM}/classification", data={"level": ITEM_LEVEL, "reason": "密级复核，维持原密级"}), item=True),
    ("GET", "/search"): Case(lambda c: c.client.get("/search", params={"q": "通知"})),
    ("GET", "/search/export.csv"): Case(lambda c: c.client.get("/search/export.csv", params={"q": "通知"})),
    ("GET", "/statistics"): Case(lambda c: c.client.get("/statistics")),
    ("GET", "/statistics/export.xlsx"): Case(lambda c: c.client.get("/statistics/export.xlsx",
                                                                    params={"date_from": "2025-01-01"})),
    ("GET", "/statistics/annual"): Case(lambda c: c.client.get("/statistics/annual", params={"year": 2026})),
    ("GET", "/statistics/annual.{kind}"): Case(lambda c: c.client.get("/statistics/annual.xlsx", params={"year": 2026})),
    ("GET", "/transfers"): Case(lambda c: c.client.get("/transfers")),
    ("GET", "/transfers/{direction}/{transfer_id}/register.{kind}"): Case(
        lambda c: c.client.get(f"/transfers/out/{c.world.transfer_id}/register.xlsx")),
    # Web: background jobs (one's own for everyone, everyone's with job.read_all)
    ("GET", "/jobs"): Case(lambda c: c.client.get("/jobs")),
    ("GET", "/preservation"): Case(lambda c: c.client.get("/preservation")),
    ("GET", "/audit"): Case(lambda c: c.client.get("/audit")),
    ("GET", "/audit/export"): Case(lambda c: c.client.get("/audit/export")),
    ("GET", "/audit/export.{kind}"): Case(lambda c: c.client.get("/audit/export.xlsx", params={"action": "login.success"})),
    # Web: 利用, 审批, 开放档案
    ("GET", "/use"): Case(lambda c: c.client.get("/use", params={"items": [ITEM]})),
    ("POST", "/use/requests"): Case(lambda c: c.client.post("/use/requests", data={
        "items": f"{ITEM}\n档号:Z109-WS-2025-无此件", "purpose": "学术研究", "methods": ["在线阅览"], "until": _until()})),
    ("POST", "/use/requests/{request_id}/effect"): Case(lambda c: c.client.post(
        f"/use/requests/{_own_approved_request(c)}/effect", data={"effect": "解决问题"})),
    ("GET", "/approvals"): Case(lambda c: c.client.get("/approvals")),
    ("POST", "/approvals/{request_id}/decision"): Case(lambda c: c.client.post(
        f"/approvals/{_request_to_decide(c)}/decision", data={"approve": "0", "reason": "矩阵测试驳回"})),
    ("POST", "/approvals/grants/{grant_id}/revoke"): Case(lambda c: c.client.post(
        f"/approvals/grants/{_grant_to_revoke(c)}/revoke", data={"reason": "矩阵测试"})),
    ("GET", "/approvals/register"): Case(lambda c: c.client.get("/approvals/register", params={"year": 2026})),
    ("GET", "/open"): Case(lambda c: c.anonymous().get("/open", follow_redirects=False)),
    # Web: 系统管理
    ("GET", "/admin"): Case(lambda c: c.client.get("/admin")),
    ("POST", "/admin/users"): Case(lambda c: c.client.post("/admin/users", data={"username": unique("mx-web"),
                                                                                 "password": PASSWORD})),
    ("POST", "/admin/users/{username}/roles"): Case(lambda c: c.client.post("/admin/users/mx-target/roles",
                                                                            data={"roles": [Role.READER.value]})),
    ("POST", "/admin/users/{username}/approve"): Case(lambda c: c.client.post(f"/admin/users/{_pending_user(c)}/approve")),
    ("POST", "/admin/users/{username}/active"): Case(lambda c: c.client.post("/admin/users/mx-target/active",
                                                                             data={"active": "1"})),
    ("POST", "/admin/users/{username}/unlock"): Case(lambda c: c.client.post("/admin/users/mx-target/unlock")),
    ("POST", "/admin/users/{username}/password"): Case(lambda c: c.client.post("/admin/users/mx-target/password",
                                                                               data={"password": "Initial#Pass2026"})),
    ("POST", "/admin/users/{username}/clearance"): Case(lambda c: c.client.post("/admin/users/mx-target/clearance",
                                                                                data={"clearance": "公开"})),
    ("POST", "/admin/tokens"): Case(lambda c: c.client.post("/admin/tokens", data={
        "username": _token_owner(c) or "", "name": "matrix", "days": "1", "scopes": ["read"]})),
    ("POST", "/admin/tokens/{token_id}/revoke"): Case(lambda c: c.client.post(f"/admin/tokens/{_token_to_revoke(c)}/revoke")),
    ("GET", "/admin/reference"): Case(lambda c: c.client.get("/admin/reference")),
    ("POST", "/admin/reference"): Case(lambda c: c.client.post("/admin/reference", data=_reference_document(c))),
}


def declared_actions(route: APIRoute) -> tuple[Permission, ...]:
    """The actions a route declares through ``Allowed(…)`` (searched through nested dependencies)."""
    found: list[Permission] = []
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        found.extend(getattr(dependency.call, "lantai_permissions", ()))
        stack.extend(dependency.dependencies)
    return tuple(found)


def app_routes(world: World) -> dict[tuple[str, str], tuple[Permission, ...]]:
    routes: dict[tuple[str, str], tuple[Permission, ...]] = {}
    for context in iter_route_contexts(world.app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for method in route.methods:
                routes[(method, context.path)] = declared_actions(route)
        elif getattr(route, "methods", None):
            for method in route.methods:
                routes[(method, route.path)] = ()
    return routes


def test_every_route_is_declared_and_exercised(world: World) -> None:
    routes = app_routes(world)
    undeclared = sorted(k for k, actions in routes.items() if not actions and k not in FRAMEWORK_ROUTES)
    assert not undeclared, f"routes without an Allowed(...) action: {undeclared}"
    unlisted = sorted(set(routes) - set(ROUTES) - FRAMEWORK_ROUTES)
    assert not unlisted, f"routes the matrix does not call: {unlisted}"
    assert not sorted(set(ROUTES) - set(routes)), "the matrix calls routes that no longer exist"


def test_every_permission_is_used_by_some_route(world: World) -> None:
    used = {p for actions in app_routes(world).values() for p in actions}
    assert used == set(Permission)


CALLERS = [("token", role, level) for role in Role for level in CLEARANCE_LEVELS] + \
          [("session", role, ITEM_LEVEL) for role in Role]


@pytest.fixture(scope="module")
def matrix_world(world: World) -> World:
    """Targets the routes act on: an ordinary account, an approved service account, a login account."""
    archive = world.archive
    for name in ("mx-target", "mx-login"):
        users.create_user(archive, "cli", name, PASSWORD, roles=[Role.READER.value], bootstrap=True)
    users.create_user(archive, "cli", "mx-service", None, roles=[Role.CLERK.value], service=True, bootstrap=True)
    users.approve_account(archive, "cli", "mx-service")
    clerk = world.client("clerk")
    world.transfer_id = _transfer_record(world)  # type: ignore[attr-defined]
    world.base_submission = clerk.post(  # type: ignore[attr-defined]
        f"{U}/submissions", files={"package": ("s.zip", sip_zip(world.tmp, "Z109-WS-2025-MX0000"), "application/zip")},
        headers={"Idempotency-Key": "matrix-base"}).json()["id"]
    return world


def _caller(world: World, via: str, role: Role, clearance: str) -> Ctx:
    name = f"m{'t' if via == 'token' else 's'}-{list(Role).index(role)}-{CLEARANCE_LEVELS.index(clearance)}"
    token = make_account(world.archive, name, [role.value], clearance)
    if via == "token":
        client = world.client()
        client.headers["Authorization"] = f"Bearer {token}"
        scopes: frozenset[str] | None = frozenset(SCOPES)
    else:
        client = world.session_client(name)
        client.headers["X-CSRF-Token"] = client.csrf  # type: ignore[attr-defined]
        scopes = None
    client.follow_redirects = False
    return Ctx(world, name, clearance, via, client, permissions_of({role}, scopes))


def expected(ctx: Ctx, case: Case, actions: tuple[Permission, ...]) -> str:
    if P.PUBLIC in actions:
        return "ok"
    if not any(ctx.can(p) for p in actions):
        return "denied"
    if case.item and not may_see(ctx.clearance, ITEM_LEVEL):
        return "hidden"
    return "ok"


def _matches(outcome: str, response: Response) -> bool:
    status = response.status_code
    return {"ok": 200 <= status < 400, "denied": status == 403, "hidden": status == 404}[outcome]


@pytest.mark.parametrize(("via", "role", "clearance"), CALLERS, ids=[f"{v}-{r.name}-{c}" for v, r, c in CALLERS])
def test_role_action_clearance_matrix(matrix_world: World, via: str, role: Role, clearance: str) -> None:
    ctx = _caller(matrix_world, via, role, clearance)
    routes = app_routes(matrix_world)
    failures = []
    for key, case in ROUTES.items():
        outcome = expected(ctx, case, routes[key])
        response = case.call(ctx)
        if not _matches(outcome, response):
            failures.append((key, outcome, response.status_code, response.text[:160]))
    assert not failures, "\n".join(map(str, failures))


def test_anonymous_callers_reach_only_public_routes(matrix_world: World) -> None:
    """Without a session or token: 401 from the API and /metrics, a redirect to the login page from the web."""
    client = TestClient(matrix_world.app, raise_server_exceptions=False, follow_redirects=False)
    ctx = Ctx(matrix_world, "mx-login", "公开", "anonymous", client)
    routes = app_routes(matrix_world)
    failures = []
    for key, case in ROUTES.items():
        response = case.call(ctx)
        if P.PUBLIC in routes[key]:
            ok = response.status_code < 400
        elif key[1].startswith(MACHINE_PATHS):  # the API and /metrics answer machines: JSON 401
            ok = response.status_code == 401
        else:
            ok = response.status_code == 303 and response.headers["location"].startswith("/login")
        if not ok:
            failures.append((key, response.status_code, response.text[:120]))
    assert not failures, "\n".join(map(str, failures))


def test_three_administrators_are_separate(world: World) -> None:
    admin = world.client("sysadmin")
    response = admin.post(f"{U}/users", json={"username": "both-admins", "password": "Separate#Duty2025",
                                              "roles": [Role.SYSADMIN.value, Role.AUDITOR.value]})
    assert response.status_code == 400
    assert "三员分立" in response.json()["message"]
