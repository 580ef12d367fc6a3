"""At run time, over a real ingest with the default profile and a real clamd: every finding code is
registered, and no English message carries Chinese prose (issue 16 point 2).

The ingest takes demo 公文 with planted defects, every file of the hostile corpus
(../shared/corpus/archivematica-sampledata: broken, EICAR, password-protected, bad names) wrapped
as an item, and a few structurally broken items. Names and values are data and may be Chinese in
an English message (a file called 正文.pdf is called that in every language); they are removed
before the check, so what remains is the message's own prose.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from lantai.checks.ingest import REPORT_PATH
from lantai.checks.registry import TEXT_PARAMS, has_cjk, load_registry
from lantai.domain.metadata.messages import MESSAGES
from lantai.domain.metadata.registry import ELEMENTS
from tests.sipfactory import SipSpec, write_item

GD_CODE = re.compile(r"^gd-(\d-\d)([a-z]*)(?:/([a-z]+))?$")


@pytest.fixture
def database_url() -> None:
    """The codes do not depend on the catalogue backend: SQLite only."""
    return None


def _hostile_items(corpus: Path, parent: Path) -> list[Path]:
    items = []
    for n, path in enumerate(sorted(p for p in corpus.rglob("*") if p.is_file())):
        spec = SipSpec(record_id=f"HOSTILE-{n:04d}", files={path.name: path.read_bytes()})
        try:
            items.append(write_item(parent, spec))
        except OSError:  # a name this file system refuses: keep the bytes under a plain name
            spec.files = {f"file{path.suffix[:8]}": path.read_bytes()}
            items.append(write_item(parent, spec, f"{spec.record_id}-renamed"))
    return items


def _broken_items(parent: Path) -> list[Path]:
    broken = [
        write_item(parent, SipSpec("BROKEN-SIZE", declared_sizes={"正文.pdf": 7})),
        write_item(parent, SipSpec("BROKEN-EXTRA", extra_files={"备注.txt": "多余".encode()})),
        write_item(parent, SipSpec("BROKEN-EMPTY", files={"正文.pdf": b""})),
        write_item(parent, SipSpec("BROKEN-DATE", date="2025-13-45")),
    ]
    traversal = write_item(parent, SipSpec("BROKEN-PATH"))
    xml = (traversal / "元数据.xml").read_text(encoding="utf-8").replace(">正文.pdf<", ">../正文.pdf<")
    (traversal / "元数据.xml").write_text(xml, encoding="utf-8")
    not_xml = write_item(parent, SipSpec("BROKEN-XML"))
    (not_xml / "元数据.xml").write_bytes(b"<\xe6\x96\x87\xe4\xbb\xb6 unclosed")
    return [*broken, traversal, not_xml]


def _vocabulary(roots: list[Path]) -> list[str]:
    """Every name and value the items carry: file names, element names, metadata text."""
    words = {e.name_zh for e in ELEMENTS}
    for root in roots:
        for path in root.rglob("*"):
            words.update(part for part in path.relative_to(root).parts)
            if path.name.endswith(".xml"):
                try:
                    tree = etree.parse(str(path))
                except etree.XMLSyntaxError:
                    continue
                words.update(etree.QName(e).localname for e in tree.iter() if isinstance(e.tag, str))
                words.update((e.text or "").strip() for e in tree.iter() if isinstance(e.tag, str))
    return sorted((w for w in words if w), key=len, reverse=True)


def _prose(message: str, data: list[str]) -> str:
    for word in data:
        message = message.replace(word, "")
    return message


def _values(params: Any) -> list[str]:
    if isinstance(params, dict):
        return [v for key, value in params.items() if key not in TEXT_PARAMS
                for v in _values(value)]
    if isinstance(params, list | tuple):
        return [v for value in params for v in _values(value)]
    return [str(params)] if params is not None else []


def _registered(code: str) -> bool:
    registry = load_registry()
    if code in registry.findings or code in MESSAGES:
        return True
    match = GD_CODE.match(code)
    if not match:
        return False
    target, letter, generic = match.groups()
    if generic:
        return generic in registry.generic
    return (f"{target}{letter}" in registry.rules) if letter else ("gd", target) in registry.targets


def test_every_code_of_a_real_ingest_is_registered_and_english_is_english(archive, corpus_dir: Path,
                                                                          tmp_path: Path) -> None:
    from lantai.demo.generate import generate
    from lantai.services.ingest import ingest_paths

    batch = tmp_path / "batch"
    generate(batch, year=2025, items=10, seed=16, defect_rate=0.6, workers=2)
    hostile = _hostile_items(corpus_dir / "archivematica-sampledata" / "files", tmp_path / "hostile")
    broken = _broken_items(tmp_path / "broken")
    report = ingest_paths(archive, [batch, *hostile, *broken])
    data = _vocabulary([batch, tmp_path / "hostile", tmp_path / "broken"])

    findings = [f for item in report.items for f in item.findings]
    codes = {f.code for f in findings}
    assert {"size_mismatch", "metadata_xml", "unsafe_file_name"} & codes or any(c.startswith("gd-") for c in codes)
    assert len(codes) >= 10, sorted(codes)  # the ingest exercised many rules, not one
    assert not sorted(c for c in codes if not _registered(c))
    english = [(f.code, f.message_en) for f in findings
               if not f.message_en or has_cjk(_prose(f.message_en, [f.element, *_values(f.params), *data]))]
    assert not english, english[:10]

    results = 0
    for item in report.items:
        if item.status != "accepted":
            continue
        stored = json.loads(archive.store.read_bytes(item.record_id, REPORT_PATH))
        for checked in stored["items"]:
            for result in checked["results"]:
                results += 1
                prose = _prose(result["message_en"], [result.get("file") or "", *_values(result["details"]), *data])
                assert result["message_en"] and not has_cjk(prose), (result["rule"], result["message_en"])
    assert results > 100
