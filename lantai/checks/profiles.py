"""Check profiles: which checks run, how severe their failures are and which formats are allowed.

A profile is TOML (``lantai/checks/profiles/<name>.toml``, or ``<archive home>/profiles/<name>.toml``
which wins). ``[[override]]`` blocks with ``fonds`` and/or ``category`` keys are deep-merged over
the base for items of that fonds and category, so one archive can be stricter for one 全宗.
"""

from __future__ import annotations

import copy
import fnmatch
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.errors import BadInput

BUILTIN_DIR = Path(__file__).with_name("profiles")
SEVERITIES = ("error", "warning", "off")


@dataclass(frozen=True)
class Profile:
    """A resolved profile (overrides already applied for one fonds/category)."""

    name: str
    data: dict[str, Any]
    overrides: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def title(self) -> str:
        return str(self.data.get("title", self.name))

    @property
    def time_limit(self) -> float:
        return float(self.data.get("time_limit_seconds", 60))

    def severity(self, check: str) -> str:
        return str(self.data.get("severity", {}).get(check, "error"))

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.data.get(name, {}))

    @property
    def allowed_formats(self) -> frozenset[str]:
        return frozenset(self.section("formats").get("allowed", []))

    @property
    def allowed_mimes(self) -> frozenset[str]:
        return frozenset(self.section("formats").get("allowed_mime", []))

    def is_junk(self, name: str) -> bool:
        lowered = name.lower()
        return any(fnmatch.fnmatchcase(lowered, p) for p in self.section("extraneous").get("junk_names", []))

    def is_temporary(self, name: str) -> bool:
        lowered = name.lower()
        return any(fnmatch.fnmatchcase(lowered, p) for p in self.section("extraneous").get("temp_patterns", []))

    def for_item(self, fonds: str | None, category: str | None) -> Profile:
        """The profile with every matching ``[[override]]`` merged in, in file order."""
        data = self.data
        for override in self.overrides:
            if _matches(override, fonds, category):
                data = _merge(data, {k: v for k, v in override.items() if k not in ("fonds", "category")})
        return Profile(self.name, data, self.overrides) if data is not self.data else self


def _matches(override: dict[str, Any], fonds: str | None, category: str | None) -> bool:
    if "fonds" in override and override["fonds"] != (fonds or ""):
        return False
    return not ("category" in override and override["category"] != (category or ""))


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def profile_path(name: str, home: Path | None = None) -> Path:
    if "/" in name or "\\" in name or name.startswith("."):
        candidate = Path(name)
        if candidate.is_file():
            return candidate
        raise BadInput(f"检测方案文件不存在: {name}", f"profile file not found: {name}")
    for directory in ([home / "profiles"] if home else []) + [BUILTIN_DIR]:
        path = directory / f"{name}.toml"
        if path.is_file():
            return path
    raise BadInput(f"没有名为 {name} 的检测方案", f"no check profile named {name}")


def parse_profile(text: str, name: str = "") -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"检测方案 {name} 不是有效的 TOML: {exc}", f"profile {name} is not valid TOML: {exc}") from exc
    overrides = tuple(data.pop("override", []))
    for check, severity in data.get("severity", {}).items():
        if severity not in SEVERITIES:
            raise BadInput(f"检测方案 {name}: {check} 的级别 {severity} 无效（error/warning/off）",
                           f"profile {name}: severity {severity} of {check} is invalid (error/warning/off)")
    return Profile(str(data.get("name", name)), data, overrides)


def load_profile(name: str = "default", home: Path | None = None) -> Profile:
    path = profile_path(name, home)
    return copy.deepcopy(_parsed(path.read_text(encoding="utf-8"), name))


@functools.lru_cache(maxsize=32)
def _parsed(text: str, name: str) -> Profile:
    """A profile's text parsed once per process (ingest resolves the profile for every item, and
    parsing the TOML cost about 0.8 ms each time); keyed by the text, so an edited file is read anew.
    Callers get a deep copy, so one that changes its profile changes no one else's."""
    return parse_profile(text, name)


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.toml"))
