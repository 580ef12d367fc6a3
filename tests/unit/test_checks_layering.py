"""``lantai.checks`` is check logic plus its registry (DESIGN.md layering): it never imports the
services, the catalogue or the interfaces above them — recording runs and knowing the archive is
:mod:`lantai.services.item_checks`'s work. Function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import lantai.checks

FORBIDDEN = ("lantai.services", "lantai.catalog", "lantai.api", "lantai.web", "lantai.cli", "lantai.jobs")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_checks_import_nothing_above_them() -> None:
    root = Path(lantai.checks.__file__).parent
    offending = {f"{path.relative_to(root)}: {name}" for path in root.rglob("*.py")
                 for name in imported_modules(path) if name.startswith(FORBIDDEN)}
    assert not offending, sorted(offending)


def test_the_scan_sees_function_level_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from lantai.services.fixity import verify_fixity\n", encoding="utf-8")
    assert imported_modules(sample) == {"lantai.services.fixity"}
