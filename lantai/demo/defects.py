"""Realistic faults planted in a generated batch, and the DA/T 70 check that must catch each.

``defects.csv`` lists every planted fault: ``item,fault,check,detail``. The check codes are the
归档 (gd) items of STANDARDS §5.2; they live in :data:`FAULTS` only, so when the check registry
settles on finer codes (``gd 1-2b`` …) this table is the one place to change.

Each fault is applied where it would arise in practice: an OFD edited after it was sealed, a
register typed by hand, an attachment lost when the OA system exported the package.
"""

from __future__ import annotations

import io
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

from lantai.demo.plan import DocumentPlan
from lantai.domain import metadata as md

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

FAULTS: dict[str, tuple[str, str]] = {
    "tampered_after_sealing": ("gd 1-1", "正本.ofd 盖章后被改动，电子印章的 SM3 摘要不再相符"),
    "missing_attachment": ("gd 2-3", "元数据登记的附件文件不在包中（内容数据不完整）"),
    "wrong_page_count": ("gd 1-3", "元数据页数与正本实际页数不符"),
    "wrong_file_size": ("gd 1-3", "元数据计算机文件大小与实际不符"),
    "missing_signing_event": ("gd 2-2", "过程信息缺少签发环节"),
    "duplicate_document_number": ("gd 1-2", "文件编号与本批另一件重复"),
    "eicar_in_attachment": ("gd 4-1", "附件含 EICAR 病毒测试串"),
    "encrypted_pdf": ("gd 3-4", "正本 PDF 设有打开口令"),
    "unsupported_format": ("gd 3-2", "附件为不符合归档要求的格式（CEB）"),
}
REGISTER_FAULT = "register_totals_off_by_one"
REGISTER_CHECK = "gd 2-1"
NEEDS_ATTACHMENT = {"missing_attachment", "eicar_in_attachment"}


@dataclass(frozen=True)
class Defect:
    fault: str
    duplicate_of: str = ""  # the 文件编号 copied by duplicate_document_number

    @property
    def check(self) -> str:
        return FAULTS[self.fault][0]


def assign(plans: list[DocumentPlan], rate: float, seed: int) -> dict[int, Defect]:
    """Pick round(rate × items) items (at least one when rate > 0) and give each one fault."""
    if rate <= 0 or not plans:
        return {}
    rng = random.Random(f"{seed}:defects")
    count = min(len(plans), max(1, round(len(plans) * rate)))
    free = list(range(len(plans)))
    rng.shuffle(free)
    order = list(FAULTS)
    rng.shuffle(order)
    chosen: dict[int, Defect] = {}
    for n in range(count):
        fault = order[n % len(order)]
        candidates = [i for i in free if plans[i].attachments] if fault in NEEDS_ATTACHMENT else free
        if not candidates:
            candidates, fault = free, "wrong_file_size"
        index = candidates[0]
        free.remove(index)
        chosen[index] = Defect(fault)
    for index, defect in chosen.items():
        if defect.fault == "duplicate_document_number":
            other = next((i for i in range(len(plans)) if i not in chosen), (index + 1) % len(plans))
            chosen[index] = Defect(defect.fault, plans[other].document_number)
    return chosen


def before_packaging(defect: Defect, plan: DocumentPlan, files: dict[str, bytes]) -> str:
    """Faults in the content files themselves, before sizes and digests are taken."""
    if defect.fault == "tampered_after_sealing":
        return _tamper_ofd(plan, files)
    if defect.fault == "eicar_in_attachment":
        path = plan.attachments[0].path
        files[path] = EICAR
        return f"{path} 的内容被替换为 EICAR 测试串"
    if defect.fault == "encrypted_pdf":
        files["正本.pdf"] = _encrypt_pdf(files["正本.pdf"])
        return "正本.pdf 使用 AES-256 加密，打开口令 123456"
    if defect.fault == "unsupported_format":
        path = f"附件/附件{len(plan.attachments) + 1}.ceb"
        files[path] = b"CEB\x00\x01\x02" + random.Random(plan.record_code).randbytes(4090)
        return f"{path} 为方正 CEB 格式"
    return ""


def skipped_events(defect: Defect | None) -> set[str]:
    return {"签发"} if defect and defect.fault == "missing_signing_event" else set()


def adjust_metadata(defect: Defect, record: md.RecordEntity, sizes: dict[str, int], pages: int) -> str:
    """Faults in 元数据.xml: what an OA export with a stale or hand-edited record produces."""
    if defect.fault == "wrong_page_count":
        record.formal_characteristics.total_number_of_pages = str(pages + 1)
        return f"页数登记为 {pages + 1}，正本实为 {pages} 页"
    if defect.fault == "wrong_file_size":
        for _doc, _data, encoding in record.iter_encodings():
            attributes = encoding.electronic_attributes
            if attributes.computer_file_name == "正本.pdf":
                attributes.computer_file_size = str(sizes["正本.pdf"] + 1)
        return f"正本.pdf 大小登记为 {sizes['正本.pdf'] + 1}，实为 {sizes['正本.pdf']} 字节"
    if defect.fault == "duplicate_document_number":
        record.content_description.document_number = defect.duplicate_of
        return f"文件编号登记为 {defect.duplicate_of}（与另一件重复）"
    if defect.fault == "missing_signing_event":
        return "过程信息.xml 中没有签发业务实体"
    return ""


def after_packaging(defect: Defect, root: Path, plan: DocumentPlan) -> str:
    if defect.fault == "missing_attachment":
        path = plan.attachments[-1].path
        (root / path).unlink()
        return f"{path} 已登记但不在包中"
    return ""


def _tamper_ofd(plan: DocumentPlan, files: dict[str, bytes]) -> str:
    """Change the 发文字号 on page 1 of the sealed OFD and repack it, keeping the old seal."""
    source = zipfile.ZipFile(io.BytesIO(files["正本.ofd"]))
    out = io.BytesIO()
    forged = f"{plan.prefix}〔{plan.year}〕{plan.serial + 100}号"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "Doc_0/Pages/Page_0/Content.xml":
                data = data.replace(plan.document_number.encode(), forged.encode(), 1)
            target.writestr(info, data)
    files["正本.ofd"] = out.getvalue()
    return f"正本.ofd 第1页发文字号被改为 {forged}"


def _encrypt_pdf(data: bytes) -> bytes:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        out = io.BytesIO()
        pdf.save(out, encryption=pikepdf.Encryption(user="123456", owner="qinghe-owner", R=6))
    return out.getvalue()
