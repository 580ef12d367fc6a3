"""The ``lantai`` command. Thin: it parses arguments, calls services and renders the result.

Exit codes: 0 ok, 1 findings (rejected items, bad digests, broken chain), 2 bad input or usage.

Start-up time: every module of ``lantai.cli`` loads for any command, ``lantai --help`` included,
so commands import services, SQLAlchemy, lxml, asn1crypto and the like inside their bodies; each
command pays only for what it uses. Those function-level imports are deliberate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from lantai import __version__
from lantai.cli.appraise import appraise_app, destroy_command, hold_app
from lantai.cli.arrange import arrange_app, export_app, fonds_app, retention_app, schedule_app, stamp_app
from lantai.cli.backup import backup_app
from lantai.cli.bag import bag_app
from lantai.cli.carrier import carrier_app
from lantai.cli.check import check_app
from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.cli.demo import demo_group
from lantai.cli.eep import eep_app
from lantai.cli.formats import formats_app
from lantai.cli.inbox import watch_command
from lantai.cli.jobs import doctor_command, jobs_app, worker_command
from lantai.cli.keys import keys_app
from lantai.cli.migrate import migrate_app
from lantai.cli.preservation import fixity_app, replicas_app
from lantai.cli.search import search_app
from lantai.cli.transfer import transfer_app
from lantai.cli.use import use_app
from lantai.cli.web import serve_command, users_app
from lantai.settings import load_settings

app = typer.Typer(
    name="lantai",
    help="兰台 Lantai — 电子档案管理系统 (electronic-records archive). LANTAI_HOME selects the archive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
audit_app = typer.Typer(help="审计链 (audit chain).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
checkpoint_app = typer.Typer(help="审计链签名检查点 (signed audit checkpoints).", no_args_is_help=True)
audit_app.add_typer(checkpoint_app, name="checkpoint")

# The other areas' command groups and commands, registered directly: a module that fails to
# import is a broken CLI, never a command that silently disappears.
for _name, _group in (("keys", keys_app), ("eep", eep_app), ("formats", formats_app), ("search", search_app),
                      ("arrange", arrange_app), ("retention", retention_app), ("export", export_app),
                      ("stamp", stamp_app), ("fonds", fonds_app), ("schedule", schedule_app),
                      ("transfer", transfer_app), ("bag", bag_app), ("users", users_app), ("demo", demo_group),
                      ("use", use_app), ("backup", backup_app), ("carrier", carrier_app), ("jobs", jobs_app),
                      ("replicas", replicas_app), ("fixity", fixity_app), ("check", check_app),
                      ("appraise", appraise_app), ("hold", hold_app), ("migrate", migrate_app)):
    app.add_typer(_group, name=_name)
app.command("serve")(serve_command)
app.command("watch")(watch_command)
app.command("worker")(worker_command)
app.command("doctor")(doctor_command)
app.command("destroy")(destroy_command)


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


@app.command()
@handle_errors
def version(as_json: JsonOption = False) -> None:
    """显示版本 (show version)."""
    emit({"version": __version__}, as_json=as_json, render=lambda: console.print(f"lantai {__version__}"))


@app.command()
@handle_errors
def init(
    directory: Annotated[Path | None, typer.Argument(help="档案目录 (archive directory); default LANTAI_HOME")] = None,
    as_json: JsonOption = False,
) -> None:
    """初始化档案库 (create an archive: store, catalogue, audit journal, keys).

    The archive starts with the shipped reference data (one example 全宗, Z109). Add your own 全宗
    and 机构(问题) with `lantai fonds add CODE --name … --organisation BGS=办公室`, or load an
    agency's `参考数据.json` (written by `lantai fonds export` or beside a generated batch) with
    `lantai fonds import FILE`; `lantai schedule export/import` edits everything as TOML.
    """
    from lantai.services.archive import init_archive

    settings = load_settings(home=directory) if directory else load_settings()
    with init_archive(settings) as archive:
        result = {"home": str(archive.home.resolve()), "store": str(archive.settings.store_root.resolve()),
                  "catalogue": archive.settings.catalogue_url.split("@")[-1]}
        result["keys"] = _init_keys(archive)
        result["administrators"] = _init_administrators(archive)
    result["next"] = INIT_NEXT_STEPS
    emit(result, as_json=as_json, render=lambda: _render_init(result))


INIT_NEXT_STEPS = ("下一步：用 lantai fonds add 全宗号 --name 全宗名称 --organisation 机构代码=机构名称 添加本单位的全宗与机构，"
                   "或用 lantai fonds import 参考数据.json 导入随批次提供的参考数据；lantai fonds list 查看已配置的全宗。")


def _init_administrators(archive) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """三员: the three administrator accounts, once, with initial passwords shown only now."""
    from lantai.services.accounts import bootstrap_administrators

    return bootstrap_administrators(archive)


def _render_init(result: dict) -> None:
    console.print(f"[green]档案库已就绪[/] {result['home']}")
    for admin in result.get("administrators") or []:
        console.print(f"  {admin['role']}: {admin['username']}  初始密码 {admin['password']}（只显示这一次，首次登录须修改）")
    console.print(INIT_NEXT_STEPS)


def _init_keys(archive) -> dict:  # type: ignore[no-untyped-def]
    from lantai.services.keys import init_keys

    ks = init_keys(archive.settings)
    return {"dir": str(archive.settings.keys_dir), "certificate": str(ks.certificate_path)}


@app.command()
@handle_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="条目目录、zip 或批次目录 (item dir, zip, or batch dir)")],
    actor: Annotated[str, typer.Option(help="操作人 (who submits)")] = "cli",
    run_async: Annotated[bool, typer.Option("--async", help="交给后台工作进程，打印作业号后返回 (queue for `lantai worker`, print the job id)")] = False,
    as_json: JsonOption = False,
) -> None:
    """接收归档 (ingest items, zips or batches; rejected items are reported, nothing half-written)."""
    if run_async:
        _ingest_async(paths, actor, as_json)
        return
    from lantai.jobs.pool import freeze_imported_objects, warm_up_workers
    from lantai.services.ingest_workers import worker_preload

    settings = load_settings()
    warm_up_workers(settings.workers, worker_preload(settings))  # first: its imports overlap the ones below

    from lantai.services.archive import open_archive
    from lantai.services.ingest import ingest_paths

    freeze_imported_objects()  # a one-job process: the committer's collections skip the modules
    with open_archive(settings) as archive, _progress() as progress:
        task = progress.add_task("接收", total=None)
        report = ingest_paths(
            archive, paths, actor=actor,
            on_total=lambda n: progress.update(task, total=(progress.tasks[0].total or 0) + n),
            progress=lambda _o: progress.advance(task),
        )
    emit(report.to_dict(), as_json=as_json, render=lambda: _render_ingest(report))
    if not report.ok:
        raise typer.Exit(1)


def _ingest_async(paths: list[Path], actor: str, as_json: bool) -> None:
    """Queue the paths as one ``ingest.paths`` job; the worker must see them at the same absolute paths."""
    from lantai.errors import BadInput
    from lantai.services import jobs
    from lantai.services.archive import open_archive

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise BadInput(f"路径不存在: {', '.join(missing)}", f"no such path: {', '.join(missing)}")
    with open_archive(load_settings()) as archive:
        job = jobs.submit(archive, "ingest.paths", {"paths": [str(p.absolute()) for p in paths], "actor": actor},
                          actor=actor, run="queue")
    emit(job, as_json=as_json, render=lambda: console.print(
        f"[green]已排队[/] 作业 {job['id']}（lantai jobs show {job['id']} --wait 查看结果）"))


def _render_ingest(report) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="接收结果")
    for column in ("来源", "电子文件号", "结果", "文件数", "字节", "说明"):
        table.add_column(column)
    labels = {"accepted": "[green]已接收[/]", "duplicate": "[cyan]重复（未改动）[/]",
              "rejected": "[red]拒收[/]", "conflict": "[red]冲突[/]"}
    for item in report.items:
        table.add_row(Path(item.source).name, item.record_id or "", labels.get(item.status, item.status),
                      str(item.files), str(item.bytes), item.message)
    console.print(table)
    for batch in report.batches:
        if batch.get("status") == "rejected":
            console.print(f"[red]批次被拒收[/]: {batch['message']}")
    counts = report.counts()
    console.print(f"已接收 {counts['accepted']}，重复 {counts['duplicate']}，拒收 {counts['rejected']}，冲突 {counts['conflict']}")


@app.command()
@handle_errors
def show(record_id: Annotated[str, typer.Argument(help="电子文件号")], actor: str = "cli",
         as_json: JsonOption = False) -> None:
    """查看条目 (show an item: metadata summary, files, versions, events)."""
    from lantai.services.archive import open_archive
    from lantai.services.items import describe_item

    with open_archive() as archive:
        data = describe_item(archive, record_id, actor=actor)

    def render() -> None:
        console.print(f"[bold]{data['title']}[/]  {data['record_id']}")
        for key, label in (("document_number", "文号"), ("author", "责任者"), ("date", "日期"), ("year", "年度"),
                           ("retention", "保管期限"), ("security_classification", "密级"), ("archival_code", "档号"),
                           ("ocfl_version", "版本")):
            console.print(f"  {label}: {data.get(key) or ''}")
        table = Table(title="文件")
        for column in ("路径", "大小", "SM3"):
            table.add_column(column)
        for f in data["files"]:
            table.add_row(f["logical_path"], str(f["size"]), f["sm3"][:16] + "…")
        console.print(table)
        for e in data["events"]:
            console.print(f"  {e['time']}  {e['activity']}  {e['agent']}")

    emit(data, as_json=as_json, render=render)


@app.command()
@handle_errors
def verify(
    record_ids: Annotated[list[str] | None, typer.Argument(help="电子文件号 (default: every object)")] = None,
    algorithm: Annotated[str, typer.Option(help="sm3 (fixity block) or sha512 (manifest)")] = "sm3",
    as_json: JsonOption = False,
) -> None:
    """固定性校验 (every object's declaration, inventories and sidecars, the digest of every file of
    every version, and the store against the catalogue; names each damaged object and file)."""
    from lantai.errors import BadInput
    from lantai.services.archive import open_archive
    from lantai.services.fixity import verify_fixity

    if algorithm not in ("sm3", "sha512"):
        raise BadInput(f"不支持的算法 {algorithm}", f"unsupported algorithm {algorithm}")
    with open_archive() as archive:
        with Progress(TextColumn("[bold]校验"), BarColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task("verify", total=None)
            report = verify_fixity(archive, record_ids or None, algorithm=algorithm,
                                   on_total=lambda n: progress.update(task, total=n),
                                   progress=lambda n: progress.advance(task, n))
        archive.audit.append("cli", "fixity.verified", ",".join(record_ids or []) or "*",
                             {"ok": report.ok, "files": report.files, "problems": report.problems[:100]})

    def render() -> None:
        for p in report.problems:
            console.print(f"[red]✗[/] {p['object']} {p['file']}: {p['message']}")
        status = "[green]全部通过[/]" if report.ok else f"[red]{len(report.problems)} 个问题[/]"
        console.print(f"对象 {report.objects}，文件 {report.files}，{report.bytes} 字节: {status}")

    emit(report.to_dict(), as_json=as_json, render=render)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
@handle_errors
def rebuild(as_json: JsonOption = False) -> None:
    """重建目录数据库 (recreate the catalogue from the store and the audit journal alone).

    Builds beside the live catalogue and swaps only when done; never writes to the store. Damaged
    objects are named (exit 1) and keep their old catalogue rows.
    """
    from lantai.services.archive import open_archive
    from lantai.services.rebuild import rebuild_catalogue

    with open_archive() as archive, _progress() as progress:
        task = progress.add_task("重建", total=None)
        result = rebuild_catalogue(archive, actor="cli", on_total=lambda n: progress.update(task, total=n),
                                   progress=lambda _id: progress.advance(task))

    def render() -> None:
        for damaged in result["damaged"]:
            for p in damaged["problems"]:
                console.print(f"[red]✗[/] {damaged['object']} {p['file']}: {p['message']}")
        console.print(f"[green]目录已重建[/]: {result['items']} 件，{result['batches']} 个批次"
                      + (f"；[red]{len(result['damaged'])} 个对象受损，保留其原目录记录[/]" if result["damaged"] else ""))

    emit(result, as_json=as_json, render=render)
    if result["damaged"]:
        raise typer.Exit(1)


@app.command()
@handle_errors
def correct(record_id: Annotated[str, typer.Argument(help="电子文件号")],
            values: Annotated[list[str], typer.Option("--set", help="元素=更正后的值，如 题名=… （可重复）")],
            reason: Annotated[str, typer.Option("--reason", help="更正理由 (required)")],
            user: Annotated[str, typer.Option("--user", "-u", help="更正人账号（档案管理员）")],
            as_json: JsonOption = False) -> None:
    """著录更正 (correct descriptive metadata: a new version naming the corrector and the reason).

    The path for a change that a resubmission refused as a conflict. 密级 (classification),
    档号 (arrange correct) and 电子文件号 are not corrected here.
    """
    from lantai.domain.corrections import parse_assignments
    from lantai.services.archive import open_archive
    from lantai.services.corrections import correct_metadata
    from lantai.services.use import acting_as

    assignments = parse_assignments(values)
    with open_archive() as archive:
        result = correct_metadata(archive, acting_as(archive, user), record_id, assignments, reason)

    def render() -> None:
        for c in result["changed"]:
            console.print(f"{c['element']}: {c['from'] or '（空）'} → {c['to']}")
        console.print(f"[green]已更正[/] {record_id}，版本 v{result['version']}，更正人 {result['corrected_by']}")

    emit({"ok": True, **result}, as_json=as_json, render=render)


@audit_app.command("verify")
@handle_errors
def audit_verify(
    against: Annotated[list[Path] | None, typer.Option(
        "--against", help="另存的签名检查点文件，可多次给出 (exported checkpoint to check against; repeatable)")] = None,
    as_json: JsonOption = False,
) -> None:
    """校验审计链 (journal ↔ catalogue both ways, signed checkpoints, truncation, forgery, re-chaining)."""
    from lantai.services.archive import open_archive
    from lantai.services.audit_checkpoints import load

    given = [load(path) for path in against or []]
    with open_archive(recover=False) as archive:
        report = archive.audit.verify(against=given)

    def render() -> None:
        cps = report.checkpoints
        if report.ok:
            console.print(f"[green]审计链完整[/]: {report.entries} 条记录，{cps.get('valid', 0)} 个有效签名检查点"
                          f"（最近第 {cps.get('last_seq')} 条；其后 {cps.get('entries_after_last')} 条）")
        else:
            console.print(f"[red]审计链被破坏[/]，首个异常序号 {report.first_bad_seq}")
            for p in report.problems:
                console.print(f"  #{p['seq']} {p['message']}")
        for note in report.notes:
            console.print(f"  [yellow]注意[/] {note}")

    emit(report.to_dict(), as_json=as_json, render=render)
    if not report.ok:
        raise typer.Exit(1)


@checkpoint_app.command("export")
@handle_errors
def audit_checkpoint_export(
    output: Annotated[Path, typer.Option("-o", "--output", help="写入的文件 (file to write)")],
    as_json: JsonOption = False,
) -> None:
    """签署并导出当前链头 (sign the chain head now and write it to FILE, to keep outside the archive)."""
    from lantai.services.archive import open_archive
    from lantai.services.audit_checkpoints import write

    with open_archive(recover=False) as archive:
        checkpoint = archive.audit.checkpoint()
        try:
            write(output, checkpoint, fsync=True)
        except OSError as exc:
            from lantai.errors import BadInput

            raise BadInput(f"无法写入 {output}: {exc.strerror}", f"cannot write {output}: {exc}") from exc
        archive.audit.append("cli", "audit.checkpoint_exported", str(output), {"seq": checkpoint.seq})
    result = {"file": str(output), **checkpoint.to_dict()}
    emit(result, as_json=as_json,
         render=lambda: console.print(f"[green]检查点已导出[/] {output}: 第 {checkpoint.seq} 条，{checkpoint.time}"))


@audit_app.command("show")
@handle_errors
def audit_show(limit: Annotated[int, typer.Option(help="最近多少条")] = 20, as_json: JsonOption = False) -> None:
    """显示最近的审计记录 (show the latest audit entries)."""
    from lantai.services.archive import open_archive

    with open_archive(recover=False) as archive:
        entries = [r.to_dict() for r in archive.audit.iter_journal() if not isinstance(r, Exception)][-limit:]

    def render() -> None:
        table = Table(title="审计记录")
        for column in ("序号", "时间", "操作人", "动作", "对象"):
            table.add_column(column)
        for e in entries:
            table.add_row(str(e["seq"]), e["time"], e["actor"], e["action"], e["target"])
        console.print(table)

    emit(entries, as_json=as_json, render=render)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
