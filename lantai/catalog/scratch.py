"""A scratch catalogue beside the live one, filled by ``lantai rebuild`` and swapped in at once.

The item tables (items, their files, versions and events, and batches) are built in a new
SQLite file next to the catalogue's, or in a new PostgreSQL schema of the same database. Only
when every object has been projected are the rows moved into the live tables, in one
transaction: a crash or kill before or during it leaves the live catalogue exactly as it was.

The swap replaces the rows of every item the scratch holds and leaves all others alone — items
whose objects were damaged or missing keep their last good rows, and users, API tokens, check
runs, submissions and arrangement rows are never touched (users and tokens are configuration
the store does not hold; they are covered by backing up the catalogue).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from lantai.catalog.db import report_storage_errors
from lantai.catalog.models import Base, Batch, Event, Item, ItemFile, ItemVersion
from lantai.errors import StorageError

SCRATCH_PREFIX = "lantai_rebuild_"
_CHILDREN = (ItemFile, ItemVersion, Event)
TABLES = [Batch.__table__, Item.__table__, *(m.__table__ for m in _CHILDREN)]


class ScratchCatalogue:
    """Item tables in a new SQLite file or PostgreSQL schema; see the module docstring."""

    def __init__(self, live: Engine, engine: Engine, *, path: Path | None = None, schema: str | None = None) -> None:
        self.live = live
        self.engine = engine
        self.path = path
        self.schema = schema
        self.sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def create(cls, live: Engine) -> ScratchCatalogue:
        name = f"{SCRATCH_PREFIX}{uuid.uuid4().hex[:12]}"
        if live.dialect.name == "sqlite":
            path = _sqlite_dir(live) / f".{name}.sqlite3"
            engine = create_engine(f"sqlite:///{path}")
            event.listen(engine, "connect", _fast_pragmas)
            report_storage_errors(engine)  # a full disk here is said as for the live catalogue
            scratch = cls(live, engine, path=path)
        else:
            with live.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            scratch = cls(live, live.execution_options(schema_translate_map={None: name}), schema=name)
        try:
            Base.metadata.create_all(scratch.engine, tables=TABLES)
        except BaseException:
            scratch.drop()  # e.g. the disk filled while the tables were made: leave nothing behind
            raise
        return scratch

    def swap_into_live(self, after: Callable[[Session], None] | None = None) -> dict[str, int]:
        """Move the scratch rows into the live catalogue in one transaction; returns the counts.

        ``after`` runs in the same transaction with a session on it (batch totals are recounted
        there, over the live items). Any failure rolls the whole swap back.
        """
        if self.path is not None:
            self.engine.dispose()
        try:
            with self.live.connect() as conn:
                prefix = self._attach(conn)
                try:
                    counts = _move_rows(conn, prefix)
                    if after is not None:
                        with Session(bind=conn) as session:
                            after(session)
                            session.flush()
                    conn.commit()
                finally:
                    conn.rollback()
                    self._detach(conn)
        except SQLAlchemyError as exc:
            raise StorageError(f"目录切换失败，原目录未改动: {exc}",
                               f"catalogue swap failed, the old catalogue is unchanged: {exc}") from exc
        return counts

    def _attach(self, conn: Connection) -> str:
        if self.path is not None:
            conn.exec_driver_sql("ATTACH DATABASE ? AS scratch", (str(self.path),))
            return "scratch."
        return f'"{self.schema}".'

    def _detach(self, conn: Connection) -> None:
        if self.path is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.exec_driver_sql("DETACH DATABASE scratch")

    def drop(self) -> None:
        """Remove the scratch file or schema (also after a failed or interrupted rebuild)."""
        self.engine.dispose()
        if self.path is not None:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
        else:
            with self.live.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))


def drop_leftovers(live: Engine) -> int:
    """Remove scratch catalogues a killed rebuild left behind; returns how many."""
    if live.dialect.name == "sqlite":
        found = [p for p in _sqlite_dir(live).glob(f".{SCRATCH_PREFIX}*.sqlite3*")]
        for path in found:
            path.unlink(missing_ok=True)
        return len(found)
    with live.begin() as conn:
        names = list(conn.execute(text("SELECT schema_name FROM information_schema.schemata "
                                       "WHERE schema_name LIKE :p"), {"p": f"{SCRATCH_PREFIX}%"}).scalars())
        for name in names:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    return len(names)


def _sqlite_dir(live: Engine) -> Path:
    database = live.url.database
    if not database or database == ":memory:":
        raise StorageError("内存中的 SQLite 目录无法重建", "an in-memory SQLite catalogue cannot be rebuilt")
    return Path(database).resolve().parent


def _fast_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    """A scratch file needs no durability: a crash discards it anyway."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=OFF")
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _columns(table: object, *, skip: tuple[str, ...] = ()) -> list[str]:
    return [f'"{c}"' for c in table.c.keys() if c not in skip]  # type: ignore[attr-defined]


def _move_rows(conn: Connection, s: str) -> dict[str, int]:
    """Replace the live rows of every item the scratch holds, then check the result."""
    replaced = f"SELECT record_id FROM {s}items"
    for model in _CHILDREN:
        conn.exec_driver_sql(f"DELETE FROM {model.__tablename__} WHERE item_id IN "
                             f"(SELECT id FROM items WHERE record_id IN ({replaced}))")
    kept = conn.exec_driver_sql(f"SELECT count(*) FROM items WHERE record_id NOT IN ({replaced})").scalar_one()
    conn.exec_driver_sql(f"DELETE FROM items WHERE record_id IN ({replaced})")
    cols = ", ".join(_columns(Item.__table__, skip=("id",)))
    conn.exec_driver_sql(f"INSERT INTO items ({cols}) SELECT {cols} FROM {s}items")
    for model in _CHILDREN:
        names = _columns(model.__table__, skip=("id", "item_id"))
        conn.exec_driver_sql(
            f"INSERT INTO {model.__tablename__} (item_id, {', '.join(names)}) "
            f"SELECT i.id, {', '.join('f.' + n for n in names)} FROM {s}{model.__tablename__} f "
            f"JOIN {s}items si ON si.id = f.item_id JOIN items i ON i.record_id = si.record_id")
    conn.exec_driver_sql(f"DELETE FROM batches WHERE id IN (SELECT id FROM {s}batches)")
    cols = ", ".join(_columns(Batch.__table__))
    conn.exec_driver_sql(f"INSERT INTO batches ({cols}) SELECT {cols} FROM {s}batches")
    counts = {"items": _count(conn, f"{s}items"), "kept": int(kept)}
    _check_moved(conn, s, counts)
    return counts


def _count(conn: Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def _check_moved(conn: Connection, s: str, counts: dict[str, int]) -> None:
    """The live tables must now hold exactly the scratch rows plus the kept items."""
    problems = []
    if _count(conn, "items") != counts["items"] + counts["kept"]:
        problems.append("items")
    for model in _CHILDREN:
        table = model.__tablename__
        live = conn.exec_driver_sql(f"SELECT count(*) FROM {table} f JOIN items i ON i.id = f.item_id "
                                    f"WHERE i.record_id IN (SELECT record_id FROM {s}items)").scalar_one()
        if live != _count(conn, f"{s}{table}"):
            problems.append(table)
    if problems:
        raise StorageError(f"新目录与重建结果不一致（{', '.join(problems)}），未切换",
                           f"the swapped catalogue disagrees with the rebuild ({', '.join(problems)}); not swapped")
