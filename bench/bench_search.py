"""Search index benchmark: build rate, size on disk and query latency, SQLite and PostgreSQL.

Synthetic catalogue entries (metadata plus about 2 KB of body text) are generated in memory,
without files: sentences from 公文 templates with organ, topic and place words substituted, plus
generated person and place names so the vocabulary has a long tail. A full ``reindex`` is timed
(tokenisation included), then a mixed query set — common two-character words, organ names,
exact 文号, years, phrases, boolean queries, field filters, rare names; clearances mixed;
every fourth query with facets — is run and each query's latency recorded, overall and per
query kind; broad words sorted by date and 档号 and second pages are timed apart (``extra_kinds``).

Goals (issue 8): p95 ≤ 50 ms at 1,000,000 entries on SQLite; full reindex ≥ 2,000 entries/s.
Issue 22: p95 ≤ 30 ms at 1,000,000 entries on PostgreSQL 15. ``--online`` times the online
rebuild that ``lantai search reindex`` runs (lantai.search.online) instead of the bulk one.
``--grants N`` (default 20) times the mixed set again, each query twice in turn: as before, and
for a reader holding 利用 grants for N items (``SearchQuery.granted``, issue 19), with the ratio.

``--realistic N`` indexes real 公文 instead: N items made by ``lantai demo generate`` and ingested
with the default check profile and a real clamd, their extracted text repeated to ``--entries``
(bench/search_realistic.py). Kept indexes of that corpus are named apart (``…_real``).

Usage::

    python bench/bench_search.py                      # 100,000 entries, SQLite and PostgreSQL
    python bench/bench_search.py --million            # also 1,000,000 (SQLite; PostgreSQL with --pg-million)
    python bench/bench_search.py --tokenizers         # recall and speed of the tokenizer options
    python bench/bench_search.py --entries 1000000 --backend sqlite --workdir /tmp/sb --keep   # build, keep
    python bench/bench_search.py --entries 1000000 --backend sqlite --workdir /tmp/sb --reuse  # queries only
    python bench/bench_search.py --entries 200000 --realistic 1000   # generated 公文, ingested, repeated
    LANTAI_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/postgres  (PostgreSQL server to use)

Writes bench/results/search.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from lantai.search import IndexEntry, SearchQuery, Tokenizer, open_index  # noqa: E402
from lantai.search.tokenize import MODES  # noqa: E402

ORGANS = [("青禾区人民政府办公室", "青政办发", "办公室"), ("青禾区财政局", "青财发", "财政局"),
          ("青禾区教育局", "青教发", "教育局"), ("青禾区统计局", "青统发", "统计局"),
          ("青禾区应急管理局", "青应急发", "应急管理局"), ("青禾区档案馆", "青档发", "档案馆"),
          ("青禾区发展和改革委员会", "青发改发", "发展和改革委员会"), ("青禾区卫生健康委员会", "青卫健发", "卫生健康委员会")]
TOPICS = ["加强电子文件归档管理", "做好档案移交进馆工作", "促进民营经济高质量发展", "推进老旧小区改造",
          "做好冬季供暖保障工作", "开展安全生产大检查", "加强森林防火工作", "规范政府采购管理",
          "推进义务教育优质均衡发展", "做好传染病防控工作", "开展统计执法检查", "优化营商环境",
          "推进政务服务一网通办", "加强预算绩效管理", "做好汛期安全防范工作", "加强道路交通安全管理",
          "实施乡村振兴战略", "推进数字政府建设", "加强耕地保护", "做好就业援助工作"]
TYPES = ["通知", "通知", "通知", "意见", "报告", "请示", "批复", "函", "通报", "纪要", "决定"]
RETENTIONS = ["永久", "定期30年", "定期10年"]
LEVELS = ["公开"] * 6 + ["内部"] * 2 + ["秘密", "机密"]
TEMPLATES = [
    "各单位要充分认识{t}的重要意义，切实把思想和行动统一到区委、区政府的决策部署上来。",
    "要坚持问题导向和目标导向，细化工作措施，明确责任分工，确保{t}按时保质完成。",
    "{o}要会同{p}街道办事处建立健全工作台账，实行清单化管理，定期调度工作进展。",
    "区政府督查室将把{t}纳入年度督查重点，对工作不力、进展缓慢的单位予以通报。",
    "截至{m}月底，全区累计完成投资{n}万元，同比增长{k}%，{p}片区项目进展顺利。",
    "要严格按照有关规定做好文件材料的收集、整理和归档工作，确保档案齐全完整、真实可靠。",
    "经办人{name}联系电话{phone}，请于{m}月{d}日前将{t}情况书面报送{o}。",
    "电子档案以OFD或PDF格式保存，元数据符合DA/T 46要求，四性检测通过后移交档案馆。",
    "根据{x}文件精神，结合{p}实际，现就{t}提出如下意见。",
    "要加强宣传引导，充分利用政府网站、政务新媒体等渠道，营造全社会共同参与的良好氛围。",
    "所需经费按照现行财政体制分级负担，{o}要做好资金保障，专款专用。",
    "要坚持以人民为中心的发展思想，着力解决群众急难愁盼问题，不断增强人民群众的获得感。",
    "{name}同志任{p}社区居民委员会主任，负责{t}的具体组织实施。",
    "全年共组织开展专项检查{n}次，发现并整改问题{k}个，整改完成率达到百分之{k}。",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "国华建平晓燕磊伟芳娜敏静丽强军洋勇艳杰涛明超秀兰霞平刚桂英文辉鹏飞玲斌宇浩凯婷雪琳晨阳"
PLACE = "青禾松柏梅兰竹菊云山水河湖江海石桥林泉溪岭峰湾港田园春秋东西南北安平康宁福寿"


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def place(rng: random.Random) -> str:
    return "".join(rng.choice(PLACE) for _ in range(2))


def sentence_pool(rng: random.Random, size: int = 20000) -> list[str]:
    pool = []
    for _ in range(size):
        organ = rng.choice(ORGANS)
        pool.append(rng.choice(TEMPLATES).format(
            t=rng.choice(TOPICS), o=organ[0], p=place(rng), m=rng.randint(1, 12), d=rng.randint(1, 28),
            n=rng.randint(10, 99999), k=rng.randint(1, 99), name=person(rng), phone=rng.randint(10**7, 10**8 - 1),
            x=f"{organ[1]}〔{rng.randint(2015, 2025)}〕{rng.randint(1, 300)}号"))
    return pool


def entries(count: int, seed: int = 2026, body_bytes: int = 2048) -> Iterator[IndexEntry]:
    """Deterministic synthetic entries; about ``body_bytes`` of UTF-8 body each."""
    rng = random.Random(seed)
    pool = sentence_pool(rng)
    per_body = max(1, body_bytes // (3 * 38))  # sentences average about 38 characters
    for i in range(count):
        organ = rng.choice(ORGANS)
        year = rng.randint(2015, 2025)
        kind = rng.choice(TYPES)
        topic = rng.choice(TOPICS)
        body = "".join(rng.choices(pool, k=per_body))
        yield IndexEntry(
            record_id=f"R{i:08d}", title=f"{organ[0]}关于{topic}的{kind}",
            document_number=f"{organ[1]}〔{year}〕{i % 997 + 1}号", author=organ[0], body=body, year=year,
            date=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            retention=rng.choice(RETENTIONS), organisation=organ[2], document_type=kind,
            security_classification=rng.choice(LEVELS),
            archival_code=f"Q001-WS·{year}-{organ[2]}-{i:07d}", fonds="Q001")


def query_set(count: int, total: int, seed: int = 11) -> list[tuple[str, SearchQuery]]:
    """A mixed query set of (kind, query); every fourth asks for facets, clearances vary."""
    rng = random.Random(seed)
    makers = [
        ("common_word", lambda: rng.choice(["档案", "通知", "归档", "资金", "安全", "检查", "社区", "财政"])),
        ("organ_name", lambda: rng.choice(ORGANS)[0]),
        ("organ_short", lambda: rng.choice(ORGANS)[2]),
        ("docno", lambda: _docno(rng, total)),
        ("docno_partial", lambda: f"〔{rng.randint(2015, 2025)}〕{rng.randint(1, 997)}号"),
        ("word_year", lambda: f"{rng.choice(['档案', '通知', '检查'])} 年度:{rng.randint(2015, 2025)}"),
        ("phrase", lambda: f'"{rng.choice(TOPICS)}"'),
        ("latin_digits", lambda: f"{rng.choice(['OFD', 'PDF', '2025', 'DA/T 46'])}"),
        ("or", lambda: f"{rng.choice(['供暖', '防火', '汛期'])} OR {rng.choice(['采购', '就业'])}"),
        ("not", lambda: f"{rng.choice(['档案', '资金'])} NOT {rng.choice(['移交', '采购'])}"),
        ("field_filter", lambda: f"题名:{rng.choice(['通知', '意见', '报告'])} 保管期限:永久"),
        ("person", lambda: person(rng)),
        ("place", lambda: f"{place(rng)}社区"),
    ]
    queries = []
    for n in range(count):
        kind, make = rng.choice(makers)
        queries.append((kind, SearchQuery(text=make(), facets=n % 4 == 0, limit=20,
                                          max_clearance=rng.choice(["公开", "内部", "秘密", "绝密"]))))
    return queries


def _docno(rng: random.Random, total: int) -> str:
    i = rng.randrange(total)
    r = random.Random(2026)  # not replayed: pick any organ/year; exact hits are what is timed
    del r
    organ = rng.choice(ORGANS)
    return f"{organ[1]}〔{rng.randint(2015, 2025)}〕{i % 997 + 1}号"


# --- backends --------------------------------------------------------------------------------------
# A kept index (--keep) is named by backend and size, so a later run with --reuse finds it and
# only times the queries: a 1,000,000-entry build takes minutes, a query run seconds.
def sqlite_engine(workdir: Path, total: int, keep: bool) -> tuple[Engine, Path]:
    from lantai.catalog.db import make_engine

    name = f"search-{_named(total)}.sqlite3" if keep else f"search-{uuid.uuid4().hex[:6]}.sqlite3"
    path = workdir / name
    return make_engine(f"sqlite:///{path}"), path


def pg_engine(base: str, total: int, keep: bool) -> tuple[Engine, str, Engine]:
    schema = f"bench_search_{_named(total)}" if keep else f"bench_search_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    return create_engine(base, connect_args={"options": f"-csearch_path={schema}"}), schema, admin


def size_on_disk(engine: Engine, path: Path | None) -> int:
    if path is not None:
        with engine.connect() as conn:  # the WAL holds a copy of every page the build wrote
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                                   "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = "
                                   "current_schema() AND c.relkind = 'r'")).scalar_one()
        return int(tables)


def indexed_count(engine: Engine) -> int:
    """Entries in a kept index, 0 when there is none or it is not marked current."""
    with engine.connect() as conn:
        index = open_index(conn)
        if index.is_stale(conn):
            return 0
        return int(conn.execute(text("SELECT count(*) FROM search_docs")).scalar_one())


WORKERS = os.cpu_count() or 1
GRANTS = 20  # --grants: granted ids of a reader timed against the same queries without any
ONLINE = False  # --online: time lantai.search.online.rebuild instead of the bulk reindex
REALISTIC = 0  # --realistic N: index N ingested 公文, repeated
_REAL: list[IndexEntry] = []  # their entries, made when a build first needs them (not for --reuse)


def corpus(total: int) -> Iterator[IndexEntry]:
    """The entries to index: synthetic, or with --realistic the ingested 公文 repeated."""
    if not REALISTIC:
        return entries(total)
    from search_realistic import ingested_entries, repeated

    if not _REAL:
        print(f"  generating and ingesting {REALISTIC:,} 公文 (default check profile, clamd) …", flush=True)
        _REAL.extend(ingested_entries(REALISTIC))
    return repeated(_REAL, total)


def _named(total: int) -> str:
    """How a kept index of ``total`` entries of this corpus is named."""
    return f"{total}_real" if REALISTIC else str(total)


def run_backend(name: str, total: int, queries: int, workdir: Path, pg_base: str | None,
                keep: bool = False, reuse: bool = False) -> dict:
    path: Path | None = None
    keep = keep or reuse  # a reused index stays for the next run
    if name == "sqlite":
        engine, path = sqlite_engine(workdir, total, keep)
        admin = schema = None
    else:
        engine, schema, admin = pg_engine(pg_base or "", total, keep)
    try:
        build = None if reuse and indexed_count(engine) == total else _build(name, engine, total)
        if build is None:
            print(f"  {name}: reusing the kept index of {total:,} entries", flush=True)
        return {**(build or {"backend": name, "entries": total, "reused": True}),
                **_size(engine, path, total), **_queries(engine, total, queries)}
    finally:
        engine.dispose()
        if path is not None and not keep:
            for p in path.parent.glob(path.name + "*"):
                p.unlink()
        if admin is not None:
            if not keep:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _build(name: str, engine: Engine, total: int) -> dict:
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 50000 < n:
            print(f"  {name}: {done[0]:,} entries, {done[0] / (time.perf_counter() - started):,.0f}/s", flush=True)

    source = corpus(total)  # before the clock: --realistic makes its 公文 here
    started = time.perf_counter()
    cpu = time.process_time()
    with engine.begin() as conn:
        index = open_index(conn)
        index.ensure_schema(conn)
        if not ONLINE:
            index.reindex(conn, source, progress=progress, workers=WORKERS)
    if ONLINE:  # as `lantai search reindex` does: shadow tables, short transactions, a swap
        from lantai.search.online import rebuild

        rebuild(engine, index, source, lambda ids: [], progress=progress, workers=WORKERS)
    build = time.perf_counter() - started
    return {"backend": name, "entries": total, "online": ONLINE, "build_s": round(build, 1),
            "entries_per_s": round(total / build),
            "python_cpu_s": round(time.process_time() - cpu, 1), "workers": WORKERS,
            "build_load_average": os.getloadavg()[0]}


def _size(engine: Engine, path: Path | None, total: int) -> dict:
    size = size_on_disk(engine, path)
    return {"size_mb": round(size / 1024 / 1024, 1), "bytes_per_entry": round(size / total)}


# Sorted and paged queries are timed apart from the mixed set, so its figures stay comparable
# from run to run: a broad word sorted by date or 档号, and the second page of a broad word.
SORTED_KINDS = (("sort_date", "-date"), ("sort_archival_code", "archival_code"))


def _queries(engine: Engine, total: int, count: int) -> dict:
    latencies: dict[str, list[float]] = {}
    facet_latencies, plain_latencies, hits = [], [], []
    with engine.connect() as conn:
        index = open_index(conn)
        for _kind, q in query_set(30, total, seed=99):  # warm the cache
            index.search(conn, q)
        for kind, q in query_set(count, total):
            elapsed, result = _timed(index, conn, q)
            latencies.setdefault(kind, []).append(elapsed)
            (facet_latencies if q.facets else plain_latencies).append(elapsed)
            hits.append(result.total)
        extra = _extra_kinds(index, conn, max(20, count // 10))
        granted = _granted_pairs(index, conn, total, count) if GRANTS else {}
    every = sorted(facet_latencies + plain_latencies)
    return {
        "load_average": os.getloadavg()[0], "queries": len(every),
        "p50_ms": _pct(every, 50), "p95_ms": _pct(every, 95), "p99_ms": _pct(every, 99),
        "p95_ms_without_facets": _pct(sorted(plain_latencies), 95),
        "p95_ms_with_facets": _pct(sorted(facet_latencies), 95),
        "median_total_hits": statistics.median(hits),
        "kinds": {kind: _summary(values) for kind, values in sorted(latencies.items())},
        "extra_kinds": extra, "granted": granted,
    }


def _granted_pairs(index: object, conn: object, total: int, count: int) -> dict:
    """The mixed set, each query timed without grants and with GRANTS granted ids, alternately
    (the order flips every query), so both see the same machine. The ids are of items the query's
    clearance hides, as lantai.services.visibility.granted_now hands them to the index."""
    from dataclasses import replace

    from lantai.domain.roles import rank

    rng = random.Random(23)
    hidden = {level: list(conn.execute(text("SELECT record_id FROM search_docs WHERE clearance_rank > :r "  # type: ignore[attr-defined]
                                            "ORDER BY record_id"), {"r": rank(level)}).scalars())
              for level in ("公开", "内部", "秘密", "绝密")}
    plain: list[float] = []
    with_grants: list[float] = []
    for n, (_kind, q) in enumerate(query_set(count, total, seed=31)):
        pool = hidden[q.max_clearance]
        ids = tuple(rng.choice(pool) for _ in range(GRANTS)) if pool else ()
        runs = [(plain, q), (with_grants, replace(q, granted=ids))]
        for bucket, query in runs if n % 2 else runs[::-1]:
            bucket.append(_timed(index, conn, query)[0])
    plain.sort()
    with_grants.sort()
    return {"grants": GRANTS, "n": len(plain), "p50_ms_without": _pct(plain, 50), "p95_ms_without": _pct(plain, 95),
            "p50_ms_with": _pct(with_grants, 50), "p95_ms_with": _pct(with_grants, 95),
            "p95_ratio": round(_pct(with_grants, 95) / max(_pct(plain, 95), 1e-9), 2),
            "p50_ratio": round(_pct(with_grants, 50) / max(_pct(plain, 50), 1e-9), 2)}


def _extra_kinds(index: object, conn: object, count: int) -> dict:
    """Latency of a broad word sorted by date and by 档号, and of its second relevance page."""
    rng = random.Random(7)
    words = ["档案", "通知", "归档", "资金", "安全", "检查"]
    out: dict[str, list[float]] = {}
    for _ in range(count):
        for kind, sort in SORTED_KINDS:
            q = SearchQuery(text=rng.choice(words), sort=sort, max_clearance="秘密")
            out.setdefault(kind, []).append(_timed(index, conn, q)[0])
        word = rng.choice(words)
        first = index.search(conn, SearchQuery(text=word, max_clearance="秘密"))  # type: ignore[attr-defined]
        if first.next_cursor is not None:
            q = SearchQuery(text=word, max_clearance="秘密", cursor=first.next_cursor)
            out.setdefault("second_page", []).append(_timed(index, conn, q)[0])
    return {kind: _summary(values) for kind, values in out.items()}


def _timed(index: object, conn: object, query: SearchQuery) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = index.search(conn, query)  # type: ignore[attr-defined]
    return (time.perf_counter() - t0) * 1000, result


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(ordered), "p50_ms": _pct(ordered, 50), "p95_ms": _pct(ordered, 95), "max_ms": round(ordered[-1], 2)}


def _pct(values: list[float], pct: int) -> float:
    if not values:
        return 0.0
    return round(values[min(len(values) - 1, int(len(values) * pct / 100))], 2)


# --- tokenizer comparison --------------------------------------------------------------------------
def compare_tokenizers(docs: int = 2000) -> list[dict]:
    """Recall of words drawn from each document, and speed, for every tokenizer option.

    Probes per document, each expected to find its document: a word of jieba's accurate cut
    without our dictionary (``word``), a dictionary word lying anywhere inside the text,
    including across word edges (``inner``), and the organ name (``organ``).
    """
    rng = random.Random(5)
    sample = list(entries(docs, seed=77))
    neutral = Tokenizer(mode="accurate")
    full = Tokenizer(mode="search+full+dict")
    probes: list[tuple[int, str, str]] = []
    for n, entry in enumerate(sample):
        text_ = entry.title + entry.body
        words = [w for w in neutral._jieba.cut(text_) if len(w) > 1 and w.isalnum()]
        inner = [w for w in full._jieba.cut_all(text_) if 1 < len(w) < 5 and w.isalnum()]
        probes += [(n, "word", rng.choice(words)), (n, "inner", rng.choice(inner)), (n, "organ", entry.author)]
    size = sum(len((e.title + e.body).encode()) for e in sample)
    rows = []
    for mode in MODES:
        tok = Tokenizer(mode=mode)
        t0 = time.perf_counter()
        indexed = [set(tok.index_tokens(e.title + e.body)) for e in sample]
        elapsed = time.perf_counter() - t0
        row: dict = {"mode": mode, "mb_per_s": round(size / 1e6 / elapsed, 2)}
        for kind in ("word", "inner", "organ", "all"):
            chosen = [(n, q) for n, k, q in probes if kind in (k, "all")]
            # query_terms may ask for a substring check: probes are substrings of their document
            found = sum(1 for n, q in chosen if set(tok.query_terms(q)[0]) <= indexed[n])
            row[f"recall_{kind}"] = round(100 * found / len(chosen), 1)
        row["tokens_per_doc"] = round(sum(len(tok.index_tokens(e.body)) for e in sample[:300]) / 300)
        row.update(probes=len(probes), bytes=size)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--million", action="store_true", help="also run 1,000,000 entries on SQLite")
    parser.add_argument("--pg-million", action="store_true", help="also run 1,000,000 entries on PostgreSQL")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--tokenizers", action="store_true", help="only compare tokenizer options")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes cutting text")
    parser.add_argument("--keep", action="store_true",
                        help="keep the built index in --workdir (SQLite) or schema bench_search_N (PostgreSQL)")
    parser.add_argument("--reuse", action="store_true",
                        help="time the queries on an index kept by --keep instead of building one")
    parser.add_argument("--online", action="store_true",
                        help="build with the online rebuild (`lantai search reindex`) instead of the bulk reindex")
    parser.add_argument("--grants", type=int, default=20,
                        help="granted items of the reader in the with/without-grants pairs (0: skip them)")
    parser.add_argument("--realistic", type=int, default=0, metavar="N",
                        help="index N generated 公文 (ingested with the default profile), repeated to --entries")
    parser.add_argument("--json-out", type=Path, default=None, help="default bench/results/search[-realistic].json")
    args = parser.parse_args()
    args.json_out = args.json_out or ROOT / "bench" / "results" / ("search-realistic.json" if args.realistic
                                                                  else "search.json")
    global WORKERS, ONLINE, GRANTS, REALISTIC
    WORKERS, ONLINE, GRANTS, REALISTIC = args.workers, args.online, args.grants, args.realistic
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    if args.tokenizers:
        rows = compare_tokenizers()
        cols = ["recall_all", "recall_word", "recall_inner", "recall_organ", "mb_per_s", "tokens_per_doc"]
        print(f"{'mode':<22}" + "".join(f"{c:>15}" for c in cols))
        for r in rows:
            print(f"{r['mode']:<22}" + "".join(f"{r[c]!s:>15}" for c in cols))
        _write(args.json_out, {"tokenizers": rows, "tokenizers_machine": machine})
        return
    pg_base = os.environ.get("LANTAI_BENCH_PG") or os.environ.get("LANTAI_TEST_DATABASE_URL")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    plan = [(b, args.entries) for b in backends]
    plan += [("sqlite", 1_000_000)] if args.million and "sqlite" in backends else []
    plan += [("postgresql", 1_000_000)] if args.pg_million and "postgresql" in backends else []
    results = []
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-search-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for backend, total in plan:
        if backend == "postgresql" and not pg_base:
            print("PostgreSQL skipped: set LANTAI_BENCH_PG")
            continue
        print(f"{backend}: {total:,} entries …", flush=True)
        results.append(run_backend(backend, total, args.queries, workdir, pg_base, args.keep, args.reuse))
        _table(results)
    _write(args.json_out, {"runs": results, "machine": machine,
                           "corpus": f"{args.realistic} generated 公文, repeated" if args.realistic else "synthetic",
                           "goals": {"p95_ms_at_1m_sqlite": 50, "p95_ms_at_1m_postgresql": 30,
                                     "reindex_entries_per_s": 2000}})


def _table(results: list[dict]) -> None:
    cols = ["backend", "entries", "entries_per_s", "size_mb", "p50_ms", "p95_ms", "p99_ms",
            "p95_ms_without_facets", "p95_ms_with_facets"]
    print("  ".join(f"{c:>12}" for c in cols))
    for r in results:
        print("  ".join(f"{r.get(c, '—')!s:>12}" for c in cols))
    for r in results[-1:]:
        print(f"  per query kind ({r['backend']}, {r['entries']:,} entries, load {r['load_average']:.1f}):")
        print(f"    {'kind':<20}{'n':>5}{'p50_ms':>10}{'p95_ms':>10}{'max_ms':>10}")
        for kind, k in {**r["kinds"], **{f"({n})": v for n, v in r["extra_kinds"].items()}}.items():
            print(f"    {kind:<20}{k['n']:>5}{k['p50_ms']:>10}{k['p95_ms']:>10}{k['max_ms']:>10}")
        if r.get("granted"):
            g = r["granted"]
            print(f"  same queries, alternately without and with {g['grants']} granted items (n={g['n']}):")
            print(f"    {'':<20}{'p50_ms':>10}{'p95_ms':>10}")
            print(f"    {'without grants':<20}{g['p50_ms_without']:>10}{g['p95_ms_without']:>10}")
            print(f"    {'with grants':<20}{g['p50_ms_with']:>10}{g['p95_ms_with']:>10}")
            print(f"    {'ratio':<20}{g['p50_ratio']:>10}{g['p95_ratio']:>10}")


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(data)
    old["measured"] = time.strftime("%Y-%m-%d %H:%M:%S")
    path.write_text(json.dumps(old, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
