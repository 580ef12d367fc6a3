"""A live server (uvicorn in a thread) over a seeded archive, and a headless Debian Chromium."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import World, build_world, sip_zip

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, real_clamd: str) -> Iterator[tuple[str, World]]:
    import uvicorn

    world = build_world(tmp_path_factory.mktemp("e2e"), None, real_clamd)
    clerk = world.client("clerk")
    for n in range(1, 4):
        clerk.post("/api/v1/submissions", files={"package": ("s.zip", sip_zip(world.tmp, f"Z109-WS-2025-E{n:04d}",
                                                                                  title=f"关于第{n}季度安全生产检查的通报"), "application/zip")})
    clerk.post("/api/v1/submissions", files={"package": ("bad.zip", b"not a zip", "application/zip")})
    _seed_batch_and_transfer(world)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", world
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        world.archive.close()


def _seed_batch_and_transfer(world: World) -> None:
    """A batch whose register is one item short (refused, every item still checked), a sent transfer and
    a received one (a real transfer package from a second archive)."""
    from tests.api.conftest import pdf_bytes
    from tests.api.test_matrix import _transfer_record
    from tests.sipfactory import SipSpec, write_batch, zip_item

    specs = [SipSpec(record_id=f"Z109-WS-2025-EB{n}", title=f"关于第{n}批次工作的通知", document_number=f"X政办发〔2025〕EB{n}号",
                     files={"正文.pdf": pdf_bytes(f"批次{n}")}) for n in (1, 2)]
    batch = write_batch(world.tmp / "e2e-batch", specs, count_delta=1)
    world.client("archivist").post("/api/v1/batches", files={"package": ("四月批次.zip", zip_item(batch).read_bytes(),
                                                                          "application/zip")})
    _transfer_record(world)
    from tests.api.test_transfers_received import receive_a_transfer

    receive_a_transfer(world)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot_dir() -> Path | None:
    """Set LANTAI_SCREENSHOTS=docs/screenshots to refresh the README screenshots."""
    target = os.environ.get("LANTAI_SCREENSHOTS")
    if not target:
        return None
    path = Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return path
