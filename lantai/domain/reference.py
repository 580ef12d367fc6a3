"""Reference data for arrangement: fonds, categories (门类), organisation/problem codes, the
classification scheme of each fonds, 档号 rules and retention schedules — one versioned document.

Archivists edit it as TOML (``lantai/domain/data/reference.toml`` is the default for a district
government). The document carries a ``version`` number; the archive keeps every version it has
used, and each arrangement records the version it was made under, so a 档号 can always be
explained by the rules in force when it was assigned. Parsing and dumping are pure functions
over text; reading files is the caller's job.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any

from lantai.domain.archival_code import BUILTIN_RULES, CodeError, CodeRule
from lantai.domain.retention import RetentionRule, RetentionSchedule, ScheduleError

# 门类代码 of DA/T 13-2022.
DA_T_13_CATEGORIES = {
    "WS": "文书", "KJ": "科技", "RS": "人事", "KU": "会计", "ZY": "专业", "ZP": "照片", "LY": "录音",
    "LX": "录像", "SJ": "业务数据", "YJ": "公务电子邮件", "WY": "网页信息", "MT": "社交媒体", "SW": "实物",
}
SCHEME_LEVELS = ("year", "organisation", "retention")
LEVEL_LABELS = {"year": "年度", "organisation": "机构(问题)", "retention": "保管期限"}
ORDERING_KEYS = ("date", "document_number", "title", "record_id")


class ReferenceDataError(ValueError):
    """Reference data that is malformed or does not name what the caller asked for."""

    def __init__(self, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en, self.details = message_zh, message_en, details


@dataclass(frozen=True)
class Category:
    code: str
    name: str


@dataclass(frozen=True)
class Organisation:
    """A 机构(问题): its code (BGS) and name (办公室); aliases match names used in submitted metadata."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()

    def answers_to(self, value: str) -> bool:
        value = value.strip()
        return value in (self.code, self.name) or value in self.aliases


@dataclass(frozen=True)
class Fonds:
    """A 全宗 and how it is arranged: scheme levels, 档号 rule per category, schedule, ordering."""

    code: str
    name: str
    unit: str = ""
    scheme: tuple[str, ...] = ("year", "organisation", "retention")
    organisations: tuple[Organisation, ...] = ()
    code_rules: tuple[tuple[str, str], ...] = (("*", "DA/T 22-2015"),)  # (category or "*", rule name)
    schedule: str = "district-ws"
    ordering: tuple[str, ...] = ("date", "document_number")
    join_incoming_reply: bool = False

    def __post_init__(self) -> None:
        levels = self.scheme
        if not levels or levels[0] != "year" or len(set(levels)) != len(levels) or not set(levels) <= set(SCHEME_LEVELS):
            raise ReferenceDataError(f"全宗 {self.code} 的分类方案无效: {list(levels)}（须以年度开始，取自 年度/机构(问题)/保管期限）",
                                     f"fonds {self.code}: invalid classification scheme {list(levels)}")
        if "retention" not in levels:
            raise ReferenceDataError(f"全宗 {self.code} 的分类方案须包含保管期限", f"fonds {self.code}: scheme lacks retention")
        bad = [k for k in self.ordering if k not in ORDERING_KEYS]
        if bad:
            raise ReferenceDataError(f"全宗 {self.code} 的排序字段无效: {bad}", f"fonds {self.code}: unknown ordering keys {bad}")

    @property
    def uses_organisation(self) -> bool:
        return "organisation" in self.scheme

    def organisation(self, value: str) -> Organisation:
        found = next((o for o in self.organisations if o.answers_to(value)), None)
        if found is None:
            raise ReferenceDataError(f"全宗 {self.code} 没有机构(问题) {value!r}", f"fonds {self.code} has no organisation {value!r}",
                                     fonds=self.code, organisation=value)
        return found

    def rule_name(self, category: str) -> str:
        rules = dict(self.code_rules)
        return rules.get(category) or rules.get("*") or "DA/T 22-2015"


@dataclass(frozen=True)
class ReferenceData:
    version: int
    note: str = ""
    categories: dict[str, Category] = field(default_factory=dict)
    code_rules: dict[str, CodeRule] = field(default_factory=dict)
    schedules: dict[str, RetentionSchedule] = field(default_factory=dict)
    fonds: dict[str, Fonds] = field(default_factory=dict)

    def get_fonds(self, code: str) -> Fonds:
        if code not in self.fonds:
            raise ReferenceDataError(f"未知全宗号 {code!r}（已配置: {', '.join(sorted(self.fonds)) or '无'}）",
                                     f"unknown fonds {code!r}", fonds=code)
        return self.fonds[code]

    def get_category(self, code: str) -> Category:
        if code not in self.categories:
            raise ReferenceDataError(f"未知门类代码 {code!r}", f"unknown category {code!r}", category=code)
        return self.categories[code]

    def code_rule(self, fonds: Fonds, category: str) -> CodeRule:
        self.get_category(category)
        name = fonds.rule_name(category)
        if name not in self.code_rules:
            raise ReferenceDataError(f"全宗 {fonds.code} 引用了不存在的档号规则 {name!r}", f"fonds {fonds.code}: no code rule {name!r}")
        rule = self.code_rules[name]
        missing = rule.covers(tuple(level for level in fonds.scheme if level != "year"))
        if missing:
            labels = "、".join(LEVEL_LABELS.get(m, "门类") for m in missing)
            raise ReferenceDataError(
                f"档号规则 {name} 不含分类层级 {labels}，全宗 {fonds.code} 不同类别的文件会得到相同档号",
                f"code rule {name} lacks levels {missing} of fonds {fonds.code}; codes would not be unique",
                rule=name, fonds=fonds.code, missing=missing)
        return rule

    def schedule(self, fonds: Fonds) -> RetentionSchedule:
        if fonds.schedule not in self.schedules:
            raise ReferenceDataError(f"全宗 {fonds.code} 引用了不存在的保管期限表 {fonds.schedule!r}",
                                     f"fonds {fonds.code}: no schedule {fonds.schedule!r}")
        return self.schedules[fonds.schedule]

    def check(self) -> None:
        """Resolve every cross-reference now so a broken document is refused when saved, not when used."""
        for fonds in self.fonds.values():
            self.schedule(fonds)
            for category, _rule in fonds.code_rules:
                self.code_rule(fonds, "WS" if category == "*" else category)


# -- TOML in ------------------------------------------------------------------------------------

def parse_reference(text: str) -> ReferenceData:
    """Parse and check a reference-data document. Errors say which entry is wrong."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ReferenceDataError(f"参考数据 TOML 语法错误: {exc}", f"reference data is not valid TOML: {exc}") from exc
    try:
        data = ReferenceData(
            version=int(doc.get("version", 1)),
            note=str(doc.get("note", "")),
            categories=_categories(doc.get("categories")),
            code_rules={**BUILTIN_RULES, **{r.name: r for r in map(_code_rule, doc.get("code_rules", []))}},
            schedules={s.name: s for s in map(_schedule, doc.get("schedules", []))},
            fonds={f.code: f for f in map(_fonds, doc.get("fonds", []))},
        )
    except (CodeError, ScheduleError) as exc:
        raise ReferenceDataError(exc.message_zh, exc.message_en, **exc.details) from exc
    except (KeyError, TypeError) as exc:
        raise ReferenceDataError(f"参考数据缺少或错写字段: {exc}", f"reference data has a missing or malformed field: {exc}") from exc
    data.check()
    return data


def _categories(entries: list[dict[str, Any]] | None) -> dict[str, Category]:
    if not entries:
        return {code: Category(code, name) for code, name in DA_T_13_CATEGORIES.items()}
    return {e["code"]: Category(e["code"], e["name"]) for e in entries}


def _code_rule(entry: dict[str, Any]) -> CodeRule:
    return CodeRule(entry["name"], entry["template"], entry.get("standard", ""), entry.get("description", ""),
                    tuple(sorted(entry.get("patterns", {}).items())))


def _schedule(entry: dict[str, Any]) -> RetentionSchedule:
    rules = tuple(
        RetentionRule(id=str(r["id"]), retention=r["retention"], description=r.get("description", ""),
                      document_types=tuple(r.get("document_types", ())), authors=tuple(r.get("authors", ())),
                      organisations=tuple(r.get("organisations", ())), title_keywords=tuple(r.get("title_keywords", ())),
                      title_excludes=tuple(r.get("title_excludes", ())), priority=int(r.get("priority", 0)),
                      basis=r.get("basis", ""))
        for r in entry.get("rules", [])
    )
    return RetentionSchedule(entry["name"], entry.get("title", entry["name"]), entry.get("default_retention", "D30"),
                             rules, entry.get("basis", ""))


def _fonds(entry: dict[str, Any]) -> Fonds:
    orgs = tuple(Organisation(o["code"], o["name"], tuple(o.get("aliases", ()))) for o in entry.get("organisations", []))
    return Fonds(code=entry["code"], name=entry.get("name", ""), unit=entry.get("unit", ""),
                 scheme=tuple(entry.get("scheme", ("year", "organisation", "retention"))), organisations=orgs,
                 code_rules=tuple(sorted(entry.get("code_rules", {"*": "DA/T 22-2015"}).items())),
                 schedule=entry.get("schedule", "district-ws"),
                 ordering=tuple(entry.get("ordering", ("date", "document_number"))),
                 join_incoming_reply=bool(entry.get("join_incoming_reply", False)))


# -- TOML out -----------------------------------------------------------------------------------

def reference_to_dict(data: ReferenceData) -> dict[str, Any]:
    """Plain structure of the document; built-in 档号 rules are left out unless redefined."""
    return {
        "version": data.version,
        "note": data.note,
        "categories": [{"code": c.code, "name": c.name} for c in data.categories.values()],
        "code_rules": [_rule_dict(r) for r in data.code_rules.values() if BUILTIN_RULES.get(r.name) != r],
        "schedules": [_schedule_dict(s) for s in data.schedules.values()],
        "fonds": [_fonds_dict(f) for f in data.fonds.values()],
    }


def _rule_dict(rule: CodeRule) -> dict[str, Any]:
    return {"name": rule.name, "template": rule.template, "standard": rule.standard,
            "description": rule.description, "patterns": dict(rule.patterns)}


def _schedule_dict(s: RetentionSchedule) -> dict[str, Any]:
    rules = []
    for r in s.rules:
        entry: dict[str, Any] = {"id": r.id, "retention": r.retention, "description": r.description}
        for name in ("document_types", "authors", "organisations", "title_keywords", "title_excludes"):
            if getattr(r, name):
                entry[name] = list(getattr(r, name))
        if r.priority:
            entry["priority"] = r.priority
        if r.basis:
            entry["basis"] = r.basis
        rules.append(entry)
    return {"name": s.name, "title": s.title, "default_retention": s.default_retention, "basis": s.basis, "rules": rules}


def _fonds_dict(f: Fonds) -> dict[str, Any]:
    return {"code": f.code, "name": f.name, "unit": f.unit, "scheme": list(f.scheme), "schedule": f.schedule,
            "ordering": list(f.ordering), "join_incoming_reply": f.join_incoming_reply,
            "code_rules": dict(f.code_rules),
            "organisations": [{"code": o.code, "name": o.name, **({"aliases": list(o.aliases)} if o.aliases else {})}
                              for o in f.organisations]}


def dump_reference(data: ReferenceData) -> str:
    """Serialise to TOML that :func:`parse_reference` reads back to an equal document."""
    lines: list[str] = ["# Lantai reference data (参考数据): fonds, categories, 档号 rules, 保管期限表", ""]
    _dump_table(lines, [], reference_to_dict(data))
    return "\n".join(lines).rstrip() + "\n"


def _dump_table(lines: list[str], path: list[str], table: dict[str, Any]) -> None:
    nested = []
    for key, value in table.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            nested.append((key, value))
        elif not (isinstance(value, list) and not value and key in ("code_rules", "schedules", "fonds", "rules", "organisations")):
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, entries in nested:
        for entry in entries:
            lines.append("")
            lines.append(f"[[{'.'.join(_key(p) for p in [*path, key])}]]")
            _dump_table(lines, [*path, key], entry)


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise ReferenceDataError(f"无法写入 TOML 的值: {value!r}", f"cannot write {value!r} as TOML")


# -- exchange of fonds between archives (参考数据.json) -------------------------------------------

EXCHANGE_FORMAT = "lantai-reference-data/1"
EXCHANGE_FILE_NAME = "参考数据.json"


def fonds_exchange_document(data: ReferenceData, codes: list[str] | None = None) -> dict[str, Any]:
    """The fonds an agency's batches belong to, with what they refer to, as one JSON-ready document.

    It travels beside a batch's 归档登记表 so the receiving archive can arrange the batch without
    retyping the agency's 全宗, 机构 codes and names; the schedules and 档号 rules the fonds use
    come along so the document is complete on its own.
    """
    chosen = [data.get_fonds(code) for code in codes] if codes else list(data.fonds.values())
    schedules = {f.schedule for f in chosen}
    rules = {rule for f in chosen for _category, rule in f.code_rules}
    return {
        "format": EXCHANGE_FORMAT,
        "fonds": [_fonds_dict(f) for f in chosen],
        "schedules": [_schedule_dict(s) for name, s in data.schedules.items() if name in schedules],
        "code_rules": [_rule_dict(r) for name, r in data.code_rules.items()
                       if name in rules and BUILTIN_RULES.get(name) != r],
    }


def merge_fonds_exchange(data: ReferenceData, document: Any) -> tuple[ReferenceData, list[str]]:
    """The reference data with the document's fonds added or replaced; returns the codes merged.

    Schedules and 档号 rules the archive lacks are added. One the archive already has under the
    same name must be identical: silently replacing a retention schedule would change the
    retention of everything arranged under it, so a difference is refused.
    """
    if not isinstance(document, dict) or document.get("format") != EXCHANGE_FORMAT:
        raise ReferenceDataError(f"不是兰台参考数据交换文件（format 应为 {EXCHANGE_FORMAT}）",
                                 f"not a Lantai reference-data exchange document (format must be {EXCHANGE_FORMAT})")
    try:
        fonds = [_fonds(entry) for entry in document.get("fonds") or []]
        schedules = [_schedule(entry) for entry in document.get("schedules") or []]
        rules = [_code_rule(entry) for entry in document.get("code_rules") or []]
    except (CodeError, ScheduleError) as exc:
        raise ReferenceDataError(exc.message_zh, exc.message_en, **exc.details) from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise ReferenceDataError(f"参考数据交换文件缺少或错写字段: {exc}",
                                 f"the exchange document has a missing or malformed field: {exc}") from exc
    if not fonds:
        raise ReferenceDataError("参考数据交换文件中没有全宗", "the exchange document lists no fonds")
    merged = ReferenceData(
        version=data.version, note=data.note, categories=data.categories,
        code_rules=_merge_named(data.code_rules, rules, "档号规则", "code rule"),
        schedules=_merge_named(data.schedules, schedules, "保管期限表", "retention schedule"),
        fonds={**data.fonds, **{f.code: f for f in fonds}},
    )
    merged.check()
    return merged, [f.code for f in fonds]


def _merge_named(existing: dict[str, Any], incoming: list[Any], label_zh: str, label_en: str) -> dict[str, Any]:
    merged = dict(existing)
    for entry in incoming:
        if entry.name in merged and merged[entry.name] != entry:
            raise ReferenceDataError(f"{label_zh} {entry.name!r} 与本馆现有的同名{label_zh}不同，未导入；请改名后再导入",
                                     f"{label_en} {entry.name!r} differs from this archive's one of the same name; "
                                     "rename it before importing", name=entry.name)
        merged[entry.name] = entry
    return merged
