"""The OCFL store: conformant objects, versions never overwrite, crash repair, validator agreement."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from lantai.errors import BadInput, NotFound
from lantai.storage.ocfl import OcflStore
from tests.ocfl_validation import validate_store


@pytest.fixture
def store(tmp_path: Path) -> OcflStore:
    s = OcflStore(tmp_path / "store", tmp_path / "staging", fsync=False)
    s.initialise()
    return s


def _commit(store: OcflStore, object_id: str, files: dict[str, bytes], message: str = "m") -> int:
    builder = store.begin_version(object_id)
    for path, data in files.items():
        builder.add_stream(path, io.BytesIO(data))
    return store.commit(builder.prepare(message=message, user_name="tester"))


def test_new_object_is_valid_ocfl_with_sm3_fixity(store: OcflStore) -> None:
    assert _commit(store, "Z109-WS-2025-0001", {"content/正文.pdf": b"%PDF-1.7 body", "metadata/元数据.xml": b"<x/>"}) == 1
    inventory = store.read_inventory("Z109-WS-2025-0001")
    assert inventory["digestAlgorithm"] == "sha512"
    assert set(inventory["fixity"]) == {"sm3"}
    assert validate_store(store.root) == []


def test_second_version_keeps_first_and_deduplicates(store: OcflStore) -> None:
    _commit(store, "A", {"content/a.pdf": b"same bytes"})
    assert _commit(store, "A", {"content/b.pdf": b"same bytes", "metadata/m.xml": b"<m/>"}) == 2
    inventory = store.read_inventory("A")
    assert inventory["head"] == "v2"
    assert [p for paths in inventory["manifest"].values() for p in paths].count("v1/content/content/a.pdf") == 1
    assert not (store.object_path("A") / "v2" / "content" / "content").exists()  # no empty dirs left
    assert store.read_bytes("A", "content/b.pdf") == b"same bytes"
    assert store.read_bytes("A", "content/a.pdf", version=1) == b"same bytes"
    assert validate_store(store.root) == []


def test_unsafe_logical_paths_are_refused(store: OcflStore) -> None:
    builder = store.begin_version("A")
    for bad in ("../x", "/abs", "a//b", "a\\b", "a/./b", ""):
        with pytest.raises(BadInput):
            builder.add_stream(bad, io.BytesIO(b"x"))


def test_missing_object_is_not_found(store: OcflStore) -> None:
    with pytest.raises(NotFound):
        store.read_inventory("nope")


def test_reconcile_finishes_a_version_interrupted_before_root_inventory(store: OcflStore) -> None:
    _commit(store, "A", {"content/a.txt": b"one"})
    builder = store.begin_version("A")
    builder.add_stream("content/b.txt", io.BytesIO(b"two"))
    prepared = builder.prepare(message="m", user_name="t")
    # Simulate a crash after the version directory moved in but before the root inventory changed.
    (prepared.staging_dir / "v2").rename(store.object_path("A") / "v2")
    assert store.read_inventory("A")["head"] == "v1"
    assert store.reconcile_object("A") is True
    assert store.read_inventory("A")["head"] == "v2"
    assert store.reconcile_object("A") is False
    assert validate_store(store.root) == []


def test_validator_catches_a_flipped_byte(store: OcflStore) -> None:
    _commit(store, "A", {"content/a.txt": b"hello world"})
    target = store.object_path("A") / "v1" / "content" / "content" / "a.txt"
    target.write_bytes(b"hellO world")
    assert validate_store(store.root) != []


def test_iter_object_ids_reads_ids_from_inventories(store: OcflStore) -> None:
    for oid in ("甲-1", "B/2", "C 3"):
        _commit(store, oid, {"content/x": oid.encode()})
    assert sorted(store.iter_object_ids()) == sorted(["甲-1", "B/2", "C 3"])
    assert json.loads((store.root / "ocfl_layout.json").read_text())["extension"].startswith("0003")
