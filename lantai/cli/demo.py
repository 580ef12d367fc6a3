"""``lantai demo``: the whole demo archive (:func:`lantai.demo.scenario.run_demo`), then the web UI;
``lantai demo generate``: a year of synthetic 公文 as a SIP batch (:func:`lantai.demo.generate.generate`).

Thin: parses options, calls the demo package, renders the result. Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.cli.web import serve_command
from lantai.demo.scenario import run_demo, virus_scanner

demo_group = typer.Typer(help="演示 (demo): the whole scenario, or `generate` for a batch only.",
                         invoke_without_command=True)


@demo_group.callback()
@handle_errors
def demo(
    ctx: typer.Context,
    items: Annotated[int, typer.Option(help="件数 (items to generate)")] = 500,
    year: Annotated[int, typer.Option(help="年度")] = 2025,
    seed: Annotated[int, typer.Option(help="随机种子")] = 1,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="结束后启动网页服务")] = True,
    host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口")] = 8000,
    reset: Annotated[bool, typer.Option(help="清空演示档案库后重建")] = False,
    as_json: JsonOption = False,
) -> None:
    """运行演示：生成一年公文 → 检测并接收 → 整理 → 启动网页服务。"""
    if ctx.invoked_subcommand is not None:
        return
    with virus_scanner() as socket_path:
        summary = run_demo(items=items, year=year, seed=seed, reset=reset, quiet=as_json)
        summary["virus_scanner"] = socket_path
        emit(summary, as_json=as_json, render=lambda: _render_summary(summary))
        if serve:
            serve_command(host=host, port=port)


@demo_group.command()
@handle_errors
def generate(
    out: Annotated[Path, typer.Option("-o", "--out", help="输出目录 (output batch directory)")],
    year: Annotated[int, typer.Option(help="年度 (year of the documents)")] = 2025,
    items: Annotated[int, typer.Option(help="件数 (number of items)")] = 500,
    seed: Annotated[int, typer.Option(help="随机种子 (same seed, same documents)")] = 1,
    defects: Annotated[float, typer.Option(help="缺陷比例 0–1 (share of items with a planted fault)")] = 0.0,
    workers: Annotated[int | None, typer.Option(help="工作进程数 (default: all cores)")] = None,
    overwrite: Annotated[bool, typer.Option(help="覆盖先前生成的演示目录 (replace an earlier demo output)")] = False,
    as_json: JsonOption = False,
) -> None:
    """生成一年的演示公文批次 (PDF/A + sealed OFD + attachments, DA/T 46 metadata, 归档登记表)."""
    from lantai.demo.generate import generate as run

    with Progress(TextColumn("[bold]生成"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task("generate", total=items)
        report = run(out, year=year, items=items, seed=seed, defect_rate=defects, workers=workers,
                     overwrite=overwrite, progress=lambda _r: progress.advance(task))
    data = report.to_dict()
    data["register"] = {k: v for k, v in data["register"].items() if not k.startswith("_")}
    emit({"ok": True, **data}, as_json=as_json, render=lambda: _render(data))


def _render(data: dict) -> None:  # type: ignore[type-arg]
    console.print(f"[green]已生成[/] {data['items']} 件，{data['pages']} 页，{data['bytes']} 字节 → {data['out_dir']}")
    console.print(f"用时 {data['seconds']} 秒（{data['items_per_second']} 件/秒，{data['workers']} 个进程）")
    if data["defects"]:
        table = Table(title="植入的缺陷 (defects.csv)")
        for column in ("条目", "缺陷", "应由检测项发现", "说明"):
            table.add_column(column)
        for row in data["defects"]:
            table.add_row(row["item"], row["fault"], row["check"], row["detail"])
        console.print(table)


def _render_summary(summary: dict[str, Any]) -> None:
    ingest = summary["ingest"]
    console.print(f"[bold green]演示档案库已就绪[/] {summary['home']}（用时 {summary['seconds']} 秒）")
    console.print(f"接收: 已接收 {ingest['accepted']}，重复 {ingest['duplicate']}，拒收 {ingest['rejected']}，"
                  f"冲突 {ingest['conflict']}")
    for row in summary.get("rejected", []):
        console.print(f"  [red]拒收[/] {row['item']}: {row['reason']}")
    arranged = summary["arranged"]
    console.print(f"整理: 全宗 {arranged['fonds']} · {arranged['year']} 年度 · {arranged['items']} 件    "
                  f"检索索引: {summary['indexed']} 条")
    if summary["accounts"]:
        table = Table(title="演示账号（每个角色一个）")
        for column in ("用户名", "密码", "角色", "密级许可"):
            table.add_column(column)
        for account in summary["accounts"]:
            table.add_row(account["username"], account["password"], account["role"], account["clearance"])
        console.print(table)

