"""Crash trials: run an operation in its own process, SIGKILL it at an aimed point or a random
moment, recover, check that everything agrees, finish the work, check again.

The plan of one CI run is drawn once for every kind from one seed (printed, and named in every
failure): each kind's aimed points always run, and ``LANTAI_RELIABILITY_TRIALS`` (default 50)
minus those are random kills spread over the kinds. Each test file runs the trials of its kinds.
Trials alternate between SQLite and PostgreSQL (when ``LANTAI_TEST_DATABASE_URL`` is set).

Every trial starts from a copy of a template archive (a copied home, and on PostgreSQL a database
created from a template), so a trial costs one process run and the checks, not an ingest.
SIGKILL does not depend on fsync (the page cache survives the process), so trials run without it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from lantai.catalog.arrangement import Arrangement
from lantai.catalog.models import Item
from lantai.services import arrange
from lantai.services.archive import Archive, init_archive, open_archive
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database, cli_env
from tests.reliability import driver
from tests.reliability.consistency import check_agreement
from tests.sipfactory import SipSpec, specs, write_batch, write_item

DRIVER = Path(driver.__file__)
ITEMS = 7  # items of the change trials
INGEST_ITEMS = 12
INGEST_POINTS = ("after_intent", "after_store", "after_journal", "after_catalogue")
AIMED = {"ingest": INGEST_POINTS, **dict.fromkeys(driver.CHANGE_KINDS, INGEST_POINTS),
         "reindex": ("after_shadow", "after_swap_index"), "rebuild": ("before_swap", "after_swap")}
KINDS = tuple(AIMED)
TEMPLATE_OF = {"ingest": "empty", "classify": "ingested", "arrange": "ingested", "transfer": "ingested",
               "metadata": "ingested",
               "publish": "pending", "correct": "filed", "reindex": "filed", "rebuild": "filed"}


def run_seed() -> int:
    value = int(os.environ.get("LANTAI_RELIABILITY_SEED") or time.strftime("%Y%m%d"))
    print(f"reliability trials: seed {value} (LANTAI_RELIABILITY_SEED={value} repeats this run)")
    return value


@dataclass(frozen=True)
class Trial:
    number: int
    kind: str
    point: str | None  # aimed, or None for a random moment
    fraction: float  # of an uninterrupted run's duration, for a random kill
    backend: str

    def name(self, seed: int) -> str:
        aim = self.point or f"random {self.fraction:.2f}"
        return f"seed {seed}, trial {self.number}: {self.kind} on {self.backend}, kill {aim}"


def plan(seed: int) -> list[Trial]:
    """Every kind's aimed kills, then random ones round-robin over the kinds up to the total."""
    rng = random.Random(seed)
    total = int(os.environ.get("LANTAI_RELIABILITY_TRIALS", "50"))
    shots: list[tuple[str, str | None]] = [(kind, point) for kind in KINDS for point in AIMED[kind]]
    shots += [(KINDS[n % len(KINDS)], None) for n in range(max(0, total - len(shots)))]
    backends = ["sqlite", "postgresql"] if os.environ.get(PG_ENV) else ["sqlite"]
    return [Trial(n, kind, point, rng.uniform(0.1, 1.0), backends[n % len(backends)])
            for n, (kind, point) in enumerate(shots, 1)]


class Templates:
    """Template archives (one per starting state and backend), copied for each trial."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.batch = write_batch(root / "ingest-batch", specs(INGEST_ITEMS, size=16 * 1024))
        self._made: dict[tuple[str, str], Settings] = {}
        self._databases: list[str] = []

    def settings(self, home: Path, url: str | None) -> Settings:
        return Settings(home=home, database_url=url, fsync=False, workers=1, ingest_profile="off")

    def fresh(self, trial: Trial) -> Settings:
        template = self._template(TEMPLATE_OF[trial.kind], trial.backend)
        home = self.root / f"trial-{trial.number}"
        shutil.copytree(template.home, home, symlinks=True)
        url = None
        if template.database_url:
            url = self._database(template.database_url)
        return self.settings(home, url)

    def _database(self, template_url: str) -> str:
        """A copy of the template's database, made by PostgreSQL (``CREATE DATABASE … TEMPLATE``)."""
        url = make_url(os.environ[PG_ENV]).set(database=f"lantai_t_{uuid.uuid4().hex[:12]}")
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{make_url(template_url).database}"'))
        finally:
            engine.dispose()
        rendered = url.render_as_string(hide_password=False)
        self._databases.append(rendered)
        return rendered

    def _template(self, state: str, backend: str) -> Settings:
        if (state, backend) not in self._made:
            url = _create_pg_database(os.environ[PG_ENV]) if backend == "postgresql" else None
            if url:
                self._databases.append(url)
            settings = self.settings(self.root / f"template-{state}-{backend}", url)
            with init_archive(settings) as archive:
                _bring_to(archive, state, self.root)
            self._made[(state, backend)] = settings
        return self._made[(state, backend)]

    def drop(self, settings: Settings) -> None:
        shutil.rmtree(settings.home, ignore_errors=True)
        if settings.database_url:
            _drop_pg_database(settings.database_url)
            self._databases.remove(settings.database_url)

    def close(self) -> None:
        for url in self._databases:
            _drop_pg_database(url)


def _bring_to(archive: Archive, state: str, root: Path) -> None:
    if state == "empty":
        return
    folder = root / "change-items"
    if not folder.is_dir():
        for n in range(1, ITEMS + 1):
            write_item(folder, SipSpec(f"Z109-WS-2025-{n:05d}", document_number=f"示政发〔2025〕{n}号",
                                       date=f"2025-0{n}-1{n}"))
    report = ingest_paths(archive, sorted(folder.iterdir()))
    assert report.ok, report.to_dict()
    if state == "pending":
        arrange.arrange(archive, "Z109", 2025, actor="archivist", publish=False)
    elif state == "filed":
        arrange.arrange(archive, "Z109", 2025, actor="archivist")
        arrange.file_arrangement(archive, "Z109", 2025, actor="archivist")


def start(settings: Settings, kind: str, point: str | None, batch: Path | None = None,
          extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {**cli_env(settings), "LANTAI_INGEST_PROFILE": "off", "LANTAI_WORKERS": "1", **(extra_env or {})}
    args = [sys.executable, str(DRIVER), kind, point or "-", str(batch) if batch else ""]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and its workers, and wait until the kernel has reaped them all."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def durations(templates: Templates, kinds: tuple[str, ...]) -> dict[str, float]:
    """How long an uninterrupted run of each kind takes (so random kills land across the run);
    each probe is a trial without a kill, checked like the others."""
    found = {}
    for n, kind in enumerate(kinds):
        settings = templates.fresh(Trial(-1 - n, kind, None, 0.0, "sqlite"))
        try:
            started = time.monotonic()
            proc = start(settings, kind, None, templates.batch)
            assert proc.wait(timeout=300) == 0, proc.stderr.read().decode() if proc.stderr else ""
            found[kind] = time.monotonic() - started
            with open_archive(settings) as archive:
                check_agreement(archive, context=f"{kind} uninterrupted")
                assert_complete(archive, kind)
        finally:
            templates.drop(settings)
    return found


def run_trial(templates: Templates, trial: Trial, took: dict[str, float], seed: int) -> bool:
    """One kill and its checks; True when the kill interrupted the run (it did not finish)."""
    context = trial.name(seed)
    settings = templates.fresh(trial)
    try:
        proc = start(settings, trial.kind, trial.point, templates.batch)
        if trial.point is None:
            time.sleep(trial.fraction * took[trial.kind])
        else:
            proc.wait(timeout=300)
        kill_group(proc)
        interrupted = proc.returncode == -signal.SIGKILL
        assert interrupted or proc.returncode == 0, f"{context}: {proc.stderr.read().decode() if proc.stderr else ''}"
        with open_archive(settings) as archive:  # recovery, as any writer starting
            check_agreement(archive, context=f"{context}, after recovery")
            finish(archive, trial.kind, templates.batch)
            check_agreement(archive, context=f"{context}, after resubmission")
            assert_complete(archive, trial.kind, context)
        return interrupted
    finally:
        templates.drop(settings)


def finish(archive: Archive, kind: str, batch: Path) -> None:
    """Resubmit the interrupted work the way an operator would."""
    if kind in ("arrange", "publish", "correct"):
        arrange.publish_pending(archive)
    elif kind in ("ingest", "classify", "metadata", "reindex", "rebuild"):
        driver.run(archive, kind, batch)


def assert_complete(archive: Archive, kind: str, context: str = "") -> None:
    """The interrupted work is done once resubmitted."""
    with archive.sessions() as session:
        items = list(session.scalars(select(Item).order_by(Item.record_id)))
        pending = session.scalar(select(Arrangement.id).where(Arrangement.pending.is_(True)).limit(1))
    if kind == "ingest":
        assert len(items) == INGEST_ITEMS, context
    elif kind == "classify":
        assert [i.security_classification for i in items] == [("机密", "秘密")[n % 2] for n in range(len(items))], context
    elif kind in ("arrange", "publish", "correct"):
        assert pending is None, context
    elif kind == "transfer":
        assert len(items) == ITEMS, context
    elif kind == "metadata":
        assert len(items) == ITEMS and all(i.title.endswith(driver.CORRECTED) for i in items), context


def trials_of(kinds: tuple[str, ...], seed: int) -> Iterator[Trial]:
    return (t for t in plan(seed) if t.kind in kinds)


def run_kinds(tmp_path: Path, kinds: tuple[str, ...]) -> None:
    """Every trial of the run's plan for ``kinds``; each kind's aimed kills must all land."""
    seed = run_seed()
    templates = Templates(tmp_path)
    try:
        took = durations(templates, kinds)
        interrupted: Counter[str] = Counter()
        ran: Counter[str] = Counter()
        for trial in trials_of(kinds, seed):
            interrupted[trial.kind] += run_trial(templates, trial, took, seed)
            ran[trial.kind] += 1
        print(f"reliability trials (seed {seed}): run {dict(ran)}, killed before finishing {dict(interrupted)}, "
              f"of {len(plan(seed))} in the run's plan")
    finally:
        templates.close()
    for kind in kinds:
        assert interrupted[kind] >= len(AIMED[kind]), f"{kind}: the aimed kills did not all land (seed {seed})"
