"""Beijing time (UTC+8, no daylight saving): the zone of 公文 dates, package and receipt times, and
of every time a person reads. The catalogue and the audit chain store UTC; they convert here.
"""

from __future__ import annotations

import datetime as dt

BEIJING = dt.timezone(dt.timedelta(hours=8))


def beijing_now() -> dt.datetime:
    """Now in Beijing time, to the second, as packages, receipts and transfer records write it."""
    return dt.datetime.now(BEIJING).replace(microsecond=0)


def in_beijing(moment: dt.datetime) -> dt.datetime:
    """``moment`` on a Beijing clock; a naive moment is taken as UTC, as the catalogue stores it."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(BEIJING)


def beijing_text(value: str | None) -> str:
    """A stored UTC time text (ISO 8601, ``Z`` or offset) as people read it: Beijing, to the second.
    Text that is no time comes back unchanged."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return in_beijing(moment).strftime("%Y-%m-%d %H:%M:%S")
