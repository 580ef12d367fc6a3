"""``lantai transfer``: export a year as a transfer carrier, receive one, verify the receipt.

Exit codes: 0 ok, 1 the carrier or receipt failed its checks (reasons listed), 2 bad input.
Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

transfer_app = typer.Typer(help="移交与接收 (transfer packages, 2012 layout, signed receipts).", no_args_is_help=True)


@transfer_app.command("export")
@handle_errors
def export(
    year: Annotated[int, typer.Option("--year", help="年度")],
    output: Annotated[Path, typer.Option("-o", "--output", help="移交载体目录（须不存在或为空）")],
    fonds: Annotated[str | None, typer.Option("--fonds", help="全宗号")] = None,
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """生成移交载体：说明文件、文件目录、电子档案（签名封装包）、其他（登记表、清单）。"""
    from lantai.services.archive import open_archive
    from lantai.services.transfer import export_transfer

    with open_archive() as archive:
        result = export_transfer(archive, year, output, fonds=fonds, actor=actor)
    data = result.to_dict()
    emit(data, as_json=as_json, render=lambda: console.print(
        f"[green]已生成移交载体[/] {data['directory']}：{data['items']} 件，{data['bytes']} 字节，移交标识 {data['transfer_id']}"))


@transfer_app.command("receive")
@handle_errors
def receive(
    carrier: Annotated[Path, typer.Argument(help="移交载体目录")],
    receipt: Annotated[Path | None, typer.Option("--receipt", help="回执写到此处（默认在档案目录 transfers/in/）")] = None,
    profile: Annotated[str | None, typer.Option(help="检测方案（默认与接收归档相同）")] = None,
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """接收移交载体：检测（yj 环节）、接收通过的电子档案、生成 SM2 签名回执。"""
    from lantai.services.archive import open_archive
    from lantai.services.transfer import receive_transfer

    with open_archive() as archive:
        result = receive_transfer(archive, carrier, actor=actor, profile=profile, receipt_path=receipt)
    emit(result.to_dict(), as_json=as_json, render=lambda: _render_receipt(result))
    if not result.ok:
        raise typer.Exit(1)


def _render_receipt(result) -> None:  # type: ignore[no-untyped-def]
    for finding in result.findings:
        if finding.is_error:
            console.print("[red]✗[/] " + escape(f"[{finding.code}] {finding.message}"))
    table = Table("顺序号", "电子文件号", "结果", "说明")
    for item in result.receipt.items:
        colour = "green" if item.received else "red"
        table.add_row(str(item.sequence), item.record_id, f"[{colour}]{item.result}[/]", escape(item.note))
    console.print(table)
    counts = result.receipt.counts()
    console.print(f"{result.receipt.conclusion}：共 {counts['件数']} 件，接收 {counts['接收']}，重复 {counts['重复']}，"
                  f"拒收 {counts['拒收']}；回执 {result.path}")


@transfer_app.command("verify-receipt")
@handle_errors
def verify_receipt_command(
    receipt: Annotated[Path, typer.Argument(help="接收方的回执 XML")],
    actor: Annotated[str, typer.Option(help="操作人")] = "cli",
    as_json: JsonOption = False,
) -> None:
    """验证回执签名与内容，将对方已接收的电子档案标记为已移交。"""
    from lantai.services.archive import open_archive
    from lantai.services.transfer import verify_receipt

    with open_archive() as archive:
        result = verify_receipt(archive, receipt, actor=actor)
    data = result.to_dict()

    def render() -> None:
        if result.ok:
            console.print(f"[green]回执验证通过[/]（{data['receiver']}）：移交 {data['exported']} 件，对方接收 "
                          f"{data['received']} 件，拒收 {data['rejected']} 件；已标记为已移交 {data['marked_transferred']} 件")
        else:
            console.print("[bold red]回执验证未通过，未作任何标记[/]")
            for f in result.findings:
                if f.is_error:
                    console.print("  " + escape(f"[{f.code}] {f.element}: {f.message}"))

    emit(data, as_json=as_json, render=render)
    if not result.ok:
        raise typer.Exit(1)
