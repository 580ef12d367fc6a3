"""Offline carriers (离线载体) as rules: kinds, locations, volume sizes and when a carrier is due for its check.

The Interim Measures (Art. 17) keep three sets — sealed (封存), off-site (异地) and for use (利用);
DA/T 38-2008 governs archival optical discs and DA/T 75-2019 hard disks as offline carriers, each
read-checked periodically. Pure rules only: the catalogue table is :mod:`lantai.catalog.carriers`.
"""

from __future__ import annotations

import datetime as dt
import re

from lantai.errors import BadInput

KINDS = {"光盘": "DA/T 38-2008 档案级可录类光盘", "硬盘": "DA/T 75-2019 档案数据硬磁盘离线存储", "磁带": "磁带"}
LOCATIONS = ("封存", "异地", "利用")
DEFAULT_CHECK_INTERVAL_DAYS = 365
_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9, "GB": 10**9, "T": 10**12,
          "TB": 10**12, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(text: str) -> int:
    """``25GB`` (decimal, as disc makers state capacity), ``100 GiB``, ``700M`` or plain bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", text or "")
    unit = match.group(2).upper() if match else ""
    if not match or unit not in _UNITS:
        raise BadInput(f"无法识别的卷容量: {text!r}（例如 25GB、100GB、700MB）",
                       f"unrecognised volume size: {text!r} (e.g. 25GB, 100GB, 700MB)")
    size = int(float(match.group(1)) * _UNITS[unit])
    if size < 10**6:
        raise BadInput("卷容量至少 1 MB", "a volume holds at least 1 MB")
    return size


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadInput(f"载体类型应为 {'、'.join(KINDS)}", f"carrier type must be one of {', '.join(KINDS)}")
    return kind


def check_location(location: str) -> str:
    if location not in LOCATIONS:
        raise BadInput(f"存放位置应为 {'、'.join(LOCATIONS)}", f"location must be one of {', '.join(LOCATIONS)}")
    return location


def next_check_due(last: dt.date, interval_days: int) -> dt.date:
    """The date the next periodic read check is due."""
    if interval_days < 1:
        raise BadInput("检测周期至少 1 天", "the check interval is at least 1 day")
    return last + dt.timedelta(days=interval_days)


def is_due(due: dt.date | None, today: dt.date) -> bool:
    return due is not None and due <= today
