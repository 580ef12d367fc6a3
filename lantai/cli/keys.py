"""``lantai keys``: the archive's SM2 keys and certificates, agencies' certificates, trusted CAs.

Thin layer: each command calls :mod:`lantai.services.keys` and renders the result.
Exit codes: 0 ok, 1 findings (a certificate that does not verify), 2 bad input.
Commands import services and libraries inside their bodies (see lantai/cli/main.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lantai.cli.common import JsonOption, console, emit, handle_errors
from lantai.settings import load_settings

if TYPE_CHECKING:
    from lantai.services.keys import Keystore

keys_app = typer.Typer(help="密钥与证书 (keys and certificates).", no_args_is_help=True)

PathArgument = Annotated[Path, typer.Argument(help="证书文件，PEM 或 DER (certificate file, PEM or DER)")]


def _store() -> Keystore:
    from lantai.services.keys import keystore

    store = keystore(load_settings())
    assert store is not None  # required: NotFound otherwise
    return store


@keys_app.command("init")
@handle_errors
def init(as_json: JsonOption = False) -> None:
    """创建本馆 SM2 密钥对、本地根 CA 和签名证书（可重复运行）。"""
    from lantai.services.keys import init_keys

    store = init_keys(load_settings())
    result = {"dir": str(store.directory), "certificate": str(store.certificate_path)}
    emit(result, as_json=as_json, render=lambda: console.print(f"[green]密钥库已就绪[/] {store.directory}"))


@keys_app.command("import-cert")
@handle_errors
def import_cert(path: PathArgument, as_json: JsonOption = False) -> None:
    """导入机构证书（用于验证其封装包签名）。"""
    store = _store()
    info = store.import_certificate(path)
    findings = store.verify_certificate(path.read_bytes())
    result = {"certificate": info.to_dict(), "findings": [f.to_dict() for f in findings]}
    emit(result, as_json=as_json, render=lambda: _render_import(info.subject, findings))
    if findings:
        raise typer.Exit(1)


def _render_import(subject: str, findings: list) -> None:  # type: ignore[type-arg]
    console.print(f"[green]已导入[/] {subject}")
    for finding in findings:
        console.print(f"[yellow]警告[/] {finding.message}")


@keys_app.command("trust-ca")
@handle_errors
def trust_ca(path: PathArgument, as_json: JsonOption = False) -> None:
    """将 CA 证书设为受信任（其签发的证书链将被接受）。"""
    info = _store().trust_ca(path)
    emit(
        {"certificate": info.to_dict()},
        as_json=as_json,
        render=lambda: console.print(f"[green]已信任[/] {info.subject}"),
    )


@keys_app.command("list")
@handle_errors
def list_certificates(as_json: JsonOption = False) -> None:
    """列出密钥库中的证书。"""
    rows = _store().list_certificates()
    emit({"certificates": rows}, as_json=as_json, render=lambda: _render_table(rows))


ROLE_NAMES = {"signing": "本馆签名", "local_ca": "本地根CA", "trusted": "受信任CA", "agency": "机构证书"}


def _render_table(rows: list[dict[str, object]]) -> None:
    table = Table("用途", "名称", "有效期至", "算法", "SM3 指纹")
    for row in rows:
        table.add_row(
            ROLE_NAMES.get(str(row["role"]), str(row["role"])),
            str(row["common_name"]),
            str(row["not_after"])[:10],
            str(row["key_algorithm"]),
            str(row["fingerprint_sm3"])[:16],
        )
    console.print(table)
