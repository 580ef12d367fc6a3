"""``lantai backup create|restore|verify``: thin over :mod:`lantai.services.backup` and ``backup_restore``.

The passphrase that encrypts the keys and accounts is read from an environment variable
(``LANTAI_BACKUP_PASSPHRASE`` unless ``--passphrase-env`` names another), never from an option:
command lines end up in shell histories and process lists.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lantai.cli.common import JsonOption, console, emit, handle_errors

backup_app = typer.Typer(help="备份与恢复 (backup and restore, DA/T 70 bc 3-4).", no_args_is_help=True)

ActorOption = Annotated[str, typer.Option("--actor", help="操作人 (who acts)")]
PassEnvOption = Annotated[str, typer.Option("--passphrase-env", help="存放备份口令的环境变量名 (variable holding the passphrase)")]
SetOption = Annotated[str | None, typer.Option("--set", help="备份集名称；默认最新 (backup set; default newest)")]


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def _passphrase(name: str) -> str:
    from lantai.services.backup import passphrase_from_env

    return passphrase_from_env(name)


@backup_app.command("create")
@handle_errors
def backup_create(
    destination: Annotated[str, typer.Argument(help="备份位置：目录、file:// 或 s3://存储桶/前缀 (directory, file:// or s3://bucket/prefix; S3 endpoint and keys from settings)")],
    passphrase_env: PassEnvOption = "LANTAI_BACKUP_PASSPHRASE",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """写入一个备份集（增量：已备份的 OCFL 版本不再复制）。对象受损时退出码 1。"""
    from lantai.services.archive import open_archive
    from lantai.services.backup import create_backup

    passphrase = _passphrase(passphrase_env)
    with open_archive() as archive, _progress() as progress:
        task = progress.add_task("备份", total=None)
        result = create_backup(archive, destination, passphrase=passphrase, actor=actor,
                               on_total=lambda n: progress.update(task, total=n),
                               progress=lambda _n: progress.advance(task))

    def render() -> None:
        for p in result.problems:
            console.print(f"[red]✗[/] {p['object']} {p.get('file', '')}: {p['message']}")
        console.print(f"[green]备份集 {result.set_name}[/] → {result.destination}: {result.objects} 件，新复制 "
                      f"{result.versions_copied} 个版本（{result.bytes_copied} 字节），已有 {result.versions_present} 个；"
                      f"清单 SM3 {result.manifest_sm3}")

    emit(result.to_dict(), as_json=as_json, render=render)
    if not result.ok:
        raise typer.Exit(1)


@backup_app.command("restore")
@handle_errors
def backup_restore(
    source: Annotated[str, typer.Argument(help="备份位置：目录、file:// 或 s3:// (backup location)")],
    set_name: SetOption = None, passphrase_env: PassEnvOption = "LANTAI_BACKUP_PASSPHRASE",
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """恢复到当前为空的 LANTAI_HOME：逐文件核对 SM3，重建目录与检索索引，校验审计链。中断后重跑即继续。"""
    from lantai.services.backup_restore import restore_backup
    from lantai.settings import load_settings

    passphrase = _passphrase(passphrase_env)
    with _progress() as progress:
        task = progress.add_task("恢复", total=None)
        result = restore_backup(load_settings(), source, passphrase=passphrase, set_name=set_name, actor=actor,
                                on_total=lambda n: progress.update(task, total=n),
                                progress=lambda n: progress.advance(task, n))

    def render() -> None:
        for p in result.problems:
            console.print(f"[red]✗[/] {p['file']}: {p['message']}")
        if result.ok:
            console.print(f"[green]已恢复[/] {result.home}: {result.objects} 件对象，{result.files} 个文件；目录 "
                          f"{result.rebuild.get('items')} 件，审计链完整（{result.audit.get('entries')} 条），"
                          f"账号 {result.users} 个")
        else:
            console.print(f"[red]恢复未完成[/]：{len(result.problems)} 个问题" +
                          ("" if result.audit.get("ok", True) else "，审计链校验未通过"))

    emit(result.to_dict(), as_json=as_json, render=render)
    if not result.ok:
        raise typer.Exit(1)


@backup_app.command("verify")
@handle_errors
def backup_verify(
    source: Annotated[str, typer.Argument(help="备份位置：目录、file:// 或 s3:// (backup location)")],
    sample: Annotated[int, typer.Option("--sample", help="抽样恢复的对象数 (objects to restore)")] = 10,
    set_name: SetOption = None,
    with_keys: Annotated[bool, typer.Option("--keys/--no-keys", help="同时用口令解密密钥包核对 (also open the key bundle)")] = False,
    passphrase_env: PassEnvOption = "LANTAI_BACKUP_PASSPHRASE",
    seed: Annotated[int | None, typer.Option("--seed", help="抽样随机种子 (random seed)")] = None,
    actor: ActorOption = "cli", as_json: JsonOption = False,
) -> None:
    """抽样恢复到临时区并核对摘要，结果记为 bc 3-4 检测（备份数据可恢复性）。"""
    from lantai.services.archive import open_archive
    from lantai.services.backup_restore import verify_backup

    passphrase = _passphrase(passphrase_env) if with_keys else None
    with open_archive() as archive, _progress() as progress:
        task = progress.add_task("抽样恢复", total=sample)
        result = verify_backup(archive, source, sample=sample, passphrase=passphrase, set_name=set_name, actor=actor,
                               seed=seed, progress=lambda n: progress.advance(task, n))

    def render() -> None:
        for p in result.set_problems:
            console.print(f"[red]✗[/] {p.get('file', '')}: {p.get('kind')} {p.get('detail', '')}")
        for p in result.missing_elsewhere:
            console.print(f"[red]✗[/] {p['object']} {p['file']}: 备份中缺少该文件")
        for object_id in result.failed:
            for p in result.problems.get(object_id, []):
                console.print(f"[red]✗[/] {object_id} {p.get('file', '')}: {p.get('kind')} {p.get('detail', '')}")
        status = "[green]通过[/]" if result.ok else "[red]未通过[/]"
        console.print(f"备份集 {result.set_name}：抽样 {len(result.sampled)}/{result.objects_in_set} 件，"
                      f"失败 {len(result.failed)} 件，密钥包 {result.keys}：{status}（检测编号 {result.run_id}）")

    emit(result.to_dict(), as_json=as_json, render=render)
    if not result.ok:
        raise typer.Exit(1)
