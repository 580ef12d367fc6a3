"""``lantai worker`` and ``lantai jobs …`` — thin over :mod:`lantai.services.jobs`.

Registered in ``lantai/cli/main.py``. A worker needs ``LANTAI_BROKER_URL``; without one, jobs run in
the process that starts them and there is nothing for a worker to do.
"""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.settings import load_settings

jobs_app = typer.Typer(help="后台作业 (background jobs: list, show, wait).", no_args_is_help=True)


@handle_errors
def worker_command(
    queues: Annotated[list[str] | None, typer.Option("--queue", help="只处理这些队列，可多次: interactive, bulk（默认全部）")] = None,
    threads: Annotated[int, typer.Option(min=1, max=64, help="并行作业数 (jobs run at once in this process)")] = 2,
    sweep_every: Annotated[float, typer.Option(help="检查失联作业与未完成提交的间隔（秒）")] = 10.0,
) -> None:
    """后台工作进程 (run background jobs from the broker until SIGTERM; running jobs finish first)."""
    from lantai.services import jobs
    from lantai.services.archive import open_archive

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_a: stop.set())
    with open_archive(load_settings()) as archive:
        console.print(f"[green]工作进程已启动[/] {jobs.worker_name()}（队列 {', '.join(queues or jobs.QUEUES)}，{threads} 线程）")
        jobs.work(archive, queues=set(queues) if queues else None, threads=threads, stop=stop,
                  sweep_every=sweep_every)


def _render(rows: list[dict]) -> None:
    table = Table(title="后台作业")
    for column in ("作业", "类型", "队列", "状态", "进度", "尝试", "提交人", "创建时间", "说明"):
        table.add_column(column)
    for job in rows:
        progress = f"{job['done']}/{job['total']}" if job["total"] else str(job["done"])
        table.add_row(job["id"][:12], job["label"], job["queue"], job["state_label"], f"{progress} ({job['percent']}%)",
                      f"{job['attempts']}/{job['max_attempts']}", job["created_by"], (job["created_at"] or "")[:19],
                      (job["error"] or "")[:60])
    console.print(table)


@jobs_app.command("list")
@handle_errors
def list_command(
    state: Annotated[str | None, typer.Option(help="queued / running / done / failed")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """列出作业及其状态与进度 (list jobs with state and progress, newest first)."""
    from lantai.services import jobs
    from lantai.services.archive import open_archive

    with open_archive(load_settings(), recover=False) as archive:
        rows = jobs.list_jobs(archive, state=state, limit=limit)
    emit(rows, as_json=as_json, render=lambda: _render(rows))


@jobs_app.command("show")
@handle_errors
def show_command(job_id: Annotated[str, typer.Argument(help="作业号")],
                 wait: Annotated[bool, typer.Option("--wait", help="等到作业结束 (block until it ends)")] = False,
                 timeout: Annotated[float, typer.Option(help="--wait 的最长等待秒数")] = 3600.0,
                 as_json: JsonOption = False) -> None:
    """查看一个作业 (one job; exit 1 when it failed)."""
    from lantai.services import jobs
    from lantai.services.archive import open_archive

    with open_archive(load_settings(), recover=False) as archive:
        job = jobs.wait(archive, job_id, timeout=timeout) if wait else jobs.get_job(archive, job_id)
    emit(job, as_json=as_json, render=lambda: _render([job]))
    if job["state"] == "failed":
        raise typer.Exit(1)


@handle_errors
def doctor_command(as_json: JsonOption = False) -> None:
    """检查配置 (check this configuration end to end: database, migrations, store, broker, clamd, keys,
    fonts, and as advice the search index; says what is wrong in Chinese and English; exit 1 on a problem)."""
    from lantai.services.ops import doctor

    probes = doctor(load_settings())
    problems = [p for p in probes if not p.ok and p.required]

    def render() -> None:
        for probe in probes:
            mark = "[green]✓[/]" if probe.ok else ("[red]✗[/]" if probe.required else "[yellow]![/]")
            console.print(f"{mark} {probe.name}" + (f"  {probe.message}" if probe.message else ""))
            if probe.message_en and not probe.ok:
                console.print(f"    {probe.message_en}")
        console.print("[green]配置正常[/] (all checks passed)" if not problems
                      else f"[red]{len(problems)} 项有问题[/] ({len(problems)} problem(s))")

    emit({"ok": not problems, "checks": [p.to_dict() for p in probes]}, as_json=as_json, render=render)
    if problems:
        raise typer.Exit(1)
