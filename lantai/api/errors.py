"""One JSON error shape for the whole API: :func:`lantai.errors.error_body` (code, message, message_en, details).

Every ``LantaiError`` answers with the status its class declares in :mod:`lantai.errors`; request
validation is 422; an unknown route is 404; anything unexpected is a 500 with no internals
leaked. Web pages get the same error object rendered as HTML by :mod:`lantai.web.app`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lantai import errors
from lantai.http.denials import journal_denial

log = logging.getLogger("lantai.api")

HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "bad request"), 401: ("请先登录", "authentication required"),
    403: ("无权访问", "forbidden"), 404: ("资源不存在", "not found"),
    405: ("不支持该请求方法", "method not allowed"), 406: ("不支持的响应格式", "not acceptable"),
    409: ("请求冲突", "conflict"), 413: ("请求内容过大", "request too large"),
    415: ("不支持的内容类型", "unsupported media type"), 422: ("请求参数无效", "invalid request parameters"),
    429: ("请求过于频繁", "too many requests"), 500: ("服务器内部错误", "internal server error"),
    503: ("服务暂不可用", "service unavailable"),
}
INTERNAL = ("服务器内部错误，已记录", "internal server error (logged)")

# (request, status, error body) -> an HTML response; set by lantai.web for pages outside /api/.
HtmlRenderer = Callable[[Request, int, dict[str, Any]], Response]


def status_of(exc: errors.LantaiError) -> int:
    """The HTTP status of an error: declared on its class in :mod:`lantai.errors`."""
    return exc.http_status


def http_body(status: int, details: Any = None) -> dict[str, Any]:
    """The error body for an HTTP-level failure that is not a ``LantaiError`` (unknown route, 405 …)."""
    zh, en = HTTP_MESSAGES.get(status, ("请求失败", "request failed"))
    return errors.error_body(f"http_{status}", zh, en, details)


def validation_body(exc: RequestValidationError) -> dict[str, Any]:
    details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", ""), "msg": str(e.get("msg", ""))}
               for e in exc.errors()]
    zh, en = HTTP_MESSAGES[422]
    return errors.error_body("bad_input", zh, en, {"errors": details})


def _headers(status: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="lantai"'} if status == 401 else {}


def lantai_error_response(exc: errors.LantaiError) -> JSONResponse:
    status = status_of(exc)
    return JSONResponse(exc.to_dict(), status_code=status, headers=_headers(status))


def validation_response(exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(validation_body(exc), status_code=422)


def http_error_response(exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    return JSONResponse(http_body(status), status_code=status, headers={**(exc.headers or {}), **_headers(status)})


def internal_error_response(exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(errors.error_body("internal", *INTERNAL), status_code=500)


# Paths for programs (the REST API, Prometheus and load balancers): errors as JSON, never a login page.
MACHINE_PATHS = ("/api/", "/metrics", "/healthz", "/readyz")


def install(app: FastAPI, *, html_renderer: HtmlRenderer | None = None) -> None:
    """Register the handlers; ``html_renderer(request, status, body)`` serves web pages."""

    def wants_html(request: Request) -> bool:
        return html_renderer is not None and not request.url.path.startswith(MACHINE_PATHS)

    async def on_lantai(request: Request, exc: errors.LantaiError) -> Response:
        await journal_denial(request, status_of(exc), exc)
        if html_renderer is not None and wants_html(request):
            return html_renderer(request, status_of(exc), exc.to_dict())
        return lantai_error_response(exc)

    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        if html_renderer is not None and wants_html(request):
            return html_renderer(request, 422, validation_body(exc))
        return validation_response(exc)

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        await journal_denial(request, exc.status_code, None)
        if html_renderer is not None and wants_html(request):
            return html_renderer(request, exc.status_code, http_body(exc.status_code))
        return http_error_response(exc)

    async def on_internal(request: Request, exc: Exception) -> Response:
        response = internal_error_response(exc)
        if html_renderer is not None and wants_html(request):
            return html_renderer(request, 500, errors.error_body("internal", *INTERNAL))
        return response

    app.add_exception_handler(errors.LantaiError, on_lantai)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_internal)
