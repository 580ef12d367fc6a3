"""Engine and schema management for the catalogue: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, ExceptionContext, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lantai.errors import DiskFull, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create an engine with the pragmas the archive relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    report_storage_errors(engine)
    return engine


def report_storage_errors(engine: Engine) -> None:
    """Say a full or failing disk under ``engine`` as DiskFull / StorageError (see below); every
    engine Lantai writes through needs it, the rebuild's scratch catalogue included."""
    event.listen(engine, "handle_error", _translate_storage_errors)


_SQLITE_FULL, _SQLITE_IOERR = 13, 10
_PG_DISK_FULL = "53100"


def _translate_storage_errors(context: ExceptionContext) -> None:
    """A full disk (or a failing one) under the catalogue is a :class:`DiskFull` / :class:`StorageError`
    with a message in Chinese and English — not a driver traceback. The transaction is rolled back
    by the caller's context as for any error; nothing is half-written."""
    original = context.original_exception
    sqlite_code = (getattr(original, "sqlite_errorcode", None) or 0) & 0xFF  # primary result code
    full = sqlite_code == _SQLITE_FULL or (sqlite_code == _SQLITE_IOERR and _sqlite_disk_full(context))
    if full or getattr(original, "sqlstate", None) == _PG_DISK_FULL:
        raise DiskFull("磁盘空间不足，目录数据库无法写入；本次更改未写入目录，释放空间后重新运行即可（未完成的归档由恢复程序补齐）",
                       "disk full: the catalogue could not be written; this change was not recorded — free space and "
                       "run the command again (recovery completes unfinished work)", driver=str(original)) from original
    if sqlite_code == _SQLITE_IOERR:
        raise StorageError(f"目录数据库读写错误（磁盘已满或出错）: {original}",
                           f"catalogue I/O error (disk full or failing): {original}") from original


def _sqlite_disk_full(context: ExceptionContext) -> bool:
    """SQLite reports some writes that ran out of space (WAL, shared memory) as I/O errors."""
    database = context.engine.url.database if context.engine is not None else None
    if not database or database == ":memory:":
        return False
    try:
        stats = os.statvfs(Path(database).resolve().parent)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 1024 * 1024


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    # 64 MiB of page cache (the default is 2 MiB), used only as it fills: bulk statements over a
    # catalogue of millions (a 到期鉴定 proposal, arrangement of a year) stop re-reading index pages.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the catalogue schema to the newest revision of every migration branch."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "heads")
    except SQLAlchemyError as exc:
        raise StorageError(f"数据库迁移失败: {exc}", f"catalogue migration failed: {exc}") from exc


def is_current(engine: Engine) -> bool:
    """Whether the catalogue is at every migration head; asked by every process that opens it.

    Answered from the ``alembic_version`` table and the revision files' own declarations, so
    opening an archive does not import Alembic and its migration scripts (about 0.1 s a process).
    """
    heads = declared_heads()
    if heads is None:
        return _is_current_by_alembic(engine)
    try:
        with engine.connect() as conn:
            current = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        return False  # no version table yet: a new catalogue
    return current == heads


_REVISION = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*["']([^"']+)["']\s*$""", re.M)
_DOWN_REVISION = re.compile(r"""^down_revision\s*(?::[^=]+)?=\s*(.+?)\s*$""", re.M)


def declared_heads() -> set[str] | None:
    """The heads of the migration graph: revisions no other revision names as its parent.

    ``None`` when a revision file does not declare ``revision`` and ``down_revision`` as plain
    literals on their own lines; callers then ask Alembic.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"""["']([^"']+)["']""", down.group(1)))
    return revisions - parents or None


def _is_current_by_alembic(engine: Engine) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        heads = set(MigrationContext.configure(conn).get_current_heads())
    return heads == set(script.get_heads())


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def insert_ignoring_duplicates(session: Session, table: Any, keys: list[str]) -> Any:
    """``INSERT … ON CONFLICT (keys) DO NOTHING`` in the catalogue's dialect (SQLite or PostgreSQL).

    For rows two processes may write at once with the same content (concurrent ingests of one
    item, the audit copy a live writer and recovery's journal sync both insert)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(table).on_conflict_do_nothing(index_elements=keys)
