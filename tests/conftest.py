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

# The core suite tests ingest's own mechanics (atomicity, idempotency, fixity, recovery) on
# synthetic bytes; the DA/T 70 gd profile that ingest runs by default is exercised with real
# documents and a real clamd in tests/integration/test_ingest_gd_profile.py and the checks tests.
os.environ.setdefault("LANTAI_INGEST_PROFILE", "off")


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
