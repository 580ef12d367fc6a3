"""`lantai init` creates the three administrators once, with initial passwords that must be changed."""

from __future__ import annotations

import json

from lantai.services import users
from lantai.services.archive import open_archive
from lantai.settings import Settings
from tests.integration.test_cli import lantai


def test_init_creates_the_three_administrators_once(settings: Settings) -> None:
    first = lantai(settings, "init", "--json")
    assert first.returncode == 0, first.stderr
    admins = json.loads(first.stdout)["administrators"]
    assert {a["role"] for a in admins} == {"系统管理员", "安全保密管理员", "安全审计员"}
    assert all(not users.password_problems(a["username"], a["password"]) for a in admins)
    again = lantai(settings, "init", "--json")
    assert json.loads(again.stdout)["administrators"] == []
    with open_archive(settings) as archive:
        accounts = {u["username"]: u for u in users.list_users(archive)}
        assert all(accounts[a["username"]]["must_change_password"] for a in admins)
        assert accounts["secadmin"]["clearance"] == "绝密" and accounts["secadmin"]["roles"] == ["安全保密管理员"]
        _raw, principal = users.login(archive, "sysadmin", next(a["password"] for a in admins if a["username"] == "sysadmin"))
        assert principal.must_change_password and not principal.can(users.Permission.USER_MANAGE)


def test_cli_grants_no_administrator_role(settings: Settings) -> None:
    lantai(settings, "init")
    refused = lantai(settings, "users", "set-roles", "auditor", "--role", "安全保密管理员", "--json")
    assert refused.returncode == 2 and "管理员角色" in refused.stdout
    added = lantai(settings, "users", "add", "second-admin", "--password", "Second#Chief2026", "--role", "系统管理员", "--json")
    assert added.returncode == 0, added.stdout + added.stderr
    body = json.loads(added.stdout)
    assert body["roles"] == [] and body["pending_roles"] == ["系统管理员"]
