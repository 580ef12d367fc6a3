"""A small archive with one account per role and items at several 密级, shared by a test module.

The world is built once per module (argon2 and ingest are not free) on SQLite and, when
LANTAI_TEST_DATABASE_URL is set, on PostgreSQL. Tests that change it use names of their own.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from lantai.domain.roles import SCOPES, Role
from lantai.services import users
from lantai.services.archive import Archive, init_archive
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database
from tests.sipfactory import SipSpec, write_item, zip_item

PASSWORD = "Lantai#Test2025"
ACCOUNTS = {  # username: (roles, clearance)
    "sysadmin": ([Role.SYSADMIN], "内部"),
    "secadmin": ([Role.SECADMIN], "绝密"),
    "auditor": ([Role.AUDITOR], "公开"),
    "archivist": ([Role.ARCHIVIST], "机密"),
    "clerk": ([Role.CLERK], "内部"),
    "reader": ([Role.READER], "内部"),
}
PUBLIC_ID, INTERNAL_ID, SECRET_ID = "Z109-WS-2025-00001", "Z109-WS-2025-00002", "Z109-WS-2025-00003"
SECRET_TITLE = "关于秘密事项的通知"


def pdf_bytes(title: str, pages: int = 2) -> bytes:
    """A real PDF with Chinese text (the watermark needs a parsable document)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(595, 842))
    for n in range(1, pages + 1):
        c.setFont("STSong-Light", 18)
        c.drawString(72, 760, f"{title}（第 {n} 页）")
        c.showPage()
    c.save()
    return buffer.getvalue()


def sip_zip(tmp: Path, record_id: str, *, title: str = "关于做好2025年度电子文件归档工作的通知",
            security: str = "公开", **kwargs) -> bytes:
    spec = SipSpec(record_id=record_id, title=title, security=security,
                   files=kwargs.pop("files", None) or {"正文.pdf": pdf_bytes(title)}, **kwargs)
    item = write_item(tmp / f"sip-{record_id}-{os.urandom(3).hex()}", spec)
    return zip_item(item).read_bytes()


def metadata_xml_for(record_id: str) -> bytes:
    """元数据.xml of an item whose content file is missing: a submission of it alone is rejected (kept for 重新检测)."""
    from tests.sipfactory import metadata_xml

    return metadata_xml(SipSpec(record_id=record_id, files={"正文.pdf": pdf_bytes("缺文件")}, manifest=None))


@dataclass
class World:
    archive: Archive
    app: object
    tmp: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, username: str | None = None) -> TestClient:
        """A client authenticated by API token (no CSRF needed) — or anonymous."""
        client = TestClient(self.app, raise_server_exceptions=False)
        if username:
            client.headers["Authorization"] = f"Bearer {self.tokens[username]}"
        return client

    def session_client(self, username: str, password: str = PASSWORD) -> TestClient:
        """A client logged in with a session cookie; ``client.csrf`` holds its CSRF token."""
        client = TestClient(self.app, raise_server_exceptions=False)
        response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.csrf = response.json()["csrf_token"]  # type: ignore[attr-defined]
        return client


def make_account(archive: Archive, username: str, roles: list, clearance: str, *, scopes=SCOPES) -> str:
    """An account as ``lantai init`` / an approved creation leaves it, and a token with ``scopes``."""
    users.create_user(archive, "cli", username, PASSWORD, display_name=f"测试{username}", roles=roles,
                      clearance=clearance, bootstrap=True)
    return users.issue_token(archive, "cli", username, "tests", 30, scopes)["token"]


def _ingest(world: World, record_id: str, security: str, title: str) -> None:
    from lantai.services.ingest import BatchContext, commit_item, prepare_item

    item = write_item(world.tmp / "seed", SipSpec(record_id=record_id, title=title, security=security,
                                                  document_number=f"X政办发〔2025〕{record_id[-3:]}号",
                                                  files={"正文.pdf": pdf_bytes(title)}))
    context = BatchContext(submitted_by="seed")
    outcome = commit_item(world.archive, prepare_item(world.archive.settings, item, context), context)
    assert outcome.status == "accepted", outcome.to_dict()


def build_world(tmp: Path, database_url: str | None, clamd_socket: str | None = None) -> World:
    from lantai.api import create_app

    settings = Settings(home=tmp / "archive", database_url=database_url, fsync=False, workers=1,
                        clamd_socket=clamd_socket)
    archive = init_archive(settings)
    world = World(archive, create_app(archive), tmp)
    for username, (roles, clearance) in ACCOUNTS.items():
        world.tokens[username] = make_account(archive, username, roles, clearance)
    _ingest(world, PUBLIC_ID, "公开", "关于做好2025年度电子文件归档工作的通知")
    _ingest(world, INTERNAL_ID, "内部", "关于内部工作安排的通知")
    _ingest(world, SECRET_ID, "秘密", SECRET_TITLE)
    return world


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, real_clamd: str) -> Iterator[World]:
    """Ingest on the production path: the default DA/T 70 gd profile against the session's clamd."""
    url = None
    if request.param == "postgresql":
        base = os.environ.get(PG_ENV)
        if not base:
            pytest.skip(f"{PG_ENV} is not set; PostgreSQL variant skipped")
        url = _create_pg_database(base)
    built = build_world(tmp_path_factory.mktemp(f"world-{request.param}"), url, real_clamd)
    try:
        yield built
    finally:
        built.archive.close()
        if url:
            _drop_pg_database(url)
