"""移交: the transfers sent and received, each with its 移交与接收登记表 as XLSX and PDF."""

from __future__ import annotations

import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import transfer_registers
from lantai.web.app import render

router = APIRouter()
Exporter = Allowed(Permission.EXPORT)
TransferId = Annotated[str, Path(pattern=r"^[0-9A-Za-z_.-]{1,80}$")]


@router.get("/transfers")
def transfers_page(principal: Exporter, request: Request, archive: ArchiveDep) -> Response:
    return render(request, "transfers.html", {"transfers": transfer_registers.list_transfers(archive, principal)})


@router.get("/transfers/{direction}/{transfer_id}/register.{kind}")
def register(principal: Exporter, archive: ArchiveDep, direction: Literal["out", "in"], transfer_id: TransferId,
             kind: Literal["xlsx", "pdf"]) -> Response:
    target, media = transfer_registers.register_download(archive, principal, direction, transfer_id, kind)
    return FileResponse(target, media_type=media, filename=target.name,
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True),
                        headers={"Cache-Control": "no-store"})
