"""Names and fixed texts of DA/T 48-2009 (STANDARDS.md §4), in one place for writer and verifier."""

from __future__ import annotations

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
EEP_VERSION = "2009"
FORMAT_DESCRIPTION = "本EEP根据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成"
TYPE_ORIGINAL = "原始型"
TYPE_MODIFIED = "修改型"
TYPE_DESCRIPTIONS = {
    TYPE_ORIGINAL: "本封装包包含电子文件数据及其元数据，原始封装，未经修改",
    TYPE_MODIFIED: "本封装包包含电子文件数据及其元数据，系修改封装，在保留原封装包的基础上，添加了修改层",
}
ENCODING_DESCRIPTION = '本封装包中"编码数据"元素存储的是计算机文件二进制流的Base64编码'
C14N_URI = "http://www.w3.org/2001/10/xml-exc-c14n#"
SIGNATURE_RULE = (
    "对被签名对象元素按排他式XML规范化1.0（不含注释，" + C14N_URI + "）得到的字节串计算SM3杂凑值，"
    "以该32字节杂凑值为消息按GB/T 32918进行SM2签名（SM3，签名者标识1234567812345678），签名结果为DER编码"
)
LOCK_RULE = (
    "对被锁定的电子签名元素按排他式XML规范化1.0（不含注释，" + C14N_URI + "）得到的字节串计算SM3杂凑值，"
    "以该32字节杂凑值为消息按GB/T 32918进行SM2签名（SM3，签名者标识1234567812345678），签名结果为DER编码"
)

# Attributes and elements whose values are xs:ID / xs:IDREF in the DA/T 48 schema.
ID_ATTRIBUTES = ("编码ID", "文档数据ID", "编码数据ID")
ID_ELEMENTS = ("文档标识符", "签名标识符", "修改标识符")
IDREF_ATTRIBUTES = ("引用编码数据ID",)
IDREF_ELEMENTS = ("被锁定签名标识符",)


def q(local: str) -> str:
    """Clark notation ``{ns}local`` for an element of the EEP namespace."""
    return f"{{{NS}}}{local}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def signature_id(revision: int, sequence: int) -> str:
    """签名标识符 per STANDARDS §4.3: ``修改R-签名S``."""
    return f"修改{revision}-签名{sequence}"


def data_id(revision: int, sequence: int) -> str:
    return f"修改{revision}-编码数据{sequence}"
