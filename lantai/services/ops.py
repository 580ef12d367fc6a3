"""Operations: readiness (``/readyz``), metrics (``/metrics``) and ``lantai doctor``.

Every probe here measures the real thing — a query on the catalogue, a file written and removed
in the store, a ping to the broker and to clamd — and every metric is a measurement: counters of
this web tier's requests, and catalogue figures (items, bytes, check failures, jobs by queue and
state) read at scrape time, so any web worker answers the same for the whole archive. Figures
that other parts of Lantai do not measure yet (fixity coverage, replication lag) are not
exported at all rather than exported as made-up numbers.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text

from lantai.catalog import db
from lantai.catalog.jobs import Job
from lantai.catalog.models import CheckRecord, Item
from lantai.formats.fonts import EMBEDDABLE, installed
from lantai.settings import Settings
from lantai.storage.backends import open_backend, parse_root_url
from lantai.storage.ocfl import OcflStore

if TYPE_CHECKING:
    from lantai.services.archive import Archive


@dataclass
class Probe:
    """One component's state: ``ok``, and what is wrong in Chinese and English when it is not."""

    name: str
    ok: bool
    message: str = ""
    message_en: str = ""
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "required": self.required, "message": self.message,
                "message_en": self.message_en}


def _probe(name: str, run: Callable[[], None], zh: str, en: str, *, required: bool = True) -> Probe:
    try:
        run()
    except Exception as exc:
        detail = f"{type(exc).__name__}: {str(exc) or repr(exc)}"[:300]
        return Probe(name, False, f"{zh}：{detail}", f"{en}: {detail}", required)
    return Probe(name, True, required=required)


def _database(archive: Archive) -> None:
    with archive.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _store(settings: Settings) -> None:
    """Write, fsync and remove a file where commits are staged (same file system as the store), and
    find the store's OCFL declaration."""

    probe = settings.staging_dir / f".probe-{uuid.uuid4().hex}"
    with open(probe, "wb") as fh:
        fh.write(b"lantai")
        fh.flush()
        os.fsync(fh.fileno())
    probe.unlink()
    if not OcflStore(settings.store_root, settings.staging_dir).is_initialised():
        raise FileNotFoundError(f"{settings.store_root} is not an OCFL storage root")


def _broker(settings: Settings) -> None:
    from lantai.jobs import broker  # lazy (start-up): the embedded default never loads Dramatiq

    broker.ping(settings.broker_url or "")


def _clamd(settings: Settings) -> None:
    from lantai.checks.clamd_client import ClamdUnixSocket

    socket_path = settings.clamd_socket or os.environ.get("LANTAI_CLAMD_SOCKET", "")
    if not socket_path:
        raise RuntimeError("LANTAI_CLAMD_SOCKET not set")
    answer = ClamdUnixSocket(socket_path, timeout=3).ping()
    if answer != "PONG":
        raise RuntimeError(f"clamd answered {answer!r}")


def readiness(archive: Archive) -> list[Probe]:
    """What ``/readyz`` reports: catalogue, store, broker (when configured) and clamd.

    clamd is required only where ingest runs its checks (the default profile), so a web tier with
    ``ingest_profile = off`` is not taken out of rotation for it.
    """
    settings = archive.settings
    probes = [_probe("database", lambda: _database(archive), "目录数据库不可用", "catalogue database unreachable"),
              _probe("store", lambda: _store(settings), "存储不可写", "store not writable")]
    if settings.broker_url:
        probes.append(_probe("broker", lambda: _broker(settings), "消息队列不可达", "broker unreachable"))
    probes.append(_probe("clamd", lambda: _clamd(settings), "ClamAV（clamd）无应答", "clamd does not answer",
                         required=settings.ingest_profile != "off"))
    return probes


# --- lantai doctor ----------------------------------------------------------------------------------

def doctor(settings: Settings) -> list[Probe]:
    """Check a configuration end to end, without changing anything but a probe file."""

    probes: list[Probe] = []
    home = settings.home
    marker = home / "lantai.toml"
    probes.append(_expect("home", marker.is_file(), f"{home} 不是兰台档案目录（运行 lantai init，或设置 LANTAI_HOME）",
                          f"{home} is not a Lantai archive (run lantai init or set LANTAI_HOME)"))
    engine = db.make_engine(settings.catalogue_url)
    try:
        reachable = _probe("database", lambda: _connect(engine), "目录数据库无法连接", "catalogue database unreachable")
        probes.append(reachable)
        if reachable.ok:
            probes.append(_expect("migrations", db.is_current(engine),
                                  "目录数据库未迁移到最新版本（运行 lantai init 以迁移）",
                                  "catalogue schema is not at the newest revision (run lantai init to migrate)"))
            probes.extend(_search(engine, home))
    finally:
        engine.dispose()
    if marker.is_file():
        probes.append(_probe("store", lambda: _store(settings), "存储不可写", "store not writable"))
    if settings.broker_url:
        probes.append(_probe("broker", lambda: _broker(settings), "消息队列不可达", "broker unreachable"))
    else:
        probes.append(Probe("broker", True, "未配置消息队列：后台作业在发起它的进程中运行",
                            "no broker configured: jobs run in the process that starts them", required=False))
    probes.append(_probe("clamd", lambda: _clamd(settings), "ClamAV（clamd）无应答，默认检测方案将拒收所有条目",
                         "clamd does not answer: the default check profile would reject every item",
                         required=settings.ingest_profile != "off"))
    probes.extend(_replica_root(settings, name, url) for name, url in sorted(settings.replica_roots.items()))
    probes.append(_keys(settings))
    probes.append(_fonts())
    return probes


def _search(engine: Any, home: Path) -> list[Probe]:
    """The search index is current, and on PostgreSQL its table and GIN index fit in
    ``shared_buffers`` (advice: searches work either way, slower from the OS cache)."""
    from lantai.services.search_index import doctor_findings

    try:
        reason, fit = doctor_findings(engine, home)
    except Exception as exc:  # a doctor reports, it does not stop at the first broken part
        detail = f"{type(exc).__name__}: {exc}"[:300]
        return [Probe("search", False, f"无法读取检索索引状态：{detail}", f"cannot read the search index state: {detail}",
                      required=False)]
    probes = [Probe("search", True) if reason is None else
              Probe("search", False, f"检索索引需要重建（{reason}）：运行 lantai search reindex（重建期间检索照常）",
                    f"the search index needs a rebuild ({reason}): run lantai search reindex (searches go on meanwhile)",
                    required=False)]
    if fit is not None:
        needed, buffers = fit
        mb = 1 << 20
        probes.append(Probe("search_buffers", True) if needed <= buffers else
                      Probe("search_buffers", False,
                            f"检索表及其 GIN 索引共 {needed // mb} MB，超过 PostgreSQL shared_buffers（{buffers // mb} MB）："
                            "建议将 shared_buffers 设为内存的四分之一左右",
                            f"the search table and its GIN index ({needed // mb} MB) exceed PostgreSQL's shared_buffers "
                            f"({buffers // mb} MB): set shared_buffers to about a quarter of the server's memory",
                            required=False))
    return probes


def _replica_root(settings: Settings, name: str, url: str) -> Probe:
    """Each replica root answers; an S3 root also names the endpoint it goes to, since one with no
    endpoint configured goes to AWS S3 — rarely what a government archive means."""
    scheme = parse_root_url(url)[0]
    endpoint = (settings.s3_endpoint_url or "AWS S3（未设置 LANTAI_S3_ENDPOINT_URL）") if scheme == "s3" else ""
    endpoint_en = (settings.s3_endpoint_url or "AWS S3 (LANTAI_S3_ENDPOINT_URL not set)") if scheme == "s3" else ""
    probe = _probe(f"replica:{name}", lambda: open_backend(url, settings.s3_options).check(),
                   f"副本存储根 {name}（{url}）不可达", f"replica root {name} ({url}) unreachable", required=False)
    if endpoint and probe.ok:
        return Probe(probe.name, True, f"{url} 经由 {endpoint}", f"{url} via {endpoint_en}", required=False)
    if endpoint:
        return Probe(probe.name, False, f"{probe.message}；端点：{endpoint}", f"{probe.message_en}; endpoint: {endpoint_en}",
                     required=False)
    return probe


def _expect(name: str, ok: bool, zh: str, en: str) -> Probe:
    return Probe(name, True) if ok else Probe(name, False, zh, en)


def _connect(engine: Any) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _keys(settings: Settings) -> Probe:
    needed = [settings.keys_dir / "signing.key"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        return Probe("keys", False, f"缺少档案馆签名密钥 {', '.join(missing)}（运行 lantai keys init）",
                     f"archive signing key missing: {', '.join(missing)} (run lantai keys init)")
    mode = (settings.keys_dir / "signing.key").stat().st_mode & 0o077
    if mode:
        return Probe("keys", False, "签名密钥可被其他用户读取（应为 0600）", "signing key readable by others (should be 0600)")
    return Probe("keys", True)


def _fonts() -> Probe:

    if installed(EMBEDDABLE):
        return Probe("fonts", True)
    return Probe("fonts", False, "缺少中文字体（安装 fonts-wqy-microhei 或 fonts-wqy-zenhei），归档章与报告无法生成",
                 "no CJK fonts (install fonts-wqy-microhei or fonts-wqy-zenhei): stamps and reports cannot be made")


# --- metrics ----------------------------------------------------------------------------------------

class _State:
    registry: Any = None
    requests: Any = None
    latency: Any = None


_STATE = _State()


def _metrics() -> _State:
    """Request metrics of this process; in ``PROMETHEUS_MULTIPROC_DIR`` mode, of every web worker."""
    if _STATE.registry is None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        _STATE.registry = CollectorRegistry(auto_describe=True)
        multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        # In multi-process mode the values live in files shared by the workers and are collected at
        # scrape time; the metric objects must then not be registered on the exposition registry.
        target = None if multiprocess else _STATE.registry
        _STATE.requests = Counter("lantai_http_requests_total", "HTTP requests answered",
                                  ["method", "route", "status"], registry=target)
        _STATE.latency = Histogram("lantai_http_request_seconds", "HTTP request latency", ["method", "route"],
                                   buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
                                   registry=target)
    return _STATE


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    state = _metrics()
    state.requests.labels(method, route, str(status)).inc()
    state.latency.labels(method, route).observe(seconds)


@contextlib.contextmanager
def timed() -> Iterator[Callable[[], float]]:
    start = time.perf_counter()
    yield lambda: time.perf_counter() - start


def metrics_text(archive: Archive) -> tuple[bytes, str]:
    """The exposition: this tier's request metrics plus catalogue figures read now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily

    state = _metrics()
    registry = state.registry
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)

    class Catalogue:
        def collect(self) -> Iterator[Any]:
            yield from _catalogue_metrics(archive, GaugeMetricFamily)

    output = generate_latest(registry)
    extra = CollectorRegistry()
    extra.register(Catalogue())
    return output + generate_latest(extra), CONTENT_TYPE_LATEST


def _catalogue_metrics(archive: Archive, gauge: Any) -> Iterator[Any]:

    with archive.sessions() as session:
        items, size = session.execute(select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))).one()
        checks = dict(session.execute(select(CheckRecord.stage, func.count(CheckRecord.id))
                                      .where(CheckRecord.status == "failed").group_by(CheckRecord.stage)).all())
        jobs = session.execute(select(Job.queue, Job.state, func.count()).group_by(Job.queue, Job.state)).all()
    metric = gauge("lantai_items", "Archived items in the catalogue (each ingest adds one)")
    metric.add_metric([], int(items))
    yield metric
    metric = gauge("lantai_items_bytes", "Bytes of archived content in the catalogue")
    metric.add_metric([], int(size))
    yield metric
    metric = gauge("lantai_check_failures", "Item checks recorded as failed, by DA/T 70 stage", labels=["stage"])
    for stage, count in sorted(checks.items()):
        metric.add_metric([stage], int(count))
    yield metric
    metric = gauge("lantai_jobs", "Background jobs by queue and state (queued = queue depth)",
                   labels=["queue", "state"])
    for queue, state, count in jobs:
        metric.add_metric([queue, state], int(count))
    yield metric


def prepare_multiprocess_dir(directory: Path) -> None:
    """Empty the shared metrics directory before the web workers start (stale files would count)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
