"""Layers as DESIGN.md draws them, checked over the import graph and the code.

* The import contracts live in ``pyproject.toml`` (``[tool.importlinter]``) and are run here with
  import-linter: domain imports nothing of Lantai but the error tree; checks do not import services;
  web, api and cli call services (and use domain types, errors and settings); web and api do not import
  each other; the demo does not import the interfaces. Function-level imports count.
* Only ``storage/`` knows the store's layout: no other module names an OCFL layout file.

Known violations are listed with their issue, in pyproject.toml and in :data:`LAYOUT_ALLOWED` below,
so they can only shrink: import-linter fails on an ignored import that no longer exists, and so does
this test on an allowed file that no longer names the layout.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from importlinter import cli

REPO = Path(__file__).resolve().parents[2]
LANTAI = REPO / "lantai"

# File names of an OCFL 1.1 storage root and object (namaste declarations, inventories and their
# sidecars, the layout extension), which only lantai/storage/ may spell out.
LAYOUT_NAMES = re.compile(r"(^|/)(0=ocfl|inventory\.json|ocfl_layout\.json|extensions/)")
LAYOUT_ALLOWED: set[str] = set()


def _layout_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and LAYOUT_NAMES.search(node.value)
            and not _is_docstring(node, tree)]


def _is_docstring(node: ast.Constant, tree: ast.Module) -> bool:
    return any(isinstance(parent, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
               and parent.body and isinstance(parent.body[0], ast.Expr) and parent.body[0].value is node
               for parent in ast.walk(tree))


def test_only_storage_knows_the_store_layout() -> None:
    found = {str(p.relative_to(REPO)): hits for p in sorted(LANTAI.rglob("*.py"))
             if not p.is_relative_to(LANTAI / "storage") and (hits := _layout_literals(p))}
    assert set(found) - LAYOUT_ALLOWED == set(), {k: v for k, v in found.items() if k not in LAYOUT_ALLOWED}
    assert LAYOUT_ALLOWED - set(found) == set(), "allowed but clean now: remove from LAYOUT_ALLOWED"


def test_the_layout_rule_sees_a_violation(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text('"""Reads inventory.json (a docstring may say so)."""\nPATH = base / "inventory.json"\n',
                      encoding="utf-8")
    assert _layout_literals(module) == [(2, "inventory.json")]


def test_import_contracts_hold() -> None:
    """import-linter over pyproject.toml's contracts; its report names each broken import and line."""
    assert cli.lint_imports(config_filename=str(REPO / "pyproject.toml"), no_cache=True) == cli.EXIT_STATUS_SUCCESS
