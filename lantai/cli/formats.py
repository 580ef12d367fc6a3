"""``lantai formats`` — format identification from the command line (thin: calls lantai.services.package_tools).

Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

formats_app = typer.Typer(help="格式识别与校验 (format identification and validation).", no_args_is_help=True)


@formats_app.callback()
def _group() -> None:
    """格式识别与校验 (format identification and validation)."""


@formats_app.command("identify")
@handle_errors
def identify_command(
    paths: Annotated[list[Path], typer.Argument(help="要识别的文件 (files to identify)")],
    as_json: JsonOption = False,
) -> None:
    """识别文件格式 (PRONOM PUID、MIME、版本)；扩展名与内容不符时给出警告。

    Exit 0 when every file is identified by signature or container, 1 when one is not (unknown,
    extension only, empty, or its extension lies), 2 when a path does not exist.
    """
    from lantai.services.package_tools import identify_files

    results = identify_files(paths)
    emit({"files": results}, as_json=as_json, render=lambda: _render(results))
    if any(not _ok(r) for r in results):
        raise typer.Exit(1)


def _ok(result: dict) -> bool:
    return bool(result["puid"]) and result["basis"] not in ("extension", "none", "error") \
        and not result["extension_mismatch"]


def _render(results: list[dict]) -> None:
    table = Table("文件 (file)", "PUID", "MIME", "格式 (format)", "版本", "依据 (basis)", "警告 (warnings)")
    for r in results:
        table.add_row(r["path"], r["puid"] or "—", r["mime"] or "—", r["name"] or "—", r["version"] or "",
                      r["basis"], "; ".join(r["warnings"]))
    console.print(table)
