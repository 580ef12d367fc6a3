"""整理: proposed retention and 档号, confirmed in bulk (``lantai.services.arrange``)."""

from __future__ import annotations

import importlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lantai.api.deps import Allowed, ArchiveDep
from lantai.domain.roles import Permission
from lantai.web.app import render

router = APIRouter()
Arranger = Allowed(Permission.ARRANGE)


def arrange_service() -> Any:
    """The arrangement service when that area has landed, else None (the page says so)."""
    try:
        module = importlib.import_module("lantai.services.arrange_inbox")
    except ImportError:
        return None
    if not all(hasattr(module, n) for n in ("proposals", "confirm")):
        return None
    return module


@router.get("/arrange")
def arrange_page(principal: Arranger, request: Request, archive: ArchiveDep) -> Response:
    service = arrange_service()
    proposals = service.proposals(archive, actor=principal.username, clearance=principal.clearance) if service else None
    return render(request, "arrange.html", {"available": service is not None, "proposals": proposals})


@router.post("/arrange/confirm")
def confirm(principal: Arranger, request: Request, archive: ArchiveDep,
            record_ids: Annotated[list[str], Form()]) -> Response:
    service = arrange_service()
    if service is None:
        return render(request, "arrange.html", {"available": False, "proposals": None}, status_code=503)
    result = service.confirm(archive, record_ids, actor=principal.username, clearance=principal.clearance)
    proposals = service.proposals(archive, actor=principal.username, clearance=principal.clearance)
    return render(request, "arrange.html", {"available": True, "proposals": proposals, "confirmed": result})
