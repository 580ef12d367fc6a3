"""Fixity verification names every kind of damage: changed bytes, missing and extra files, a
tampered inventory; and it passes an intact store."""

from __future__ import annotations

from pathlib import Path

from lantai.services.archive import Archive
from lantai.services.fixity import verify_fixity
from lantai.services.ingest import ingest_paths
from tests.sipfactory import specs, write_batch


def _problems(archive: Archive, algorithm: str = "sm3") -> set[tuple[str, str, str]]:
    return {(p["object"], p["file"], p["problem"]) for p in verify_fixity(archive, algorithm=algorithm).problems}


def test_each_kind_of_damage_is_named(archive: Archive, tmp_path: Path) -> None:
    assert ingest_paths(archive, [write_batch(tmp_path, specs(4))]).ok
    report = verify_fixity(archive)
    assert report.ok and report.objects == 4 and report.files >= 4 * 5
    ids = sorted(archive.store.iter_object_ids())
    base = [archive.store.object_path(i) for i in ids]
    (base[0] / "v1/content/content/正文.pdf").write_bytes(b"changed")
    (base[1] / "v1/content/content/附件/附件1.xlsx").unlink()
    (base[2] / "v1/content/content/extra.bin").write_bytes(b"x")
    inventory = base[3] / "inventory.json"
    inventory.write_text(inventory.read_text(encoding="utf-8").replace("接收归档", "篡改"), encoding="utf-8")
    assert _problems(archive) == {
        (ids[0], "v1/content/content/正文.pdf", "digest_mismatch"),
        (ids[1], "v1/content/content/附件/附件1.xlsx", "missing"),
        (ids[2], "v1/content/content/extra.bin", "extra"),
        (ids[3], "inventory.json", "inventory_digest"),
    }
    assert (ids[0], "v1/content/content/正文.pdf", "digest_mismatch") in _problems(archive, "sha512")
