"""Schema-level structure of a DA/T 48 package: element names, order and cardinality.

The content models below transcribe the DA/T 48-2009 schema as digested in STANDARDS.md §4.2 for
the envelope, the signature blocks and the parts of 文件实体 the package machinery depends on.
The descriptive DA/T 46 elements inside 文件实体 are judged by the metadata validator instead.
"""

from __future__ import annotations

from lxml import etree

from lantai.checks.registry import finding
from lantai.domain.findings import Finding
from lantai.packages.eep.names import NS, local, namespace
from lantai.packages.eep.reader import element_path

UNBOUNDED = 10**9
Model = list[tuple[tuple[str, ...], int, int]]  # (alternatives, min, max)

_SIGNATURE_TAIL: Model = [
    (("签名规则",), 1, 1),
    (("签名时间",), 0, 1),
    (("签名人",), 0, 1),
    (("签名结果",), 1, 1),
    (("证书块",), 1, UNBOUNDED),
    (("签名算法标识",), 1, 1),
]
_ENTITY_BLOCKS: Model = [(("文件实体块",), 1, 1), (("业务实体块",), 1, 1), (("机构人员实体块",), 1, 1)]

MODELS: dict[str, Model] = {
    "电子文件封装包": [
        (("封装包格式描述",), 1, 1),
        (("版本",), 1, 1),
        (("被签名对象",), 1, 1),
        (("电子签名块",), 0, 1),
        (("锁定签名",), 0, 1),
    ],
    "被签名对象": [
        (("封装包类型",), 1, 1),
        (("封装包类型描述",), 1, 1),
        (("封装包创建时间",), 1, 1),
        (("封装包创建单位",), 1, 1),
        (("封装内容", "修改封装内容"), 1, 1),
    ],
    "封装内容": _ENTITY_BLOCKS,
    "修改封装内容": [(("修改标识符",), 1, 1), (("原封装包",), 1, 1), (("修订内容",), 1, 1)],
    "原封装包": [(("被签名对象",), 1, 1), (("电子签名块",), 0, 1)],
    "修订内容": _ENTITY_BLOCKS,
    "文件实体块": [(("文件实体",), 1, 1), (("文件实体关系",), 0, UNBOUNDED)],
    "业务实体块": [(("业务实体",), 1, UNBOUNDED)],
    "机构人员实体块": [(("机构人员实体",), 1, UNBOUNDED), (("机构人员实体关系",), 0, UNBOUNDED)],
    "文件数据": [(("文档",), 1, UNBOUNDED)],
    "文档": [
        (("文档标识符",), 1, 1),
        (("文档序号",), 0, 1),
        (("文档主从声明",), 0, 1),
        (("题名",), 0, 1),
        (("文档数据",), 1, UNBOUNDED),
    ],
    "文档数据": [(("编码",), 1, UNBOUNDED)],
    "编码": [
        (("电子属性",), 1, 1),
        (("数字化属性",), 0, 1),
        (("编码描述",), 1, 1),
        (("反编码关键字",), 1, 1),
        (("编码数据",), 1, 1),
    ],
    "电子属性": [
        (("格式信息",), 0, 1),
        (("计算机文件名",), 1, 1),
        (("计算机文件大小",), 1, 1),
        (("文档创建程序",), 0, 1),
    ],
    "电子签名块": [(("电子签名",), 1, UNBOUNDED)],
    "电子签名": [(("签名标识符",), 1, 1), *_SIGNATURE_TAIL],
    "锁定签名": [(("被锁定签名标识符",), 1, 1), *_SIGNATURE_TAIL],
    "证书块": [(("证书",), 1, UNBOUNDED), (("证书引证",), 0, 1)],
}


def check_structure(root: etree._Element) -> list[Finding]:
    """Namespace of every element, then each content model above."""
    findings = _check_namespaces(root)
    if local(root.tag) != "电子文件封装包":
        return [*findings, _finding(root, "root", found=local(root.tag))]
    for element in root.iter():
        if isinstance(element.tag, str) and local(element.tag) in MODELS:
            findings += _check_model(element, MODELS[local(element.tag)])
    return findings


def _check_namespaces(root: etree._Element) -> list[Finding]:
    wrong = [e for e in root.iter() if isinstance(e.tag, str) and namespace(e.tag) != NS]
    if not wrong:
        return []
    first = wrong[0]
    return [
        finding("eep-namespace", element_path(first), count=len(wrong), namespace=NS, first=local(first.tag),
                found=namespace(first.tag))
    ]


def _check_model(element: etree._Element, model: Model) -> list[Finding]:
    names = [local(child.tag) for child in element if isinstance(child.tag, str)]
    position = 0
    for alternatives, minimum, maximum in model:
        count = 0
        while position < len(names) and names[position] in alternatives and count < maximum:
            position += 1
            count += 1
        if count < minimum:
            return [_finding(element, "child_missing", children=" / ".join(alternatives))]
    if position < len(names):
        return [_finding(element, "child_misplaced", child=names[position])]
    return []


def _finding(element: etree._Element, variant: str, **params: str) -> Finding:
    return finding("eep-structure", element_path(element), variant, **params)
