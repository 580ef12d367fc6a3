"""Request parameters and responses that the REST API and the web UI share.

Both layers call the same service functions; what they also share at the HTTP level — the browse
filters, the record-id path parameter, how an access copy or a page preview is sent — lives here,
so neither imports the other's routers.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from lantai.services.content import AccessCopy

RecordId = Annotated[str, Path(min_length=1, max_length=128, description="电子文件号")]
FilePath = Annotated[str, Query(min_length=1, max_length=1000, description="文件逻辑路径，如 content/正文.pdf")]


class ItemFilters:
    """Browse filters shared by the list, facets, the library page and the catalogue export."""

    def __init__(self, fonds_code: Annotated[str | None, Query(max_length=32)] = None,
                 year: Annotated[int | None, Query(ge=0, le=9999)] = None,
                 retention: Annotated[str | None, Query(max_length=16)] = None,
                 organisation: Annotated[str | None, Query(max_length=64)] = None,
                 document_type: Annotated[str | None, Query(max_length=32)] = None,
                 security_classification: Annotated[str | None, Query(max_length=16)] = None) -> None:
        self.values: dict[str, Any] = {"fonds_code": fonds_code, "year": year, "retention": retention,
                                       "organisation": organisation, "document_type": document_type,
                                       "security_classification": security_classification}


Filters = Annotated[ItemFilters, Depends()]


class SearchOptions:
    """A search's sort order and facet filters, shared by the API, the page and the export."""

    def __init__(self, sort: Annotated[str, Query(pattern="^(relevance|-date|date|archival_code)$",
                                            description="排序：relevance 相关度、-date 日期新→旧、date、archival_code 档号")]
                 = "relevance",
                 year: Annotated[int | None, Query(ge=0, le=9999, description="年度")] = None,
                 document_type: Annotated[str | None, Query(max_length=32, description="文种")] = None,
                 organisation: Annotated[str | None, Query(max_length=64, description="机构（代码）")] = None,
                 retention: Annotated[str | None, Query(max_length=16, description="保管期限（代码）")] = None,
                 fonds: Annotated[str | None, Query(max_length=32, description="全宗号")] = None) -> None:
        self.sort = sort
        self.filters: dict[str, Any] = {"year": year, "document_type": document_type, "organisation": organisation,
                                        "retention": retention, "fonds": fonds}


Search = Annotated[SearchOptions, Depends()]
SearchWords = Annotated[str, Query(min_length=1, max_length=200, description="检索词（检索式）")]


def access_copy_response(copy: AccessCopy, disposition: str) -> FileResponse:
    """Send a watermarked access copy and delete it afterwards; never cached."""
    return FileResponse(copy.path, media_type=copy.media_type, filename=copy.filename,
                        content_disposition_type=disposition, background=BackgroundTask(copy.cleanup),
                        headers={"X-Lantai-Watermark": "yes", "Cache-Control": "no-store"})


def png_response(png: bytes) -> Response:
    """Send a (watermarked) page preview; never cached."""
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})
