"""One JSON error shape for the whole API: ``{"code", "message" (Chinese), "details"}``.

Every ``LantaiError`` maps to a status by its class; request validation is 422; an unknown route
is 404; anything unexpected is a 500 with no internals leaked. Web pages get the same decision
rendered as HTML by :mod:`lantai.web.app`.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lantai import errors
from lantai.api.denials import journal_denial
from lantai.services.users import Throttled, Unauthenticated

log = logging.getLogger("lantai.api")

STATUS_BY_ERROR: tuple[tuple[type[errors.LantaiError], int], ...] = (
    (Unauthenticated, 401),
    (Throttled, 429),
    (errors.PermissionDenied, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.ValidationFailed, 422),
    (errors.BadInput, 400),
    (errors.IntegrityError, 500),
    (errors.StorageError, 503),
    (errors.LantaiError, 400),
)

HTTP_MESSAGES = {400: "请求无效", 401: "请先登录", 403: "无权访问", 404: "资源不存在", 405: "不支持该请求方法",
                 406: "不支持的响应格式", 409: "请求冲突", 413: "请求内容过大", 415: "不支持的内容类型",
                 422: "请求参数无效", 429: "请求过于频繁", 500: "服务器内部错误", 503: "服务暂不可用"}


def status_of(exc: errors.LantaiError) -> int:
    for cls, status in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status
    return 400


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"code": code, "message": message, "details": details if details is not None else {}}


def _headers(status: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="lantai"'} if status == 401 else {}


def lantai_error_response(exc: errors.LantaiError) -> JSONResponse:
    status = status_of(exc)
    body = error_body(exc.code, exc.message_zh, errors._jsonable(exc.details))
    return JSONResponse(body, status_code=status, headers=_headers(status))


def validation_response(exc: RequestValidationError) -> JSONResponse:
    details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type", ""), "msg": str(e.get("msg", ""))}
               for e in exc.errors()]
    return JSONResponse(error_body("bad_input", "请求参数无效", {"errors": details}), status_code=422)


def http_error_response(exc: StarletteHTTPException) -> Response:
    status = exc.status_code
    message = HTTP_MESSAGES.get(status, "请求失败")
    return JSONResponse(error_body(f"http_{status}", message), status_code=status,
                        headers={**(exc.headers or {}), **_headers(status)})


def internal_error_response(exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal", "服务器内部错误，已记录"), status_code=500)


def install(app: FastAPI, *, html_renderer: Any = None) -> None:
    """Register the handlers; ``html_renderer(request, status, code, message)`` serves web pages."""

    def wants_html(request: Request) -> bool:
        return html_renderer is not None and not request.url.path.startswith("/api/")

    async def on_lantai(request: Request, exc: errors.LantaiError) -> Response:
        await journal_denial(request, status_of(exc), exc)
        if wants_html(request):
            return html_renderer(request, status_of(exc), exc.code, exc.message_zh)
        return lantai_error_response(exc)

    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        if wants_html(request):
            return html_renderer(request, 422, "bad_input", "请求参数无效")
        return validation_response(exc)

    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        await journal_denial(request, exc.status_code, None)
        if wants_html(request):
            return html_renderer(request, exc.status_code, f"http_{exc.status_code}",
                                 HTTP_MESSAGES.get(exc.status_code, "请求失败"))
        return http_error_response(exc)

    async def on_internal(request: Request, exc: Exception) -> Response:
        return internal_error_response(exc)

    app.add_exception_handler(errors.LantaiError, on_lantai)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_internal)
