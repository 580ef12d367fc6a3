"""整理: the years to arrange, a per-item review of one year, confirmation with a summary, edits and 更正.

All decisions are taken by :mod:`lantai.services.arrange_review` over the arrangement services;
this module only turns forms into calls and results into pages.
"""

from __future__ import annotations

import shutil
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import arrange_review
from lantai.web.app import render

router = APIRouter()
Arranger = Allowed(Permission.ARRANGE)
Category = Annotated[str, Query(max_length=16, pattern=r"^[A-Za-z0-9]{1,16}$")]
FormCategory = Annotated[str, Form(max_length=16, pattern=r"^[A-Za-z0-9]{1,16}$")]
Ids = Annotated[list[str] | None, Form()]


@router.get("/arrange")
def arrange_page(principal: Arranger, request: Request, archive: ArchiveDep) -> Response:
    return render(request, "arrange.html", {"scopes": arrange_review.scopes(archive, principal)})


def _year_page(request: Request, archive: ArchiveDep, principal: Arranger, fonds: str, year: int, category: str,
               notice: str = "") -> Response:
    review = arrange_review.review(archive, principal, fonds, year, category)
    return render(request, "arrange_year.html", {"review": review, "notice": notice,
                                                 "volumes": arrange_review.volumes(review),
                                                 "can_print": principal.can(Permission.EXPORT)})


@router.get("/arrange/{fonds}/{year}")
def arrange_year(principal: Arranger, request: Request, archive: ArchiveDep, fonds: str, year: int,
                 category: Category = "WS") -> Response:
    return _year_page(request, archive, principal, fonds, year, category)


@router.post("/arrange/{fonds}/{year}/summary")
def arrange_summary(principal: Arranger, request: Request, archive: ArchiveDep, fonds: str, year: int,
                    category: FormCategory = "WS", record_ids: Ids = None,
                    whole: Annotated[str, Form()] = "0") -> Response:
    """The confirmation dialog: what confirming the selection (or the whole year) would change."""
    summary = arrange_review.summary(archive, principal, fonds, year, category, None if whole == "1" else (record_ids or []))
    template = "_arrange_summary.html" if request.headers.get("HX-Request") else "arrange_summary.html"
    return render(request, template, {"summary": summary})


@router.post("/arrange/{fonds}/{year}/confirm")
def arrange_confirm(principal: Arranger, request: Request, archive: ArchiveDep, fonds: str, year: int,
                    category: FormCategory = "WS", record_ids: Ids = None,
                    whole: Annotated[str, Form()] = "0") -> Response:
    plan = arrange_review.confirm(archive, principal, fonds, year, category, None if whole == "1" else (record_ids or []))
    notice = f"已整理 {len(plan.changes)} 件（{fonds} · {year} 年度）"
    if plan.deferred:
        notice += f"，另有 {plan.deferred} 件留待整理"
    return _year_page(request, archive, principal, fonds, year, category, notice)


@router.post("/arrange/{fonds}/{year}/file")
def arrange_file(principal: Arranger, request: Request, archive: ArchiveDep, fonds: str, year: int,
                 category: FormCategory = "WS") -> Response:
    count = arrange_review.file_year(archive, principal, fonds, year, category)
    return _year_page(request, archive, principal, fonds, year, category, f"已归档 {count} 件，件号已固定；此后只能更正")


@router.post("/arrange/items/{record_id}/edit")
def arrange_edit(principal: Arranger, request: Request, archive: ArchiveDep, record_id: str,
                 reason: Annotated[str, Form(max_length=200)] = "", retention: Annotated[str, Form(max_length=16)] = "",
                 organisation: Annotated[str, Form(max_length=64)] = "",
                 category: Annotated[str, Form(max_length=16)] = "",
                 back: Annotated[str, Form(max_length=200)] = "/arrange") -> Response:
    """保管期限 / 机构 / 类别号 changed with a reason: a metadata correction before filing, a 更正 after."""
    arrange_review.edit(archive, principal, record_id, reason=reason, retention=retention,
                        organisation=organisation, category=category)
    target = back if back.startswith("/arrange") else "/arrange"
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/arrange/{fonds}/{year}/print/{document}.{kind}")
def arrange_print(principal: Allowed(Permission.EXPORT), archive: ArchiveDep, fonds: str, year: int, document: str,
                  kind: str, category: Category = "WS", retention: Annotated[str, Query(max_length=16)] = "",
                  organisation: Annotated[str, Query(max_length=64)] = "") -> Response:
    """归档文件目录 (``catalogue.pdf``/``catalogue.xlsx``) or 备考表 (``note.pdf``/``note.xlsx``) of one volume or the year."""
    target, media = arrange_review.print_volume(archive, principal, fonds, year, category=category, retention=retention,
                                                organisation=organisation, document=document, fmt=kind)
    return FileResponse(target, media_type=media, filename=target.name, headers={"Cache-Control": "no-store"},
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True))
