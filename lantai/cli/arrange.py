"""CLI for arrangement (整理): ``lantai arrange``, ``retention``, ``export``, ``stamp``, ``fonds``, ``schedule``.

Thin: every command parses its options, calls :mod:`lantai.services.arrange` and renders the
result (``--json`` for scripts). Exit codes: 0 ok, 1 problems (items that cannot be arranged,
conflicts), 2 bad input. Register with :func:`register` or one ``add_typer`` per app.
Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors

FondsOption = Annotated[str, typer.Option("--fonds", "-f", help="全宗号 (fonds code)")]
YearOption = Annotated[int, typer.Option("--year", "-y", help="年度 (year)")]
CategoryOption = Annotated[str, typer.Option("--category", "-c", help="门类代码 (category), default WS 文书")]
ActorOption = Annotated[str, typer.Option("--actor", help="操作人 (recorded in the audit chain)")]

arrange_app = typer.Typer(help="整理：保管期限、分类、件号与档号 (arrange one year of a fonds).", invoke_without_command=True)
retention_app = typer.Typer(help="保管期限 (retention: suggest from the schedule, or decide).", no_args_is_help=True)
export_app = typer.Typer(help="导出 (export catalogues and 备考表).", no_args_is_help=True)
stamp_app = typer.Typer(help="归档章 (stamp an access copy).", invoke_without_command=True,
                        context_settings={"allow_interspersed_args": True})
fonds_app = typer.Typer(help="全宗 (fonds reference data).", no_args_is_help=True)
schedule_app = typer.Typer(help="参考数据与保管期限表 (reference data and retention schedules).", no_args_is_help=True)

APPS = {"arrange": arrange_app, "retention": retention_app, "export": export_app, "stamp": stamp_app,
        "fonds": fonds_app, "schedule": schedule_app}


def register(app: typer.Typer) -> None:
    for name, sub in APPS.items():
        app.add_typer(sub, name=name)


def _archive():  # type: ignore[no-untyped-def]
    from lantai.services.archive import open_archive

    return open_archive()


# -- lantai arrange -----------------------------------------------------------------------------

@arrange_app.callback()
@handle_errors
def arrange(
    ctx: typer.Context,
    fonds: Annotated[str | None, typer.Option("--fonds", "-f", help="全宗号")] = None,
    year: Annotated[int | None, typer.Option("--year", "-y", help="年度")] = None,
    category: CategoryOption = "WS",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只显示方案，不做修改 (show the plan only)")] = False,
    actor: ActorOption = "cli",
    as_json: JsonOption = False,
) -> None:
    """整理一个年度：提出保管期限、分类并编件号、生成档号 (all or nothing)."""
    if ctx.invoked_subcommand is not None:
        return
    from lantai.errors import BadInput, ValidationFailed
    from lantai.services.arrange import arrange as run

    if fonds is None or year is None:
        raise BadInput("须指定 --fonds 与 --year", "--fonds and --year are required")
    with _archive() as archive:
        plan = run(archive, fonds, year, category=category, dry_run=dry_run, actor=actor)
    errors = [p for p in plan.problems if p.get("severity") != "warning"]
    data = {"ok": not errors, "dry_run": dry_run, **plan.to_dict(limit=None if as_json else 50)}
    emit(data, as_json=as_json, render=lambda: _render_plan(data))
    if errors:
        raise ValidationFailed("方案中有问题", "the plan has problems")


def _render_plan(data: dict[str, Any]) -> None:
    verb = "拟" if data["dry_run"] else "已"
    console.print(f"[bold]{data['fonds']}-{data['category']}·{data['year']}[/]  共 {data['items']} 件，"
                  f"{verb}变更 {data['changed']} 件（参考数据 v{data['reference_version']}）")
    if data["changes"]:
        table = Table()
        for column in ("电子文件号", "档号", "原档号", "保管期限来源", "变更"):
            table.add_column(column)
        for c in data["changes"]:
            table.add_row(c["record_id"], c["archival_code"], c["previous_code"], c["retention_source"], c["change"])
        console.print(table)
    for p in data["problems"]:
        console.print(f"[red]问题[/] {p['record_id']}: {p['message']}")


@arrange_app.command("file")
@handle_errors
def file_year(fonds: FondsOption, year: YearOption, category: CategoryOption = "WS", actor: ActorOption = "cli",
              as_json: JsonOption = False) -> None:
    """归档：固定该年度已整理文件的件号（此后只能通过更正修改）."""
    from lantai.services.arrange import file_arrangement

    with _archive() as archive:
        count = file_arrangement(archive, fonds, year, category=category, actor=actor)
    emit({"ok": True, "filed": count}, as_json=as_json, render=lambda: console.print(f"[green]已归档[/] {count} 件"))


@arrange_app.command("correct")
@handle_errors
def correct(record_id: Annotated[str, typer.Argument(help="电子文件号")],
            reason: Annotated[str, typer.Option("--reason", help="更正理由 (required)")],
            retention: Annotated[str | None, typer.Option("--retention", help="新保管期限 Y/D30/D10")] = None,
            organisation: Annotated[str | None, typer.Option("--organisation", help="新机构(问题)代码或名称")] = None,
            actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """更正已归档文件的档号（留存更正记录）."""
    from lantai.services.arrange import correct_arrangement

    with _archive() as archive:
        result = correct_arrangement(archive, record_id, reason=reason, actor=actor, retention=retention,
                                     organisation=organisation)
    emit({"ok": True, **result}, as_json=as_json,
         render=lambda: console.print(f"[green]已更正[/] {result['from']} → {result['to']}"))


@arrange_app.command("publish")
@handle_errors
def publish(actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """补写待发布的整理结果到存储（中断后续做）."""
    from lantai.services.arrange import publish_pending

    with _archive() as archive:
        count = publish_pending(archive, actor=actor)
    emit({"ok": True, "published": count}, as_json=as_json, render=lambda: console.print(f"已写入 {count} 个新版本"))


# -- lantai retention ---------------------------------------------------------------------------

@retention_app.command("suggest")
@handle_errors
def suggest(record_id: Annotated[str, typer.Argument(help="电子文件号")], as_json: JsonOption = False) -> None:
    """按保管期限表提出建议，并说明依据的规则."""
    from lantai.services.arrange import suggest_retention

    with _archive() as archive:
        data = suggest_retention(archive, record_id)

    def render() -> None:
        s = data["suggestion"]
        console.print(f"[bold]{data['title']}[/]  {record_id}")
        console.print(f"  建议: {s['label']} ({s['retention']})  规则 {s['rule']}: {s['description']}")
        console.print(f"  命中: {'；'.join(s['matched']) or '—'}   依据: {s['basis']}")
        console.print(f"  现值: {data['current'] or '（无）'}" + ("" if data["agrees"] in (None, True) else "  [yellow]与建议不一致[/]"))

    emit(data, as_json=as_json, render=render)


@retention_app.command("set")
@handle_errors
def set_retention(record_id: Annotated[str, typer.Argument(help="电子文件号")],
                  retention: Annotated[str, typer.Argument(help="Y / D30 / D10 或 永久 / 定期30年 / 定期10年")],
                  reason: Annotated[str, typer.Option("--reason", help="理由 (required)")],
                  actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """确定未归档文件的保管期限，并重新编号该年度."""
    from lantai.services.arrange import override_retention

    with _archive() as archive:
        plan = override_retention(archive, record_id, retention, reason=reason, actor=actor)
    data = {"ok": True, "dry_run": False, **plan.to_dict()}
    emit(data, as_json=as_json, render=lambda: _render_plan(data))


# -- lantai export ------------------------------------------------------------------------------

@export_app.command("catalogue")
@handle_errors
def export_catalogue(
    fonds: FondsOption, year: YearOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="FILE.xlsx | FILE.pdf | FILE.xml")],
    category: CategoryOption = "WS",
    retention: Annotated[str | None, typer.Option("--retention", help="只导出该保管期限")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation", help="只导出该机构(问题)")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="XML: UTF-8 or GB18030")] = "UTF-8",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """归档文件目录 (XLSX / PDF) 或 文件目录.XML."""
    from lantai.services.arrange import export_catalogue as run

    with _archive() as archive:
        result = run(archive, fonds, year, output, category=category, retention=retention, organisation=organisation,
                     actor=actor, xml_encoding=encoding)
    emit({"ok": True, **result}, as_json=as_json, render=lambda: console.print(f"[green]已导出[/] {result['rows']} 条 → {output}"))


@export_app.command("note")
@handle_errors
def export_note(
    fonds: FondsOption, year: YearOption,
    output: Annotated[Path, typer.Option("--output", "-o", help="备考表（.pdf 或 .xlsx）")],
    category: CategoryOption = "WS",
    retention: Annotated[str | None, typer.Option("--retention")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation")] = None,
    arranged_by: Annotated[str, typer.Option("--arranged-by", help="整理人")] = "",
    arranged_on: Annotated[str, typer.Option("--arranged-on", help="整理日期")] = "",
    checked_by: Annotated[str, typer.Option("--checked-by", help="检查人")] = "",
    checked_on: Annotated[str, typer.Option("--checked-on", help="检查日期")] = "",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """备考表 (PDF, or XLSX when the output ends in .xlsx)."""
    from lantai.services.arrange import export_note as run

    with _archive() as archive:
        result = run(archive, fonds, year, output, category=category, retention=retention, organisation=organisation,
                     arranged_by=arranged_by, arranged_on=arranged_on, checked_by=checked_by, checked_on=checked_on,
                     actor=actor)
    emit({"ok": True, **result}, as_json=as_json, render=lambda: console.print(f"[green]已生成备考表[/] {output}"))


# -- lantai stamp -------------------------------------------------------------------------------

@stamp_app.callback()
@handle_errors
def stamp(record_id: Annotated[str, typer.Argument(help="电子文件号")],
          output: Annotated[Path, typer.Option("--output", "-o", help="利用副本 PDF")],
          actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """在利用副本首页加盖归档章（原件不变）."""
    from lantai.services.arrange import stamp_item

    with _archive() as archive:
        result = stamp_item(archive, record_id, output, actor=actor)
    emit({"ok": True, **result}, as_json=as_json, render=lambda: console.print(f"[green]已生成[/] {output}（{result['archival_code']}）"))


# -- lantai fonds / schedule --------------------------------------------------------------------

@fonds_app.command("list")
@handle_errors
def fonds_list(as_json: JsonOption = False) -> None:
    """列出全宗及其分类方案、档号规则."""
    from lantai.services.arrange import current_reference

    with _archive() as archive:
        reference, version = current_reference(archive)
    rows = [{"code": f.code, "name": f.name, "unit": f.unit, "scheme": list(f.scheme), "code_rules": dict(f.code_rules),
             "schedule": f.schedule, "organisations": [dataclasses.asdict(o) for o in f.organisations]}
            for f in reference.fonds.values()]

    def render() -> None:
        table = Table(title=f"全宗（参考数据 v{version}）")
        for column in ("全宗号", "全宗名称", "立档单位", "分类方案", "档号规则", "机构(问题)"):
            table.add_column(column)
        for r in rows:
            table.add_row(r["code"], r["name"], r["unit"], "→".join(r["scheme"]), ", ".join(r["code_rules"].values()),
                          " ".join(f"{o['code']}={o['name']}" for o in r["organisations"]))
        console.print(table)

    emit({"version": version, "fonds": rows}, as_json=as_json, render=render)


@fonds_app.command("add")
@handle_errors
def fonds_add(
    code: Annotated[str, typer.Argument(help="全宗号")],
    name: Annotated[str, typer.Option("--name", help="全宗名称")],
    unit: Annotated[str, typer.Option("--unit", help="立档单位名称")] = "",
    scheme: Annotated[str, typer.Option("--scheme", help="year,organisation,retention | year,retention,organisation | year,retention")] = "year,organisation,retention",
    rule: Annotated[str, typer.Option("--rule", help="档号规则名称")] = "DA/T 22-2015",
    organisation: Annotated[list[str] | None, typer.Option("--organisation", help="CODE=名称，可重复")] = None,
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """新增或替换一个全宗（保存为参考数据新版本）."""
    from lantai.domain.reference import Fonds, Organisation
    from lantai.errors import BadInput
    from lantai.services.arrange import current_reference, save_reference

    orgs = []
    for entry in organisation or []:
        if "=" not in entry:
            raise BadInput(f"机构(问题)应写作 CODE=名称: {entry}", f"organisation must be CODE=name: {entry}")
        org_code, org_name = entry.split("=", 1)
        orgs.append(Organisation(org_code.strip(), org_name.strip()))
    with _archive() as archive:
        reference, _v = current_reference(archive)
        fonds = _build_fonds(Fonds, code, name, unit, scheme, rule, tuple(orgs))
        version = save_reference(archive, _with_fonds(reference, fonds), actor=actor, note=f"全宗 {code}")
    emit({"ok": True, "version": version, "fonds": code}, as_json=as_json,
         render=lambda: console.print(f"[green]已保存[/] 全宗 {code}，参考数据 v{version}"))


@fonds_app.command("export")
@handle_errors
def fonds_export(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出文件（参考数据.json）")],
    fonds: Annotated[list[str] | None, typer.Option("--fonds", "-f", help="全宗号，可重复；默认全部")] = None,
    as_json: JsonOption = False,
) -> None:
    """导出全宗、机构(问题)及其保管期限表为 参考数据.json，可随批次交给另一个档案馆导入."""
    import json

    from lantai.services.arrange import export_fonds

    with _archive() as archive:
        document = export_fonds(archive, fonds or None)
    output.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    codes = [f["code"] for f in document["fonds"]]
    emit({"ok": True, "output": str(output), "fonds": codes}, as_json=as_json,
         render=lambda: console.print(f"[green]已导出[/] 全宗 {', '.join(codes)} → {output}"))


@fonds_app.command("import")
@handle_errors
def fonds_import(
    source: Annotated[Path, typer.Argument(help="参考数据.json（lantai fonds export 或 lantai demo generate 写出）")],
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """导入 参考数据.json 中的全宗与机构(问题)，新增或替换同号全宗，保存为参考数据新版本."""
    import json

    from lantai.errors import BadInput
    from lantai.services.arrange import import_fonds

    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInput(f"找不到文件 {source}", f"no such file: {source}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{source} 不是 UTF-8 编码的 JSON: {exc}", f"{source} is not UTF-8 JSON: {exc}") from exc
    with _archive() as archive:
        result = import_fonds(archive, document, actor=actor)
    emit({"ok": True, **result}, as_json=as_json,
         render=lambda: console.print(f"[green]已导入[/] 全宗 {', '.join(result['fonds'])}，参考数据 v{result['version']}"))


def _build_fonds(cls, code, name, unit, scheme, rule, orgs):  # type: ignore[no-untyped-def]
    from lantai.domain.reference import ReferenceDataError
    from lantai.services.arrange import translate

    try:
        return cls(code=code, name=name, unit=unit, scheme=tuple(s.strip() for s in scheme.split(",")), organisations=orgs,
                   code_rules=(("*", rule),))
    except ReferenceDataError as exc:
        raise translate(exc) from exc


def _with_fonds(reference, fonds) -> str:  # type: ignore[no-untyped-def]
    from lantai.domain.reference import dump_reference

    return dump_reference(dataclasses.replace(reference, fonds={**reference.fonds, fonds.code: fonds}))


@schedule_app.command("show")
@handle_errors
def schedule_show(name: Annotated[str, typer.Argument(help="保管期限表名称")] = "district-ws", as_json: JsonOption = False) -> None:
    """显示保管期限表的规则."""
    from lantai.errors import NotFound
    from lantai.services.arrange import current_reference

    with _archive() as archive:
        reference, version = current_reference(archive)
    if name not in reference.schedules:
        raise NotFound(f"没有保管期限表 {name}", f"no schedule {name}")
    schedule = reference.schedules[name]
    data = {"version": version, "name": schedule.name, "title": schedule.title, "default": schedule.default_retention,
            "rules": [dataclasses.asdict(r) for r in schedule.rules]}

    def render() -> None:
        table = Table(title=f"{schedule.title}（v{version}，默认 {schedule.default_retention}）")
        for column in ("规则", "期限", "优先级", "说明"):
            table.add_column(column)
        for r in schedule.rules:
            table.add_row(r.id, r.retention, str(r.priority), r.description)
        console.print(table)

    emit(data, as_json=as_json, render=render)


@schedule_app.command("export")
@handle_errors
def schedule_export(output: Annotated[Path, typer.Option("--output", "-o", help="TOML file")], as_json: JsonOption = False) -> None:
    """导出当前参考数据（全宗、门类、档号规则、保管期限表）为 TOML，供编辑."""
    from lantai.domain.reference import dump_reference
    from lantai.services.arrange import current_reference

    with _archive() as archive:
        reference, version = current_reference(archive)
    output.write_text(dump_reference(reference), encoding="utf-8")
    emit({"ok": True, "version": version, "file": str(output)}, as_json=as_json,
         render=lambda: console.print(f"已导出参考数据 v{version} → {output}"))


@schedule_app.command("import")
@handle_errors
def schedule_import(source: Annotated[Path, typer.Argument(help="TOML file")],
                    note: Annotated[str, typer.Option("--note", help="版本说明")] = "",
                    actor: ActorOption = "cli", as_json: JsonOption = False) -> None:
    """导入编辑后的参考数据，校验后保存为新版本."""
    from lantai.errors import BadInput
    from lantai.services.arrange import save_reference

    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise BadInput(f"无法读取 {source}: {exc}", f"cannot read {source}: {exc}") from exc
    with _archive() as archive:
        version = save_reference(archive, text, actor=actor, note=note)
    emit({"ok": True, "version": version}, as_json=as_json, render=lambda: console.print(f"[green]已保存[/] 参考数据 v{version}"))


@schedule_app.command("versions")
@handle_errors
def schedule_versions(as_json: JsonOption = False) -> None:
    """参考数据的全部版本."""
    from lantai.services.arrange import reference_versions

    with _archive() as archive:
        rows = reference_versions(archive)
    emit(rows, as_json=as_json, render=lambda: [console.print(f"v{r['version']}  {r['created_at']}  {r['actor']}  {r['note']}")
                                                for r in rows])
