"""``lantai bag``: export items as a BagIt 1.0 bag, import a bag as SIPs, validate any bag.

Exit codes: 0 ok / valid, 1 invalid bag or rejected items (reasons listed), 2 bad input.
Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from lantai.cli.common import JsonOption, console, emit, handle_errors

bag_app = typer.Typer(help="BagIt 包 (RFC 8493): export, import, validate.", no_args_is_help=True)


@bag_app.command("export")
@handle_errors
def export(
    record_ids: Annotated[list[str], typer.Argument(help="电子文件号")],
    output: Annotated[Path, typer.Option("-o", "--output", help="BagIt 包目录（须不存在或为空）")],
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """将所选条目导出为 BagIt 1.0 包（data/<电子文件号>/ 为各件的 SIP，sha256 + sha512 清单）。"""
    from lantai.services.archive import open_archive
    from lantai.services.transfer import export_bag

    with open_archive() as archive:
        result = export_bag(archive, record_ids, output, actor=actor)
    emit(result, as_json=as_json, render=lambda: console.print(f"[green]已导出[/] {result['items']} 件 → {result['bag']}"))


@bag_app.command("import")
@handle_errors
def import_bag_command(
    bag: Annotated[Path, typer.Argument(help="BagIt 包目录")],
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """校验 BagIt 包，并将 data/ 中的每件作为 SIP 接收归档。"""
    from lantai.services.archive import open_archive
    from lantai.services.transfer import import_bag

    with open_archive() as archive:
        report = import_bag(archive, bag, actor=actor)
    counts = report.counts()
    emit(report.to_dict(), as_json=as_json, render=lambda: console.print(
        f"已接收 {counts['accepted']}，重复 {counts['duplicate']}，拒收 {counts['rejected']}，冲突 {counts['conflict']}"))
    if not report.ok:
        raise typer.Exit(1)


@bag_app.command("validate")
@handle_errors
def validate(
    path: Annotated[Path, typer.Argument(help="BagIt 包目录")],
    as_json: JsonOption = False,
) -> None:
    """校验 BagIt 包：结构、清单、Payload-Oxum、不安全路径（有效退出 0，无效退出 1）。"""
    from lantai.services.package_tools import validate_bag

    report = validate_bag(path)

    def render() -> None:
        console.print(f"[green]有效的 BagIt 包[/] {path}" if report.valid else f"[bold red]无效的 BagIt 包[/] {path}")
        for f in report.findings:
            label = "[red]错误[/]" if f.is_error else "[yellow]警告[/]"
            console.print(f"  {label} " + escape(f"[{f.code}] {f.message}"))

    emit(report.to_dict(), as_json=as_json, render=render)
    if not report.valid:
        raise typer.Exit(1)
