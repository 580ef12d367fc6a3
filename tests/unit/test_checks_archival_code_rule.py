"""gd 1-2f: the 档号 follows its fonds/category rule from the reference data, else the profile's rule."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from lantai.checks import loaders
from lantai.checks.profiles import load_profile
from lantai.checks.properties.authenticity import metadata_accurate
from lantai.domain.reference import parse_reference
from lantai.services.arrange import default_reference_text
from tests.sipfactory import SipSpec, write_item

DA_T_22_CODE = "Z109-WS·2025-Y-BGS-0001"  # DA/T 22-2015: fonds-category·year-retention-organisation-item
DA_T_13_CODE = "Z109-WS·2025·Y-001"  # DA/T 13-2022 不分机构: fonds-category·year·retention-item


def _subject(tmp_path: Path, code: str, reference: object = None):  # type: ignore[no-untyped-def]
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    item = write_item(base / "items", SipSpec("Z109-WS-2025-00001", files={"正文.txt": b"x"}))
    subject = loaders.load(loaders.WorkItem(loaders.SIP, str(item), reference=reference), "gd",
                           load_profile("default"), None, base / "work")
    subject.record.archival_code.text = code
    return subject


def _reference(rule: str):  # type: ignore[no-untyped-def]
    reference = parse_reference(default_reference_text())
    fonds = dataclasses.replace(reference.fonds["Z109"], scheme=("year", "retention"), code_rules=(("*", rule),))
    return dataclasses.replace(reference, fonds={"Z109": fonds})


def _rules(outcomes: list) -> set[str]:
    return {o.rule for o in outcomes if o.rule}


def test_without_reference_the_profile_rule_applies(tmp_path: Path) -> None:
    assert "1-2f" not in _rules(metadata_accurate(_subject(tmp_path, DA_T_22_CODE)))
    failed = [o for o in metadata_accurate(_subject(tmp_path, DA_T_13_CODE)) if o.rule == "1-2f"]
    assert failed and failed[0].params["rule"] == "DA/T 22-2015"


def test_fonds_rule_from_reference_data_decides(tmp_path: Path) -> None:
    reference = _reference("DA/T 13-2022 不分机构")
    assert "1-2f" not in _rules(metadata_accurate(_subject(tmp_path, DA_T_13_CODE, reference)))
    failed = [o for o in metadata_accurate(_subject(tmp_path, DA_T_22_CODE, reference)) if o.rule == "1-2f"]
    assert failed and failed[0].params["rule"] == "DA/T 13-2022 不分机构"
    assert failed[0].params["value"] == DA_T_22_CODE


def test_unknown_fonds_falls_back_to_profile_rule(tmp_path: Path) -> None:
    reference = _reference("DA/T 13-2022 不分机构")
    reference = dataclasses.replace(reference, fonds={})
    assert "1-2f" not in _rules(metadata_accurate(_subject(tmp_path, DA_T_22_CODE, reference)))
