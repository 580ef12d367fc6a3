"""``lantai use`` — 利用 for scripts: request, decide, grants, revoke, and the 利用登记簿 export.

Each command acts as the account named by ``--user`` with that account's roles and clearance
(the same checks as the API: nobody decides their own request, nobody approves above their
clearance); an inactive or unknown account is refused. Every act is audited with ``via: cli``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

use_app = typer.Typer(help="利用：申请、审批、授权与利用登记簿 (access requests, grants, use register).",
                      no_args_is_help=True)
UserOption = Annotated[str, typer.Option("--user", "-u", help="以此账号的角色与密级权限操作")]


def _open() -> Any:
    from lantai.services.archive import open_archive

    return open_archive()


@use_app.command("request")
@handle_errors
def request(items: Annotated[list[str], typer.Argument(help="电子文件号，或 档号:… / 文号:…")], user: UserOption,
            purpose: Annotated[str, typer.Option(help="工作查考、编史修志、学术研究、经济建设、宣传教育、其他")] = "工作查考",
            method: Annotated[list[str] | None, typer.Option("--method", help="在线阅览、下载、打印、复制；可多次")] = None,
            until: Annotated[str, typer.Option(help="利用期限（YYYY-MM-DD）")] = "",
            detail: Annotated[str, typer.Option(help="目的为“其他”时的说明")] = "",
            note: str = "", as_json: JsonOption = False) -> None:
    """提出利用申请。"""
    from lantai.errors import BadInput
    from lantai.services import use

    try:
        day = dt.date.fromisoformat(until) if until else dt.date.today() + dt.timedelta(days=30)
    except ValueError as exc:
        raise BadInput("利用期限须为日期（如 2026-12-31）", "until must be a date") from exc
    with _open() as archive:
        result = use.create_request(archive, use.acting_as(archive, user), [use.parse_reference(i) for i in items],
                                    purpose, method or ["在线阅览"], day, purpose_detail=detail, note=note)
    emit(result, as_json=as_json, render=lambda: console.print(f"利用申请 {result['id']}：{result['status']}"))


@use_app.command("decide")
@handle_errors
def decide(request_id: int, user: UserOption,
           approve: Annotated[bool, typer.Option("--approve/--reject", help="同意或驳回")] = True,
           reason: Annotated[str, typer.Option(help="理由（驳回时必填）")] = "", as_json: JsonOption = False) -> None:
    """审批利用申请（档案管理员；秘密及以上再经安全保密管理员）。"""
    from lantai.services import use

    with _open() as archive:
        result = use.decide(archive, use.acting_as(archive, user), request_id, approve, reason)
    emit(result, as_json=as_json, render=lambda: console.print(
        f"利用申请 {request_id}：{result['status']}" + (f"，授权 {result['grant_id']}" if result["grant_id"] else "")))


@use_app.command("effect")
@handle_errors
def effect(request_id: int, user: UserOption,
           effect: Annotated[str, typer.Option("--effect", help="利用效果：解决问题、部分解决、未解决")],
           note: Annotated[str, typer.Option(help="说明")] = "", as_json: JsonOption = False) -> None:
    """登记利用效果（申请人，对已批准的申请）。"""
    from lantai.services import use

    with _open() as archive:
        result = use.record_effect(archive, use.acting_as(archive, user), request_id, effect, note)
    emit(result, as_json=as_json, render=lambda: console.print(f"利用申请 {request_id}：利用效果 {result['effect']}"))


@use_app.command("requests")
@handle_errors
def requests(user: UserOption, mine: bool = False, as_json: JsonOption = False) -> None:
    """利用申请列表（本人的；审批人看全部）。"""
    from lantai.services import use

    with _open() as archive:
        rows = use.list_requests(archive, use.acting_as(archive, user), mine=mine)

    def render() -> None:
        table = Table("编号", "申请人", "档案", "目的", "方式", "状态")
        for r in rows:
            table.add_row(str(r["id"]), r["requester"], "；".join(i["reference"] for i in r["items"]), r["purpose"],
                          "、".join(r["methods"]), r["status"])
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@use_app.command("grants")
@handle_errors
def grants(user: UserOption, mine: bool = False, as_json: JsonOption = False) -> None:
    """利用授权列表（本人的；审批人看全部）。"""
    from lantai.services import use

    with _open() as archive:
        rows = use.list_grants(archive, use.acting_as(archive, user), mine=mine)

    def render() -> None:
        table = Table("编号", "利用者", "档案", "方式", "有效期至", "状态")
        for g in rows:
            table.add_row(str(g["id"]), g["grantee"], "；".join(i["record_id"] or "—" for i in g["items"]),
                          "、".join(g["methods"]), g["until"] or "", g["state"])
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@use_app.command("revoke")
@handle_errors
def revoke(grant_id: int, user: UserOption, reason: str = "", as_json: JsonOption = False) -> None:
    """撤销利用授权（立即生效）。"""
    from lantai.services import use

    with _open() as archive:
        result = use.revoke_grant(archive, use.acting_as(archive, user), grant_id, reason)
    emit(result, as_json=as_json, render=lambda: console.print(f"利用授权 {grant_id}：{result['state']}"))


@use_app.command("register")
@handle_errors
def register(year: Annotated[int, typer.Option(help="年度")], user: UserOption,
             output: Annotated[Path, typer.Option("-o", "--output", help="利用登记簿.xlsx 或 .pdf")],
             as_json: JsonOption = False) -> None:
    """导出利用登记簿（XLSX 或 PDF）及利用人次、利用卷件次统计。"""
    from lantai.services import use, use_register

    with _open() as archive:
        result = use_register.export_register(archive, use.acting_as(archive, user), year, output)
    emit(result, as_json=as_json, render=lambda: console.print(
        f"{output}：{result['entries']} 条；利用人次 {result['person_times']}，利用卷件次 {result['item_times']}"))
