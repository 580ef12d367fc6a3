"""``lantai migrate`` — format migration (格式迁移): ``--plan`` lists what the registry would migrate,
``run`` migrates it with progress and bounds; ``registry`` prints the registry in force.

Exit codes: 0 everything planned or migrated; 1 a migration failed (the original stays, the
failure is in the audit chain); 2 bad input or usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

migrate_app = typer.Typer(help="格式迁移：按格式迁移登记表把办公文档、图像转换为 PDF/A (format migration).",
                          invoke_without_command=True)
ActorOption = Annotated[str, typer.Option("--actor", help="操作人 (recorded in the audit chain and the 格式转换 event)")]
ItemsOption = Annotated[list[str] | None, typer.Option("--item", help="只处理这些电子文件号；可多次")]


def _open() -> Any:
    from lantai.services.archive import open_archive

    return open_archive()


@migrate_app.callback()
@handle_errors
def migrate(ctx: typer.Context, plan: Annotated[bool, typer.Option("--plan", help="列出将要迁移的文件，不做修改")] = False,
            item: ItemsOption = None, as_json: JsonOption = False) -> None:
    """格式迁移。`lantai migrate --plan` 列出计划；`lantai migrate run` 执行。"""
    if ctx.invoked_subcommand is not None:
        return
    if not plan:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    from lantai.services import migration

    with _open() as archive:
        result = migration.plan(archive, record_ids=item or None).to_dict()
    emit(result, as_json=as_json, render=lambda: _show_plan(result))


def _show_plan(result: dict[str, Any]) -> None:
    table = Table("电子文件号", "源文件", "PUID", "规则", "迁移后", "上次失败")
    for p in result["planned"]:
        table.add_row(p["record_id"], p["source"], p["puid"], p["rule"], p["target"], p["failed_before"] or "")
    console.print(table)
    console.print(f"待迁移 {result['count']} 个文件，涉及 {result['items']} 件；其中上次失败 {result['failed_before']} 个"
                  "（run 默认跳过，--retry-failed 重试）")


@migrate_app.command("run")
@handle_errors
def run(actor: ActorOption = "cli",
        max_items: Annotated[int | None, typer.Option("--max-items", min=1, help="最多处理的件数")] = None,
        workers: Annotated[int | None, typer.Option("--workers", min=1, max=16, help="同时转换的数量（默认 migration_workers）")] = None,
        timeout: Annotated[float | None, typer.Option("--timeout", min=0.001, help="单个转换的时限（秒，默认 migration_timeout）")] = None,
        max_duration: Annotated[float | None, typer.Option("--max-duration", min=1, help="超过此秒数后不再开始新的件")] = None,
        retry_failed: Annotated[bool, typer.Option("--retry-failed", help="重试上次失败的文件")] = False,
        item: ItemsOption = None, as_json: JsonOption = False) -> None:
    """执行格式迁移：新版本中加入 PDF/A 文件，原件不变。"""
    from lantai.services import migration

    with _open() as archive, Progress(TextColumn("[bold]格式迁移"), BarColumn(), MofNCompleteColumn(),
                                      TimeElapsedColumn(), console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("migrate", total=None)
        result = migration.run(archive, actor, max_items=max_items, workers=workers, timeout=timeout,
                               retry_failed=retry_failed, max_duration=max_duration, record_ids=item or None,
                               on_total=lambda n: bar.update(task, total=n),
                               on_item=lambda _outcome: bar.advance(task))
    emit(result, as_json=as_json, render=lambda: _show_run(result))
    if result["failed"]:
        raise typer.Exit(1)


def _show_run(result: dict[str, Any]) -> None:
    table = Table("电子文件号", "版本", "已迁移", "失败")
    for r in result["results"]:
        table.add_row(r["record_id"], f"v{r['version']}" if r["version"] else "—",
                      "\n".join(f"{m['source']} → {m['target']}" for m in r["migrated"]),
                      "\n".join(f"{f['source']}：{f['message'] if 'message' in f else f['reason']}" for f in r["failed"]))
    console.print(table)
    console.print(f"迁移 {result['migrated']} 个文件（{result['items']} 件），失败 {result['failed']}，"
                  f"跳过上次失败 {result['skipped_failed_before']}，未开始 {result['deferred']}；"
                  f"{result['workers']} 个并发，用时 {result['seconds']} 秒")


@migrate_app.command("registry")
@handle_errors
def registry(as_json: JsonOption = False) -> None:
    """显示当前的格式迁移登记表。"""
    from lantai.services.migration import load_registry
    from lantai.settings import load_settings

    rules = [r.to_dict() for r in load_registry(load_settings()).rules]
    table = Table("规则", "源格式", "PUID", "目标", "工具", "启用")
    for r in rules:
        table.add_row(r["id"], r["source_name"], ", ".join(r["source_puids"]), r["target"], r["tool"],
                      "是" if r["enabled"] else "否")
    emit(rules, as_json=as_json, render=lambda: console.print(table))
