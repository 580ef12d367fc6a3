"""Items: list, facets, detail (metadata, files, versions, events, check reports), content, checks."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from lantai.api.schemas import (
    ERRORS,
    CheckReport,
    CheckRun,
    ClassificationIn,
    ClassificationOut,
    CorrectionIn,
    CorrectionOut,
    EventOut,
    Facets,
    FileOut,
    ItemDetail,
    ItemPage,
    VersionOut,
)
from lantai.domain.roles import Permission
from lantai.domain.use import Method
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import FilePath, Filters, RecordId, access_copy_response, png_response
from lantai.services import browse, classification, corrections, exports, items
from lantai.services import content as access_copies

router = APIRouter(prefix="/items", tags=["档案条目"], responses=ERRORS)
Reader = Allowed(Permission.ITEM_READ)
Downloader = Allowed(Permission.ITEM_DOWNLOAD)


PageNo = Annotated[int, Query(ge=1, le=100_000)]
PageSize = Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)]


@router.get("", response_model=ItemPage, summary="条目列表（分页，按档号顺序）")
def list_items(principal: Reader, archive: ArchiveDep, filters: Filters, page: PageNo = 1,
               page_size: PageSize = 50) -> dict:
    return browse.list_items(archive, principal, filters.values, page=page, page_size=page_size).to_dict()


@router.get("/facets", response_model=Facets, summary="分级浏览：全宗 → 年度 → 保管期限 → 机构")
def facets(principal: Reader, archive: ArchiveDep, filters: Filters) -> dict:
    return browse.browse_facets(archive, principal, filters.values)


@router.get("/{record_id}", response_model=ItemDetail, summary="条目详情")
def get_item(principal: Reader, archive: ArchiveDep, record_id: RecordId) -> dict:
    return items.item_detail(archive, principal, record_id)


@router.get("/{record_id}/files", response_model=list[FileOut], summary="文件")
def item_files(principal: Reader, archive: ArchiveDep, record_id: RecordId) -> list:
    return items.item_detail(archive, principal, record_id)["files"]


@router.get("/{record_id}/versions", response_model=list[VersionOut], summary="版本")
def item_versions(principal: Reader, archive: ArchiveDep, record_id: RecordId) -> list:
    return items.item_detail(archive, principal, record_id)["versions"]


@router.get("/{record_id}/events", response_model=list[EventOut], summary="处理事件")
def item_events(principal: Reader, archive: ArchiveDep, record_id: RecordId) -> list:
    return items.item_detail(archive, principal, record_id)["events"]


@router.get("/{record_id}/checks", response_model=list[CheckReport], summary="检测报告")
def item_checks(principal: Reader, archive: ArchiveDep, record_id: RecordId) -> list:
    return items.item_detail(archive, principal, record_id)["checks"]


@router.post("/{record_id}/checks", response_model=CheckRun, summary="执行检测（固定性及四性检测）")
def run_checks(principal: Allowed(Permission.CHECK_RUN), archive: ArchiveDep, record_id: RecordId) -> dict:
    return items.run_checks(archive, principal, record_id)


@router.get("/{record_id}/content", summary="下载利用副本（带用户与时间水印）",
            responses={200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}})
def content(principal: Downloader, archive: ArchiveDep, record_id: RecordId, path: FilePath,
            disposition: Literal["attachment", "inline"] = "attachment",
            method: Annotated[Method | None, Query(description="利用方式（默认：inline 为在线阅览，否则为下载）")] = None,
            ) -> Response:
    method = method or (Method.VIEW if disposition == "inline" else Method.DOWNLOAD)
    return access_copy_response(access_copies.access_copy(archive, principal, record_id, path, method), disposition)


@router.get("/{record_id}/pages/{page}", summary="页面预览 PNG（PDF、OFD，带水印）",
            responses={200: {"content": {"image/png": {}}}})
def page_png(principal: Downloader, archive: ArchiveDep, record_id: RecordId, path: FilePath,
             page: Annotated[int, Path(ge=1, le=500)]) -> Response:
    return png_response(access_copies.render_page_png(archive, principal, record_id, path, page))


@router.get("/{record_id}/package", summary="导出档案包（zip，原件）",
            responses={200: {"content": {"application/zip": {}}}})
def package(principal: Allowed(Permission.EXPORT), archive: ArchiveDep, record_id: RecordId) -> Response:
    path = exports.export_package(archive, principal, record_id)
    return FileResponse(path, media_type="application/zip", filename=path.name,
                        background=BackgroundTask(lambda: __import__("shutil").rmtree(path.parent, True)))


@router.put("/{record_id}/classification", response_model=ClassificationOut, summary="变更密级（安全保密管理员）")
def classify(body: ClassificationIn, principal: Allowed(Permission.ITEM_CLASSIFY), archive: ArchiveDep,
             record_id: RecordId) -> dict:
    return classification.change_classification(archive, principal, record_id, body.level, body.reason)


@router.post("/{record_id}/corrections", response_model=CorrectionOut, summary="著录更正（新版本，记录更正人与理由）")
def correct(body: CorrectionIn, principal: Allowed(Permission.ITEM_CORRECT), archive: ArchiveDep,
            record_id: RecordId) -> dict:
    return corrections.correct_metadata(archive, principal, record_id, body.values, body.reason)
