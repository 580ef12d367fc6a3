"""Every kind of bit rot and loss in the store (and between store and catalogue) makes
``lantai verify`` exit 1 naming the damaged object — the cases of issue 17, one table.

Each case damages one object of an archive of three (one of them at v2), runs ``lantai verify
--json`` in process, then puts the object back from a copy, so one archive serves every case.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from lantai.catalog.models import Item
from lantai.cli.main import app
from lantai.services.archive import Archive
from lantai.services.catalogue import upsert_item
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch

V1, V2 = "Z109-WS-2025-00001", "Z109-WS-2025-00002"  # V2 has two versions


def _flip_hex(path: Path) -> None:
    """Change one hex digit somewhere in the middle of a text file (a single-character bit rot)."""
    text = path.read_text(encoding="utf-8")
    for i in range(len(text) // 2, len(text)):
        if text[i] in "0123456789abcdef":
            path.write_text(text[:i] + ("1" if text[i] != "1" else "2") + text[i + 1:], encoding="utf-8")
            return
    raise AssertionError("no hex digit")


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_inventory(path: Path, change: Callable[[dict], None]) -> None:
    """Edit an inventory *and* recompute its sidecar: damage only comparison with others catches."""
    inventory = json.loads(path.read_bytes())
    change(inventory)
    data = json.dumps(inventory, ensure_ascii=False, indent=2, sort_keys=True).encode()
    path.write_bytes(data)
    path.with_name("inventory.json.sha512").write_text(f"{hashlib.sha512(data).hexdigest()}  inventory.json\n")


def _first_content(o: Path, version: str = "v1") -> Path:
    return next(p for p in sorted((o / version / "content").rglob("*")) if p.is_file())


def _replace_with_dir(path: Path) -> None:
    path.unlink()
    os.mkdir(path)


def _move_object(o: Path) -> None:
    shutil.move(o, o.parent / "Z109-WS-2025-99999")


def _set_state_digest(inventory: dict) -> None:
    state = inventory["versions"][inventory["head"]]["state"]
    digest = next(iter(state))
    state["0" * 128] = state.pop(digest)


# (case, object damaged, damage to its directory O)
STORE_CASES: list[tuple[str, str, Callable[[Path], None]]] = [
    ("root inventory: '[' written over its start", V1,
     lambda o: (o / "inventory.json").open("r+b").write(b"[")),
    ("root inventory deleted", V1, lambda o: (o / "inventory.json").unlink()),
    ("root inventory truncated to 0 bytes", V1, lambda o: (o / "inventory.json").write_bytes(b"")),
    ("root inventory one hex digit changed", V1, lambda o: _flip_hex(o / "inventory.json")),
    ("root sidecar deleted", V1, lambda o: (o / "inventory.json.sha512").unlink()),
    ("root sidecar one hex digit changed", V1, lambda o: _flip_hex(o / "inventory.json.sha512")),
    ("root inventory edited with a matching sidecar", V1,
     lambda o: _rewrite_inventory(o / "inventory.json", lambda i: i["versions"]["v1"].update(message="x"))),
    ("root inventory names another id (sidecar recomputed)", V1,
     lambda o: _rewrite_inventory(o / "inventory.json", lambda i: i.update(id="Z109-WS-2025-00003"))),
    ("root inventory state names content not in manifest", V1,
     lambda o: _rewrite_inventory(o / "inventory.json", _set_state_digest)),
    ("root inventory content path escapes the object", V1,
     lambda o: _rewrite_inventory(o / "inventory.json",
                                  lambda i: i["manifest"].update({"f" * 128: ["../../../../etc/passwd"]}))),
    ("declaration deleted", V1, lambda o: (o / "0=ocfl_object_1.1").unlink()),
    ("declaration content changed", V1, lambda o: (o / "0=ocfl_object_1.1").write_text("ocfl_object_1.0\n")),
    ("object directory deleted", V1, lambda o: shutil.rmtree(o)),
    ("object directory moved to another name", V1, _move_object),
    ("v1/inventory.json one hex digit changed", V1, lambda o: _flip_hex(o / "v1/inventory.json")),
    ("v1/inventory.json.sha512 one hex digit changed", V1, lambda o: _flip_hex(o / "v1/inventory.json.sha512")),
    ("v1/inventory.json deleted", V1, lambda o: (o / "v1/inventory.json").unlink()),
    ("v1/inventory.json.sha512 deleted", V1, lambda o: (o / "v1/inventory.json.sha512").unlink()),
    ("v1/inventory.json edited with a matching sidecar", V1,
     lambda o: _rewrite_inventory(o / "v1/inventory.json", lambda i: i["versions"]["v1"].update(message="x"))),
    ("v2/inventory.json one hex digit changed (head)", V2, lambda o: _flip_hex(o / "v2/inventory.json")),
    ("v2/inventory.json.sha512 changed (head)", V2, lambda o: _flip_hex(o / "v2/inventory.json.sha512")),
    ("v2/inventory.json edited with a matching sidecar (head)", V2,
     lambda o: _rewrite_inventory(o / "v2/inventory.json", lambda i: i["versions"]["v2"].update(message="x"))),
    ("v1/inventory.json of a two-version object edited (sidecar recomputed)", V2,
     lambda o: _rewrite_inventory(o / "v1/inventory.json", lambda i: i["versions"]["v1"].update(created="1999"))),
    ("root rolled back to v1 (v1 inventory copied over root)", V2,
     lambda o: [shutil.copyfile(o / "v1" / n, o / n) for n in ("inventory.json", "inventory.json.sha512")]),
    ("v2 directory deleted", V2, lambda o: shutil.rmtree(o / "v2")),
    ("extra v3 directory", V2, lambda o: shutil.copytree(o / "v2", o / "v3")),
    ("content file one byte flipped", V1, lambda o: _flip_byte(_first_content(o))),
    ("content file deleted", V1, lambda o: _first_content(o).unlink()),
    ("content file truncated", V1, lambda o: _first_content(o).write_bytes(b"")),
    ("content file replaced by a directory", V1, lambda o: _replace_with_dir(_first_content(o))),
    ("extra file in content", V1, lambda o: (o / "v1/content/content/extra.bin").write_bytes(b"x")),
    ("metadata XML edited", V1, lambda o: _flip_byte(o / "v1/content/metadata/元数据.xml")),
    ("content file of v2 flipped", V2, lambda o: _flip_byte(_first_content(o, "v2"))),
    ("v1 content directory deleted", V1, lambda o: shutil.rmtree(o / "v1/content")),
    ("extra file at the object root", V1, lambda o: (o / "notes.txt").write_text("x")),
]


def _uncatalogue(archive: Archive, record_id: str) -> None:
    with archive.session() as session:
        session.execute(delete(Item).where(Item.record_id == record_id))


def _stale_version(archive: Archive, record_id: str) -> None:
    with archive.session() as session:
        session.execute(update(Item).where(Item.record_id == record_id).values(ocfl_version=7))


CATALOGUE_CASES: list[tuple[str, str, Callable[[Archive, str], None]]] = [
    ("object not catalogued (row deleted)", V1, _uncatalogue),
    ("catalogue names a version the store lacks", V2, _stale_version),
]


@pytest.fixture
def damaged_archive(archive: Archive, tmp_path: Path) -> Archive:
    assert ingest_paths(archive, [write_batch(tmp_path, specs(3))]).ok
    builder = archive.store.begin_version(V2)
    builder.add_bytes("lantai/note.json", b'{"note": "second version"}')
    archive.store.commit(builder.prepare(message="test v2", user_name="test"))
    with archive.session() as session:
        upsert_item(session, archive.store, V2)
    return archive


def _verify(settings: Settings) -> tuple[int, dict]:
    result = CliRunner().invoke(app, ["verify", "--json"], env=cli_env(settings))
    return result.exit_code, json.loads(result.stdout)


def test_every_damage_case_is_detected_and_named(damaged_archive: Archive, settings: Settings,
                                                 tmp_path: Path) -> None:
    archive = damaged_archive
    code, report = _verify(settings)
    assert code == 0 and report["ok"] and report["objects"] == 3, report["problems"]
    backup = tmp_path / "backup"
    missed: list[str] = []
    for name, record_id, damage in STORE_CASES:
        objdir = archive.store.object_path(record_id)
        shutil.copytree(objdir, backup)
        damage(objdir)
        code, report = _verify(settings)
        if code != 1 or record_id not in {p["object"] for p in report["problems"]}:
            missed.append(f"{name}: exit {code}, {report['problems']}")
        for moved in objdir.parent.iterdir():
            shutil.rmtree(moved)
        shutil.move(backup, objdir)
    for name, record_id, damage in CATALOGUE_CASES:
        damage(archive, record_id)
        code, report = _verify(settings)
        if code != 1 or record_id not in {p["object"] for p in report["problems"]}:
            missed.append(f"{name}: exit {code}, {report['problems']}")
        with archive.session() as session:
            upsert_item(session, archive.store, record_id)
    total = len(STORE_CASES) + len(CATALOGUE_CASES)
    print(f"\ndamage cases detected: {total - len(missed)}/{total}")
    assert not missed, "\n".join(missed)
    assert _verify(settings)[0] == 0  # every repair put the archive back as it was


def test_verify_names_a_catalogued_item_whose_object_is_gone(damaged_archive: Archive, settings: Settings) -> None:
    shutil.rmtree(damaged_archive.store.object_path(V1))
    code, report = _verify(settings)
    assert code == 1 and report["objects"] == 2
    assert {(p["object"], p["problem"]) for p in report["problems"]} == {(V1, "object_missing")}
    with damaged_archive.sessions() as session:
        assert V1 in set(session.scalars(select(Item.record_id)))
