"""Health, readiness and metrics for load balancers and Prometheus (mounted at the root, not /api/v1).

``/healthz`` (the process answers) and ``/readyz`` (catalogue, store, broker, clamd) are public:
a load balancer probes them without credentials, and they say only which component is down, never
a path, a host or a version. The details are for ``lantai doctor`` on the server. ``/metrics``
needs ``system.metrics`` (系统管理员, or a token with the ``read`` scope for the scraper).
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep, declared
from lantai.services import ops

router = APIRouter(tags=["运行"], responses=ERRORS)


@router.get("/healthz", summary="存活检查", dependencies=[declared(Permission.PUBLIC)])
def healthz() -> dict:
    return {"ok": True}


@router.get("/readyz", summary="就绪检查（数据库、存储、消息队列、clamd）", dependencies=[declared(Permission.PUBLIC)],
            responses={503: {"description": "a required component is down"}})
def readyz(archive: ArchiveDep) -> JSONResponse:
    probes = ops.readiness(archive)
    ready = all(p.ok for p in probes if p.required)
    return JSONResponse({"ok": ready, "components": {p.name: p.ok for p in probes}},
                        status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


@router.get("/metrics", summary="Prometheus 指标", response_class=Response)
def metrics(principal: Allowed(Permission.METRICS), archive: ArchiveDep) -> Response:
    body, content_type = ops.metrics_text(archive)
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})
