"""materialise_sip: an EEP is verified and extracted, a bag validated, a SIP passed through."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.crypto.keystore import init_keystore
from lantai.errors import PackageError
from lantai.packages.adapters import materialise_sip
from lantai.packages.bag import make_bag
from lantai.packages.eep import Signer, build_eep
from tests.sipfactory import SipSpec, write_item


@pytest.fixture
def keystore(tmp_path: Path):  # type: ignore[no-untyped-def]
    return init_keystore(tmp_path / "keys", "测试档案馆")


@pytest.fixture
def item(tmp_path: Path) -> Path:
    return write_item(tmp_path / "sips", SipSpec(record_id="Z109-WS-2025-00001"))


def test_plain_sip_is_left_alone(tmp_path: Path, item: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    assert materialise_sip(item, tmp_path / "work", keystore) is None


def test_eep_is_extracted_byte_identical(tmp_path: Path, item: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    package = build_eep(item, tmp_path / "item.eep", Signer.from_keystore(keystore))
    sip = materialise_sip(package, tmp_path / "work", keystore)
    assert sip is not None and sip.name == "item" and sip.is_relative_to(tmp_path / "work")
    for name in ("元数据.xml", "正文.pdf"):
        assert (sip / name).read_bytes() == (item / name).read_bytes()


def test_tampered_eep_is_refused_and_leaves_nothing(tmp_path: Path, item: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    package = build_eep(item, tmp_path / "item.eep", Signer.from_keystore(keystore))
    data = package.read_bytes()
    at = data.index("<题名>".encode()) + len("<题名>".encode())
    package.write_bytes(data[:at] + "伪".encode() + data[at + 3:])
    with pytest.raises(PackageError) as caught:
        materialise_sip(package, tmp_path / "work", keystore)
    assert "item.eep" in caught.value.message_zh and caught.value.details["findings"]
    assert not any((tmp_path / "work").iterdir())


def test_eep_from_an_untrusted_signer_is_refused(tmp_path: Path, item: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    other = init_keystore(tmp_path / "other-keys", "别的单位")
    package = build_eep(item, tmp_path / "item.eep", Signer.from_keystore(other))
    with pytest.raises(PackageError) as caught:
        materialise_sip(package, tmp_path / "work", keystore)
    assert "cert-untrusted" in {f.code for f in caught.value.details["findings"]}


def test_bag_yields_its_item_in_place(tmp_path: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    bag = tmp_path / "bag"
    write_item(bag, SipSpec(record_id="Z109-WS-2025-00002"))
    make_bag(bag, {"Source-Organization": "测试"})
    sip = materialise_sip(bag, tmp_path / "work", keystore)
    assert sip == bag / "data" / "Z109-WS-2025-00002"
    assert (bag / "bagit.txt").read_text().startswith("BagIt-Version: 1.0")


def test_corrupt_bag_is_refused(tmp_path: Path, keystore) -> None:  # type: ignore[no-untyped-def]
    bag = tmp_path / "bag"
    item = write_item(bag, SipSpec(record_id="Z109-WS-2025-00003"))
    make_bag(bag, {})
    payload = bag / "data" / item.name / "正文.pdf"
    payload.write_bytes(payload.read_bytes()[:-1] + b"!")
    with pytest.raises(PackageError) as caught:
        materialise_sip(bag, tmp_path / "work", keystore)
    assert "bag-checksum" in {f.code for f in caught.value.details["findings"]}
