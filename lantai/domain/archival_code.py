"""档号 (archival code) rules: DA/T 22-2015 and DA/T 13-2022 forms, configurable per fonds and category.

A rule is written as a template, e.g. ``{fonds}-{category}·{year}-{retention}-{organisation}-{item:4}``
(DA/T 22-2015, ``Z109-WS·2011-Y-BGS-0001``). The literal text between fields is the separator, so
the order of components, the separators and the widths are all configuration. From the same
template the rule derives a validating regular expression, :meth:`CodeRule.format` and
:meth:`CodeRule.parse`; ``format`` checks that its output parses back to the same parts, so a rule
can never emit a code it would not accept.

Fields: ``fonds`` 全宗号, ``category`` 门类代码, ``year`` 年度, ``retention`` 保管期限代码,
``organisation`` 机构(问题)代码, ``organisation_name`` 机构(问题)名称 (DA/T 13-2022 allows the name,
e.g. ``办公室``), ``item`` 件号 (``{item:4}`` zero-pads to four digits).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from lantai.domain.retention import RETENTION_PATTERN

FIELDS = ("fonds", "category", "year", "retention", "organisation", "organisation_name", "item")
FIELD_LABELS = {"fonds": "全宗号", "category": "门类代码", "year": "年度", "retention": "保管期限",
                "organisation": "机构(问题)代码", "organisation_name": "机构(问题)名称", "item": "件号"}
DEFAULT_PATTERNS = {
    "fonds": r"[A-Z0-9]{4}",
    "category": r"[A-Z]{2}",
    "year": r"[0-9]{4}",
    "retention": RETENTION_PATTERN,
    "organisation": r"[A-Z0-9]{1,10}",
}
DEFAULT_ITEM_WIDTH = 4
_PLACEHOLDER = re.compile(r"\{([a-z_]+)(?::([0-9]+))?\}")


def describe_template(template: str) -> str:
    """A rule's template in words for people: ``{fonds}-{item:04d}`` → ``〔全宗号〕-〔件号，4位〕``."""
    return _PLACEHOLDER.sub(lambda m: f"〔{FIELD_LABELS.get(m.group(1), m.group(1))}"
                                      f"{f'，{int(m.group(2))}位' if m.group(2) else ''}〕", template)


class CodeError(ValueError):
    """A 档号 rule that is malformed, or a code that the rule cannot produce or does not accept."""

    def __init__(self, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en, self.details = message_zh, message_en, details


@dataclass(frozen=True)
class CodeParts:
    """The values a 档号 is built from. ``organisation`` is the code, ``organisation_name`` the name."""

    fonds: str
    category: str
    year: int
    retention: str
    item: int
    organisation: str = ""
    organisation_name: str = ""

    def value(self, name: str, width: int | None) -> str:
        if name == "item":
            return str(self.item).zfill(width or 0)
        return str(getattr(self, name))


@dataclass(frozen=True)
class Component:
    """One field of a rule and the literal text that precedes it."""

    name: str
    prefix: str
    width: int | None = None


@dataclass(frozen=True)
class CodeRule:
    """A 档号 rule: template + optional per-field regex overrides."""

    name: str
    template: str
    standard: str = ""
    description: str = ""
    patterns: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _ = self.components, self.regex  # fail at load time, not at first use

    @cached_property
    def components(self) -> tuple[Component, ...]:
        comps: list[Component] = []
        pos = 0
        for match in _PLACEHOLDER.finditer(self.template):
            name, width = match.group(1), match.group(2)
            if name not in FIELDS:
                raise CodeError(f"档号规则 {self.name} 含未知字段 {{{name}}}", f"rule {self.name}: unknown field {name}")
            comps.append(Component(name, self.template[pos:match.start()], int(width) if width else None))
            pos = match.end()
        self._check_components(comps, self.template[pos:])
        if name_item := next((c for c in comps if c.name == "item" and c.width is None), None):
            comps[comps.index(name_item)] = Component("item", name_item.prefix, DEFAULT_ITEM_WIDTH)
        return tuple(comps)

    def _check_components(self, comps: list[Component], tail: str) -> None:
        names = [c.name for c in comps]
        if tail or (comps and comps[0].prefix):
            raise CodeError(f"档号规则 {self.name} 首尾不能有固定文字", f"rule {self.name}: text before the first or after the last field")
        if len(set(names)) != len(names) or any(not c.prefix for c in comps[1:]):
            raise CodeError(f"档号规则 {self.name} 字段重复或缺少分隔符", f"rule {self.name}: repeated field or missing separator")
        for required in ("fonds", "year", "item"):
            if required not in names:
                raise CodeError(f"档号规则 {self.name} 缺少{FIELD_LABELS[required]}", f"rule {self.name}: no {required} field")

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    @property
    def item_width(self) -> int:
        return next(c.width or DEFAULT_ITEM_WIDTH for c in self.components if c.name == "item")

    @property
    def separators(self) -> str:
        return "".join(sorted({ch for c in self.components for ch in c.prefix}))

    def pattern_for(self, component: Component) -> str:
        overrides = dict(self.patterns)
        if component.name in overrides:
            return overrides[component.name]
        if component.name == "item":
            return rf"[0-9]{{{component.width}}}"
        if component.name == "organisation_name":
            return rf"[^{re.escape(self.separators)}\s]+"
        return DEFAULT_PATTERNS[component.name]

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """The validating expression, with one named group per field."""
        body = "".join(f"{re.escape(c.prefix)}(?P<{c.name}>{self.pattern_for(c)})" for c in self.components)
        try:
            return re.compile(rf"^{body}$")
        except re.error as exc:
            raise CodeError(f"档号规则 {self.name} 的正则表达式无效: {exc}", f"rule {self.name}: invalid pattern: {exc}") from exc

    def format(self, parts: CodeParts) -> str:
        for comp in self.components:
            value = parts.value(comp.name, comp.width)
            if not re.fullmatch(self.pattern_for(comp), value):
                raise self._bad_value(comp, value)
        code = "".join(c.prefix + parts.value(c.name, c.width) for c in self.components)
        if self.parse(code) != self._projected(parts):
            raise CodeError(f"档号 {code} 存在歧义，规则 {self.name} 无法唯一解析", f"code {code} is ambiguous under rule {self.name}")
        return code

    def _bad_value(self, comp: Component, value: str) -> CodeError:
        label = FIELD_LABELS[comp.name]
        if comp.name == "item" and value.isdigit() and len(value) > (comp.width or 0):
            return CodeError(f"件号 {value} 超出规则 {self.name} 的 {comp.width} 位宽度，无法生成唯一档号",
                             f"item number {value} exceeds the {comp.width}-digit width of rule {self.name}",
                             field=comp.name, value=value)
        if not value:
            return CodeError(f"缺少生成档号所需的{label}", f"missing {comp.name}, needed by rule {self.name}", field=comp.name)
        return CodeError(f"{label} {value!r} 不符合档号规则 {self.name}（{self.pattern_for(comp)}）",
                         f"{comp.name} {value!r} does not match rule {self.name}", field=comp.name, value=value)

    def _projected(self, parts: CodeParts) -> CodeParts:
        """``parts`` reduced to the fields this rule carries (what parse can give back)."""
        keep = set(self.fields)
        return CodeParts(
            fonds=parts.fonds, category=parts.category if "category" in keep else "", year=parts.year,
            retention=parts.retention if "retention" in keep else "", item=parts.item,
            organisation=parts.organisation if "organisation" in keep else "",
            organisation_name=parts.organisation_name if "organisation_name" in keep else "",
        )

    def parse(self, code: str) -> CodeParts:
        match = self.regex.match(code.strip())
        if match is None:
            raise CodeError(f"档号 {code!r} 不符合规则 {self.name}（{self.template}）",
                            f"code {code!r} does not match rule {self.name} ({self.template})", code=code)
        g = match.groupdict()
        return CodeParts(fonds=g["fonds"], category=g.get("category") or "", year=int(g["year"]),
                         retention=g.get("retention") or "", item=int(g["item"]),
                         organisation=g.get("organisation") or "", organisation_name=g.get("organisation_name") or "")

    def is_valid(self, code: str) -> bool:
        return bool(self.regex.match(code))

    def covers(self, levels: tuple[str, ...]) -> list[str]:
        """Classification levels this rule does not carry — codes of different classes would collide."""
        carried = set(self.fields) | ({"organisation"} if "organisation_name" in self.fields else set())
        return [level for level in ("category", *levels) if level not in carried]


# The worked examples of STANDARDS.md §6.5 as ready-made rules.
DA_T_22_2015 = CodeRule("DA/T 22-2015", "{fonds}-{category}·{year}-{retention}-{organisation}-{item:4}",
                        standard="DA/T 22-2015", description="全宗号-门类·年度-保管期限-机构(问题)-件号")
DA_T_13_2022_NAME = CodeRule("DA/T 13-2022 机构名称", "{fonds}-{category}·{year}·{retention}·{organisation_name}-{item:4}",
                             standard="DA/T 13-2022", description="年度·保管期限·机构(问题)名称 以“·”组合",
                             patterns=(("fonds", r"[A-Z][0-9]{3}"),))
DA_T_13_2022_CODE = CodeRule("DA/T 13-2022 机构代码", "{fonds}-{category}·{year}·{retention}·{organisation}-{item:3}",
                             standard="DA/T 13-2022", description="机构(问题)以数字代码表示，件号3位",
                             patterns=(("fonds", r"[A-Z][0-9]{3}"), ("organisation", r"[0-9]{3}")))
DA_T_13_2022_NO_ORG = CodeRule("DA/T 13-2022 不分机构", "{fonds}-{category}·{year}·{retention}-{item:3}",
                               standard="DA/T 13-2022", description="年度-保管期限分类，不设机构(问题)",
                               patterns=(("fonds", r"[A-Z][0-9]{3}"),))
BUILTIN_RULES = {r.name: r for r in (DA_T_22_2015, DA_T_13_2022_NAME, DA_T_13_2022_CODE, DA_T_13_2022_NO_ORG)}
