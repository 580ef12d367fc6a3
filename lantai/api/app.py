"""The one application object: REST API under /api/v1, OpenAPI at /api/docs, web UI at /.

``create_app(archive)`` is what ``lantai serve``, the tests and the benchmarks all use.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from lantai import __version__
from lantai.api import errors
from lantai.api.routers import (
    appraisal,
    audit,
    auth,
    checks,
    export,
    items,
    jobs,
    reference,
    search,
    statistics,
    submissions,
    tokens,
    use,
    users,
)
from lantai.api.routers import ops as ops_router
from lantai.domain.permissions import Permission
from lantai.http.deps import declared
from lantai.services import ops
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
    for module in (auth, users, tokens, items, search, submissions, export, audit, statistics, reference, use, jobs,
                   checks, appraisal):
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(ops_router.router)
    app.mount("/static", CachedStatic(directory=STATIC_DIR), name="static")

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
    app.middleware("http")(request_metrics)
    return app


def app_from_environment() -> FastAPI:
    """The application of one ``lantai serve --workers N`` process (settings from LANTAI_*)."""
    from lantai.services.archive import open_archive

    archive = open_archive()
    app = create_app(archive)
    app.router.on_shutdown.append(archive.close)
    return app


def _route_paths(app: FastAPI) -> dict[int, str]:
    """Each route's full path template (prefix included), computed once per application."""
    paths = getattr(app.state, "route_paths", None)
    if paths is None:
        from fastapi.routing import iter_route_contexts

        paths = {id(context.original_route): context.path for context in iter_route_contexts(app.routes)}
        app.state.route_paths = paths
    return paths


class CachedStatic(StaticFiles):
    """Static assets with cache headers: a day, then revalidated by ETag (the file names carry no
    hash, so an upgrade is picked up within a day, or at once by a proxy that honours ETags)."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=86400"
        return response


async def request_metrics(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Count and time every request by its route template (never the raw path: ids would explode the labels)."""
    start = time.perf_counter()
    status = 500
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        route = request.scope.get("route")
        if route is not None:  # an included router's route knows only its own part of the path
            template = _route_paths(request.app).get(id(route)) or getattr(route, "path", "other")
        else:
            template = "/static" if request.url.path.startswith("/static/") else "other"
        ops.observe_request(request.method, template, status, time.perf_counter() - start)


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if request.url.path != "/api/docs":
        response.headers.setdefault("Content-Security-Policy", CSP)
    return response
