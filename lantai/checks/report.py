"""The check report: the stable JSON schema of issue 3, plus a ``meta`` block (time, operator,
tool versions) that the human report shows. Other tools depend on the JSON; add, never rename."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from typing import Any

from lantai import __version__
from lantai.checks.model import ItemReport, Result, Status

STATUS_KEYS = ("pass", "fail", "warn", "not_applicable", "unscanned")


@dataclass
class CheckReport:
    stage: str
    profile: str
    items: list[ItemReport] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # Results of the run as a whole (the transfer carrier at yj): stated once, never per item.
    batch: list[Result] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(item.failed for item in self.items) and not any(is_failure(r) for r in self.batch)

    def summary(self) -> dict[str, Any]:
        by_code: dict[str, dict[str, int]] = {}
        for item in self.items:
            for code, status in item.status_by_code().items():
                counts = by_code.setdefault(code, dict.fromkeys(STATUS_KEYS, 0))
                counts[status] += 1
        failed = sum(1 for item in self.items if item.failed)
        return {"items": len(self.items), "passed": len(self.items) - failed, "failed": failed,
                "by_code": dict(sorted(by_code.items()))}

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "profile": self.profile, "items": [item.to_dict() for item in self.items],
                "summary": self.summary(), "meta": self.meta, "batch": [r.to_dict() for r in self.batch]}

    def to_json(self, data: dict[str, Any] | None = None) -> bytes:
        """The report as stored; ``data`` is this report's :meth:`to_dict` when the caller already has it."""
        return json.dumps(self.to_dict() if data is None else data, ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        report = cls(data["stage"], data["profile"], meta=data.get("meta", {}),
                     batch=[Result.from_dict(r) for r in data.get("batch", [])])
        for raw in data.get("items", []):
            item = ItemReport(raw["id"], raw["path"], raw.get("kind", "item"))
            item.results = [Result.from_dict(r) for r in raw.get("results", [])]
            from lantai.checks.model import FileFacts

            item.files = [FileFacts(f["path"], f["size"], f["sm3"], f.get("format"), f.get("pdfa"))
                          for f in raw.get("files", [])]
            report.items.append(item)
        return report


def tool_versions() -> dict[str, str]:
    """Versions of every library whose verdict appears in the report."""
    return dict(_tool_versions())


@functools.cache
def _tool_versions() -> dict[str, str]:
    """Read once per process: installed versions do not change under a running process, and reading
    eight distributions' metadata cost about 3 ms of CPU per checked item."""
    from importlib import metadata


    versions = {"lantai": __version__}
    for dist in ("opf-fido", "pikepdf", "pypdf", "pillow", "ofdkit", "lxml", "weasyprint"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def new_meta(operator: str, **extra: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).astimezone()
    return {"generated_at": now.isoformat(timespec="seconds"), "operator": operator, "tools": tool_versions(), **extra}


def is_failure(result: Result) -> bool:
    return result.status in (Status.FAIL, Status.UNSCANNED)
