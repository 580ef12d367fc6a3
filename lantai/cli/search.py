"""``lantai search`` — query the full-text index and rebuild it (thin: calls lantai.search).

``reindex`` reads entries from :data:`ENTRY_SOURCE`: the catalogue plus each item's stored text
derivative (lantai.services.search_index), or the catalogue's metadata alone where that service
is not installed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.errors import StorageError

if TYPE_CHECKING:  # rjieba and SQLAlchemy load when a search command runs: keep `lantai --help` fast
    from sqlalchemy import Connection

    from lantai.search import IndexEntry, SearchResult

search_app = typer.Typer(help="全文检索 (full-text search).", no_args_is_help=True)


def catalogue_entries(_archive: Any, conn: Connection) -> Iterator[IndexEntry]:
    """Metadata-only entries from the catalogue's ``items`` table."""
    from sqlalchemy import text

    from lantai.search import IndexEntry

    rows = conn.execute(text(
        "SELECT record_id, title, document_number, author, year, date, retention, organisation, document_type, "
        "security_classification, archival_code, fonds_code FROM items ORDER BY id"))
    for r in rows:
        yield IndexEntry(r[0], title=r[1] or "", document_number=r[2] or "", author=r[3] or "", year=r[4],
                         date=r[5] or "", retention=r[6] or "", organisation=r[7] or "", document_type=r[8] or "",
                         security_classification=r[9] or "", archival_code=r[10] or "", fonds=r[11] or "")


def stored_entries(archive: Any, _conn: Connection) -> Iterable[IndexEntry]:
    """Catalogue metadata plus the text derivative ingest stored in each item's OCFL object.

    Read on a connection of its own, never the one the index writer is streaming into.
    """
    from lantai.services.search_index import iter_entries

    return iter_entries(archive)


# (archive, connection) → entries for reindex.
ENTRY_SOURCE: Callable[[Any, Connection], Iterable[Any]] = stored_entries


@search_app.callback()
def _group() -> None:
    """全文检索 (full-text search)."""


@search_app.command("query")
@handle_errors
def query_command(
    query: Annotated[str, typer.Argument(help="检索式，如 档案 年度:2025 \"电子文件归档\" 青政办发〔2025〕12号")],
    facets: Annotated[bool, typer.Option("--facets", help="显示分面统计 (facet counts)")] = False,
    clearance: Annotated[str, typer.Option("--clearance", help="检索人密级权限 (公开/内部/秘密/机密/绝密)")] = "公开",
    sort: Annotated[str, typer.Option(help="relevance | date | -date | archival_code")] = "relevance",
    limit: Annotated[int, typer.Option(help="每页条数")] = 20,
    cursor: Annotated[str | None, typer.Option(help="下一页游标 (from a previous result)")] = None,
    as_json: JsonOption = False,
) -> None:
    """检索档案 (search items; items above --clearance never appear)."""
    from sqlalchemy.exc import SQLAlchemyError

    from lantai.search import SearchQuery, open_index
    from lantai.services.archive import open_archive

    request = SearchQuery(text=query, facets=facets, max_clearance=clearance, sort=sort, limit=limit, cursor=cursor)
    with open_archive() as archive, archive.engine.connect() as conn:
        index = open_index(conn, count_window=archive.settings.search_count_window)
        try:
            result = index.search(conn, request)
        except SQLAlchemyError as exc:
            raise StorageError("检索索引不可用，请运行 lantai search reindex",
                               f"search index unavailable, run `lantai search reindex`: {exc}") from exc
    emit(result.to_dict(), as_json=as_json, render=lambda: _render(result))


def _render(result: SearchResult) -> None:
    counted = f"共 {result.total} 件" if result.total_exact else f"≥ {result.total} 件"
    table = Table(title=f"检索结果：{counted}")
    for column in ("电子文件号", "题名", "文号", "日期", "密级", "摘要"):
        table.add_column(column)
    for hit in result.hits:
        table.add_row(hit.record_id, hit.marked_title("[bold yellow]", "[/]"), hit.document_number, hit.date,
                      hit.security_classification, hit.marked_snippet("[bold yellow]", "[/]"))
    console.print(table)
    for name, values in result.facets.items():
        if values:
            console.print(f"[bold]{name}[/]: " + "  ".join(f"{v} ({c})" for v, c in values[:10]))
    if not result.total_exact:
        console.print(f"[yellow]匹配的条目很多，只统计了最新的 {result.total} 件；增加检索词可缩小范围[/]")
    if result.next_cursor:
        console.print(f"下一页: --cursor {result.next_cursor}")
    if result.stale:
        console.print("[yellow]索引已过期，结果可能不完整；请运行 lantai search reindex[/]")


@search_app.command("reindex")
@handle_errors
def reindex_command(
    workers: Annotated[int, typer.Option(help="分词进程数 (processes cutting text; default: CPU count)")] = 0,
    as_json: JsonOption = False,
) -> None:
    """重建检索索引 (rebuild the search index in bulk; ingest and searches go on meanwhile)."""
    from lantai.search import GuardedIndex, open_index
    from lantai.services.archive import open_archive
    from lantai.services.search_index import entries_for

    with open_archive() as archive, Progress(
        TextColumn("[bold]重建索引"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=as_json,
    ) as progress, archive.engine.connect() as source:
        task = progress.add_task("reindex", total=None)
        index = open_index(source)
        guarded = GuardedIndex(index, stale_file=archive.home / "index" / "STALE")
        count = guarded.rebuild(archive.engine, ENTRY_SOURCE(archive, source), lambda ids: entries_for(archive, ids),
                                progress=lambda n: progress.advance(task, n), workers=workers or os.cpu_count() or 1)
    emit({"indexed": count, "backend": index.backend}, as_json=as_json,
         render=lambda: console.print(f"[green]索引已重建[/]: {count} 件"))
