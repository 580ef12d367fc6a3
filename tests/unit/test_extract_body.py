"""Search text is extracted once per 文档: its renditions (正本.ofd and 正本.pdf of a demo 公文) hold
the same text, so the cheapest one that yields text is read and the others are not (issue 16
point 7: the PDF rendition cost about 10 ms of pypdf per item for text already indexed)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lantai.domain import metadata as md
from lantai.services.search_index import extract_body


@dataclass
class Staged:
    path: Path
    size: int


@pytest.fixture(scope="module")
def item(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lantai.demo.generate import generate

    out = tmp_path_factory.mktemp("demo") / "batch"
    generate(out, year=2025, items=1, seed=3, workers=1)
    return next(p for p in out.iterdir() if p.is_dir())


def _body(item: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    from lantai.services import search_index

    read: list[str] = []
    original = search_index.extract_text
    monkeypatch.setattr(search_index, "extract_text", lambda path, **kw: read.append(Path(path).name) or original(path, **kw))
    record = md.parse_record_xml((item / "元数据.xml").read_bytes())
    staged = {p.name: Staged(p, p.stat().st_size) for p in item.iterdir() if p.suffix != ".xml"
              and not p.name.startswith("manifest")}
    return extract_body(staged, record), read


def test_one_rendition_of_a_document_is_read(item: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body, read = _body(item, monkeypatch)
    assert "正本.ofd" in read and "正本.pdf" not in read
    assert "公文处理单.pdf" in read  # another 文档: read too
    assert body.strip()


def test_the_next_rendition_is_read_when_the_first_yields_no_text(item: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    copy = tmp_path / item.name
    shutil.copytree(item, copy)
    (copy / "正本.ofd").write_bytes(b"not an OFD")
    body, read = _body(copy, monkeypatch)
    assert read.index("正本.ofd") < read.index("正本.pdf") and body.strip()
