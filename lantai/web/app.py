"""Templates, navigation and the HTML side of errors; ``install_web`` mounts every page router.

Pages use the same ``CurrentUser``/``Allowed`` dependencies as the API, so a role is refused on
the route itself, not merely hidden in the menu. Forms carry the session's CSRF token; htmx
requests send it as ``X-CSRF-Token`` (see ``base.html``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lantai.domain import labels
from lantai.domain.archival_code import describe_template
from lantai.domain.clock import beijing_text
from lantai.domain.retention import retention_label
from lantai.domain.roles import Permission
from lantai.domain.units import human_bytes
from lantai.services.users import Principal

TEMPLATES_DIR = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

P = Permission
ADMIN_PAGE = (P.USER_LIST, P.ACCOUNT_APPROVE, P.TOKEN_MANAGE)
NAV: tuple[tuple[str, str, tuple[Permission, ...]], ...] = (
    ("收集", "/collect", (P.SUBMIT, P.SUBMISSION_ALL)),
    ("整理", "/arrange", (P.ARRANGE,)),
    ("档案库", "/library", (P.ITEM_READ,)),
    ("检测", "/checks", (P.CHECK_RUN,)),
    ("检索", "/search", (P.ITEM_READ,)),
    ("利用", "/use", (P.USE_REQUEST,)),
    ("审批", "/approvals", (P.USE_APPROVE, P.USE_SECURITY_APPROVE)),
    ("鉴定", "/appraisal", (P.APPRAISE, P.ITEM_CLASSIFY, P.APPRAISE_APPROVE)),
    ("销毁", "/destruction", (P.DESTROY, P.HOLD)),
    ("统计", "/statistics", (P.STATISTICS,)),
    ("移交", "/transfers", (P.EXPORT,)),
    ("保存", "/preservation", (P.PRESERVATION_READ,)),
    ("审计", "/audit", (P.AUDIT_READ,)),
    ("作业", "/jobs", (P.JOB_READ, P.SUBMIT, P.CHECK_RUN)),
    ("系统管理", "/admin", ADMIN_PAGE),
)


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    return [(label, url) for label, url, perms in NAV if any(principal.can(p) for p in perms)]


def home_for(principal: Principal) -> str:
    urls = [url for _l, url in nav_for(principal)]
    preferred = [url for url in ("/library", "/collect", "/audit", "/admin") if url in urls]
    return (preferred or urls or ["/account"])[0]


STATUS_TEXT = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "未找到", 409: "与现有数据冲突",
               413: "内容过大", 422: "填写有误", 429: "请求过于频繁", 500: "系统内部错误", 503: "服务暂不可用"}


templates.env.filters["bytes"] = human_bytes
templates.env.filters["rule_template"] = describe_template
templates.env.filters["audit_action"] = labels.audit_action
templates.env.filters["details"] = labels.readable_details
templates.env.filters["target"] = labels.target_label
templates.env.filters["check_code"] = labels.check_code
templates.env.filters["finding"] = labels.finding_message
templates.env.filters["finding_code"] = labels.finding_code
templates.env.filters["scope"] = labels.scope_label
templates.env.filters["version_note"] = labels.version_note
templates.env.filters["basis"] = labels.retention_basis
templates.env.globals["status_label"] = lambda status: STATUS_TEXT.get(int(status), "出错")
templates.env.filters["localtime"] = beijing_text
templates.env.filters["urlq"] = lambda v: quote(str(v), safe="")
STATUS_LABELS = labels.SUBMISSION_STATUS
templates.env.globals["STATUS_LABELS"] = STATUS_LABELS
templates.env.globals["P_USE_REQUEST"] = P.USE_REQUEST
templates.env.globals["P_EXPORT"] = P.EXPORT
templates.env.filters["retention_label"] = retention_label


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    data = {"request": request, "me": principal, "nav": nav_for(principal),
            "csrf": principal.csrf_token if principal is not None else "", "path": request.url.path}
    data.update(context or {})
    return templates.TemplateResponse(request, name, data, status_code=status_code)


def html_error(request: Request, status: int, error: dict[str, Any]) -> Response:
    """An error as a page, with the API's status and error object (code, message, message_en).

    htmx requests get the panel alone (``base.html`` lets htmx swap 4xx/5xx answers in), so an error
    shows where the result would have; 401 sends the browser to the login form instead, and an
    account that must change its password to the account page.
    """
    if error["code"] == "password_change_required":
        if request.headers.get("HX-Request"):
            return Response(status_code=403, headers={"HX-Redirect": "/account"})
        return RedirectResponse("/account", status_code=303)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": f"/login?next={quote(target, safe='')}"})
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    template = "_error.html" if request.headers.get("HX-Request") else "error.html"
    return render(request, template, {"status": status, "error": error}, status_code=status)


def install_web(app: FastAPI) -> Any:
    from lantai.web import (
        admin,
        appraisal,
        arrange,
        audit,
        auth,
        checks,
        collect,
        jobs,
        library,
        preservation,
        reference,
        search,
        stats,
        transfers,
        use,
    )

    for module in (auth, collect, arrange, library, checks, search, stats, audit, admin, reference, use, jobs,
                   preservation, appraisal, transfers):
        app.include_router(module.router, include_in_schema=False)
    return html_error
