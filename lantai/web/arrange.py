"""整理: proposed retention and 档号, confirmed in bulk (``lantai.services.arrange``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lantai.api.deps import Allowed, ArchiveDep
from lantai.domain.roles import Permission
from lantai.services import arrange_inbox
from lantai.web.app import render

router = APIRouter()
Arranger = Allowed(Permission.ARRANGE)


@router.get("/arrange")
def arrange_page(principal: Arranger, request: Request, archive: ArchiveDep) -> Response:
    proposals = arrange_inbox.proposals(archive, actor=principal.username, clearance=principal.clearance)
    return render(request, "arrange.html", {"proposals": proposals})


@router.post("/arrange/confirm")
def confirm(principal: Arranger, request: Request, archive: ArchiveDep,
            record_ids: Annotated[list[str], Form()]) -> Response:
    result = arrange_inbox.confirm(archive, record_ids, actor=principal.username, clearance=principal.clearance)
    proposals = arrange_inbox.proposals(archive, actor=principal.username, clearance=principal.clearance)
    return render(request, "arrange.html", {"proposals": proposals, "confirmed": result})
