"""The demo generator's output: PDF/A, sealed OFD, DA/T 46 metadata matching the files, defects."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import ofdkit
import pikepdf
import pypdf
import pytest

from lantai.demo import defects as df
from lantai.demo.generate import generate
from lantai.demo.ofd_sign import SIGNATURE_XML, check_signed_value
from lantai.domain import metadata as md
from lantai.packages.sip import read_register

OFD_NS = "{http://www.ofdspec.org/2016}"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str]]]:
    out = tmp_path_factory.mktemp("demo") / "batch"
    report = generate(out, year=2025, items=24, seed=11, defect_rate=0.45, workers=2)
    assert report.items == 24
    with open(out / "defects.csv", encoding="utf-8") as fh:
        planted = {row["item"]: row for row in csv.DictReader(fh)}
    return out, planted


def _items(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if (p / "元数据.xml").is_file())


def _clean(batch: tuple[Path, dict[str, dict[str, str]]]) -> list[Path]:
    out, planted = batch
    return [p for p in _items(out) if p.name not in planted]


def _record(item: Path) -> md.RecordEntity:
    return md.parse_record_xml((item / "元数据.xml").read_bytes())


def test_pdfs_are_pdfa_2b_with_embedded_fonts_and_extractable_title(batch) -> None:
    for item in _clean(batch):
        record = _record(item)
        with pikepdf.open(item / "正本.pdf") as pdf:
            assert pdf.open_metadata().pdfa_status == "2B"
            assert "/OutputIntents" in pdf.Root
            for page in pdf.pages:
                for font in page.Resources.Font.values():
                    descriptor = font.get("/FontDescriptor")
                    assert descriptor is not None and "/FontFile2" in descriptor, "font not embedded"
        text = "".join(page.extract_text() for page in pypdf.PdfReader(item / "正本.pdf").pages)
        flat = text.replace("\n", "")
        assert record.content_description.title in flat
        assert record.content_description.document_number in flat


def test_ofds_read_back_and_seal_digests_verify(batch) -> None:
    for item in _clean(batch):
        data = (item / "正本.ofd").read_bytes()
        number = _record(item).content_description.document_number
        assert number in ofdkit.extract_text(data)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            signature = ET.fromstring(archive.read(SIGNATURE_XML))
            references = signature.find(f"{OFD_NS}SignedInfo/{OFD_NS}References")
            assert references.get("CheckMethod") == "1.2.156.10197.1.401"
            refs = references.findall(f"{OFD_NS}Reference")
            assert {r.get("FileRef") for r in refs} >= {"/OFD.xml", "/Doc_0/Document.xml",
                                                         "/Doc_0/Pages/Page_0/Content.xml"}
            for ref in refs:
                digest = hashlib.new("sm3", archive.read(ref.get("FileRef").lstrip("/"))).digest()
                assert base64.b64encode(digest).decode() == ref.findtext(f"{OFD_NS}CheckValue")
        assert check_signed_value(data)


def test_ofds_pass_the_project_validator(batch) -> None:
    validate_ofd = pytest.importorskip("lantai.formats.ofd").validate_ofd
    for item in _clean(batch)[:4]:
        result = validate_ofd(item / "正本.ofd")
        assert result.valid, result.findings
        assert result.signatures and result.signatures[0].seal_signature_valid
        assert not result.signatures[0].references_failed


def test_metadata_validates_and_matches_the_files(batch) -> None:
    for item in _clean(batch):
        record = _record(item)
        assert md.validate_record(record, today=date(2026, 12, 31)) == []
        declared = {e.electronic_attributes.computer_file_name: int(e.electronic_attributes.computer_file_size)
                    for _d, _dd, e in record.iter_encodings()}
        on_disk = {p.relative_to(item).as_posix(): p.stat().st_size for p in item.rglob("*") if p.is_file()}
        assert {k: on_disk[k] for k in declared} == declared
        assert set(on_disk) - set(declared) == {"元数据.xml", "过程信息.xml", "manifest-sm3.txt"}
        with pikepdf.open(item / "正本.pdf") as pdf:
            assert record.formal_characteristics.total_number_of_pages == str(len(pdf.pages))
        for line in (item / "manifest-sm3.txt").read_text(encoding="utf-8").splitlines():
            digest, path = line.split("  ", 1)
            assert hashlib.new("sm3", (item / path).read_bytes()).hexdigest() == digest


def test_docx_creating_application_is_what_wrote_the_file(batch) -> None:
    """文档创建程序 must name the program the DOCX itself names (docProps/app.xml), not a library
    the generator does not use."""
    seen = 0
    for item in _clean(batch):
        for _d, _dd, encoding in _record(item).iter_encodings():
            attributes = encoding.electronic_attributes
            if not attributes.computer_file_name.endswith(".docx"):
                continue
            with zipfile.ZipFile(item / attributes.computer_file_name) as package:
                app = ET.fromstring(package.read("docProps/app.xml"))
            named = app.findtext("{http://schemas.openxmlformats.org/officeDocument/2006/extended-properties}Application")
            assert attributes.document_creating_application == named
            seen += 1
    assert seen > 0


def test_handling_record_runs_in_order(batch) -> None:
    for item in _clean(batch):
        process = md.parse_process_xml((item / "过程信息.xml").read_bytes())
        assert md.validate_process(process, record_code=item.name) == []
        steps = [(b.business_activity, b.action_time) for b in process.business_entities]
        assert [s for s, _t in steps] == ["拟稿", "核稿", "签发", "印发", "办结"]
        assert [t for _s, t in steps] == sorted(t for _s, t in steps)


def test_document_numbers_follow_gbt_9704(batch) -> None:
    pattern = re.compile(r"^青[\u4e00-\u9fff]+〔2025〕[1-9]\d*号$")
    for item in _clean(batch):
        assert pattern.match(_record(item).content_description.document_number)


def test_every_planted_defect_is_listed_and_present(batch) -> None:
    out, planted = batch
    faults = {row["fault"] for row in planted.values()}
    assert faults == set(df.FAULTS) | {df.REGISTER_FAULT}
    for name, row in planted.items():
        assert row["check"] == (df.REGISTER_CHECK if name == "归档登记表.csv" else df.FAULTS[row["fault"]][0])
        _assert_fault_present(out, name, row["fault"])


def _assert_fault_present(out: Path, name: str, fault: str) -> None:
    if fault == df.REGISTER_FAULT:
        register = read_register(out)
        items = _items(out)
        total = sum(int(e.electronic_attributes.computer_file_size) for i in items
                    for _d, _dd, e in _record(i).iter_encodings())
        assert abs(register.items - len(items)) + abs(register.bytes - total) == 1
        return
    item = out / name
    record = _record(item)
    files = {e.electronic_attributes.computer_file_name: int(e.electronic_attributes.computer_file_size)
             for _d, _dd, e in record.iter_encodings()}
    if fault == "tampered_after_sealing":
        from lantai.demo.ofd_sign import check_references

        assert check_references((item / "正本.ofd").read_bytes()) == ["Doc_0/Pages/Page_0/Content.xml"]
    elif fault == "missing_attachment":
        assert any(path.startswith("附件/") and not (item / path).exists() for path in files)
    elif fault == "wrong_page_count":
        with pikepdf.open(item / "正本.pdf") as pdf:
            assert record.formal_characteristics.total_number_of_pages != str(len(pdf.pages))
    elif fault == "wrong_file_size":
        assert files["正本.pdf"] != (item / "正本.pdf").stat().st_size
    elif fault == "missing_signing_event":
        process = md.parse_process_xml((item / "过程信息.xml").read_bytes())
        assert "签发" not in [b.business_activity for b in process.business_entities]
    elif fault == "duplicate_document_number":
        number = record.content_description.document_number
        others = [_record(i).content_description.document_number for i in _items(out) if i != item]
        assert number in others
    elif fault == "eicar_in_attachment":
        assert any((item / p).read_bytes() == df.EICAR for p in files if p.startswith("附件/"))
    elif fault == "encrypted_pdf":
        with pytest.raises(pikepdf.PasswordError):
            pikepdf.open(item / "正本.pdf")
    elif fault == "unsupported_format":
        assert any(p.endswith(".ceb") and (item / p).is_file() for p in files)
    else:  # pragma: no cover
        raise AssertionError(fault)


def test_clean_register_matches_and_output_is_deterministic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", year=2024, items=3, seed=5, workers=1)
    generate(tmp_path / "b", year=2024, items=3, seed=5, workers=2)
    register = read_register(tmp_path / "a")
    assert (register.items, register.bytes) == (3, first.bytes)
    assert register.unit_name and register.category == "文书"
    for path in sorted((tmp_path / "a").rglob("*")):
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        if path.is_file() and path.suffix != ".ofd" and path.name not in ("元数据.xml", "manifest-sm3.txt",
                                                                           "demo-ca.cer", "归档登记表.csv"):
            assert path.read_bytes() == twin.read_bytes(), path
    assert (tmp_path / "a" / "defects.csv").read_text(encoding="utf-8").strip() == "item,fault,check,detail"


def test_refuses_a_foreign_non_empty_directory(tmp_path: Path) -> None:
    from lantai.errors import BadInput

    (tmp_path / "precious.txt").write_text("x")
    with pytest.raises(BadInput):
        generate(tmp_path, year=2025, items=1, seed=1, overwrite=True)
