"""The demo scenario behind ``lantai demo``: the whole archive in one run — generate, ingest with
checks, arrange, index, accounts (the command, in ``lantai.cli.demo``, then serves it).

Re-runnable: the generated batch is reused when it matches the requested size and seed, ingest
turns already-archived items into no-ops, arrangement is idempotent, and demo accounts are
created only once. ``reset`` starts from an empty archive instead.

``lantai --help`` loads this module, so the services and the generator are imported inside the
functions that use them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from lantai.errors import BadInput, LantaiError
from lantai.settings import load_settings

DEMO_PASSWORD = "Lantai#2025demo"
DEMO_ACCOUNTS = [
    ("sysadmin", "系统管理员", "内部", "系统管理员"),
    # The security administrator changes 密级 and grants clearance, never above their own, so a
    # real archive's holds 绝密 (as the demo's account table says).
    ("secadmin", "安全保密管理员", "绝密", "安全保密管理员"),
    ("auditor", "安全审计员", "公开", "安全审计员"),
    ("archivist", "档案管理员", "机密", "档案管理员"),
    ("clerk", "文书", "内部", "文书"),
    ("reader", "利用者", "公开", "利用者"),
]

console = Console()  # progress bars, as the CLI shows them


@contextlib.contextmanager
def virus_scanner():  # type: ignore[no-untyped-def]
    """Use the configured clamd, or start a private one for the demo (EICAR test signatures only).

    Ingest runs the gd profile, whose virus check (4-1) refuses to pass what was not scanned, so
    the demo needs a scanner. Production points LANTAI_CLAMD_SOCKET at a clamd with the official
    signature database (README, "Virus scanning").
    """
    configured = load_settings().clamd_socket
    if configured:
        yield configured
        return
    from lantai.checks.clamav import ClamdServer

    if ClamdServer.binary() is None:
        raise BadInput("演示需要 ClamAV：请安装 clamav-daemon（make demo 会自动安装）",
                       "the demo needs ClamAV: install clamav-daemon (make demo does)")
    run_dir = load_settings().home / "run" / "clamd"
    run_dir.mkdir(parents=True, exist_ok=True)
    # Our clamd runs in its own session; make SIGTERM unwind this block so it is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(143)))
    server = ClamdServer(run_dir=run_dir)
    try:
        server.start()
    except RuntimeError as exc:
        raise LantaiError(f"无法启动演示用的 ClamAV（clamd）：{exc}",
                          f"could not start the demo's private clamd: {exc}") from exc
    os.environ["LANTAI_CLAMD_SOCKET"] = server.socket
    try:
        yield server.socket
    finally:
        os.environ.pop("LANTAI_CLAMD_SOCKET", None)
        server.stop()


def run_demo(*, items: int, year: int, seed: int, reset: bool = False, quiet: bool = False) -> dict[str, Any]:
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths

    settings = load_settings()
    if reset and (settings.home / "lantai.toml").exists():
        for child in settings.home.iterdir():
            if child.name != "run":  # the private clamd of this demo lives there
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    started = time.monotonic()
    summary: dict[str, Any] = {"home": str(settings.home.resolve())}
    with init_archive(settings, actor="demo") as archive:
        _init_keys(archive)
        batch = settings.home / "demo-input"
        summary["generated"] = _generate(batch, items=items, year=year, seed=seed, quiet=quiet)
        with _progress(quiet) as progress:
            task = progress.add_task("检测并接收", total=None)
            report = ingest_paths(archive, [batch], actor="demo",
                                  on_total=lambda n: progress.update(task, total=n),
                                  progress=lambda _o: progress.advance(task))
        summary["ingest"] = report.counts()
        summary["rejected"] = [{"item": Path(i.source).name, "reason": i.message}
                               for i in report.items if i.status in ("rejected", "conflict")][:20]
        summary["arranged"] = _arrange(archive, batch, year)
        summary["indexed"] = _reindex(archive)
        summary["accounts"] = _accounts(archive)
    summary["seconds"] = round(time.monotonic() - started, 1)
    return summary


def _progress(quiet: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=console, transient=True, disable=quiet)


def _init_keys(archive: Any) -> None:
    from lantai.services.keys import init_keys

    init_keys(archive.settings)


def _generate(batch: Path, *, items: int, year: int, seed: int, quiet: bool) -> dict[str, Any]:
    from lantai.demo.generate import generate

    wanted = {"items": items, "year": year, "seed": seed}
    state = batch / ".lantai-demo-request.json"
    if state.exists() and json.loads(state.read_text(encoding="utf-8")) == wanted:
        from lantai.demo.generate import write_reference
        from lantai.domain.reference import EXCHANGE_FILE_NAME

        if not (batch / EXCHANGE_FILE_NAME).exists():  # generated by a release before 参考数据.json
            write_reference(batch)
        return {**wanted, "reused": True}
    with _progress(quiet) as progress:
        task = progress.add_task("生成公文", total=items)
        report = generate(batch, year=year, items=items, seed=seed, overwrite=True,
                          progress=lambda _r: progress.advance(task))
    state.write_text(json.dumps(wanted), encoding="utf-8")
    return {**wanted, "reused": False, "items_per_second": report.to_dict().get("items_per_second")}


def _arrange(archive: Any, batch: Path, year: int) -> dict[str, Any]:
    """Load the batch's own reference data (参考数据.json) when its fonds is new here, then arrange."""
    from lantai.demo import district
    from lantai.domain.reference import EXCHANGE_FILE_NAME
    from lantai.services.arrange import arrange, current_reference, import_fonds

    reference, _version = current_reference(archive)
    if district.FONDS_CODE not in reference.fonds:
        document = json.loads((batch / EXCHANGE_FILE_NAME).read_text(encoding="utf-8"))
        import_fonds(archive, document, actor="demo")
    plan = arrange(archive, district.FONDS_CODE, year, actor="demo")
    return {"fonds": district.FONDS_CODE, "year": year, "items": len(plan.items)}


def _reindex(archive: Any) -> int:
    """Ingest indexed each item; arrangement has since assigned 档号, so refresh the index in bulk."""
    from lantai.services.search_index import reindex

    return reindex(archive)


def _accounts(archive: Any) -> list[dict[str, str]]:
    from lantai.services.users import create_user, list_users

    existing = {u["username"] for u in list_users(archive)}
    for username, role, clearance, display in DEMO_ACCOUNTS:
        if username not in existing:
            create_user(archive, "demo", username, DEMO_PASSWORD, display_name=display, roles=[role],
                        clearance=clearance, bootstrap=True)  # the demo plays `lantai init` for all six
    return [{"username": u, "password": DEMO_PASSWORD, "role": r, "clearance": c} for u, r, c, _d in DEMO_ACCOUNTS]
