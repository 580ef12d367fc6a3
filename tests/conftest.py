"""Shared fixtures. ``shared_dir`` skips cleanly when ../shared (corpus, standards) is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared is absent")
    return SHARED_DIR


@pytest.fixture(scope="session")
def corpus_dir(shared_dir: Path) -> Path:
    path = shared_dir / "corpus"
    if not path.is_dir():
        pytest.skip("../shared/corpus is absent")
    return path


# --- catalogue backends --------------------------------------------------------------------------
import os  # noqa: E402
import uuid  # noqa: E402

from lantai.settings import Settings  # noqa: E402

PG_ENV = "LANTAI_TEST_DATABASE_URL"

# Ingest runs the default DA/T 70 gd profile in every test, as in production, against one real
# clamd per test session (per xdist worker): ``real_clamd`` below, autouse in tests/integration
# and tests/api. Only tests of ingest mechanics on synthetic bytes (throughput, crash trials,
# atomicity) switch the profile off, each in its own module, where the reason is written; nothing
# here turns it off.
REAL_COMPONENT_MARKERS = ("clamd", "chromium", "postgres", "shared", "s3", "libreoffice")
REQUIRE_REAL_ENV = "LANTAI_REQUIRE_REAL"


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The socket of a private clamd (EICAR test signatures) shared by this session or xdist worker."""
    from lantai.checks.clamav import ClamdServer

    if ClamdServer.binary() is None:
        pytest.skip("clamd is not installed (Debian package clamav-daemon)")
    server = ClamdServer(run_dir=tmp_path_factory.mktemp("clamd")).start()
    _clamd_servers.append(server)
    return server.socket


_clamd_servers: list = []


S3_START = Path(__file__).resolve().parent / "s3" / "start_ceph_rgw.sh"


@pytest.fixture(scope="session")
def s3_gateway() -> dict[str, str]:
    """A real S3 gateway (Ceph RGW): the one ``.ci/run`` started (LANTAI_TEST_S3_*), or started here
    by ``tests/s3/start_ceph_rgw.sh`` (idempotent) when the Ceph packages are installed."""
    import shutil
    import subprocess

    names = ("LANTAI_TEST_S3_ENDPOINT", "LANTAI_TEST_S3_ACCESS_KEY", "LANTAI_TEST_S3_SECRET_KEY")
    if all(os.environ.get(n) for n in names):
        return {n: os.environ[n] for n in names}
    if shutil.which("radosgw") is None or shutil.which("ceph-mon") is None:
        pytest.skip("Ceph RGW is not installed (Debian packages radosgw ceph-mon ceph-osd ceph-mgr ceph-common)")
    done = subprocess.run(["bash", str(S3_START)], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.skip(f"Ceph RGW did not start: {done.stderr[-2000:]}")
    found = dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("LANTAI_TEST_S3_"))
    return {n: found[n] for n in names}


@pytest.fixture(scope="session")
def real_clamd(clamd_socket: str) -> str:
    """The session's clamd; ``production_ingest`` points a test's archives and CLI runs at it."""
    return clamd_socket


@pytest.fixture
def production_ingest(real_clamd: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """This test's archives (in-process and CLI subprocesses) scan with the real clamd. Function
    scope: the environment must not leak into tests that run later in the same worker."""
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", real_clamd)
    return real_clamd


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for server in _clamd_servers:
        server.stop()
    _clamd_servers.clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by the real components their fixtures start, so a skip of one can fail CI."""
    by_fixture = {"clamd_socket": "clamd", "real_clamd": "clamd", "shared_dir": "shared", "corpus_dir": "shared",
                  "live": "chromium", "browser": "chromium", "s3_gateway": "s3"}
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        for fixture, marker in by_fixture.items():
            if fixture in names and item.get_closest_marker(marker) is None:
                item.add_marker(getattr(pytest.mark, marker))
        if "postgresql" in item.nodeid and item.get_closest_marker("postgres") is None:
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """With LANTAI_REQUIRE_REAL=1 (CI), a skipped test that needs clamd, Chromium, PostgreSQL,
    LibreOffice or ../shared is a failure: CI must never pass while the real components went untested."""
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or os.environ.get(REQUIRE_REAL_ENV) != "1":
        return
    needed = [m for m in REAL_COMPONENT_MARKERS if item.get_closest_marker(m) is not None]
    if needed and item.get_closest_marker("skip_unrelated_to_components") is None:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (f"{REQUIRE_REAL_ENV}=1: test needing {', '.join(needed)} was skipped: {reason}")


def _create_pg_database(base_url: str) -> str:
    """A throwaway database per test: isolation without depending on test order."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"lantai_t_{uuid.uuid4().hex[:12]}"
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_pg_database(db_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None means the embedded default (SQLite in the archive home)."""
    if request.param == "sqlite":
        yield None
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL variant skipped")
    url = _create_pg_database(base)
    try:
        yield url
    finally:
        _drop_pg_database(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(home=tmp_path / "archive", database_url=database_url, fsync=False, workers=2)


@pytest.fixture
def archive(settings: Settings):
    from lantai.services.archive import init_archive

    arch = init_archive(settings)
    try:
        yield arch
    finally:
        arch.close()


def cli_env(settings: Settings) -> dict[str, str]:
    """Environment for running the CLI in a subprocess against the same archive."""
    env = dict(os.environ)
    env["LANTAI_HOME"] = str(settings.home)
    env["LANTAI_FSYNC"] = "true" if settings.fsync else "false"
    if settings.database_url:
        env["LANTAI_DATABASE_URL"] = settings.database_url
    else:
        env.pop("LANTAI_DATABASE_URL", None)
    return env
