"""Pure parts of backup and carriers: the passphrase bundle, volume sizes, check due dates, destinations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lantai.crypto import bundle
from lantai.domain import carriers
from lantai.errors import BadInput
from lantai.storage.backup_target import open_backup_target


def test_bundle_round_trip_and_every_tamper_is_refused() -> None:
    payload = {"keys": {"signing.key": {"mode": 384, "data": "QUJD"}}, "users": [{"username": "张三"}]}
    sealed = bundle.seal(payload, "a-long-passphrase")
    assert bundle.open_sealed(sealed, "a-long-passphrase") == payload
    assert bundle.describe(sealed)["cipher"] == "SM4-GCM" and b"QUJD" not in sealed
    with pytest.raises(bundle.WrongPassphrase):
        bundle.open_sealed(sealed, "another-passphrase")
    head, _sep, body = sealed.partition(b"\n")
    flipped = head + b"\n" + bytes([body[0] ^ 1]) + body[1:]
    with pytest.raises(bundle.WrongPassphrase):
        bundle.open_sealed(flipped, "a-long-passphrase")
    with pytest.raises(bundle.WrongPassphrase):  # the header is authenticated too (associated data)
        bundle.open_sealed(sealed.replace(b'"p": 1', b'"p": 2'), "a-long-passphrase")
    with pytest.raises(BadInput):
        bundle.seal(payload, "short")


@pytest.mark.parametrize(("text", "size"), [("25GB", 25 * 10**9), ("100 GB", 10**11), ("700M", 7 * 10**8),
                                            ("4GiB", 4 * 2**30), ("2000000", 2_000_000)])
def test_volume_sizes(text: str, size: int) -> None:
    assert carriers.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "25 furlongs", "-3GB", "10"])
def test_bad_volume_sizes_are_refused(text: str) -> None:
    with pytest.raises(BadInput):
        carriers.parse_size(text)


def test_next_check_and_due() -> None:
    due = carriers.next_check_due(dt.date(2025, 1, 10), 365)
    assert due == dt.date(2026, 1, 10)
    assert carriers.is_due(due, dt.date(2026, 1, 10)) and not carriers.is_due(due, dt.date(2026, 1, 9))
    with pytest.raises(BadInput):
        carriers.check_location("库房")


def test_destinations(tmp_path: Path) -> None:
    assert open_backup_target(str(tmp_path)).root == tmp_path
    assert open_backup_target(tmp_path.as_uri()).root == tmp_path
    s3 = open_backup_target("s3://bucket/prefix/more")  # nothing contacted until used
    assert s3.url == "s3://bucket/prefix/more" and not s3.renames and not s3.inside(tmp_path)
    assert s3.backend.bucket == "bucket" and s3.backend.prefix == "prefix/more"
    with pytest.raises(BadInput, match="bucket"):
        open_backup_target("s3:///prefix")
    with pytest.raises(BadInput):
        open_backup_target("ftp://host/x")
    target = open_backup_target(str(tmp_path))
    with pytest.raises(BadInput):
        target.path("../outside")
