"""``lantai serve`` and ``lantai users …`` — thin over :mod:`lantai.api` and :mod:`lantai.services.users`.

``lantai/cli/main.py`` registers them: ``app.command("serve")(serve_command)`` and
``app.add_typer(users_app, name="users")``. Account changes from the CLI are made by the operator
on the server and are audited with the actor ``cli``. Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.domain.roles import CLEARANCES, Role

users_app = typer.Typer(help="用户与角色 (users, roles, clearances, API tokens).", no_args_is_help=True)
CLI_ACTOR = "cli"

WORKER_HEALTHCHECK_SECONDS = 60  # see serve_command
# An idle keep-alive connection is kept longer than any client or proxy keeps it (httpx 5 s,
# nginx's upstream keepalive_timeout 60 s): with uvicorn's 5 s both sides could close and reuse it
# at the same instant, and the request sent on it was reset (the load test's ReadError and
# RemoteProtocolError; a 502 behind nginx). The side that idles out first must be the client.
KEEP_ALIVE_SECONDS = 75


@handle_errors
def serve_command(
    host: Annotated[str, typer.Option(help="监听地址 (bind address)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="端口 (port)")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn 进程数 (worker processes)")] = 1,
    as_json: JsonOption = False,
) -> None:
    """启动网页与接口服务 (serve the web UI and REST API with uvicorn; --workers N for N processes).

    With several workers any worker serves any request: sessions, CSRF tokens and login throttling
    live in the catalogue, and /metrics adds up every worker's request counters.
    """
    import os

    import uvicorn

    from lantai.services.archive import open_archive
    from lantai.services.ops import prepare_multiprocess_dir

    emit({"url": f"http://{host}:{port}/", "api_docs": f"http://{host}:{port}/api/docs", "workers": workers},
         as_json=as_json,
         render=lambda: console.print(f"[green]兰台已启动[/] http://{host}:{port}/  （接口文档 /api/docs，{workers} 个进程）"))
    if workers > 1:
        with open_archive() as archive:  # migrations and start-up recovery once, before the workers
            metrics_dir = archive.settings.staging_dir / "metrics"
        prepare_multiprocess_dir(metrics_dir)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        # uvicorn's supervisor kills a worker whose ping thread does not answer within the
        # health-check timeout (default 5 s), dropping every request it was serving. On a busy
        # machine a busy worker missed it (the 10-minute load test at load 29: 57 of 8,377 requests
        # cut off; with 60 s, 5 at load 34 and no worker replaced); a hung worker is still replaced.
        uvicorn.run("lantai.api.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                    log_level="warning", proxy_headers=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
                    timeout_keep_alive=KEEP_ALIVE_SECONDS)
        return
    archive = open_archive()
    from lantai.api import create_app

    app = create_app(archive)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning",
                    proxy_headers=False, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    finally:
        archive.close()


def _roles_option(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@users_app.command("add")
@handle_errors
def add(
    username: Annotated[str, typer.Argument(help="用户名")],
    password: Annotated[str | None, typer.Option(help="初始密码（不给则提示输入；服务账号不需要）")] = None,
    role: Annotated[list[str] | None, typer.Option("--role", help=f"角色，可多次: {', '.join(r.value for r in Role)}")] = None,
    clearance: Annotated[str, typer.Option(help=f"密级权限: {', '.join(CLEARANCES)}")] = "公开",
    display_name: Annotated[str, typer.Option(help="姓名")] = "",
    service: Annotated[bool, typer.Option("--service", help="服务账号（如 OA 系统，只用接口令牌，须经安全保密管理员批准）")] = False,
    as_json: JsonOption = False,
) -> None:
    """新建用户 (create a user; the roles asked for wait for the 安全保密管理员's approval)."""
    if password is None and not service:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt=True)
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        user = users.create_user(archive, CLI_ACTOR, username, None if service else password,
                                 display_name=display_name, roles=_roles_option(role), clearance=clearance,
                                 initial=not service, service=service)
    emit(user, as_json=as_json, render=lambda: console.print(f"[green]已创建用户[/] {user['username']}"))


@users_app.command("list")
@handle_errors
def list_(as_json: JsonOption = False) -> None:
    """列出用户 (list users)."""
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        rows = users.list_users(archive)

    def render() -> None:
        table = Table(title="用户")
        for column in ("用户名", "姓名", "角色", "密级权限", "状态"):
            table.add_column(column)
        for u in rows:
            table.add_row(u["username"], u["display_name"], "、".join(u["roles"]), u["clearance"],
                          "启用" if u["active"] else "停用")
        console.print(table)

    emit(rows, as_json=as_json, render=render)


@users_app.command("set-clearance")
@handle_errors
def set_clearance(username: str, clearance: Annotated[str, typer.Argument(help=" / ".join(CLEARANCES))],
                  as_json: JsonOption = False) -> None:
    """授予密级权限 (set a user's clearance)."""
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        user = users.set_clearance(archive, CLI_ACTOR, username, clearance)
    emit(user, as_json=as_json, render=lambda: console.print(f"{username} 密级权限：{clearance}"))


@users_app.command("set-roles")
@handle_errors
def set_roles(username: str, role: Annotated[list[str], typer.Option("--role", help="角色，可多次")],
              as_json: JsonOption = False) -> None:
    """设置业务角色 (replace a user's business roles; administrator roles need creation plus approval)."""
    from lantai.domain.roles import THREE_ADMINS
    from lantai.errors import BadInput
    from lantai.services import users
    from lantai.services.archive import open_archive

    if {r.value for r in THREE_ADMINS} & set(_roles_option(role)):
        raise BadInput("管理员角色只能由系统管理员新建账号、安全保密管理员审批后授予",
                       "administrator roles are granted only by creation plus approval")
    with open_archive() as archive:
        user = users.update_user(archive, CLI_ACTOR, username, roles=_roles_option(role))
    emit(user, as_json=as_json, render=lambda: console.print(f"{username} 角色：{'、'.join(user['roles'])}"))


@users_app.command("disable")
@handle_errors
def disable(username: str, as_json: JsonOption = False) -> None:
    """停用用户 (disable a user and end their sessions)."""
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        user = users.update_user(archive, CLI_ACTOR, username, active=False)
    emit(user, as_json=as_json, render=lambda: console.print(f"已停用 {username}"))


@users_app.command("set-password")
@handle_errors
def set_password(username: str,
                 password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
                 as_json: JsonOption = False) -> None:
    """重置密码 (reset a password)."""
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        users.reset_password(archive, CLI_ACTOR, username, password)
    emit({"ok": True, "username": username}, as_json=as_json, render=lambda: console.print(f"已重置 {username} 的密码"))


@users_app.command("token")
@handle_errors
def token(username: str, name: Annotated[str, typer.Option(help="令牌名称，如 OA")] = "",
          days: Annotated[int, typer.Option(help="有效天数（1–365）")] = 90,
          scopes: Annotated[list[str] | None, typer.Option("--scope", help="范围，可多次: read, submit, write, audit, admin")] = None,
          as_json: JsonOption = False) -> None:
    """为经批准的服务账号签发接口令牌 (issue a token for an approved service account; printed once)."""
    scopes = scopes or ["submit"]
    from lantai.services import users
    from lantai.services.archive import open_archive

    with open_archive() as archive:
        result = users.create_token(archive, CLI_ACTOR, username, name, days, scopes)
    emit(result, as_json=as_json, render=lambda: console.print(f"令牌（只显示一次）: {result['token']}"))
