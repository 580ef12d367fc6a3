"""统计: charts of items by year, retention, 文种, organisation, storage growth and check pass rates."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import statistics
from lantai.web.app import render

router = APIRouter()


@router.get("/statistics")
def stats_page(principal: Allowed(Permission.STATISTICS), request: Request, archive: ArchiveDep) -> Response:
    data = statistics.statistics(archive, principal)
    return render(request, "statistics.html", {"stats": data, "stats_json": json.dumps(data, ensure_ascii=False).replace("</", "<\\/")})
