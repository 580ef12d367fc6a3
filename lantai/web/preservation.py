"""保存状态: the preservation dashboard (roots and lag, fixity coverage and age, repairs, 损坏)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import preservation
from lantai.web.app import render

router = APIRouter()


@router.get("/preservation")
def preservation_page(principal: Allowed(Permission.PRESERVATION_READ), request: Request,
                      archive: ArchiveDep) -> Response:
    data = preservation.dashboard(archive, principal)
    return render(request, "preservation.html", {
        "p": data, "p_json": json.dumps(data, ensure_ascii=False).replace("</", "<\\/")})
