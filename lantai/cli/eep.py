"""``lantai eep``: build, verify, extract and inspect DA/T 48 电子文件封装包.

Exit codes: 0 ok, 1 the package failed verification (findings listed), 2 bad input.
Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.domain.findings import Finding, errors
from lantai.settings import load_settings

# The EEP and key-store modules (lxml, asn1crypto, SM2) load when an eep command runs, not when
# any ``lantai`` command starts: every command pays for what the top-level app imports.

eep_app = typer.Typer(help="电子文件封装包 DA/T 48 (EEP).", no_args_is_help=True)


@eep_app.command("build")
@handle_errors
def build(
    source: Annotated[str, typer.Argument(help="SIP 条目目录，或已归档条目的电子文件号 (item directory or record id)")],
    output: Annotated[Path, typer.Option("-o", "--output", help="输出的 .eep 文件")],
    previous: Annotated[
        Path | None, typer.Option("--previous", help="在此封装包上生成修改型封装包 (build a 修改型 over it)")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """由 SIP 或已归档条目生成经 SM2 签名的封装包（原始型；指定 --previous 时为修改型）。"""
    from lantai.services.package_tools import build_eep

    path = build_eep(load_settings(), source, output, previous)
    result = {"output": str(path), "bytes": path.stat().st_size, "type": "修改型" if previous else "原始型"}
    emit(
        result, as_json=as_json, render=lambda: console.print(f"[green]已生成[/] {path}（{result['type']}）")
    )


@eep_app.command("verify")
@handle_errors
def verify(
    package: Annotated[Path, typer.Argument(help=".eep 文件")],
    as_json: JsonOption = False,
) -> None:
    """验证封装包：结构、标识符、编码数据、签名、证书与修改链。"""
    from lantai.services.package_tools import verify_eep

    findings = verify_eep(load_settings(), package)
    valid = not errors(findings)
    emit(
        {"valid": valid, "findings": [f.to_dict() for f in findings]},
        as_json=as_json,
        render=lambda: _render_findings(package, findings, valid),
    )
    if not valid:
        raise typer.Exit(1)


@eep_app.command("extract")
@handle_errors
def extract(
    package: Annotated[Path, typer.Argument(help=".eep 文件")],
    output: Annotated[Path, typer.Option("-o", "--output", help="解包目标目录（须不存在或为空）")],
    as_json: JsonOption = False,
) -> None:
    """验证并解包为 SIP（文件名与字节与封装时一致）。"""
    from lantai.services.package_tools import extract_eep

    result = extract_eep(load_settings(), package, output)
    emit(
        {"directory": str(result.directory), "files": result.files},
        as_json=as_json,
        render=lambda: console.print(f"[green]已解包[/] {len(result.files)} 个文件 → {result.directory}"),
    )


@eep_app.command("history")
@handle_errors
def history(package: Annotated[Path, typer.Argument(help=".eep 文件")], as_json: JsonOption = False) -> None:
    """显示封装包的修改历史（各修改层及其签名）。"""
    from lantai.services.package_tools import eep_history

    layers = eep_history(package)
    emit({"layers": layers}, as_json=as_json, render=lambda: _render_layers(layers))


def _render_findings(package: Path, findings: list[Finding], valid: bool) -> None:
    console.print(
        f"[green]封装包验证通过[/] {package}" if valid else f"[bold red]封装包验证未通过[/] {package}"
    )
    if findings:
        table = Table("级别", "代码", "位置", "说明")
        for f in findings:
            table.add_row("错误" if f.is_error else "警告", f.code, f.element, f.message)
        console.print(table)


def _render_layers(layers: list[dict[str, object]]) -> None:
    table = Table("修改次数", "类型", "创建时间", "创建单位", "题名", "签名")
    for layer in layers:
        signatures = ", ".join(str(s["签名标识符"]) for s in layer["signatures"])  # type: ignore[attr-defined]
        table.add_row(
            *(str(layer[k]) for k in ("revision", "package_type", "created", "creator", "title")), signatures
        )
    console.print(table)
