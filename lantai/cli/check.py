"""``lantai check``: DA/T 70 四性检测 over files, SIP items, batches or archived items, and
``lantai check confirm``: an archivist's verdict on a target DA/T 70 leaves to people.

Exit codes: 0 every item passed, 1 some check failed (or could not scan), 2 the run could not
happen (bad arguments, unknown profile, unreadable archive). Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import click
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.errors import BadInput


class _CheckGroup(typer.core.TyperGroup):
    """``lantai check PATH…`` runs the checks (the ``run`` command, the default); ``lantai check
    confirm …`` records a verdict. A first word that is no subcommand goes to ``run``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        elif not args:
            args = ["run"]
        return super().parse_args(ctx, args)


check_app = typer.Typer(cls=_CheckGroup, help="四性检测 (DA/T 70 four-property checks) and manual verdicts.")

STATUS_STYLE = {"pass": "[green]通过[/]", "fail": "[red]不通过[/]", "warn": "[yellow]警告[/]",
                "not_applicable": "[dim]不适用[/]", "unscanned": "[red]未扫描[/]"}


@handle_errors
def check_command(
    paths: Annotated[list[Path] | None, typer.Argument(help="文件、条目目录/zip、批次目录 (files, items, batches)")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="gd 归档 | yj 移交与接收 | bc 长期保存（默认 gd；--archived 时 bc）")] = None,
    profile: Annotated[str, typer.Option("--profile", help="检测方案名称或 TOML 文件 (profile)")] = "default",
    report: Annotated[Path | None, typer.Option("--report", help="另存报告: FILE.pdf | FILE.xlsx | FILE.html | FILE.json")] = None,
    archived: Annotated[bool, typer.Option("--archived", help="检测已归档条目（PATH 为电子文件号，省略则全部；默认 bc 环节）")] = False,
    batch: Annotated[str | None, typer.Option("--batch", help="与 --archived 同用：只检测该批次的已归档条目")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="并行进程数 (default: 2)")] = None,
    operator: Annotated[str | None, typer.Option("--actor", "--operator", help="检测人 (default: the login name)")] = None,
    as_json: JsonOption = False,
) -> None:
    """四性检测 (DA/T 70 four-property checks; exit 0 all pass, 1 some failed, 2 could not run)."""
    from lantai.services.file_checks import require_report_suffix, save_report

    if report is not None:
        require_report_suffix(report)
    stage = stage or ("bc" if archived else "gd")
    operator = operator or _login_name()
    with _progress(as_json) as progress:
        task = progress.add_task("检测", total=None)

        def advance(total: int | None = None) -> None:
            if total is not None:
                progress.update(task, total=total)
            progress.advance(task)

        result, header = _run(paths or [], stage, profile, archived, batch, workers, operator, advance)
    if report is not None:
        save_report(result, report, header)
    emit(result.to_dict(), as_json=as_json, render=lambda: _render(result, report))
    if not result.ok:
        raise typer.Exit(1)


def _run(paths: list[Path], stage: str, profile: str, archived: bool, batch: str | None, workers: int | None,
         operator: str, progress):  # type: ignore[no-untyped-def]
    from lantai.services.archive import open_archive
    from lantai.services.file_checks import check_files
    from lantai.services.item_checks import archived_ids, check_archived_items, report_header

    if batch and not archived:
        raise BadInput("--batch 只能与 --archived 同用", "--batch needs --archived")
    if not archived:
        return check_files(paths, stage=stage, profile=profile, workers=workers, operator=operator,
                           progress=progress)
    with open_archive() as archive:
        ids = archived_ids(archive, batch_id=batch, record_ids=[str(p) for p in paths])
        run = check_archived_items(archive, ids, operator=operator, stage=stage, profile=profile,
                                   workers=workers, progress=lambda _done, total, _item: progress(total))
        return run.report, report_header(archive, run.report)


def _login_name() -> str:
    """Who runs the check when no --actor is given: the operating-system account, never a placeholder."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True, disable=quiet)


def _render(result, report_path: Path | None) -> None:  # type: ignore[no-untyped-def]
    summary = result.summary()
    table = Table(title=f"四性检测（{result.stage}）汇总")
    for column in ("编号", "通过", "不通过", "警告", "未扫描", "不适用"):
        table.add_column(column)
    for code, counts in summary["by_code"].items():
        table.add_row(code, str(counts["pass"]), str(counts["fail"]), str(counts["warn"]), str(counts["unscanned"]),
                      str(counts["not_applicable"]))
    console.print(table)
    for item in result.items:
        if item.failed:
            console.print(f"[red]✗[/] {item.id}  [dim]{item.path}[/]")
            for r in item.failures()[:20]:
                console.print(f"    {r.rule or r.code} {STATUS_STYLE[r.status]} {r.message}", markup=True,
                              highlight=False)
    console.print(f"共 {summary['items']} 件：通过 {summary['passed']}，未通过 {summary['failed']}")
    if report_path is not None:
        console.print(f"报告已保存: {report_path}")


@handle_errors
def confirm_command(
    code: Annotated[str, typer.Argument(help="须人工确认的检测项目编号，如 4-2")],
    verdict: Annotated[str, typer.Argument(help="符合 | 不符合 (conforms | nonconforming)")],
    actor: Annotated[str, typer.Option("--actor", "--user", help="确认人账号（须有执行检测权限）")],
    run: Annotated[str | None, typer.Option("--run", help="检测记录编号 (run id)")] = None,
    item: Annotated[str | None, typer.Option("--item", help="电子文件号：其接收检测报告")] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="批次编号：其接收检测报告")] = None,
    note: Annotated[str, typer.Option("--note", help="说明（如检查了哪些载体）")] = "",
    as_json: JsonOption = False,
) -> None:
    """记录人工确认结论 (record a verdict on a target left to people; shown in the 四性检测报告)."""
    from lantai.services.archive import open_archive
    from lantai.services.check_verdicts import record_verdict
    from lantai.services.use import acting_as

    scopes = [(name, value) for name, value in (("run", run), ("item", item), ("batch", batch)) if value]
    if len(scopes) != 1:
        raise BadInput("请用 --run、--item 或 --batch 之一指明检测报告", "give exactly one of --run, --item or --batch")
    scope, scope_id = scopes[0]
    with open_archive() as archive:
        result = record_verdict(archive, acting_as(archive, actor), scope=scope, scope_id=scope_id, code=code,
                                verdict=verdict, note=note)
    emit(result, as_json=as_json, render=lambda: console.print(
        f"已记录 {result['code']} 人工确认结论：{result['verdict_zh']}（确认人 {result['confirmed_by']}）"))


check_app.command("run")(check_command)
check_app.command("confirm")(confirm_command)
