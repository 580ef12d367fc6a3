"""Value domains (值域) of DA/T 46 elements, as data.

DA/T 46 ends many lists with "[其他]": the list is a recommendation and other values are
allowed. Such a domain is *open*: an unknown value is a warning, so an archivist looks at it.
A *closed* domain (an XSD enumeration in DA/T 48, or a national classification such as 密级)
admits nothing else: an unknown value is an error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DomainValue:
    value: str
    meaning: str = ""  # what a code stands for, or where the value comes from


@dataclass(frozen=True, slots=True)
class ValueDomain:
    key: str
    name_zh: str
    values: tuple[DomainValue, ...]
    open: bool  # True when the standard allows [其他]
    source: str = ""

    def __contains__(self, value: object) -> bool:
        return any(v.value == value for v in self.values)

    @property
    def allowed(self) -> list[str]:
        return [v.value for v in self.values]


def _values(*items: str | tuple[str, str]) -> tuple[DomainValue, ...]:
    return tuple(DomainValue(*item) if isinstance(item, tuple) else DomainValue(item) for item in items)


_DOCUMENT_TYPES_2009 = ("命令（令）", "决定", "公告", "通告", "通知", "通报", "议案", "报告", "请示", "批复", "意见",
                        "函", "会议纪要", "指示", "决议", "公报", "条例", "规定")
_DOCUMENT_TYPES_2012 = ("决议", "决定", "命令（令）", "公报", "公告", "通告", "意见", "通知", "通报", "报告", "请示",
                        "批复", "议案", "函", "纪要")

DOMAINS: dict[str, ValueDomain] = {d.key: d for d in (
    ValueDomain("aggregation_level", "聚合层次", _values("文件", "案卷", ("盒", "部分系统使用")), open=False,
                source="DA/T 46 M1; DA/T 48 文件实体 fixes 文件"),
    ValueDomain("retention_period", "保管期限", _values(
        "永久", "长期", "短期", "30年", "10年", "定期30年", "定期10年",
        ("Y", "永久"), ("D30", "定期30年"), ("D10", "定期10年"),
        ("001", "永久（老）"), ("002", "长期（老）"), ("003", "短期（老）"),
    ), open=True, source="DA/T 46 M12; 国家档案局令第8号"),
    ValueDomain("document_type", "文种", _values(
        *dict.fromkeys(_DOCUMENT_TYPES_2009 + _DOCUMENT_TYPES_2012),
        ("命令", "命令（令）的写法"), ("令", "命令（令）的写法"),
    ), open=True, source="DA/T 46 M34; 党政机关公文处理工作条例（2012）第八条"),
    ValueDomain("precedence", "紧急程度", _values("特提", "特急", "加急", "平急", "急件"), open=True,
                source="DA/T 46 M35"),
    ValueDomain("security_classification", "密级", _values("公开", "内部", "限制", "秘密", "机密", "绝密"),
                open=False, source="DA/T 46 M38; GB/T 7156-2003"),
    ValueDomain("document_aggregation_type", "文件组合类型", _values("单件", "组合文件"), open=False,
                source="DA/T 46 M41; DA/T 48 XSD"),
    ValueDomain("manuscript_type", "稿本", _values("草稿", "定稿", "正本", "副本", "试行本", "修订本"), open=True,
                source="DA/T 46 M45"),
    ValueDomain("scanning_color_model", "扫描色彩模式", _values("黑白二值", "灰度", "彩色"), open=False,
                source="DA/T 46 M55"),
    ValueDomain("permission_assignment", "授权行为", _values("公布", "复制", "浏览", "解密"), open=True,
                source="DA/T 46 M73"),
    ValueDomain("control_identifier", "控制标识", _values("开放", "控制"), open=True, source="DA/T 46 M74"),
    ValueDomain("agent_type", "机构人员类型", _values("单位", "内设机构", "个人"), open=False,
                source="DA/T 46 M76; DA/T 48 XSD"),
    ValueDomain("business_status", "业务状态", _values("历史行为", "计划任务"), open=False,
                source="DA/T 46 M80; DA/T 48 XSD"),
    ValueDomain("signature_algorithm_identifier", "签名算法标识", _values(
        ("1.2.840.113549.1.1.4", "md5WithRSA"), ("1.2.840.113549.1.1.5", "sha1WithRSA"),
        ("1.2.840.113549.1.1.11", "sha256WithRSA"), ("1.2.840.113549.1.1.13", "sha512WithRSA"),
        ("1.2.840.10040.4.3", "dsa-with-sha1"), ("1.2.156.10197.1.501", "SM2-with-SM3（GB/T 35275）"),
    ), open=True, source="DA/T 46 M64"),
    ValueDomain("document_role", "文档主从声明", _values("主文档", "附属文档"), open=False, source="DA/T 48 XSD"),
)}
