"""Office files: OOXML opens and parses; password-protected (OLE2 EncryptedPackage) and broken fail."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import olefile
import openpyxl

from lantai.formats.office import check_office


def _docx(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("关于做好电子文件归档工作的通知")
    document.save(path)
    return path


def test_docx_and_xlsx_open(tmp_path: Path) -> None:
    assert check_office(_docx(tmp_path / "a.docx")).kind == "docx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "档号"
    workbook.save(tmp_path / "a.xlsx")
    result = check_office(tmp_path / "a.xlsx")
    assert result.ok and result.kind == "xlsx" and not result.encrypted


def _cfb(stream_name: str) -> bytes:
    """Build a tiny compound file with one root-level stream (512-byte sectors, no mini stream)."""
    import struct

    sector = 512
    data = b"x" * 4096  # >= 4096 bytes: stored in regular sectors, not the mini stream
    n_data = len(data) // sector
    # sectors: 0 = FAT, 1 = directory, 2.. = data
    fat = [0xFFFFFFFD, 0xFFFFFFFE] + [3 + i for i in range(n_data - 1)] + [0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (sector // 4 - len(fat))
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIII", header, 40, 0, 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0)
    struct.pack_into("<II", header, 64, 0xFFFFFFFE, 0)
    struct.pack_into("<I", header, 76, 0)
    for i in range(1, 109):
        struct.pack_into("<I", header, 76 + 4 * i, 0xFFFFFFFF)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = bytearray(128)
        encoded = (name + "\0").encode("utf-16-le")
        raw[0:len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 64, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 68, 0xFFFFFFFF, 0xFFFFFFFF, child)
        struct.pack_into("<II", raw, 116, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry(stream_name, 2, 0xFFFFFFFF, 2, len(data))
    directory += b"\0" * (sector - len(directory))
    return bytes(header) + struct.pack(f"<{sector // 4}I", *fat) + directory + data


def test_password_protected_ooxml_is_detected(tmp_path: Path) -> None:
    (tmp_path / "locked.docx").write_bytes(_cfb("EncryptedPackage"))
    assert olefile.isOleFile(str(tmp_path / "locked.docx"))
    result = check_office(tmp_path / "locked.docx")
    assert result.encrypted and not result.ok
    assert result.findings[0].code == "office-encrypted"
    (tmp_path / "legacy.doc").write_bytes(_cfb("WordDocument"))
    legacy = check_office(tmp_path / "legacy.doc")
    assert legacy.ok and legacy.kind == "ole2"


def test_broken_and_hostile_office_files(tmp_path: Path) -> None:
    good = _docx(tmp_path / "g.docx").read_bytes()
    (tmp_path / "t.docx").write_bytes(good[: len(good) // 2])
    assert not check_office(tmp_path / "t.docx").ok
    with zipfile.ZipFile(tmp_path / "nomain.docx", "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
    assert not check_office(tmp_path / "nomain.docx").ok
    with zipfile.ZipFile(tmp_path / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<a>" + b" " * (80 * 1024 * 1024) + b"</a>")
    assert not check_office(tmp_path / "bomb.docx").ok
    with zipfile.ZipFile(tmp_path / "xxe.docx", "w") as zf:
        zf.writestr("[Content_Types].xml", '<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]><Types>&x;</Types>')
        zf.writestr("word/document.xml", "<d/>")
    assert not check_office(tmp_path / "xxe.docx").ok
    (tmp_path / "x.docx").write_bytes(b"not office")
    assert not check_office(tmp_path / "x.docx").ok
