"""Helpers every CLI command shares: one output path for --json and Rich, one error path.

Exit codes: 0 ok, 1 findings (a check failed, a digest mismatched), 2 bad input or usage; an
error's exit code is declared on its class in :mod:`lantai.errors`, and with ``--json`` the error
is printed as the same object the API answers with (code, message, message_en, details).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from lantai.errors import DiskFull, LantaiError, is_disk_full
from lantai.jsonable import jsonable

console = Console()
err_console = Console(stderr=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]

F = TypeVar("F", bound=Callable[..., Any])


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2, sort_keys=False) + "\n")
    sys.stdout.flush()


def emit(data: Any, *, as_json: bool, render: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON, or call ``render`` to show it to a person."""
    if as_json:
        print_json(data)
    elif render is not None:
        render()
    else:
        console.print(data)


def disk_full(exc: OSError) -> DiskFull:
    return DiskFull(f"磁盘空间不足: {exc.strerror}（{exc.filename or ''}）；请释放空间后重新运行，未完成的工作由恢复程序补齐或回滚",
                    f"disk full: {exc.strerror} ({exc.filename or ''}); free space and run the command again — "
                    "recovery completes or rolls back unfinished work")


def handle_errors(fn: F) -> F:
    """Turn LantaiError into a clear message and the right exit code; never a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            try:
                return fn(*args, **kwargs)
            except OSError as exc:  # a write the code did not wrap: a full disk is still said clearly
                if not is_disk_full(exc):
                    raise
                raise disk_full(exc) from exc
        except LantaiError as exc:
            if as_json:  # the API's error body, byte for byte the same object
                print_json(exc.to_dict())
            else:
                err_console.print(f"[bold red]错误[/]: {exc.message_zh}")
                if exc.message_en and exc.message_en != exc.message_zh:
                    err_console.print(f"[red]error[/]: {exc.message_en}")
            raise typer.Exit(exc.exit_code) from None

    return wrapper  # type: ignore[return-value]
