"""``lantai carrier export|verify|register|list``: offline carriers (离线载体), thin over :mod:`lantai.services.carriers`.

``verify`` works without an archive (a carrier read years later on another machine); when
``LANTAI_HOME`` is an archive, the check of a registered carrier is recorded there too.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

carrier_app = typer.Typer(help="离线载体 (offline carriers: optical discs DA/T 38, disks DA/T 75).", no_args_is_help=True)
ActorOption = Annotated[str, typer.Option("--actor", help="操作人 (who acts)")]


@carrier_app.command("export")
@handle_errors
def carrier_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="新目录，每卷一个子目录 (new directory; one sub-directory per volume)")],
    year: Annotated[int | None, typer.Option("--year", help="年度；默认全部 (year; default all)")] = None,
    fonds: Annotated[str | None, typer.Option("--fonds", help="全宗号 (fonds)")] = None,
    volume_size: Annotated[str, typer.Option("--volume-size", help="单卷容量，如 25GB、100GB (capacity of one volume)")] = "25GB",
    kind: Annotated[str, typer.Option("--type", help="光盘 | 硬盘 | 磁带")] = "光盘",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """导出离线载体：按卷容量分卷，每卷含说明文件、机读目录（XML、XLSX）、封装包与 SM3 清单。"""
    from lantai.domain.carriers import parse_size
    from lantai.services.archive import open_archive
    from lantai.services.carriers import export_carrier

    size = parse_size(volume_size)
    with open_archive() as archive, Progress(TextColumn("[bold]导出载体"), BarColumn(), MofNCompleteColumn(),
                                             TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("export", total=None)
        result = export_carrier(archive, output, volume_size=size, year=year, fonds=fonds, kind=kind, actor=actor,
                                on_total=lambda n: progress.update(task, total=n),
                                progress=lambda _b: progress.advance(task))

    def render() -> None:
        table = Table(title=f"离线载体 {result.label}：{result.items} 件，{result.bytes} 字节")
        for column in ("载体编号", "目录", "件数", "字节", "清单 SM3"):
            table.add_column(column)
        for v in result.volumes:
            table.add_row(v["number"], Path(v["directory"]).name, str(v["items"]), str(v["bytes"]), v["manifest_sm3"][:16] + "…")
        console.print(table)

    emit(result.to_dict(), as_json=as_json, render=render)


@carrier_app.command("verify")
@handle_errors
def carrier_verify(
    directory: Annotated[Path, typer.Argument(help="载体（卷）目录或其上级目录 (a volume, or the directory of volumes)")],
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """检测载体（无需档案库）：逐文件核对 SM3、机读目录与封装包签名；有档案库时记录已登记载体的检测。"""
    from lantai.services.carriers import verify_carrier

    archive = _archive_if_any()
    try:
        result = verify_carrier(directory, archive, actor=actor)
    finally:
        if archive is not None:
            archive.close()

    def render() -> None:
        for p in result["problems"]:
            console.print(f"[red]✗[/] {p['volume']} {p['file']}: {p['message']}")
        status = "[green]完好[/]" if result["ok"] else f"[red]{len(result['problems'])} 个问题[/]"
        console.print(f"{len(result['volumes'])} 卷，{result['files']} 个文件，{result['packages']} 个封装包：{status}"
                      + (f"；已记录检测：{'、'.join(result['recorded'])}" if result["recorded"] else ""))

    emit(result, as_json=as_json, render=render)
    if not result["ok"]:
        raise typer.Exit(1)


def _archive_if_any():  # type: ignore[no-untyped-def]
    """The archive LANTAI_HOME names, or None: verifying a carrier never needs one."""
    from lantai.errors import BadInput
    from lantai.services.archive import open_archive

    try:
        return open_archive(recover=False)
    except BadInput:
        return None


@carrier_app.command("register")
@handle_errors
def carrier_register(
    number: Annotated[str, typer.Argument(help="载体编号 (carrier number)")],
    kind: Annotated[str, typer.Option("--type", help="光盘 | 硬盘 | 磁带")],
    location: Annotated[str, typer.Option("--location", help="封存 | 异地 | 利用")],
    written_on: Annotated[str | None, typer.Option("--date", help="制作日期 YYYY-MM-DD；默认今天")] = None,
    interval: Annotated[int, typer.Option("--interval-days", help="定期检测周期（天）")] = 365,
    volume: Annotated[Path | None, typer.Option("--volume", help="载体卷目录，读取其说明文件")] = None,
    note: Annotated[str, typer.Option("--note", help="备注")] = "",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """登记载体（编号、类型、存放位置、制作日期、下次检测日期）。"""
    from lantai.errors import BadInput
    from lantai.services.archive import open_archive
    from lantai.services.carriers import register_carrier

    try:
        date = dt.date.fromisoformat(written_on) if written_on else None
    except ValueError:
        raise BadInput(f"日期格式应为 YYYY-MM-DD: {written_on}", f"date must be YYYY-MM-DD: {written_on}") from None
    with open_archive() as archive:
        row = register_carrier(archive, number, kind=kind, location=location, written_on=date, interval_days=interval,
                               volume=volume, note=note, actor=actor)
    emit(row, as_json=as_json, render=lambda: console.print(
        f"[green]已登记[/] {row['number']}（{row['kind']}，{row['location']}），下次检测 {row['next_check_due']}"))


@carrier_app.command("list")
@handle_errors
def carrier_list(
    due: Annotated[bool, typer.Option("--due", help="只列出到期应检测的载体 (only carriers due for their check)")] = False,
    as_of: Annotated[str | None, typer.Option("--as-of", help="以该日期判断是否到期 YYYY-MM-DD")] = None,
    as_json: JsonOption = False,
) -> None:
    """列出已登记载体；--due 只列到期应做读取检测的。"""
    from lantai.errors import BadInput
    from lantai.services.archive import open_archive
    from lantai.services.carriers import list_carriers

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise BadInput(f"日期格式应为 YYYY-MM-DD: {as_of}", f"date must be YYYY-MM-DD: {as_of}") from None
    with open_archive() as archive:
        rows = list_carriers(archive, due_only=due, as_of=day)

    def render() -> None:
        table = Table(title="到期应检测的载体" if due else "离线载体登记")
        for column in ("载体编号", "类型", "存放", "制作日期", "上次检测", "结果", "下次检测"):
            table.add_column(column)
        for r in rows:
            result = {True: "[green]完好[/]", False: "[red]有问题[/]", None: ""}[r["last_check_ok"]]
            table.add_row(r["number"], r["kind"], r["location"], r["written_on"], r["last_checked"] or "", result,
                          ("[red]" if r["due"] else "") + r["next_check_due"] + ("[/]" if r["due"] else ""))
        console.print(table)

    emit(rows, as_json=as_json, render=render)
