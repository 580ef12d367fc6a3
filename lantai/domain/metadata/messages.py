"""Finding codes → rule, severity and message templates (Chinese and English), as data.

Checks report a code and named parameters; only :func:`make_finding` formats text, so the
same finding can be rendered in any language or re-rendered from stored parameters. Every
template may use ``{name}`` (the element's Chinese name) and ``{name_en}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lantai.domain.findings import Finding, Rule, Severity

E, W = Severity.ERROR, Severity.WARNING


@dataclass(frozen=True, slots=True)
class Message:
    rule: Rule
    severity: Severity
    zh: str
    en: str


MESSAGES: dict[str, Message] = {
    "required": Message(Rule.REQUIRED, E, "缺少必选元素 {name}", "required element {name_en} ({name}) is missing"),
    "too_long": Message(Rule.LENGTH, E, "{name} 长度为 {length} 个字符，超过上限 {max_length}",
                        "{name_en} ({name}) is {length} characters long, more than the limit of {max_length}"),
    "not_gyear": Message(Rule.TYPE, E, "{name} 应为四位数字年份（如 2025），实际为“{value}”",
                         "{name_en} ({name}) must be a four-digit year (e.g. 2025), found '{value}'"),
    "not_date": Message(Rule.TYPE, E, "{name} 应为有效日期（YYYY-MM-DD 或 YYYYMMDD），实际为“{value}”",
                        "{name_en} ({name}) must be a valid date (YYYY-MM-DD or YYYYMMDD), found '{value}'"),
    "not_datetime": Message(Rule.TYPE, E, "{name} 应为日期时间（YYYY-MM-DDThh:mm:ss），实际为“{value}”",
                            "{name_en} ({name}) must be a date-time (YYYY-MM-DDThh:mm:ss), found '{value}'"),
    "not_positive_integer": Message(Rule.TYPE, E, "{name} 应为正整数，实际为“{value}”",
                                    "{name_en} ({name}) must be a positive integer, found '{value}'"),
    "not_non_negative_integer": Message(Rule.TYPE, E, "{name} 应为非负整数，实际为“{value}”",
                                        "{name_en} ({name}) must be a non-negative integer, found '{value}'"),
    "not_base64": Message(Rule.TYPE, E, "{name} 应为 Base64 编码数据", "{name_en} ({name}) must be base64 data"),
    "date_format": Message(Rule.FORMAT, E, "{name} 的写法“{value}”不规范，应写作 {suggestion}",
                           "{name_en} ({name}) is written '{value}'; write {suggestion}"),
    "bad_id": Message(Rule.FORMAT, E, "{name}“{value}”不是合法的 XML 标识符（须以字母或下划线开头，不含空格和冒号）",
                      "{name_en} ({name}) '{value}' is not a valid XML ID (must start with a letter or underscore, "
                      "no spaces or colons)"),
    "bad_oid": Message(Rule.FORMAT, E, "{name}“{value}”不是合法的对象标识符（OID，如 1.2.156.10197.1.501）",
                       "{name_en} ({name}) '{value}' is not a valid OID (e.g. 1.2.156.10197.1.501)"),
    "bad_uri": Message(Rule.FORMAT, E, "{name}“{value}”不是合法的 URI", "{name_en} ({name}) '{value}' is not a valid URI"),
    "value_domain_closed": Message(Rule.VALUE_DOMAIN, E, "{name} 的值“{value}”不在值域内（{allowed}）",
                                   "{name_en} ({name}) value '{value}' is not allowed ({allowed})"),
    "value_domain_open": Message(Rule.VALUE_DOMAIN, W, "{name} 的值“{value}”不在推荐值域内（{allowed}），按“其他”接收，请核对",
                                 "{name_en} ({name}) value '{value}' is not in the recommended list ({allowed}); "
                                 "accepted as 'other', please check"),
    "not_item_level": Message(Rule.VALUE_DOMAIN, W, "文件实体的聚合层次应为“文件”，实际为“{value}”",
                              "the aggregation level of a record entity should be 'item' (the value for a single document), found '{value}'"),
    "illegal_xml_char": Message(Rule.SPECIAL_CHARACTERS, E, "{name} 含有 XML 1.0 不允许的字符 {char}（第 {position} 个字符）",
                                "{name_en} ({name}) contains {char}, which XML 1.0 does not allow (character "
                                "{position})"),
    "control_char": Message(Rule.SPECIAL_CHARACTERS, E, "{name} 含有控制字符 {char}（第 {position} 个字符）",
                            "{name_en} ({name}) contains the control character {char} (character {position})"),
    "line_break": Message(Rule.SPECIAL_CHARACTERS, W, "{name} 含有换行符或制表符",
                          "{name_en} ({name}) contains a line break or tab"),
    "replacement_char": Message(Rule.SPECIAL_CHARACTERS, W, "{name} 含有替换字符 U+FFFD，可能是编码转换造成的乱码",
                                "{name_en} ({name}) contains U+FFFD, a sign of a failed character conversion"),
    "path_traversal": Message(Rule.SPECIAL_CHARACTERS, E, "{name}“{value}”含有上级目录“..”，可能越出封装包",
                              "{name_en} ({name}) '{value}' contains '..' and could escape the package"),
    "absolute_path": Message(Rule.SPECIAL_CHARACTERS, E, "{name}“{value}”是绝对路径，应为相对于文件包根目录的路径",
                             "{name_en} ({name}) '{value}' is an absolute path; it must be relative to the package"),
    "backslash": Message(Rule.SPECIAL_CHARACTERS, E, "{name}“{value}”含有反斜杠“\\”，路径分隔符应为“/”",
                         "{name_en} ({name}) '{value}' contains a backslash; separate folders with '/'"),
    "forbidden_file_char": Message(Rule.SPECIAL_CHARACTERS, E, "{name}“{value}”含有文件名禁用字符“{char}”",
                                   "{name_en} ({name}) '{value}' contains '{char}', which file names may not contain"),
    "bad_path_segment": Message(Rule.SPECIAL_CHARACTERS, E, "{name}“{value}”含有不可用的路径段“{segment}”",
                                "{name_en} ({name}) '{value}' contains the unusable path segment '{segment}'"),
    "date_in_future": Message(Rule.REASONABLENESS, E, "{name} {value} 晚于今天（{today}）",
                              "{name_en} ({name}) {value} is later than today ({today})"),
    "year_in_future": Message(Rule.REASONABLENESS, E, "{name} {value} 晚于今年（{today}）",
                              "{name_en} ({name}) {value} is later than the current year ({today})"),
    "year_date_mismatch": Message(Rule.REASONABLENESS, W, "年度 {value} 与日期 {date} 的年份不一致（跨年度文件请核对）",
                                  "year {value} differs from the year of the date {date} (check cross-year records)"),
    "duplicate_id": Message(Rule.DUPLICATE, E, "{name}“{value}”重复（首次出现在 {first}）",
                            "{name_en} ({name}) '{value}' is not unique (first used at {first})"),
    "unknown_agent": Message(Rule.STRUCTURE, E, "引用了不存在的机构人员标识符“{value}”",
                             "refers to agent identifier '{value}', which no agent entity declares"),
    "record_identifier_mismatch": Message(Rule.STRUCTURE, W, "文件标识符“{value}”与电子文件号“{record_code}”不一致",
                                          "record identifier '{value}' differs from the record code '{record_code}'"),
    "unknown_element": Message(Rule.STRUCTURE, W, "未知元素 {path}，已忽略",
                               "unknown element {path} was ignored"),
    "repeated_element": Message(Rule.STRUCTURE, E, "元素 {path} 不可重复，只保留了第一个",
                                "element {path} may occur only once; only the first was kept"),
    "element_order": Message(Rule.STRUCTURE, W, "元素 {path} 的位置与 DA/T 48 规定的顺序不符",
                             "element {path} is out of the order DA/T 48 prescribes"),
}

NOTE_CODES = {"unknown": "unknown_element", "repeated": "repeated_element", "order": "element_order"}


def make_finding(code: str, element: str, **params: Any) -> Finding:
    message = MESSAGES[code]
    params.setdefault("name", element.rsplit("/", 1)[-1])
    params.setdefault("name_en", params["name"])
    return Finding(rule=message.rule, element=element, message=message.zh.format(**params),
                   message_en=message.en.format(**params), severity=message.severity, code=code, params=params)
