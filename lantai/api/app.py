"""The one application object: REST API under /api/v1, OpenAPI at /api/docs, web UI at /.

``create_app(archive)`` is what ``lantai serve``, the tests and the benchmarks all use.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from lantai import __version__
from lantai.api import errors
from lantai.api.deps import declared
from lantai.api.routers import (
    appraisal,
    audit,
    auth,
    export,
    items,
    reference,
    search,
    statistics,
    submissions,
    tokens,
    use,
    users,
)
from lantai.domain.permissions import Permission
from lantai.services.archive import Archive

STATIC_DIR = Path(__file__).resolve().parents[1] / "web" / "static"
API_PREFIX = "/api/v1"
CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "frame-ancestors 'self'; form-action 'self'; base-uri 'none'")

DESCRIPTION = """兰台电子档案管理系统接口。

* 系统（如 OA）使用 `Authorization: Bearer <令牌>`；人员使用登录会话 Cookie，非 GET 请求须带 `X-CSRF-Token`。
* 错误统一为 `{"code", "message"（中文）, "details"}`。
* 高于调用者密级权限的条目在所有列表、计数、检索、导出中都不存在，其地址返回 404。
"""


def create_app(archive: Archive, *, with_web: bool = True) -> FastAPI:
    app = FastAPI(title="兰台 Lantai API", version=__version__, description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url="/api/openapi.json")
    app.state.archive = archive
    for module in (auth, users, tokens, items, search, submissions, export, audit, statistics, reference, use,
                   appraisal):
        app.include_router(module.router, prefix=API_PREFIX)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/api/docs", include_in_schema=False, dependencies=[declared(Permission.PUBLIC)])
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="兰台 API",
                                   swagger_js_url="/static/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/static/swagger/swagger-ui.css", swagger_favicon_url="")

    renderer = None
    if with_web:
        from lantai.web.app import install_web

        renderer = install_web(app)
    errors.install(app, html_renderer=renderer)
    app.middleware("http")(security_headers)
    return app


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.url.path != "/api/docs":
        response.headers.setdefault("Content-Security-Policy", CSP)
    return response
