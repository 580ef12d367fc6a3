"""The receiver's signed receipt (移交接收回执): what arrived, each item's SM3 and what became of it.

Shape (no namespace, element names in Chinese like 文件目录.XML)::

    <移交接收回执 版本="1">
      <回执内容>                         ← signed: exc-C14N 1.0 → SM2-with-SM3 (ID 1234567812345678)
        <移交标识/> <移交单位/> <接收单位/> <接收时间/> <清单摘要 算法="SM3"/> <接收结论/>
        <检测结果><检测项 代码="yj-2-1" 结果="通过|不通过">说明</检测项>…</检测结果>
        <统计 件数="" 接收="" 重复="" 拒收=""/>
        <文件><顺序号/><电子文件号/><档号/><电子档案名称/><SM3/><结果>接收|重复|拒收</结果><说明/></文件>…
      </回执内容>
      <电子签名><签名算法标识/><签名时间/><签名人/><签名结果/>(base64 DER)<证书块><证书/>…</证书块></电子签名>
    </移交接收回执>

The signature covers the canonical form of 回执内容 only, so re-indenting the file or changing
its encoding does not break it, while any change to a listed digest or result does.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from lantai.checks.registry import finding
from lantai.crypto import certs, sm2
from lantai.crypto.keystore import Keystore
from lantai.domain.clock import beijing_now
from lantai.domain.findings import Finding
from lantai.errors import LantaiError, PackageError
from lantai.formats.safexml import child, children, parse_xml

ACCEPTED, DUPLICATE, REJECTED = "接收", "重复", "拒收"
RULE = "receipt"


@dataclass
class ReceiptItem:
    sequence: int
    record_id: str
    archival_code: str
    path: str
    sm3: str
    result: str
    note: str = ""

    @property
    def received(self) -> bool:
        return self.result in (ACCEPTED, DUPLICATE)

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class Receipt:
    transfer_id: str
    sender: str
    receiver: str
    received_at: str
    manifest_sm3: str
    conclusion: str
    checks: list[dict[str, str]] = field(default_factory=list)
    items: list[ReceiptItem] = field(default_factory=list)
    signer: str = ""

    def counts(self) -> dict[str, int]:
        result = {"件数": len(self.items), ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0}
        for item in self.items:
            result[item.result] = result.get(item.result, 0) + 1
        return result

    def to_dict(self) -> dict[str, object]:
        return {"transfer_id": self.transfer_id, "sender": self.sender, "receiver": self.receiver,
                "received_at": self.received_at, "manifest_sm3": self.manifest_sm3, "conclusion": self.conclusion,
                "signer": self.signer, "counts": self.counts(), "checks": self.checks,
                "items": [i.to_dict() for i in self.items]}


# -- writing --------------------------------------------------------------------------------------

def _sub(parent: etree._Element, name: str, text: object = "", **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, name, attrs)
    element.text = str(text)
    return element


def receipt_content(receipt: Receipt) -> etree._Element:
    content = etree.Element("回执内容")
    for name, value in (("移交标识", receipt.transfer_id), ("移交单位", receipt.sender), ("接收单位", receipt.receiver),
                        ("接收时间", receipt.received_at)):
        _sub(content, name, value)
    _sub(content, "清单摘要", receipt.manifest_sm3, 算法="SM3")
    _sub(content, "接收结论", receipt.conclusion)
    checks = etree.SubElement(content, "检测结果")
    for check in receipt.checks:
        _sub(checks, "检测项", check.get("message", ""), 代码=check.get("code", ""), 结果=check.get("result", ""))
    counts = receipt.counts()
    etree.SubElement(content, "统计", {"件数": str(counts["件数"]), "接收": str(counts[ACCEPTED]),
                                     "重复": str(counts[DUPLICATE]), "拒收": str(counts[REJECTED])})
    for item in receipt.items:
        entry = etree.SubElement(content, "文件")
        for name, value in (("顺序号", item.sequence), ("电子文件号", item.record_id), ("档号", item.archival_code),
                            ("电子档案名称", item.path), ("SM3", item.sm3), ("结果", item.result), ("说明", item.note)):
            _sub(entry, name, value)
    return content


def canonical(element: etree._Element) -> bytes:
    return etree.tostring(element, method="c14n", exclusive=True, with_comments=False)


def write_receipt(receipt: Receipt, target: Path, keystore: Keystore) -> Path:
    """Sign 回执内容 with the archive's SM2 key and write the receipt (atomically)."""
    root = etree.Element("移交接收回执", {"版本": "1"})
    content = receipt_content(receipt)
    root.append(content)
    etree.indent(root, space="  ")  # before signing: the indentation inside 回执内容 is signed too
    keypair = keystore.signing_key()
    signature = sm2.sign(keypair.private_key, keypair.public_key, canonical(content))
    block = etree.SubElement(root, "电子签名")
    _sub(block, "签名算法标识", sm2.OID_SM2_WITH_SM3)
    _sub(block, "签名时间", beijing_now().isoformat())
    _sub(block, "签名人", keystore.archive_name or receipt.receiver)
    _sub(block, "签名结果", base64.b64encode(signature).decode("ascii"))
    chain = etree.SubElement(block, "证书块")
    for der in (keystore.signing_certificate(), keystore.certificate_authority().certificate):
        _sub(chain, "证书", base64.b64encode(der).decode("ascii"))
    etree.indent(block, space="  ", level=1)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))
    tmp.replace(target)
    return target


# -- reading and verifying ------------------------------------------------------------------------

def _finding(code: str, element: str, variant: str = "") -> Finding:
    return finding(code, element, variant)


def read_receipt(path: Path, keystore: Keystore | None) -> tuple[Receipt, list[Finding]]:
    """Parse and verify a receipt: signature over 回执内容 and trust in the signer's certificate.

    PackageError when it is not a receipt at all; findings for a bad signature or untrusted signer.
    """
    try:
        root = parse_xml(Path(path).read_bytes(), "回执")
    except OSError as exc:
        raise PackageError(f"无法读取回执 {path}", f"cannot read receipt {path}: {exc}") from exc
    except ValueError as exc:
        raise PackageError(f"回执不是格式良好的 XML：{exc}", f"receipt is not well-formed XML: {exc}") from exc
    content, block = child(root, "回执内容"), child(root, "电子签名")
    if root.tag != "移交接收回执" or content is None:
        raise PackageError("不是移交接收回执（根元素应为 移交接收回执，含 回执内容）", "not a transfer receipt")
    receipt = _parse_content(content)
    if block is None:
        return receipt, [_finding("receipt-unsigned", "电子签名")]
    receipt.signer = _text(block, "签名人")
    return receipt, _verify_signature(content, block, keystore)


def _text(element: etree._Element | None, name: str) -> str:
    found = child(element, name) if element is not None else None
    return (found.text or "").strip() if found is not None else ""


def _parse_content(content: etree._Element) -> Receipt:
    receipt = Receipt(*(_text(content, n) for n in ("移交标识", "移交单位", "接收单位", "接收时间", "清单摘要", "接收结论")))
    checks = child(content, "检测结果")
    for check in children(checks, "检测项") if checks is not None else []:
        receipt.checks.append({"code": check.get("代码", ""), "result": check.get("结果", ""),
                               "message": (check.text or "").strip()})
    for entry in children(content, "文件"):
        try:
            sequence = int(_text(entry, "顺序号") or 0)
        except ValueError:
            sequence = 0
        receipt.items.append(ReceiptItem(sequence, *(_text(entry, n) for n in
                                                     ("电子文件号", "档号", "电子档案名称", "SM3", "结果", "说明"))))
    return receipt


def _verify_signature(content: etree._Element, block: etree._Element, keystore: Keystore | None) -> list[Finding]:
    chain_block = child(block, "证书块")
    try:
        value = base64.b64decode(_text(block, "签名结果"), validate=True)
        chain = [base64.b64decode((c.text or "").strip(), validate=True) for c in children(chain_block, "证书")] \
            if chain_block is not None else []
        signer = certs.load_certificate(chain[0]) if chain else None
    except (binascii.Error, ValueError, LantaiError):
        return [_finding("receipt-certificate", "电子签名", "undecodable")]
    if signer is None:
        return [_finding("receipt-certificate", "电子签名/证书块", "missing")]
    algorithm = _text(block, "签名算法标识")
    if not certs.verify_with_certificate(signer, algorithm, canonical(content), value):
        return [_finding("receipt-signature", "电子签名/签名结果")]
    if keystore is None:
        return [_finding("receipt-trust", "电子签名/证书块")]
    return [f for f in _trust(keystore, chain) if f.is_error]


def _trust(keystore: Keystore, chain: list[bytes]) -> list[Finding]:
    """Trust comes only from the sender's key store; the CA carried in the receipt is a hint, never trusted by itself."""
    extras = [certs.load_certificate(c) for c in chain[1:]]
    signer = certs.load_certificate(chain[0])
    return certs.validate_certificate(signer, keystore.trusted_certificates(),
                                      [*keystore.agency_certificates(), *extras])
