"""档案库: browse fonds → year → retention → organisation (paged on the server), item detail, previews."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from lantai.domain.roles import CLEARANCES, Permission
from lantai.domain.use import Method
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import FilePath, Filters, RecordId, access_copy_response, png_response
from lantai.services import browse as browsing
from lantai.services import classification, item_checks, items
from lantai.services import content as access_copies
from lantai.services.arrange_reference import code_names
from lantai.web.app import render

router = APIRouter()
Reader = Allowed(Permission.ITEM_READ)
Downloader = Allowed(Permission.ITEM_DOWNLOAD)
PAGE_SIZE = 50


def _query(filters: dict[str, Any], **extra: Any) -> str:
    from urllib.parse import urlencode

    values = {k: v for k, v in {**filters, **extra}.items() if v not in (None, "")}
    return urlencode(values)


@router.get("/library")
def browse(principal: Reader, request: Request, archive: ArchiveDep, filters: Filters,
           page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    values = filters.values
    facets = browsing.browse_facets(archive, principal, values)
    listing = browsing.list_items(archive, principal, values, page=page, page_size=PAGE_SIZE)
    crumbs = []
    names = code_names(archive)
    for i, (column, label, value) in enumerate(facets["path"]):
        upto = {c: v for c, _l, v in facets["path"][: i + 1]}
        crumbs.append((label, names.get(column, {}).get(value) or value, _query(upto)))
    context = {"facets": facets, "listing": listing, "filters": values, "crumbs": crumbs, "query": _query,
               "can_export": principal.can(Permission.EXPORT)}
    template = "_item_table.html" if request.headers.get("HX-Request") else "library.html"
    return render(request, template, context)


@router.get("/items/{record_id}")
def detail(principal: Reader, request: Request, archive: ArchiveDep, record_id: RecordId) -> Response:
    item = items.item_detail(archive, principal, record_id)
    content = {f["logical_path"]: f for f in item["files"] if f["role"] == "content"}
    main = [content[p] for p in item["principal"] if p in content]
    preview = next((f for f in main if f["preview"] or f["rendition"]), None)  # the 正本, never the 处理单
    ofd = next((f for f in main if f["preview"] == "ofd"), None)
    return render(request, "item.html", {
        "item": item, "fonds_name": code_names(archive)["fonds_code"].get(item["fonds_code"], ""),
        "content": list(content.values()), "preview": preview, "ofd": ofd,
        "ofd_renderer": access_copies.ofd_renderer() is not None,
        "can_download": principal.can(Permission.ITEM_DOWNLOAD), "can_check": principal.can(Permission.CHECK_RUN),
        "can_classify": principal.can(Permission.ITEM_CLASSIFY), "can_export": principal.can(Permission.EXPORT),
        "clearances": CLEARANCES,
        "check_runs": item_checks.recent_runs(archive, record_id=record_id, limit=20)
        if principal.can(Permission.CHECK_RUN) else []})


@router.get("/items/{record_id}/view")
def view(principal: Downloader, archive: ArchiveDep, record_id: RecordId, path: FilePath) -> Response:
    return access_copy_response(access_copies.access_copy(archive, principal, record_id, path, Method.VIEW), "inline")


@router.get("/items/{record_id}/download")
def download(principal: Downloader, archive: ArchiveDep, record_id: RecordId, path: FilePath) -> Response:
    return access_copy_response(access_copies.access_copy(archive, principal, record_id, path), "attachment")


@router.get("/items/{record_id}/print")
def print_copy(principal: Downloader, archive: ArchiveDep, record_id: RecordId, path: FilePath) -> Response:
    """打印: the watermarked PDF opened for printing, registered as a use of its own (利用方式 打印)."""
    return access_copy_response(access_copies.access_copy(archive, principal, record_id, path, Method.PRINT), "inline")


@router.get("/items/{record_id}/reader")
def page_reader(principal: Downloader, request: Request, archive: ArchiveDep, record_id: RecordId, path: FilePath,
                page: Annotated[int, Query(ge=1, le=500)] = 1) -> Response:
    """逐页阅览 (the OFD 正本, and any PDF): one watermarked page image at a time, page 1 stamped."""
    pages = access_copies.page_total(archive, principal, record_id, path)
    return render(request, "reader.html", {"record_id": record_id, "path": path, "page": min(page, pages),
                                           "pages": pages, "ofd": path.lower().endswith(".ofd")})


@router.get("/items/{record_id}/pages/{page}.png")
def page_png(principal: Downloader, archive: ArchiveDep, record_id: RecordId, page: int, path: FilePath) -> Response:
    return png_response(access_copies.render_page_png(archive, principal, record_id, path, page))


@router.post("/items/{record_id}/checks")
def run_checks(principal: Allowed(Permission.CHECK_RUN), request: Request, archive: ArchiveDep,
               record_id: RecordId) -> Response:
    result = items.run_checks(archive, principal, record_id)
    return render(request, "_check_run.html", {"run": result})


@router.post("/items/{record_id}/classification")
def classify(principal: Allowed(Permission.ITEM_CLASSIFY), request: Request, archive: ArchiveDep,
             record_id: RecordId, level: Annotated[str, Form(max_length=16)],
             reason: Annotated[str, Form(max_length=500)] = "") -> Response:
    result = classification.change_classification(archive, principal, record_id, level, reason)  # errors: html_error
    message = f"密级已由 {result['from']} 变更为 {result['to']}（版本 v{result['version']}）"
    return render(request, "_message.html", {"message": message})
