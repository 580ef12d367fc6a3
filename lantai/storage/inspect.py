"""Structural inspection of one OCFL object: everything but the content files' digests.

``verify`` and ``rebuild`` both ask it, so an object either of them trusts has passed the same
rules (OCFL 1.1 §3.1, §3.5, §3.7, §3.8):

* the declaration ``0=ocfl_object_1.1`` is present and says so (``declaration_*``);
* the root inventory is present, matches its SHA-512 sidecar and is a well-formed inventory whose
  id is the one the directory stands for (``inventory_*``);
* every version the inventory names has a directory and no other ``vN`` exists (``version_*``);
* every ``vN/inventory.json`` matches its sidecar; the newest is byte-identical to the root one
  and each earlier one agrees with the root on the versions it knew (``version_inventory_*``);
* nothing else sits at the object's root (``extra``).

Content digests, missing and extra content files are the fixity pass's business.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lantai.storage.ocfl import OcflStore

DECLARATION = "0=ocfl_object_1.1"
_ROOT_ENTRIES = {DECLARATION, "inventory.json", "inventory.json.sha512", "logs", "extensions"}
_CONTENT_PATH = re.compile(r"v[1-9]\d*/content/.+")

# problem code -> (Chinese, English) message templates; {file} is the file concerned.
MESSAGES: dict[str, tuple[str, str]] = {
    "object_missing": ("存储中没有该对象的目录", "the object's directory is missing from the store"),
    "declaration_missing": ("缺少对象声明文件 0=ocfl_object_1.1", "object declaration 0=ocfl_object_1.1 is missing"),
    "declaration_invalid": ("对象声明文件内容不正确", "object declaration has the wrong content"),
    "inventory_missing": ("缺少清单 {file}", "inventory {file} is missing"),
    "sidecar_missing": ("缺少清单摘要文件 {file}", "inventory sidecar {file} is missing"),
    "inventory_digest": ("清单 {file} 的 SHA-512 与摘要文件不符（清单被改动）",
                         "SHA-512 of {file} does not match its sidecar (the inventory was changed)"),
    "inventory_invalid": ("清单 {file} 无法解析或不合规: {detail}", "inventory {file} is unreadable or invalid: {detail}"),
    "inventory_id": ("清单中的对象标识与对象目录不符: {detail}", "inventory id does not match the object directory: {detail}"),
    "version_missing": ("清单列出的版本目录缺失: {file}", "version directory named by the inventory is missing: {file}"),
    "version_extra": ("存在清单未列出的版本目录: {file}", "version directory not named by the inventory: {file}"),
    "version_inventory_differs": ("版本清单 {file} 与根清单不一致", "version inventory {file} disagrees with the root inventory"),
    "extra": ("对象根目录中有不应存在的文件: {file}", "unexpected file at the object root: {file}"),
}


@dataclass
class StoreProblem:
    """One structural finding about an object, with the file it concerns."""

    object: str
    file: str
    problem: str
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        zh, en = MESSAGES[self.problem]
        return {"object": self.object, "file": self.file, "problem": self.problem,
                "message": zh.format(file=self.file, detail=self.detail),
                "message_en": en.format(file=self.file, detail=self.detail)}


@dataclass
class ObjectInspection:
    """What :func:`inspect_object` found: the id, the root inventory when trustworthy, problems."""

    object_id: str
    path: Path
    inventory: dict | None = None
    problems: list[StoreProblem] = field(default_factory=list)
    versions: list[str] = field(default_factory=list)  # the vN directories on disk

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, file: str, problem: str, detail: str = "") -> None:
        self.problems.append(StoreProblem(self.object_id, file, problem, detail))


def inspect_object(store: OcflStore, objdir: Path, object_id: str | None = None) -> ObjectInspection:
    """Inspect one object directory; ``object_id`` defaults to the id the directory stands for."""
    result = ObjectInspection(object_id or store.object_id_of_dir(objdir), objdir)
    entries = store.object_entries(objdir)
    if not entries and not objdir.is_dir():
        result.add("", "object_missing")
        return result
    result.versions = store.version_dirs(objdir, entries)
    _check_declaration(objdir, entries, result)
    root_bytes = _checked_inventory(store, objdir, None, result)
    if root_bytes is None:
        return result
    inventory = _parse(root_bytes, "inventory.json", result)
    if inventory is None:
        return result
    if store.object_path(str(inventory["id"])) != objdir or (object_id and inventory["id"] != object_id):
        result.add("inventory.json", "inventory_id", str(inventory["id"]))
        return result
    result.inventory = inventory
    _check_versions(store, objdir, inventory, root_bytes, result.versions, result)
    _check_root_entries(entries, result.versions, result)
    return result


def _check_declaration(objdir: Path, entries: dict[str, bool], result: ObjectInspection) -> None:
    if DECLARATION not in entries:
        result.add(DECLARATION, "declaration_missing")
        return
    try:
        text = (objdir / DECLARATION).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    if text.strip() != "ocfl_object_1.1":
        result.add(DECLARATION, "declaration_invalid")


def _checked_inventory(store: OcflStore, objdir: Path, version: str | None, result: ObjectInspection) -> bytes | None:
    """The inventory's bytes when present and matching its sidecar; otherwise a problem and None."""
    name = f"{version}/inventory.json" if version else "inventory.json"
    data, sidecar = store.inventory_with_sidecar(objdir, version)
    if data is None:
        result.add(name, "inventory_missing")
        return None
    if sidecar is None:
        result.add(f"{name}.sha512", "sidecar_missing")
        return None
    if hashlib.sha512(data).hexdigest() != sidecar:
        result.add(name, "inventory_digest")
        return None
    return data


def _parse(data: bytes, name: str, result: ObjectInspection) -> dict | None:
    try:
        inventory = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        result.add(name, "inventory_invalid", f"JSON: {exc}")
        return None
    detail = inventory_defect(inventory)
    if detail:
        result.add(name, "inventory_invalid", detail)
        return None
    return inventory


def inventory_defect(inventory: Any) -> str:
    """Why a parsed inventory cannot be used (empty when it can): the keys and references every
    reader relies on, and content paths that stay inside the object."""
    if not isinstance(inventory, dict):
        return "not an object"
    missing = [k for k in ("id", "head", "manifest", "versions") if k not in inventory]
    if missing:
        return f"missing {', '.join(missing)}"
    manifest, versions, head = inventory["manifest"], inventory["versions"], inventory["head"]
    if not isinstance(manifest, dict) or not isinstance(versions, dict) or head not in versions:
        return "head, manifest or versions malformed"
    if sorted(versions, key=_vnum) != [f"v{n}" for n in range(1, len(versions) + 1)] or _vnum(head) != len(versions):
        return "versions are not v1..head"
    for paths in manifest.values():
        if not isinstance(paths, list) or not all(isinstance(p, str) and _safe_content_path(p) for p in paths):
            return "manifest content path outside vN/content"
    for name, version in versions.items():
        state = version.get("state") if isinstance(version, dict) else None
        if not isinstance(state, dict) or any(d not in manifest for d in state):
            return f"state of {name} names content not in the manifest"
    return ""


def _vnum(name: str) -> int:
    return int(name[1:]) if re.fullmatch(r"v[1-9]\d*", str(name)) else -1


def _safe_content_path(path: str) -> bool:
    return bool(_CONTENT_PATH.fullmatch(path)) and not any(part in ("", ".", "..") for part in path.split("/"))


def _check_versions(store: OcflStore, objdir: Path, inventory: dict, root_bytes: bytes, on_disk: list[str],
                    result: ObjectInspection) -> None:
    named = sorted(inventory["versions"], key=_vnum)
    for name in named:
        if name not in on_disk:
            result.add(name, "version_missing")
            continue
        data = _checked_inventory(store, objdir, name, result)
        if data is None:
            continue
        if name == inventory["head"]:
            if data != root_bytes:
                result.add(f"{name}/inventory.json", "version_inventory_differs")
            continue
        earlier = _parse(data, f"{name}/inventory.json", result)
        if earlier is not None and not _agrees(earlier, inventory, name):
            result.add(f"{name}/inventory.json", "version_inventory_differs")
    for name in on_disk:
        if name not in inventory["versions"]:
            result.add(name, "version_extra")


def _agrees(earlier: dict, root: dict, name: str) -> bool:
    """An earlier version's inventory must be the root's history up to that version."""
    if earlier.get("id") != root["id"] or earlier.get("head") != name:
        return False
    if any(earlier["versions"].get(v) != root["versions"].get(v) for v in earlier["versions"]):
        return False
    return all(set(paths) <= set(root["manifest"].get(digest, [])) for digest, paths in earlier["manifest"].items())


def _check_root_entries(entries: dict[str, bool], versions: list[str], result: ObjectInspection) -> None:
    for name in sorted(entries):
        if name not in _ROOT_ENTRIES and name not in versions and not re.fullmatch(r"\.inventory\.json(\.sha512)?\.tmp", name):
            result.add(name, "extra")
