"""Names and paths of the 2012 transfer layout (《电子档案移交与接收办法》 Annex 2, STANDARDS §2.4).

::

    <carrier>/
      说明文件.TXT                    exactly one: carrier, units, software needed, totals
      文件目录.XML                    <文件目录> with one <文件> per item
      电子档案/<年度>/<类别>/<件>/<电子文件号>.eep   each item's signed DA/T 48 package
      其他/                           schemas, rules, the 移交登记表 (PDF + XLSX),
                                      the sender's certificates and manifest-sm3.txt

``其他/manifest-sm3.txt`` lists the SM3 of every other file of the carrier, so the receiver can
tell that what arrived is what was sent (DA/T 70 yj 1-5) and that nothing was added (yj 4-2).
"""

from __future__ import annotations

import re

DESCRIPTION = "说明文件.TXT"
CATALOGUE = "文件目录.XML"
RECORDS_DIR = "电子档案"
OTHER_DIR = "其他"
REGISTER_XLSX = f"{OTHER_DIR}/移交登记表.xlsx"
REGISTER_PDF = f"{OTHER_DIR}/移交登记表.pdf"
MANIFEST = f"{OTHER_DIR}/manifest-sm3.txt"
CATALOGUE_SCHEMA = f"{OTHER_DIR}/文件目录.xsd"
PACKAGING_NOTE = f"{OTHER_DIR}/封装规范说明.TXT"
NUMBERING_RULES = f"{OTHER_DIR}/档号编制规则.TXT"
SIGNING_CERT = f"{OTHER_DIR}/证书/移交单位签名证书.pem"
CA_CERT = f"{OTHER_DIR}/证书/移交单位根证书.pem"
ROOT_ENTRIES = frozenset({DESCRIPTION, CATALOGUE, RECORDS_DIR, OTHER_DIR})
EEP_SUFFIX = ".eep"

_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def safe_name(text: str, fallback: str = "未分类") -> str:
    """A path component any file system accepts; empty, '.' and '..' become ``fallback``."""
    cleaned = _UNSAFE.sub("_", (text or "").strip())
    return cleaned if cleaned not in ("", ".", "..") else fallback


def item_path(year: int | str | None, category: str, piece: str, record_id: str) -> str:
    """``电子档案/<年度>/<类别>/<件>/<电子文件号>.eep`` relative to the carrier root."""
    return "/".join((RECORDS_DIR, safe_name(str(year or ""), "无年度"), safe_name(category),
                     safe_name(piece), safe_name(record_id) + EEP_SUFFIX))
