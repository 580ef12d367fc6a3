"""``lantai search`` — query the full-text index and rebuild it (thin: calls lantai.services.search_index).

``reindex`` reads the catalogue plus each item's stored text derivative; rjieba and SQLAlchemy load
when a search command runs, so `lantai --help` stays fast.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.errors import StorageError

search_app = typer.Typer(help="全文检索 (full-text search).", no_args_is_help=True)


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

    from lantai.services.archive import open_archive
    from lantai.services.search_index import search

    with open_archive() as archive:
        try:
            result = search(archive, query, clearance=clearance, limit=limit, cursor=cursor, facets=facets, sort=sort)
        except SQLAlchemyError as exc:
            raise StorageError("检索索引不可用，请运行 lantai search reindex",
                               f"search index unavailable, run `lantai search reindex`: {exc}") from exc
    emit(result.to_dict(), as_json=as_json, render=lambda: _render(result))


def _render(result: Any) -> None:  # a lantai.search.SearchResult
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
    run_async: Annotated[bool, typer.Option("--async", help="交给后台工作进程，打印作业号 (queue for `lantai worker`)")] = False,
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """重建检索索引 (rebuild the search index in bulk; ingest and searches go on meanwhile)."""
    from lantai.services.archive import open_archive
    from lantai.services.search_index import backend, reindex

    if run_async:
        from lantai.services import jobs

        with open_archive() as archive:
            job = jobs.submit(archive, "search.reindex", {}, actor=actor, run="queue")
        emit(job, as_json=as_json, render=lambda: console.print(f"[green]已排队[/] 作业 {job['id']}"))
        return

    with open_archive() as archive, Progress(
        TextColumn("[bold]重建索引"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=console, transient=True, disable=as_json,
    ) as progress:
        task = progress.add_task("reindex", total=None)
        count = reindex(archive, lambda n: progress.advance(task, n), workers=workers or os.cpu_count() or 1)
        name = backend(archive)
    emit({"indexed": count, "backend": name}, as_json=as_json,
         render=lambda: console.print(f"[green]索引已重建[/]: {count} 件"))
