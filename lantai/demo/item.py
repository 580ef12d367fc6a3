"""Rendering one planned 公文 into a SIP item directory (the project's SIP format, README).

::

    <电子文件号>/
      元数据.xml          DA/T 46 文件实体 (lantai.domain.metadata)
      过程信息.xml        拟稿 → 核稿 → 签发 → 印发 → 办结
      正本.pdf            PDF/A-2b, GB/T 9704 layout, red seal image
      正本.ofd            GB/T 33190, sealed (SM3 references, SM2 SES_Signature)
      定稿.docx
      公文处理单.pdf
      附件/附件N.xlsx|docx|jpeg
      manifest-sm3.txt    <hex>  <relative path>

A planted defect (:mod:`defects`) is applied at the stage where it would happen in real life:
before sealing, between sealing and packaging, in the metadata, or after packaging.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lantai.demo import defects as df
from lantai.demo import seal
from lantai.demo.attachments import attachment_bytes
from lantai.demo.draft import draft_docx
from lantai.demo.handling import handling_layout
from lantai.demo.layout import layout_document
from lantai.demo.ofd_doc import render_ofd
from lantai.demo.ofd_sign import Signer
from lantai.demo.pdf import render_pdf
from lantai.demo.plan import DocumentPlan
from lantai.demo.record import DRAFT, FORM, MAIN_OFD, MAIN_PDF, build_process, build_record
from lantai.domain import metadata as md
from lantai.packages.sip import METADATA_NAME, PROCESS_NAME

MANIFEST = "manifest-sm3.txt"


@dataclass
class ItemResult:
    record_code: str
    document_number: str
    title: str
    doc_type: str
    pages: int
    files: dict[str, int]  # relative path → 计算机文件大小 declared in the metadata
    defect: str = ""
    defect_detail: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def declared_bytes(self) -> int:
        return sum(self.files.values())


def render_files(plan: DocumentPlan, signer: Signer | None) -> tuple[dict[str, bytes], int]:
    """All content files of the item and the page count of the 正本."""
    photos = {a.number: attachment_bytes(plan, a) for a in plan.attachments if a.kind == "jpeg"}
    layout = layout_document(plan, seal.seal_png(plan.organ.name, opaque=True), photos)
    printed = next(e.at for e in plan.events if e.action == "印发")
    files = {
        MAIN_PDF: render_pdf(layout, created=printed.isoformat()),
        MAIN_OFD: render_ofd(layout, doc_id=plan.record_code, signed_at=printed, signer=signer),
        DRAFT: draft_docx(plan),
    }
    for attachment in plan.attachments:
        files[attachment.path] = photos.get(attachment.number) or attachment_bytes(plan, attachment)
    files[FORM] = render_pdf(handling_layout(plan), created=printed.isoformat())
    return files, len(layout.pages)


def build_item(plan: DocumentPlan, parent: Path, signer: Signer | None, defect: df.Defect | None = None) -> ItemResult:
    files, pages = render_files(plan, signer)
    detail = df.before_packaging(defect, plan, files) if defect else ""
    sizes = {path: len(data) for path, data in files.items()}
    record = build_record(plan, sizes, pages)
    process = build_process(plan, skip=df.skipped_events(defect))
    detail = df.adjust_metadata(defect, record, sizes, pages) or detail if defect else detail
    root = parent / plan.record_code
    _write(root, files, md.record_to_xml(record), md.process_to_xml(process))
    if defect:
        detail = df.after_packaging(defect, root, plan) or detail
    declared = {e.electronic_attributes.computer_file_name: int(e.electronic_attributes.computer_file_size)
                for _d, _dd, e in record.iter_encodings()}
    return ItemResult(plan.record_code, record.content_description.document_number or "", plan.title, plan.doc_type,
                      pages, declared, defect.fault if defect else "", detail)


def _write(root: Path, files: dict[str, bytes], metadata: bytes, process: bytes) -> None:
    root.mkdir(parents=True, exist_ok=False)
    (root / METADATA_NAME).write_bytes(metadata)
    (root / PROCESS_NAME).write_bytes(process)
    lines = []
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        lines.append(f"{hashlib.new('sm3', data).hexdigest()}  {path}")
    (root / MANIFEST).write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = ["ItemResult", "build_item", "render_files"]
