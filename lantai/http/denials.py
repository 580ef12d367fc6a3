"""Refused requests go into the audit chain: 401, 403, CSRF failures and 404 probes.

The error handlers of the API and the web pages (:func:`lantai.api.errors.install`) call
:func:`journal_denial`; the service applies the per-client rate limit, so a prober cannot flood
the journal. Unknown routes (a plain HTTP 404) are not journalled: they name no record.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from lantai.errors import PermissionDenied
from lantai.services.audit import record_denial

JOURNALLED = (401, 403, 404)


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated unsafe request without its session's CSRF token (HTTP 403).

    ``actor`` is the session's user, for the audit entry only (the caller is not authenticated).
    """

    def __init__(self, actor: str) -> None:
        super().__init__("CSRF 校验失败，请刷新页面后重试", "CSRF token missing or wrong")
        self.actor = actor


async def journal_denial(request: Request, status: int, error: Exception | None) -> None:
    """Journal a refusal off the event loop (the append fsyncs); never fails the response."""
    archive = getattr(request.app.state, "archive", None)
    if archive is None or status not in JOURNALLED or (status == 404 and error is None):
        return
    from lantai.http.deps import client_of  # the address behind trusted proxies, as throttling sees it

    principal = getattr(request.state, "principal", None)
    await run_in_threadpool(
        record_denial, archive, status=status, client=client_of(request),
        actor=getattr(error, "actor", None) or getattr(principal, "username", "-") or "-", method=request.method, path=request.url.path,
        code=getattr(error, "code", f"http_{status}"), csrf=isinstance(error, CsrfFailed))
