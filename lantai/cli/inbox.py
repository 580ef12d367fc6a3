"""``lantai watch DIR``: the watched inbox (热文件夹) that OA systems drop batches into."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Annotated

import typer

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.settings import load_settings

STATUS_LABELS = {"done": "[green]已归档[/]", "rejected": "[red]有拒收[/]"}


@handle_errors
def watch_command(
    inbox: Annotated[Path, typer.Argument(help="收件目录 (inbox directory)")],
    once: Annotated[bool, typer.Option("--once", help="处理已完整的批次后退出 (process what is complete, then exit)")] = False,
    interval: Annotated[float, typer.Option(help="轮询间隔（秒）")] = 5.0,
    settle: Annotated[float, typer.Option(help="登记表写入后静置多少秒才视为完整")] = 5.0,
    actor: Annotated[str, typer.Option(help="操作人 (recorded in the audit chain)")] = "inbox",
    as_json: JsonOption = False,
) -> None:
    """热文件夹 (watch an inbox: ingest complete batches, file them under done/ or rejected/ with a report)."""
    from lantai.services.archive import open_archive
    from lantai.services.inbox import InboxResult, inbox_lock, run_once, watch

    inbox = Path(inbox).absolute()
    results: list[InboxResult] = []

    def report(result: InboxResult) -> None:
        results.append(result)
        if not as_json:
            counts = result.counts
            console.print(f"{STATUS_LABELS[result.status]} {result.name}: 接收 {counts.get('accepted', 0)}，"
                          f"重复 {counts.get('duplicate', 0)}，拒收 {counts.get('rejected', 0)}，"
                          f"冲突 {counts.get('conflict', 0)} → {result.destination}")

    with inbox_lock(inbox), open_archive(load_settings()) as archive:
        if once:
            run_once(archive, inbox, settle=settle, actor=actor, on_result=report)
        else:
            stopping = _stop_on_signals()
            if not as_json:
                console.print(f"正在监视 {inbox}（每 {interval:g} 秒；Ctrl-C 或 SIGTERM 在当前批次完成后退出）")
            watch(archive, inbox, interval=interval, settle=settle, actor=actor, on_result=report,
                  should_stop=lambda: stopping[0])
    emit({"ok": all(r.status == "done" for r in results), "inbox": str(inbox),
          "processed": [r.to_dict() for r in results]}, as_json=as_json,
         render=lambda: console.print(f"共处理 {len(results)} 个批次"))
    if any(r.status != "done" for r in results):
        raise typer.Exit(1)


def _stop_on_signals() -> list[bool]:
    """SIGTERM (systemd stop) and SIGINT finish the batch in hand, then stop: nothing is cut half-way."""
    flag = [False]

    def stop(*_args: object) -> None:
        flag[0] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return flag
