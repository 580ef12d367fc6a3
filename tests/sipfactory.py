"""Builds SIPs for tests: item directories, zips and batches with a 归档登记表.

The metadata XML is written from a template here rather than with the project's serialiser, so
ingest tests also check that the parser accepts a document written independently of it.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"


@dataclass
class SipSpec:
    record_id: str
    title: str = "关于做好2025年度电子文件归档工作的通知"
    files: dict[str, bytes] = field(default_factory=lambda: {"正文.pdf": real_pdf(2048)})
    document_number: str = "X政办发〔2025〕12号"
    author: str = "X区人民政府办公室"
    date: str = "2025-03-18"
    year: str = "2025"
    retention: str = "永久"
    security: str = "公开"
    declared_sizes: dict[str, int] = field(default_factory=dict)  # override 计算机文件大小
    inline: set[str] = field(default_factory=set)  # files carried as base64 编码数据
    manifest: str | None = "sm3"  # "sm3", "sha256" or None
    process: bool = True
    extra_files: dict[str, bytes] = field(default_factory=dict)  # present but not referenced
    pages: int = 2  # 页数 as declared (the default profile compares it with the main document)


def real_pdf(size: int = 2048, pages: int = 2) -> bytes:
    """A real two-page PDF (as the metadata declares) carrying ``size`` random bytes in an image
    stream, so every item has distinct content and the default DA/T 70 profile accepts it."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    pdf.docinfo["/Producer"] = "WPS Office 12"
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(
        Im0=pikepdf.Stream(pdf, os.urandom(max(size, 1)), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                           Width=1, Height=1, BitsPerComponent=8, ColorSpace=pikepdf.Name.DeviceGray)))
    buffer = io.BytesIO()
    pdf.save(buffer, compress_streams=False)
    return buffer.getvalue()


def real_xlsx(size: int = 1024) -> bytes:
    """A real XLSX workbook with ``size`` random characters of text, distinct per call."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["序号", "内容"])
    book.active.append([1, os.urandom(max(size, 2) // 2).hex()])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


FORMAT_NAMES = {"pdf": "PDF", "xlsx": "XLSX", "docx": "DOCX", "ofd": "OFD", "jpg": "JPEG", "png": "PNG",
                "tif": "TIFF", "xml": "XML", "txt": "TXT"}


def metadata_xml(spec: SipSpec) -> bytes:
    encodings = []
    for index, (name, data) in enumerate(spec.files.items(), start=1):
        size = spec.declared_sizes.get(name, len(data))
        inline = (f'<编码数据 编码数据ID="D{index}">{base64.b64encode(data).decode()}</编码数据>'
                  if name in spec.inline else "")
        encodings.append(
            f"""<编码 编码ID="E{index}"><电子属性><格式信息>格式名称:{FORMAT_NAMES.get(name.rsplit('.', 1)[-1].lower(), 'PDF')}</格式信息><计算机文件名>{escape(name)}</计算机文件名>"""
            f"""<计算机文件大小>{size}</计算机文件大小><文档创建程序>WPS Office 12</文档创建程序></电子属性>"""
            f"""<编码描述>本封装包中"编码数据"元素存储的是计算机文件二进制流的Base64编码</编码描述>"""
            f"""<反编码关键字>{name.rsplit('.', 1)[-1]}</反编码关键字>{inline}</编码>"""
        )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<文件实体 xmlns="{NS}">
  <聚合层次>文件</聚合层次>
  <来源><档案馆名称>X区档案馆</档案馆名称><全宗名称>X区人民政府办公室</全宗名称><立档单位名称>X区人民政府办公室</立档单位名称></来源>
  <电子文件号>{escape(spec.record_id)}</电子文件号>
  <档号><全宗号>Z109</全宗号><年度>{spec.year}</年度><保管期限>{spec.retention}</保管期限><机构或问题>BGS</机构或问题><类别号>WS</类别号></档号>
  <内容描述><题名>{escape(spec.title)}</题名><文件编号>{escape(spec.document_number)}</文件编号><责任者>{escape(spec.author)}</责任者>
    <日期>{spec.date}</日期><文种>通知</文种><紧急程度>平急</紧急程度><主送>各街道办事处</主送><密级>{spec.security}</密级></内容描述>
  <形式特征><文件组合类型>单件</文件组合类型><页数>{spec.pages}</页数><语种>汉语</语种><稿本>正本</稿本></形式特征>
  <存储位置><脱机载体编号>GP-2025-001</脱机载体编号></存储位置>
  <权限管理><控制标识>开放</控制标识></权限管理>
  <文件数据><文档><文档标识符>修改0-文档1</文档标识符><文档序号>1</文档序号><文档主从声明>主文档</文档主从声明>
    <文档数据 文档数据ID="DD1">{''.join(encodings)}</文档数据></文档></文件数据>
</文件实体>
""".encode()


def process_xml(spec: SipSpec) -> bytes:
    events = [("拟稿", "2025-03-10T09:00:00"), ("核稿", "2025-03-12T10:00:00"), ("签发", "2025-03-17T15:00:00")]
    business = "".join(
        f"<业务实体><业务标识符>B{i}</业务标识符><机构人员标识符>P1</机构人员标识符><文件标识符>{escape(spec.record_id)}</文件标识符>"
        f"<业务状态>历史行为</业务状态><业务行为>{act}</业务行为><行为时间>{t}</行为时间></业务实体>"
        for i, (act, t) in enumerate(events, start=1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<过程信息 xmlns="{NS}"><业务实体块>{business}</业务实体块>
<机构人员实体块><机构人员实体><机构人员标识符>P1</机构人员标识符><机构人员类型>个人</机构人员类型><机构人员名称>张伟</机构人员名称></机构人员实体></机构人员实体块>
</过程信息>
""".encode()


def write_item(parent: Path, spec: SipSpec, name: str | None = None) -> Path:
    root = parent / (name or spec.record_id)
    root.mkdir(parents=True)
    (root / "元数据.xml").write_bytes(metadata_xml(spec))
    if spec.process:
        (root / "过程信息.xml").write_bytes(process_xml(spec))
    for rel, data in {**spec.files, **spec.extra_files}.items():
        if rel in spec.inline:
            continue
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    if spec.manifest:
        algorithm = spec.manifest
        lines = [f"{hashlib.new(algorithm, data).hexdigest()}  {rel}" for rel, data in spec.files.items()]
        (root / f"manifest-{algorithm}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def zip_item(item_dir: Path, target: Path | None = None, *, top_dir: bool = True) -> Path:
    target = target or item_dir.with_suffix(".zip")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(item_dir.rglob("*")):
            if path.is_file():
                rel = path.relative_to(item_dir.parent if top_dir else item_dir).as_posix()
                zf.write(path, rel)
    return target


def write_batch(parent: Path, specs: list[SipSpec], *, name: str = "batch", count_delta: int = 0,
                bytes_delta: int = 0) -> Path:
    batch = parent / name
    batch.mkdir(parents=True)
    total = 0
    for spec in specs:
        write_item(batch, spec)
        total += sum(spec.declared_sizes.get(n, len(d)) for n, d in spec.files.items())
    with open(batch / "归档登记表.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["单位名称", "归档时间", "门类", "件数", "字节数"])
        writer.writerow(["X区人民政府办公室", "2025-12-31", "文书", len(specs) + count_delta, total + bytes_delta])
    return batch


def specs(n: int, prefix: str = "Z109-WS-2025-", size: int = 4096) -> list[SipSpec]:
    return [SipSpec(record_id=f"{prefix}{i:05d}", title=f"关于第{i}项工作的通知",
                    document_number=f"X政办发〔2025〕{prefix.rstrip('-').rsplit('-', 1)[-1]}-{i}号",
                    files={"正文.pdf": real_pdf(size), "附件/附件1.xlsx": real_xlsx(size // 2)})
            for i in range(1, n + 1)]
