"""The PDF/A rule registry: every rule Lantai checks, keyed by (part, clause, test number).

Each rule carries the requirement in Simplified Chinese and English. The checking modules report
a violation as (clause, English detail); ``resolve`` finds the rule it breaks — by clause, and,
where a clause holds several rules, by the words its detail names (``hints``) — so reports say
which requirement of ISO 19005-1/-2/-3 failed in both languages. Part 3 shares the rules of part
2 except for embedded files (6.8). A clause that is checked but has no entry here is a bug: the
unit tests assert every emitted clause resolves.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rule:
    part: int  # 1, 2 (parts 2 and 3) or 3 (part 3 only)
    clause: str
    test: int
    zh: str
    en: str
    hints: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        """Like ``ISO 19005-2 6.2.4.3-1``."""
        return f"ISO 19005-{self.part} {self.clause}-{self.test}"


_P1: list[tuple[str, int, str, str, tuple[str, ...]]] = [
    ("6.1", 1, "文件无法作为 PDF 解析", "the file does not parse as PDF", ()),
    ("6.1.2", 1, "文件头或其后的二进制注释不符合要求", "file header or binary comment is not as required", ()),
    ("6.1.3", 1, "文件尾字典须含 ID，且不得加密", "the trailer shall have an ID and the file shall not be encrypted", ()),
    ("6.1.3", 2, "文件不得加密", "the file shall not be encrypted", ("encrypt",)),
    ("6.1.4", 1, "交叉引用表语法不符合要求", "cross-reference table syntax is not as required", ()),
    ("6.1.6", 1, "十六进制字符串含非十六进制字符或位数为奇数",
     "a hexadecimal string has non-hex characters or an odd number of digits", ()),
    ("6.1.7", 1, "流对象不得含 F、FFilter、FDecodeParms", "streams shall not have F, FFilter or FDecodeParms", ()),
    ("6.1.7", 2, "流关键字、EOL 或 Length 不符合要求", "stream keywords, EOL markers or Length are not as required",
     ("stream keyword", "endstream", "length")),
    ("6.1.8", 1, "间接对象语法不符合要求", "indirect object syntax is not as required", ()),
    ("6.1.10", 1, "不得使用 LZW 滤镜", "the LZWDecode filter shall not be used", ()),
    ("6.1.11", 1, "不得嵌入文件", "files shall not be embedded", ()),
    ("6.1.12", 1, "超出实现限制", "an implementation limit is exceeded", ()),
    ("6.1.13", 1, "不得使用可选内容", "optional content shall not be used", ()),
    ("6.2.2", 1, "输出意图不符合要求", "the output intent is not as required", ()),
    ("6.2.3.3", 1, "使用设备相关颜色但无相应的 PDF/A 输出意图",
     "device-dependent colour is used without a matching PDF/A output intent", ()),
    ("6.2.4", 1, "图像不符合要求（Alternates、OPI、Interpolate、JPEG 2000）",
     "an image is not as required (Alternates, OPI, Interpolate, JPEG 2000)", ()),
    ("6.2.5", 1, "表单 XObject 不符合要求（OPI、PS）", "a form XObject is not as required (OPI, PS)", ()),
    ("6.2.8", 1, "扩展图形状态含传递函数或半色调", "an extended graphics state has transfer functions or halftones", ()),
    ("6.2.9", 1, "渲染意图不是 PDF 参考定义的四种之一", "a rendering intent is not one of the four defined by the "
     "PDF Reference", ()),
    ("6.2.10", 1, "内容流使用了 PDF 参考未定义的操作符", "a content stream uses operators not defined by the PDF Reference",
     ()),
    ("6.3.3.1", 1, "复合字体的 CIDSystemInfo 或 CIDToGIDMap 不符合要求",
     "a composite font's CIDSystemInfo or CIDToGIDMap is not as required", ()),
    ("6.2.6", 1, "不得使用引用 XObject", "reference XObjects shall not be used", ()),
    ("6.2.3.4", 1, "同名专色（Separation）的替代颜色空间或色调变换不一致",
     "Separation spaces with the same colorant name differ in alternate space or tint transform", ()),
    ("6.3.3.3", 1, "CMap 既非预定义也未嵌入", "a CMap is neither predefined nor embedded", ()),
    ("6.3.3.3", 2, "嵌入 CMap 的字典与程序中的 WMode 不一致",
     "the WMode of an embedded CMap's dictionary and program differ", ("wmode",)),
    ("6.3.3.2", 1, "CIDFontType2 字体的 CIDToGIDMap 无效", "a CIDFontType2 font's CIDToGIDMap is not valid", ()),
    ("6.3.4", 1, "字体未嵌入或字宽不一致", "a font is not embedded or its widths are inconsistent", ()),
    ("6.3.4", 2, "显示的字形不在嵌入的字体程序中", "a shown glyph is not in the embedded font program",
     ("not in the embedded font program",)),
    ("6.3.5", 1, "子集字体的 CharSet 或 CIDSet 未列出字体程序中的全部字形",
     "a subset font's CharSet or CIDSet does not list every glyph of the font program", ()),
    ("6.3.6", 1, "字体字典中的字宽与嵌入字体程序不一致",
     "glyph widths in the font dictionary disagree with the embedded font program", ()),
    ("6.3.7", 1, "TrueType 字体的编码不符合要求（符号字体不得有 Encoding，非符号字体须用 MacRoman 或 WinAnsi）",
     "a TrueType font's encoding is not as required (none for symbolic, MacRoman or WinAnsi otherwise)", ()),
    ("6.3.8", 1, "字体缺少 Unicode 映射（ToUnicode）", "a font has no Unicode mapping (ToUnicode)", ()),
    ("6.4", 1, "PDF/A-1 不得使用透明", "transparency shall not be used in PDF/A-1", ()),
    ("6.5.2", 1, "注释类型不允许", "the annotation type is not permitted", ()),
    ("6.5.3", 1, "注释标志或透明度不符合要求", "annotation flags or opacity are not as required", ()),
    ("6.6.1", 1, "不允许的动作类型", "the action type is not permitted", ()),
    ("6.6.2", 1, "不得含附加动作（AA）", "additional actions (AA) shall not be present", ()),
    ("6.7.2", 1, "XMP 属性未按预定义模式的定义使用", "an XMP property is not used as its predefined schema defines", ()),
    ("6.7.3", 1, "文档信息字典与 XMP 元数据不一致", "the document information dictionary disagrees with the XMP metadata",
     ()),
    ("6.7.5", 1, "xpacket 头不得使用 bytes 或 encoding 属性",
     "the xpacket header shall not use the bytes or encoding attribute", ()),
    ("6.7.8", 1, "XMP 扩展模式缺失或不符合 PDF/A 扩展模式容器的要求",
     "an XMP extension schema is missing or does not follow the PDF/A extension container", ()),
    ("6.7.9", 1, "XMP 属性值与其扩展模式声明的类型不符",
     "an XMP property value does not match the type its extension schema declares", ()),
    ("6.7.11", 1, "PDF/A 标识（pdfaid:part/conformance）缺失或无效",
     "the PDF/A identification (pdfaid:part/conformance) is missing or invalid", ()),
    ("6.8.2.2", 1, "A 级文件须有 MarkInfo 且 Marked 为 true", "level A needs MarkInfo with Marked true", ()),
    ("6.8.3.3", 1, "A 级文件须有结构树", "level A needs a structure tree", ()),
    ("6.8.3.4", 1, "结构类型既非标准类型也未角色映射", "a structure type is neither standard nor role-mapped", ()),
    ("6.8.4", 1, "语言标识无效", "a language identifier is not valid", ()),
    ("6.9", 1, "交互表单字段缺少外观或设置了 NeedAppearances",
     "an interactive form field has no appearance or NeedAppearances is set", ()),
]
_P2: list[tuple[str, int, str, str, tuple[str, ...]]] = [
    ("6.1", 1, "文件无法作为 PDF 解析", "the file does not parse as PDF", ()),
    ("6.1.2", 1, "文件头或其后的二进制注释不符合要求", "file header or binary comment is not as required", ()),
    ("6.1.3", 1, "文件尾字典须含 ID，且不得加密", "the trailer shall have an ID and the file shall not be encrypted", ()),
    ("6.1.3", 2, "文件不得加密", "the file shall not be encrypted", ("encrypt",)),
    ("6.1.4", 1, "交叉引用表语法不符合要求", "cross-reference table syntax is not as required", ()),
    ("6.1.7.1", 1, "流对象不得含 F、FFilter、FDecodeParms", "streams shall not have F, FFilter or FDecodeParms", ()),
    ("6.1.7.1", 2, "流关键字、EOL 或 Length 不符合要求", "stream keywords, EOL markers or Length are not as required",
     ("stream keyword", "endstream", "length")),
    ("6.1.7.2", 1, "不得使用 LZW 或 Crypt 滤镜", "the LZWDecode and Crypt filters shall not be used", ()),
    ("6.1.9", 1, "间接对象语法不符合要求", "indirect object syntax is not as required", ()),
    ("6.1.12", 1, "权限字典只能含 UR3 与 DocMDP，签名引用不得含摘要项",
     "permissions shall hold only UR3 and DocMDP, and signature references no digest entries", ()),
    ("6.1.13", 1, "超出实现限制", "an implementation limit is exceeded", ()),
    ("6.1.6", 1, "十六进制字符串含非十六进制字符或位数为奇数",
     "a hexadecimal string has non-hex characters or an odd number of digits", ()),
    ("6.2.2", 1, "内容流使用了 ISO 32000-1 未定义的操作符", "a content stream uses operators not defined in ISO 32000-1",
     ()),
    ("6.2.2", 2, "引用资源的内容流没有明确关联的 Resources 字典",
     "a content stream that uses named resources has no explicitly associated Resources dictionary", ("resources",)),
    ("6.1.10", 1, "内嵌图像使用了不允许的滤镜", "an inline image uses a filter that is not permitted", ()),
    ("6.2.3", 1, "输出意图不符合要求（目标配置文件不一致或无效）",
     "the output intent is not as required (destination profiles differ or are invalid)", ()),
    ("6.2.4.2", 1, "ICCBased CMYK 颜色空间与叠印模式 1 同时使用",
     "an ICCBased CMYK colour space is used with overprint mode 1", ()),
    ("6.2.4.3", 1, "使用设备相关颜色但无相应的 PDF/A 输出意图",
     "device-dependent colour is used without a matching PDF/A output intent", ()),
    ("6.2.5", 1, "扩展图形状态含传递函数或半色调", "an extended graphics state has transfer functions or halftones", ()),
    ("6.2.8", 1, "图像不符合要求（Alternates、OPI、Interpolate）",
     "an image is not as required (Alternates, OPI, Interpolate)", ()),
    ("6.2.6", 1, "渲染意图不是 ISO 32000-1 定义的四种之一",
     "a rendering intent is not one of the four defined in ISO 32000-1", ()),
    ("6.2.8.3", 1, "JPEG 2000 图像不符合要求", "a JPEG 2000 image is not as required", ()),
    ("6.2.9", 1, "XObject 不符合要求（PostScript、OPI、引用 XObject）",
     "an XObject is not as required (PostScript, OPI, reference XObject)", ()),
    ("6.2.10", 1, "使用了 ISO 32000-1 未定义的混合模式", "a blend mode not defined in ISO 32000-1 is used", ("blend",)),
    ("6.2.10", 2, "使用透明的页面既无 PDF/A 输出意图也无页面组颜色空间",
     "a page uses transparency without a PDF/A output intent or a page group colour space", ("transparency",)),
    ("6.2.11.3.1", 1, "复合字体的 CIDSystemInfo 与 CMap 不兼容", "a composite font's CIDSystemInfo and CMap are incompatible",
     ()),
    ("6.2.11.3.3", 1, "CMap 既非预定义也未嵌入", "a CMap is neither predefined nor embedded", ()),
    ("6.2.11.3.3", 2, "嵌入 CMap 的字典与程序中的 WMode 不一致",
     "the WMode of an embedded CMap's dictionary and program differ", ("wmode",)),
    ("6.2.11.3.2", 1, "CIDFontType2 字体缺少 CIDToGIDMap", "a CIDFontType2 font has no CIDToGIDMap", ()),
    ("6.2.4.4", 1, "同名专色（Separation）的替代颜色空间或色调变换不一致",
     "Separation spaces with the same colorant name differ in alternate space or tint transform", ()),
    ("6.2.4.4", 2, "DeviceN 的专色未在 Colorants 字典中说明",
     "a DeviceN spot colorant is not described in the Colorants dictionary", ("colorants dictionary",)),
    ("6.2.11.4.1", 1, "字体未嵌入或字宽不一致", "a font is not embedded or its widths are inconsistent", ()),
    ("6.2.11.4.1", 2, "显示的字形不在嵌入的字体程序中", "a shown glyph is not in the embedded font program",
     ("not in the embedded font program",)),
    ("6.2.11.4.2", 1, "子集字体的 CharSet 或 CIDSet 未列出字体程序中的全部字形",
     "a subset font's CharSet or CIDSet does not list every glyph of the font program", ()),
    ("6.2.11.5", 1, "字体字典中的字宽与嵌入字体程序不一致",
     "glyph widths in the font dictionary disagree with the embedded font program", ()),
    ("6.2.11.8", 1, "不得显示 .notdef 字形", "the .notdef glyph shall not be shown", ()),
    ("6.2.11.6", 1, "TrueType 字体的编码不符合要求（符号字体不得有 Encoding，非符号字体须用 MacRoman 或 WinAnsi）",
     "a TrueType font's encoding is not as required (none for symbolic, MacRoman or WinAnsi otherwise)", ()),
    ("6.2.11.7.2", 1, "字体缺少 Unicode 映射（ToUnicode）", "a font has no Unicode mapping (ToUnicode)", ()),
    ("6.2.11.7.2", 2, "ToUnicode 映射到非字符值（U+0000、U+FEFF、U+FFFE）",
     "ToUnicode maps a code to a non-character (U+0000, U+FEFF, U+FFFE)", ("not a character",)),
    ("6.2.11.7.3", 1, "映射到私用区的字符缺少 ActualText", "Private Use Area characters have no ActualText", ()),
    ("6.3.1", 1, "注释类型不允许", "the annotation type is not permitted", ()),
    ("6.3.2", 1, "注释标志不符合要求", "annotation flags are not as required", ()),
    ("6.3.3", 1, "注释缺少外观流", "an annotation has no appearance stream", ()),
    ("6.4.1", 1, "交互表单设置了 NeedAppearances，或表单控件注释含动作",
     "the interactive form sets NeedAppearances, or a widget annotation has an action", ()),
    ("6.4.2", 1, "交互表单不得含 XFA，目录不得设置 NeedsRendering",
     "the interactive form shall not contain XFA and the catalog shall not set NeedsRendering", ()),
    ("6.4.3", 1, "数字签名的 ByteRange 须覆盖整个文件（签名值除外）",
     "a digital signature's ByteRange shall cover the whole file except the signature value", ()),
    ("6.4.3", 3, "数字签名（PKCS#7）须只有一个签名者", "a digital signature (PKCS#7) shall have exactly one signer",
     ("signer",)),
    ("6.5.1", 1, "不允许的动作类型", "the action type is not permitted", ()),
    ("6.5.2", 1, "不得含附加动作（AA）", "additional actions (AA) shall not be present", ()),
    ("6.6.2.1", 1, "元数据流字典须含 Type /Metadata 与 Subtype /XML",
     "the metadata stream dictionary shall have Type /Metadata and Subtype /XML", ()),
    ("6.6.2.1", 2, "xpacket 头不得使用 bytes 或 encoding 属性",
     "the xpacket header shall not use the bytes or encoding attribute", ("xpacket",)),
    ("6.6.2.3.1", 1, "XMP 属性未在预定义模式或扩展模式中定义，或值类型不符",
     "an XMP property is not defined by a predefined or extension schema, or its value has the wrong type", ()),
    ("6.6.2.3.3", 1, "XMP 扩展模式不符合 PDF/A 扩展模式容器的要求",
     "an XMP extension schema does not follow the PDF/A extension container", ()),
    ("6.6.4", 1, "PDF/A 标识（pdfaid:part/conformance）缺失或无效",
     "the PDF/A identification (pdfaid:part/conformance) is missing or invalid", ()),
    ("6.7.2.2", 1, "A 级文件须有 MarkInfo 且 Marked 为 true", "level A needs MarkInfo with Marked true", ()),
    ("6.7.3.3", 1, "A 级文件须有结构树", "level A needs a structure tree", ()),
    ("6.7.3.4", 1, "结构类型既非标准类型也未角色映射", "a structure type is neither standard nor role-mapped", ()),
    ("6.7.4", 1, "语言标识无效", "a language identifier is not valid", ()),
    ("6.8", 1, "嵌入文件须为 PDF/A 文件", "embedded files shall be PDF/A files", ()),
    ("6.9", 1, "可选内容配置不得含 AS", "an optional content configuration shall not contain AS", ()),
]
_P3: list[tuple[str, int, str, str, tuple[str, ...]]] = [
    ("6.8", 1, "嵌入文件须以 AF 关联并带有 AFRelationship 等必需项",
     "embedded files shall be associated through AF and carry AFRelationship and the required keys", ()),
]

RULES: dict[tuple[int, str, int], Rule] = {
    (part, clause, test): Rule(part, clause, test, zh, en, hints)
    for part, rows in ((1, _P1), (2, _P2), (3, _P3)) for clause, test, zh, en, hints in rows
}


def resolve(part: int, clause: str, detail: str) -> Rule | None:
    """The rule of ``part`` that a violation at ``clause`` with English ``detail`` breaks."""
    group = 1 if part == 1 else 2
    candidates = [r for (p, c, _), r in RULES.items() if c == clause and (p == group or (part == 3 and p == 3))]
    if part == 3 and any(r.part == 3 for r in candidates):
        candidates = [r for r in candidates if r.part == 3]
    if not candidates:
        return None
    lowered = detail.lower()
    for rule in sorted(candidates, key=lambda r: -r.test):
        if rule.hints and any(h in lowered for h in rule.hints):
            return rule
    return min(candidates, key=lambda r: r.test)
