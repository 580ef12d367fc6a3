"""``lantai search query`` and ``reindex`` as a user runs them (in-process, both catalogue backends)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lantai.cli.main import app
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch


def test_reindex_then_query_with_facets_and_clearance(production_ingest: str, settings: Settings,
                                                     tmp_path: Path) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    ingest = runner.invoke(app, ["ingest", str(write_batch(tmp_path, specs(3))), "--json"], env=env)
    assert ingest.exit_code == 0, ingest.output
    reindex = runner.invoke(app, ["search", "reindex", "--json"], env=env)
    assert reindex.exit_code == 0, reindex.output
    assert json.loads(reindex.stdout)["indexed"] == 3
    found = runner.invoke(app, ["search", "query", "通知", "--facets", "--json", "--clearance", "绝密"], env=env)
    assert found.exit_code == 0, found.output
    result = json.loads(found.stdout)
    assert result["total"] == 3 and result["total_exact"]
    assert {h["record_id"] for h in result["hits"]} == {"Z109-WS-2025-00001", "Z109-WS-2025-00002",
                                                        "Z109-WS-2025-00003"}
    assert all("【通知】" in _marked(h) for h in result["hits"])
    assert sum(f["count"] for f in result["facets"]["year"]) == 3
    shown = runner.invoke(app, ["search", "query", "第1项", "--clearance", "绝密"], env=env)
    assert shown.exit_code == 0 and "共 1 件" in shown.stdout  # the table for people


def _marked(hit: dict) -> str:
    title, spans = hit["title"], hit["title_highlights"]
    out, pos = "", 0
    for start, end in spans:
        out += title[pos:start] + "【" + title[start:end] + "】"
        pos = end
    return out + title[pos:]


def test_bad_query_is_exit_2_with_a_chinese_message(settings: Settings) -> None:
    runner = CliRunner()
    env = cli_env(settings)
    runner.invoke(app, ["init"], env=env)
    runner.invoke(app, ["search", "reindex"], env=env)
    bad = runner.invoke(app, ["search", "query", "(档案", "--json"], env=env)
    assert bad.exit_code == 2
    assert json.loads(bad.stdout)["code"] == "bad_input"


def test_a_broad_query_reads_at_least_n(production_ingest: str, settings: Settings, tmp_path: Path) -> None:
    """Past the search_count_window only the newest matches are counted: "≥ N 件", never "共 N 件"."""
    runner = CliRunner()
    env = {**cli_env(settings), "LANTAI_SEARCH_COUNT_WINDOW": "2"}
    assert runner.invoke(app, ["init"], env=env).exit_code == 0
    ingest = runner.invoke(app, ["ingest", str(write_batch(tmp_path, specs(3))), "--json"], env=env)
    assert ingest.exit_code == 0, ingest.output
    broad = runner.invoke(app, ["search", "query", "通知", "--clearance", "绝密"], env=env)
    assert broad.exit_code == 0, broad.output
    assert "≥ 2 件" in broad.stdout and "共 2 件" not in broad.stdout and "只统计了最新的 2 件" in broad.stdout
    as_json = json.loads(runner.invoke(app, ["search", "query", "通知", "--clearance", "绝密", "--json"], env=env).stdout)
    assert (as_json["total"], as_json["total_exact"], len(as_json["hits"])) == (2, False, 2)
    exact = runner.invoke(app, ["search", "query", "通知", "--clearance", "绝密"],
                          env={**env, "LANTAI_SEARCH_COUNT_WINDOW": "5000"})
    assert "共 3 件" in exact.stdout and "≥" not in exact.stdout and "只统计" not in exact.stdout
