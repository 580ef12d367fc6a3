"""统计: charts of items by year, retention, 文种, organisation, storage growth and check pass rates,
within a date range, exported as XLSX; and the 档案室基本情况年报 of a year as a page, XLSX and PDF."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from lantai.domain.clock import BEIJING
from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import statistics
from lantai.web.app import render

router = APIRouter()
Reader = Allowed(Permission.STATISTICS)
Day = Annotated[str, Query(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
Year = Annotated[int | None, Query(ge=1900, le=9998)]


@router.get("/statistics")
def stats_page(principal: Reader, request: Request, archive: ArchiveDep, date_from: Day = "", date_to: Day = "") -> Response:
    message, status = "", 200
    try:
        data = statistics.statistics(archive, principal, date_from=date_from or None, date_to=date_to or None)
    except LantaiError as exc:  # a reversed range: the page without the range, and the reason
        data, message, status = statistics.statistics(archive, principal), exc.message_zh, exc.http_status
    return render(request, "statistics.html", {"stats": data, "message": message, "this_year": _this_year(),
                                               "stats_json": json.dumps(data, ensure_ascii=False).replace("</", "<\\/")},
                  status_code=status)


def _download(target, media: str) -> Response:  # type: ignore[no-untyped-def]
    return FileResponse(target, media_type=media, filename=target.name,
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True),
                        headers={"Cache-Control": "no-store"})


@router.get("/statistics/export.xlsx")
def stats_export(principal: Reader, archive: ArchiveDep, date_from: Day = "", date_to: Day = "") -> Response:
    target, media = statistics.printed_download(archive, principal, "statistics", "xlsx",
                                                date_from=date_from or None, date_to=date_to or None)
    return _download(target, media)


def _this_year() -> int:
    return dt.datetime.now(BEIJING).year


@router.get("/statistics/annual")
def annual_page(principal: Reader, request: Request, archive: ArchiveDep, year: Year = None) -> Response:
    report = statistics.annual_report(archive, principal, year or _this_year())
    return render(request, "statistics_annual.html", {"report": report})


@router.get("/statistics/annual.{kind}")
def annual_download(principal: Reader, archive: ArchiveDep, kind: Literal["xlsx", "pdf"], year: Year = None) -> Response:
    target, media = statistics.printed_download(archive, principal, "annual", kind, year=year or _this_year())
    return _download(target, media)
