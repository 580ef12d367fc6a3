"""系统管理 → 全宗与保管期限表: the reference data as tables, its version history, and (系统管理员) its TOML editor.

Who may read and who may save is the same as in the JSON API (:mod:`lantai.api.routers.reference`),
and both call the same service functions. A refused document is shown again
in the editor with the Chinese reason, so nothing typed is lost and nothing is saved.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lantai.domain.reference import LEVEL_LABELS
from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services.arrange_reference import MAX_DOCUMENT, MAX_NOTE, reference_snapshot, save_reference_edit
from lantai.services.users import Principal
from lantai.web.app import render, templates

# As the API: configuration is the 系统管理员's; the 档案管理员 reads the rules they arrange by.
EDIT = Permission.SETTINGS_MANAGE
READ = (Permission.REFERENCE_READ,)
ReferenceReader = Allowed(*READ)
ReferenceEditor = Allowed(EDIT)
router = APIRouter()
templates.env.globals["reads_reference"] = lambda me: me is not None and any(me.can(p) for p in READ)  # nav link


def _page(request: Request, archive: ArchiveDep, principal: Principal, *, message: str = "", status: int = 200,
          draft: str | None = None, note: str = "", base_version: int | None = None) -> Response:
    current = reference_snapshot(archive)
    context = {**current, "level_labels": LEVEL_LABELS, "can_edit": principal.can(EDIT), "message": message,
               "ok": status < 400, "draft": current["document"] if draft is None else draft, "note": note,
               "base_version": base_version or current["version"]}
    return render(request, "reference.html", context, status_code=status)


@router.get("/admin/reference")
def reference_page(principal: ReferenceReader, request: Request, archive: ArchiveDep) -> Response:
    return _page(request, archive, principal)


@router.post("/admin/reference")
def save_reference_form(principal: ReferenceEditor, request: Request, archive: ArchiveDep,
                        document: Annotated[str, Form(min_length=1, max_length=MAX_DOCUMENT)],
                        note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
                        base_version: Annotated[int | None, Form(ge=1)] = None) -> Response:
    try:
        version = save_reference_edit(archive, principal.username, document, note, base_version)
    except LantaiError as exc:
        return _page(request, archive, principal, message=exc.message_zh, status=exc.http_status, draft=document, note=note,
                     base_version=base_version)
    return _page(request, archive, principal, message=f"已保存为第 {version} 版")
