"""Cheap reads ingest makes before staging: the inline-data test and the metadata-only read."""

from __future__ import annotations

import base64
import os
import zipfile
from pathlib import Path

import pytest

from lantai.errors import PackageError, UnsafeInput
from lantai.packages import sip
from lantai.packages.inline_data import extract_inline_data, has_inline_data_element, strip_inline_data
from tests.sipfactory import SipSpec, metadata_xml, write_item

DESCRIPTION = '<编码描述>本封装包中"编码数据"元素存储的是计算机文件二进制流的Base64编码</编码描述>'


@pytest.mark.parametrize("xml", [
    '<编码><编码数据>QQ==</编码数据></编码>',
    '<e:编码 xmlns:e="x"><e:编码数据 编码数据ID="D1">QQ==</e:编码数据></e:编码>',
    '<编码><编码数据/></编码>',
    '<编码><编码数据\n>QQ==</编码数据></编码>',
])
def test_an_inline_data_element_is_seen_in_any_spelling(xml: str) -> None:
    assert has_inline_data_element(xml.encode())


@pytest.mark.parametrize("xml", [
    f'<?xml version="1.0" encoding="UTF-8"?><编码>{DESCRIPTION}</编码>',
    '<编码><编码数据描述>x</编码数据描述></编码>',
    "<编码><!-- 编码数据 --></编码>",
])
def test_the_word_alone_is_not_an_inline_data_element(xml: str) -> None:
    assert not has_inline_data_element(xml.encode())


def test_metadata_not_in_utf8_is_always_parsed() -> None:
    gb = '<?xml version="1.0" encoding="GB18030"?><编码><编码数据>QQ==</编码数据></编码>'.encode("gb18030")
    assert has_inline_data_element(gb)
    assert has_inline_data_element("<编码/>".encode("utf-16"))


def test_standard_description_text_takes_the_fast_path_unchanged(tmp_path: Path) -> None:
    data = metadata_xml(SipSpec("R-1", files={"正文.pdf": b"%PDF-1.7\n"}))
    assert "编码数据".encode() in data  # the 编码描述 text names the element
    assert extract_inline_data("R-1", data, tmp_path) == (data, {})
    assert strip_inline_data("R-1", data) is data


def test_inline_data_is_still_extracted(tmp_path: Path) -> None:
    data = metadata_xml(SipSpec("R-2", files={"正文.pdf": b"%PDF-1.7\nbody"}, inline={"正文.pdf"}))
    stripped, files = extract_inline_data("R-2", data, tmp_path / "inline")
    assert files["正文.pdf"].read_bytes() == b"%PDF-1.7\nbody"
    assert base64.b64encode(b"%PDF-1.7\nbody") in data
    assert base64.b64encode(b"%PDF-1.7\nbody") not in stripped


def test_read_metadata_of_a_directory_item(tmp_path: Path) -> None:
    spec = SipSpec("R-3", files={"正文.pdf": b"%PDF-1.7\n"})
    item = write_item(tmp_path, spec)
    assert sip.read_metadata(item) == (item / sip.METADATA_NAME).read_bytes()


def test_read_metadata_of_a_zip_item(tmp_path: Path) -> None:
    item = write_item(tmp_path, SipSpec("R-4", files={"正文.pdf": b"%PDF-1.7\n"}))
    archive = tmp_path / "r4.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in item.rglob("*"):
            zf.write(path, path.relative_to(item).as_posix())
    assert sip.read_metadata(archive) == (item / sip.METADATA_NAME).read_bytes()


def test_read_metadata_refuses_what_open_item_refuses(tmp_path: Path) -> None:
    item = write_item(tmp_path, SipSpec("R-5", files={"正文.pdf": b"%PDF-1.7\n"}))
    metadata = item / sip.METADATA_NAME
    real = tmp_path / "elsewhere.xml"
    metadata.rename(real)
    with pytest.raises(PackageError, match="缺少"):
        sip.read_metadata(item)
    os.symlink(real, metadata)
    with pytest.raises(UnsafeInput, match="符号链接"):
        sip.read_metadata(item)
    metadata.unlink()
    metadata.mkdir()
    with pytest.raises(PackageError, match="不是普通文件"):
        sip.read_metadata(item)
    metadata.rmdir()
    real.rename(metadata)
    with pytest.raises(PackageError, match="过大"):
        sip.read_metadata(item, sip.SipLimits(max_metadata_bytes=10))
