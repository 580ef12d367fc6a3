"""利用登记簿 writers: the printed-table writers (:mod:`lantai.packages.tables`) with the register's
summary (利用人次, 卷件次 by purpose and by fonds/year) and column widths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lantai.packages import tables

# 序号 利用时间 利用人 账号 档号 电子文件号 题名 全宗号 年度 密级 利用目的 利用方式 授权编号 页数
WIDTHS = (5, 17, 8, 10, 22, 20, 40, 7, 6, 6, 10, 9, 8, 5)
TITLE_COLUMN = 6


def _summary_lines(stats: dict[str, Any]) -> list[str]:
    lines = [f"利用人次 {stats['person_times']}，利用卷件次 {stats['item_times']}"]
    lines += [f"利用目的 {row['purpose']}：{row['item_times']} 卷件次" for row in stats["by_purpose"]]
    lines += [f"全宗 {row['fonds_code'] or '—'} / 年度 {row['year'] or '—'}：{row['item_times']} 卷件次"
              for row in stats["by_fonds_year"]]
    return lines


def write_xlsx(rows: Sequence[Sequence[Any]], columns: Sequence[str], heading: str, stats: dict[str, Any],
               target: Path) -> None:
    tables.write_xlsx(rows, columns, heading, _summary_lines(stats), target, sheet_title="利用登记簿",
                      widths=WIDTHS, wrap=(TITLE_COLUMN,), summary_title="利用统计")


def write_pdf(rows: Sequence[Sequence[Any]], columns: Sequence[str], heading: str, stats: dict[str, Any],
              target: Path) -> None:
    tables.write_pdf(rows, columns, heading, _summary_lines(stats), target)
