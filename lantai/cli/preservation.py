"""``lantai replicas`` and ``lantai fixity``: storage roots, replication and scheduled fixity.

Exit codes as everywhere: 0 done, 1 findings (copies still pending or failed, damage that could
not be repaired), 2 bad input or an unreachable archive.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TransferSpeedColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.domain.units import human_bytes

replicas_app = typer.Typer(help="副本与存储根 (replica storage roots and replication).", no_args_is_help=True)
fixity_app = typer.Typer(help="定期固定性检查与自动修复 (scheduled fixity with self-repair).", no_args_is_help=True)

ActorOption = Annotated[str, typer.Option("--actor", help="操作人 (recorded in the audit chain)")]


@replicas_app.command("add")
@handle_errors
def add(name: Annotated[str, typer.Argument(help="存储根名称 (letters, digits, _ and -)")],
        url: Annotated[str, typer.Argument(help="file:///绝对路径 或 s3://存储桶/前缀")],
        actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """添加副本存储根 (declare it in lantai.toml, initialise it, queue every item for back-fill)."""
    from lantai.services.archive import open_archive
    from lantai.services.replicas import add_root

    with open_archive() as archive:
        result = add_root(archive, name, url, actor=actor)
    emit(result, as_json=as_json, render=lambda: console.print(
        f"已添加存储根 {result['name']} ({result['url']})，对象锁定: {'是' if result['object_lock'] else '否'}，"
        f"待补齐 {result['queued']} 件；运行 lantai replicas sync 立即复制"))


@replicas_app.command("status")
@handle_errors
def status_command(as_json: JsonOption = False) -> None:
    """各存储根状态 (objects, bytes, replication lag, last verification)."""
    from lantai.services.archive import open_archive
    from lantai.services.replicas import status

    with open_archive() as archive:
        rows = status(archive)

    def render() -> None:
        table = Table("存储根", "地址", "可达", "对象", "字节", "待复制", "滞后(秒)", "已校验", "损坏", "最早校验")
        for r in rows:
            name = f"{r['name']}（主）" if r["primary"] else r["name"]
            table.add_row(name, r["url"], "是" if r["reachable"] else "[red]否[/]", str(r["objects"]),
                          human_bytes(r["bytes"]), str(r["queued"]), str(r["lag_seconds"]), str(r["verified_objects"]),
                          str(r["damaged_objects"]), r["oldest_verified"] or "—")
        console.print(table)
        for r in rows:
            if r["last_error"]:
                console.print(f"[yellow]{r['name']}[/]: {r['last_error']}")

    emit({"roots": rows}, as_json=as_json, render=render)
    if any(not r["reachable"] or r["damaged_objects"] for r in rows):
        raise typer.Exit(1)


@replicas_app.command("sync")
@handle_errors
def sync_command(root: Annotated[str | None, typer.Option("--root", help="只处理这个存储根")] = None,
                 max_duration: Annotated[float | None, typer.Option("--max-duration", help="最多运行秒数")] = None,
                 follow: Annotated[bool, typer.Option("--follow", help="持续运行，按退避间隔重试（作为服务）")] = False,
                 as_json: JsonOption = False) -> None:
    """立即复制队列中的版本 (drain the replication queue now; --follow keeps running)."""
    from lantai.services.archive import open_archive
    from lantai.services.replicas import follow as follow_queue
    from lantai.services.replicas import sync

    with open_archive() as archive:
        if follow:
            follow_queue(archive, stop=lambda: False,
                         on_report=lambda r: console.print(f"复制 {r.copied} 件，失败 {len(r.failed)}，"
                                                           f"不可达 {', '.join(r.unavailable) or '无'}"))
            return
        with Progress(TextColumn("[bold]复制"), BarColumn(), TransferSpeedColumn(), console=console,
                      transient=True) as progress:
            task = progress.add_task("sync", total=None)
            report = sync(archive, root=root, max_seconds=max_duration,
                          on_copied=lambda n: progress.advance(task, n))
    data = report.to_dict()

    def render() -> None:
        console.print(f"已复制 {report.copied} 个对象（{human_bytes(report.bytes)}，{report.seconds:.1f} 秒），"
                      f"仍待复制 {report.pending}")
        for name in report.unavailable:
            console.print(f"[yellow]存储根 {name} 不可达，稍后重试[/]")
        for f in report.failed:
            console.print(f"[red]✗[/] {f['root']} {f['object']}: {f['error']['message']}")

    emit(data, as_json=as_json, render=render)
    if not report.ok:
        raise typer.Exit(1)


@fixity_app.command("run")
@handle_errors
def run(max_duration: Annotated[float | None, typer.Option("--max-duration", help="最多运行秒数")] = None,
        max_bytes: Annotated[int | None, typer.Option("--max-bytes", help="最多校验字节数")] = None,
        root: Annotated[str | None, typer.Option("--root", help="只校验这个存储根")] = None,
        actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """定期固定性检查 (oldest-verified first, within bounds; repairs from a sound copy; exit 1 if damage remains)."""
    from lantai.errors import BadInput
    from lantai.services.archive import open_archive
    from lantai.services.fixity import run_scheduled

    if (max_duration is not None and max_duration <= 0) or (max_bytes is not None and max_bytes <= 0):
        raise BadInput("--max-duration 与 --max-bytes 必须为正数", "--max-duration and --max-bytes must be positive")
    with open_archive() as archive, Progress(TextColumn("[bold]校验"), BarColumn(), TransferSpeedColumn(),
                                             console=console, transient=True) as progress:
        task = progress.add_task("fixity", total=max_bytes)
        report = run_scheduled(archive, root=root, max_seconds=max_duration, max_bytes=max_bytes, actor=actor,
                               progress=lambda n: progress.advance(task, n))
    data: dict[str, Any] = report.to_dict()

    def render() -> None:
        console.print(f"已校验 {report.checked}/{report.planned} 个副本（{report.files} 个文件，{human_bytes(report.bytes)}，"
                      f"{data['mb_per_s']} MB/s）")
        for r in report.repaired:
            console.print(f"[green]已修复[/] {r['root']} {r['object']} {r['file']}（来自 {r['source']}）")
        for u in report.unrecoverable:
            console.print(f"[red]损坏[/] {u['root']} {u['object']}: {', '.join(u['files'])}（无完好副本）")
        for name in report.unavailable:
            console.print(f"[yellow]存储根 {name} 不可达，已跳过[/]")
        console.print("覆盖率: " + "，".join(f"{k} {v:.0%}" for k, v in report.coverage.items()))

    emit(data, as_json=as_json, render=render)
    if not report.ok:
        raise typer.Exit(1)
