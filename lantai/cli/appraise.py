"""``lantai appraise`` (鉴定任务), ``lantai destroy`` (销毁第二阶段) and ``lantai hold`` (冻结).

Each command acts as the account named by ``--actor`` with that account's roles and clearance —
the same checks as the API (nobody approves their own campaign, 密级鉴定 is the 安全保密管理员's,
phase 2 of a destruction is run by a second person); an unknown or inactive account is refused.
Every act is in the audit chain with ``via: cli``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

appraise_app = typer.Typer(help="鉴定：到期鉴定、开放鉴定、密级鉴定 (appraisal campaigns).", no_args_is_help=True)
hold_app = typer.Typer(help="冻结：诉讼、审计、检查期间禁止销毁和缩短保管期限 (holds).", no_args_is_help=True)
ActorOption = Annotated[str, typer.Option("--actor", "-u", help="以此账号的角色与密级权限操作")]


def _open() -> Any:
    from lantai.services.archive import open_archive

    return open_archive()


def _as(archive: Any, actor: str) -> Any:
    from lantai.services.use import acting_as

    return acting_as(archive, actor)


@contextmanager
def _bar(description: str, as_json: bool) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A Rich progress bar (none with ``--json``): yields (on_total, advance)."""
    if as_json:
        yield (lambda _n: None), (lambda _n: None)
        return
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield (lambda n: progress.update(task, total=n)), (lambda n: progress.advance(task, n))


def _show(campaign: dict[str, Any]) -> None:
    console.print(f"鉴定任务 {campaign['id']}（{campaign['label']}，{campaign['year']} 年，"
                  f"{campaign['fonds_code'] or '全部全宗'}）：{campaign['status']}，共 {campaign['items']} 件")
    if campaign.get("rows"):
        table = Table("电子文件号", "档号", "题名", "年度", "保管期限", "密级", "鉴定意见", "状态")
        for r in campaign["rows"]:
            table.add_row(r["record_id"], r["archival_code"], r["title"], str(r["year"] or ""), r["retention"],
                          r["security_classification"], r["decision"] or "", r["state"])
        console.print(table)


@appraise_app.command("open")
@handle_errors
def open_(kind: Annotated[str, typer.Option("--type", help="到期、开放 或 密级")],
          year: Annotated[int, typer.Option(help="到期年度：列出截至该年底到期且尚未鉴定的档案")], actor: ActorOption,
          fonds: Annotated[str, typer.Option(help="全宗号（默认全部）")] = "", note: str = "",
          as_json: JsonOption = False) -> None:
    """开启鉴定任务，列出应鉴定的档案。"""
    from lantai.services import appraisal

    with _open() as archive:
        result = appraisal.open_campaign(archive, _as(archive, actor), kind, year, fonds=fonds, note=note)
    emit(result, as_json=as_json, render=lambda: _show(result))


@appraise_app.command("show")
@handle_errors
def show(campaign: int, actor: ActorOption, page: int = 1, page_size: int = 50,
         state: Annotated[str, typer.Option(help="只看此状态（待鉴定、已鉴定、待销毁 …）")] = "",
         as_json: JsonOption = False) -> None:
    """查看鉴定任务及其档案（分页）。"""
    from lantai.services import appraisal

    with _open() as archive:
        result = appraisal.get_campaign(archive, _as(archive, actor), campaign, page=page, page_size=page_size,
                                        state=state)
    emit(result, as_json=as_json, render=lambda: _show(result))


@appraise_app.command("list")
@handle_errors
def list_(actor: ActorOption, status: str = "", as_json: JsonOption = False) -> None:
    """鉴定任务列表。"""
    from lantai.services import appraisal

    with _open() as archive:
        rows = appraisal.list_campaigns(archive, _as(archive, actor), status=status)

    def render() -> None:
        table = Table("编号", "类型", "年度", "全宗", "状态", "件数", "提出人", "鉴定小组")
        for c in rows:
            table.add_row(str(c["id"]), c["label"], str(c["year"]), c["fonds_code"] or "全部", c["status"],
                          str(c["items"]), c["proposer"], "、".join(c["committee"]))
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@appraise_app.command("decide")
@handle_errors
def decide(campaign: int, record_ids: Annotated[list[str], typer.Argument(help="电子文件号，可多个")],
           decision: Annotated[str, typer.Option(help="销毁、延长、保持、开放、控制、解密、降密")],
           reason: Annotated[str, typer.Option(help="鉴定理由")], actor: ActorOption,
           retention: Annotated[str, typer.Option(help="延长后的保管期限（如 D30、永久）")] = "",
           level: Annotated[str, typer.Option(help="降密后的密级")] = "",
           control_reason: Annotated[str, typer.Option(help="控制使用理由")] = "",
           as_json: JsonOption = False) -> None:
    """对鉴定任务中的档案作出鉴定意见（可批量）。"""
    from lantai.services import appraisal

    value = retention or level or control_reason
    with _open() as archive:
        result = appraisal.decide(archive, _as(archive, actor), campaign, record_ids, decision, reason, value=value)
    emit(result, as_json=as_json,
         render=lambda: console.print(f"鉴定任务 {campaign}：{result['decided']} 件鉴定为 {result['decision']}"))


@appraise_app.command("submit")
@handle_errors
def submit(campaign: int, actor: ActorOption,
           approver: Annotated[list[str], typer.Option("--approver", help="鉴定小组成员（至少两名，不含本人）；可多次")],
           as_json: JsonOption = False) -> None:
    """提交鉴定小组审批。"""
    from lantai.services import appraisal

    with _open() as archive:
        result = appraisal.submit(archive, _as(archive, actor), campaign, approver)
    emit(result, as_json=as_json, render=lambda: console.print(
        f"鉴定任务 {campaign}：{result['status']}，鉴定小组 {'、'.join(result['committee'])}"))


@appraise_app.command("approve")
@handle_errors
def approve(campaign: int, actor: ActorOption,
            reject: Annotated[bool, typer.Option("--reject", help="驳回（须说明意见）")] = False,
            comment: Annotated[str, typer.Option(help="审批意见")] = "", as_json: JsonOption = False) -> None:
    """鉴定小组成员审批（同意或驳回）。"""
    from lantai.services import appraisal

    with _open() as archive:
        result = appraisal.approve(archive, _as(archive, actor), campaign, not reject, comment)
    emit(result, as_json=as_json, render=lambda: console.print(f"鉴定任务 {campaign}：{result['status']}"))


@appraise_app.command("execute")
@handle_errors
def execute(campaign: int, actor: ActorOption, as_json: JsonOption = False) -> None:
    """执行已批准的鉴定任务（销毁意见进入第一阶段：待销毁，生成销毁清册）。"""
    from lantai.services import appraisal

    with _open() as archive, _bar("执行鉴定", as_json) as (on_total, advance):
        result = appraisal.execute(archive, _as(archive, actor), campaign, progress=advance, on_total=on_total)
    execution = result["execution"]

    def render() -> None:
        console.print(f"鉴定任务 {campaign}：{result['status']}；执行 {execution['applied']} 件，待销毁 "
                      f"{execution['destroy']} 件，冻结 {execution['held']} 件，失败 {execution['failed']} 件")
        if execution.get("register"):
            console.print(f"销毁清册：{execution['register']['pdf']}（SM3 {execution['register']['sm3']}）")

    emit(result, as_json=as_json, render=render)
    if execution["failed"]:
        raise typer.Exit(1)


@appraise_app.command("due")
@handle_errors
def due(year: Annotated[int, typer.Option(help="截至该年底")], actor: ActorOption,
        fonds: str = "", as_json: JsonOption = False) -> None:
    """到期提醒：按类型、全宗、年度列出应鉴定的档案件数。"""
    from lantai.services import appraisal_reminders

    with _open() as archive:
        rows = appraisal_reminders.due(archive, _as(archive, actor), year, fonds=fonds)

    def render() -> None:
        table = Table("鉴定类型", "全宗", "年度", "件数")
        for r in rows:
            table.add_row(r["label"], r["fonds_code"] or "—", str(r["year"]), str(r["count"]))
        console.print(table if rows else f"截至 {year} 年底没有应鉴定的档案。")

    emit(rows, as_json=as_json, render=render)


@appraise_app.command("register")
@handle_errors
def register(campaign: int, actor: ActorOption,
             output: Annotated[str, typer.Option("-o", "--output", help="销毁清册.pdf 或 .xlsx")],
             as_json: JsonOption = False) -> None:
    """导出鉴定任务的销毁清册（PDF 或 XLSX）。"""
    import shutil
    from pathlib import Path

    from lantai.services import destruction

    fmt = "xlsx" if output.lower().endswith(".xlsx") else "pdf"
    with _open() as archive:
        source = destruction.register_file(archive, _as(archive, actor), campaign, fmt)
        shutil.copyfile(source, Path(output))
    emit({"output": output, "format": fmt}, as_json=as_json, render=lambda: console.print(f"销毁清册：{output}"))


def destroy_command(campaign: int, actor: ActorOption,
                    now: Annotated[bool, typer.Option("--now", help="不等待销毁等待期（仅用于测试）")] = False,
                    as_json: JsonOption = False) -> None:
    """销毁第二阶段：删除已批准销毁档案的内容文件（须由提出人、执行人以外的第二人，在等待期满后进行）。"""
    from lantai.services import destruction

    with _open() as archive, _bar("销毁", as_json) as (on_total, advance):
        result = destruction.destroy(archive, _as(archive, actor), campaign, immediately=now, progress=advance,
                                     on_total=on_total)
    outcome = result["destruction"]

    def render() -> None:
        resumed = f"（另续完中断的 {outcome['resumed']} 件）" if outcome.get("resumed") else ""
        console.print(f"鉴定任务 {campaign}：{result['status']}；销毁 {outcome['destroyed']} 件{resumed}，"
                      f"销毁清册已归档为 {result['register_record_id']}")
        for record_id in outcome["waiting"]:
            console.print(f"[yellow]暂缓销毁[/]：{record_id}：{outcome['reasons'].get(record_id, '')}")
        for failure in outcome["failed"]:
            console.print(f"[red]未能销毁[/]：{failure['record_id']}：{failure['message']}")

    emit(result, as_json=as_json, render=render)
    if outcome["failed"] or outcome["waiting"]:
        raise typer.Exit(1)


destroy_command = handle_errors(destroy_command)


@hold_app.command("add")
@handle_errors
def hold_add(reason: Annotated[str, typer.Option(help="冻结理由（诉讼、审计、检查 …）")], actor: ActorOption,
             record_id: Annotated[str, typer.Option("--record", help="一件档案的电子文件号")] = "",
             fonds: Annotated[str, typer.Option(help="全宗号")] = "",
             year: Annotated[int | None, typer.Option(help="年度（与全宗一起）")] = None,
             until: Annotated[str, typer.Option(help="截止日期 YYYY-MM-DD（默认长期）")] = "",
             as_json: JsonOption = False) -> None:
    """冻结一件档案或一个全宗（年度）。"""
    from lantai.errors import BadInput
    from lantai.services import holds

    try:
        day = dt.date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise BadInput("截止日期须为日期（如 2027-12-31）", "until must be a date") from exc
    with _open() as archive:
        result = holds.place_hold(archive, _as(archive, actor), reason, record_id=record_id, fonds_code=fonds,
                                  year=year, until=day)
    emit(result, as_json=as_json, render=lambda: console.print(f"冻结 {result['id']}：{result['state']}"))


@hold_app.command("list")
@handle_errors
def hold_list(actor: ActorOption, active: bool = False, as_json: JsonOption = False) -> None:
    """冻结列表。"""
    from lantai.services import holds

    with _open() as archive:
        rows = holds.list_holds(archive, _as(archive, actor), active_only=active)

    def render() -> None:
        table = Table("编号", "范围", "理由", "截止", "状态", "冻结人", "解除人")
        for h in rows:
            scope = h["record_id"] or f"{h['fonds_code']}{' / ' + str(h['year']) if h['year'] else ''}"
            table.add_row(str(h["id"]), scope, h["reason"], h["until"] or "长期", h["state"], h["placed_by"],
                          h["lifted_by"] or "")
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@hold_app.command("lift")
@handle_errors
def hold_lift(hold_id: int, reason: Annotated[str, typer.Option(help="解除理由")], actor: ActorOption,
              as_json: JsonOption = False) -> None:
    """解除冻结。"""
    from lantai.services import holds

    with _open() as archive:
        result = holds.lift_hold(archive, _as(archive, actor), hold_id, reason)
    emit(result, as_json=as_json, render=lambda: console.print(f"冻结 {hold_id}：{result['state']}"))
