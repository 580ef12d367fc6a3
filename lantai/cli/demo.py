"""``lantai demo generate``: a year of synthetic 公文 as a SIP batch (issue 6).

Thin: parses options, calls :func:`lantai.demo.generate.generate`, renders the report. The
whole-archive demo scenario (``lantai demo`` without a subcommand) is wired by the scenario module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

demo_app = typer.Typer(help="演示数据 (synthetic 公文 for demos, tests and benchmarks).", no_args_is_help=True)


@demo_app.callback()
def demo() -> None:
    """演示 (demo): ``generate`` writes a batch; the full scenario is added by lantai.demo.scenario."""


@demo_app.command()
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
