"""Each DA/T 70 check with a passing and a failing case built here. Fixtures are named by the rule
they break; one table maps each to the rules expected (STYLE.md, Lantai habits)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from lantai.checks.runner import check_paths
from tests.sipfactory import SipSpec, write_batch, write_item


def real_pdf(pages: int = 2, producer: str = "WPS Office 12", pdfa: bool = False, encrypt: bool = False) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    pdf.docinfo["/Producer"] = producer
    if pdfa:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"] = "2"
            meta["pdfaid:conformance"] = "B"
        pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
    buf = io.BytesIO()
    kwargs = {"encryption": pikepdf.Encryption(owner="owner", user="secret")} if encrypt else {}
    pdf.save(buf, **kwargs)
    return buf.getvalue()


def good_spec(record_id: str = "Z109-WS-2025-00001", **kw) -> SipSpec:  # type: ignore[no-untyped-def]
    return SipSpec(record_id, files={"正文.pdf": real_pdf()}, **kw)


def results(path: Path, stage: str = "gd") -> dict[str, list[dict]]:
    report = check_paths([path], stage=stage, workers=0)
    by_rule: dict[str, list[dict]] = {}
    for item in report.to_dict()["items"]:
        for r in item["results"]:
            by_rule.setdefault(r["rule"], []).append(r)
    return by_rule


def edit_metadata(item: Path, old: str, new: str) -> Path:
    path = item / "元数据.xml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return item


def nested_zip(depth: int) -> bytes:
    data = b"innermost"
    name = "a.txt"
    for level in range(depth):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, data)
        data, name = buf.getvalue(), f"level{level}.zip"
    return data


Fixture = Callable[[Path], Path]
CASES: dict[str, tuple[Fixture, set[str]]] = {
    "gd-1-1a_digest_mismatch": (lambda d: _tamper(write_item(d, good_spec())), {"1-1a"}),
    "gd-1-1b_manifest_lists_missing": (lambda d: _manifest_extra(write_item(d, good_spec())), {"1-1b"}),
    "gd-1-1d_no_fixity": (lambda d: write_item(d, good_spec(manifest=None)), {"1-1d"}),
    "gd-1-2c_bad_retention_value": (lambda d: write_item(d, good_spec(retention="百年")), {"1-2c"}),
    "gd-1-2d_date_in_future": (lambda d: write_item(d, good_spec(date="2999-01-01", year="2999")), {"1-2d"}),
    "gd-1-2f_bad_archival_code": (lambda d: edit_metadata(write_item(d, good_spec()), "<档号>", "<档号>Z109/WS/BAD"),
                                  {"1-2f"}),
    "gd-1-3a_lying_extension": (lambda d: write_item(d, SipSpec("Z-LIE", files={"正文.pdf": _png()})), {"1-3a"}),
    "gd-1-3b_size_mismatch": (lambda d: write_item(d, good_spec(declared_sizes={"正文.pdf": 7})), {"1-3b"}),
    "gd-1-3d_page_count": (lambda d: write_item(d, SipSpec("Z-P", files={"正文.pdf": real_pdf(pages=5)})), {"1-3d"}),
    "gd-1-4a_2-3a_missing_file": (lambda d: _remove(write_item(d, good_spec()), "正文.pdf"), {"1-4a", "2-3a"}),
    "gd-1-5c_unsafe_zip_path": (lambda d: _zip_with_traversal(d), {"1-5c"}),
    "gd-2-2a_missing_title": (lambda d: write_item(d, good_spec(title="")), {"2-2a"}),
    "gd-2-2e_no_handling_record": (lambda d: write_item(d, good_spec(process=False)), {"2-2e"}),
    "gd-2-3b_empty_file": (lambda d: write_item(d, SipSpec("Z-E", files={"正文.pdf": b""})), {"2-3b", "3-2a"}),
    "gd-2-4a_extra_file": (lambda d: write_item(d, good_spec(extra_files={"多余.txt": b"x"})), {"2-4a"}),
    "gd-3-1a_metadata_unparsable": (lambda d: _write(write_item(d, good_spec()), "元数据.xml", b"<broken"), {"3-1a"}),
    "gd-3-2b_format_not_allowed": (lambda d: write_item(d, SipSpec("Z-G", files={"图.gif": _gif()})),
                                   {"3-2b"}),
    "gd-3-2c_truncated_pdf": (lambda d: write_item(d, SipSpec("Z-T", files={"正文.pdf": real_pdf()[:40]})), {"3-2c"}),
    "gd-3-2d_false_pdfa_claim": (lambda d: write_item(d, SipSpec("Z-A", files={"正文.pdf": real_pdf(pdfa=True)})),
                                 {"3-2d"}),
    "gd-3-3a_no_creating_application": (lambda d: edit_metadata(write_item(d, good_spec()),
                                                                "<文档创建程序>WPS Office 12</文档创建程序>", ""), {"3-3a"}),
    "gd-3-4a_encrypted_pdf": (lambda d: write_item(d, SipSpec("Z-X", files={"正文.pdf": real_pdf(encrypt=True)})),
                              {"3-4a"}),
    "gd-3-4c_nested_too_deep": (lambda d: write_item(d, SipSpec("Z-N", files={"附件.zip": nested_zip(6)})), {"3-4c"}),
    "gd-4-1c_no_scanner": (lambda d: write_item(d, good_spec()), {"4-1c"}),
    "gd-4-2b_os_junk": (lambda d: write_item(d, good_spec(extra_files={"Thumbs.db": b"junk"})), {"4-2b"}),
    "gd-4-2c_temp_file": (lambda d: write_item(d, good_spec(extra_files={"~$正文.docx": b"tmp"})), {"4-2c"}),
    "gd-4-2a_hidden_file": (lambda d: write_item(d, good_spec(extra_files={".secret": b"h"})), {"4-2a"}),
}


def _gif() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("P", (4, 4)).save(buf, "GIF")
    return buf.getvalue()


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "PNG")
    return buf.getvalue()


def _tamper(item: Path) -> Path:
    (item / "正文.pdf").write_bytes(real_pdf(pages=2, producer="WPS Office 12 altered"))
    return item


def _manifest_extra(item: Path) -> Path:
    with open(item / "manifest-sm3.txt", "a", encoding="utf-8") as fh:
        fh.write("0" * 64 + "  不存在.pdf\n")
    return item


def _remove(item: Path, name: str) -> Path:
    (item / name).unlink()
    return item


def _write(item: Path, name: str, data: bytes) -> Path:
    (item / name).write_bytes(data)
    return item


def _zip_with_traversal(parent: Path) -> Path:
    item = write_item(parent, good_spec())
    target = parent / "item.zip"
    with zipfile.ZipFile(target, "w") as zf:
        zf.write(item / "元数据.xml", "元数据.xml")
        zf.writestr("../escape.pdf", b"x")
    return target


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_failing_fixture_reports_its_rules(fixture: str, tmp_path: Path) -> None:
    build, expected = CASES[fixture]
    found = results(build(tmp_path))
    assert expected <= set(found), f"{fixture}: expected {expected}, got {sorted(found)}"
    for rule in expected:
        assert all(r["message"] and r["status"] in ("fail", "warn", "unscanned") for r in found[rule])


def test_good_item_passes_every_check_but_the_virus_scan_without_clamd(tmp_path: Path) -> None:
    found = results(write_item(tmp_path, good_spec()))
    bad = {rule: r for rule, rs in found.items() for r in rs if r["status"] in ("fail", "unscanned")}
    assert set(bad) == {"4-1c"}, bad
    for code in ("1-1", "1-2", "1-3", "1-4", "1-5", "2-2", "2-3", "2-4", "3-1", "3-2", "3-4", "4-2"):
        assert code in found and found[code][0]["status"] == "pass", code


def test_batch_level_rules(tmp_path: Path) -> None:
    batch = write_batch(tmp_path, [good_spec(f"Z109-WS-2025-{i:05d}") for i in (1, 2)], bytes_delta=5)
    edit_metadata(batch / "Z109-WS-2025-00002", "<电子文件号>Z109-WS-2025-00002", "<电子文件号>Z109-WS-2025-00001")
    found = results(batch)
    assert {"1-2g", "2-1b"} <= set(found)
    assert "2-1a" not in found


def test_item_numbers_must_be_continuous(tmp_path: Path) -> None:
    items = []
    for number in (1, 2, 4):
        item = write_item(tmp_path / "batch", good_spec(f"Z109-WS-2025-{number:05d}"))
        edit_metadata(item, "<类别号>WS</类别号>", f"<类别号>WS</类别号><室编件号>{number}</室编件号>")
        items.append(item)
    found = results(tmp_path / "batch")
    gaps = found.get("2-2b", [])
    assert len(gaps) == 1 and "缺 3" in gaps[0]["message"]


def test_single_file_checks_apply_and_metadata_checks_do_not(tmp_path: Path) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(real_pdf())
    report = check_paths([path], workers=0).to_dict()
    item = report["items"][0]
    assert item["files"][0]["pdfa"] == {"declared": None, "compliant": None, "violations": []}
    assert item["files"][0]["format"]["mime"] == "application/pdf"
    statuses = {r["code"]: r["status"] for r in item["results"] if r["check"] != "carrier_inspection"}
    assert statuses["1-2"] == "not_applicable" and statuses["3-2"] == "pass" and statuses["4-1"] == "unscanned"


def test_profile_severity_downgrades_and_disables(tmp_path: Path) -> None:
    from lantai.checks.profiles import load_profile, parse_profile

    base = load_profile("default")
    text = (Path(base.data and __import__("lantai.checks.profiles", fromlist=["x"]).BUILTIN_DIR) / "default.toml").read_text()
    text = text.replace('[severity]\n', '[severity]\nvirus_free = "off"\ncontent_usable = "warning"\n')
    profile = parse_profile(text, "lenient")
    item = write_item(tmp_path, SipSpec("Z-T", files={"正文.pdf": real_pdf()[:40]}))
    report = check_paths([item], profile=profile, workers=0).to_dict()
    results_ = report["items"][0]["results"]
    assert {r["status"] for r in results_ if r["code"] == "3-2"} == {"warn"}
    assert [r["status"] for r in results_ if r["code"] == "4-1"] == ["not_applicable"]
