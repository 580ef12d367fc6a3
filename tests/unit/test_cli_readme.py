"""Every ``lantai …`` command the README names is one ``lantai --help`` (and its group's help) lists.

Commands are registered directly (``lantai/cli/main.py``): a module that fails to import breaks
the CLI rather than dropping a command silently, and this test catches a README that names a
command the CLI no longer has.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lantai.cli.main import app

README = Path(__file__).resolve().parents[2] / "README.md"
# ``lantai WORD [WORD]`` inside a fenced block or a `code span`; arguments (电子文件号, paths) are not words.
INVOCATION = re.compile(r"(?:^|&&|`)\s*lantai((?:\s+[a-z][a-z0-9-]*){1,2})", re.M)
LISTED = re.compile(r"^│ ([a-z][a-z0-9-]*) {2,}", re.M)


def _code(text: str) -> list[str]:
    """The README's code: lines of fenced blocks and inline spans, where commands are written."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    return lines + [f"`{span}" for span in re.findall(r"`([^`\n]+)`", re.sub(r"^```.*?^```", "", text, flags=re.M | re.S))]


def readme_invocations() -> list[tuple[str, ...]]:
    found = {tuple(m.group(1).split()) for line in _code(README.read_text(encoding="utf-8"))
             for m in INVOCATION.finditer(line)}
    return sorted(found)


def _listed(*path: str) -> set[str]:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0, result.output
    return set(LISTED.findall(result.output))


def test_the_readme_names_commands() -> None:
    names = {words[0] for words in readme_invocations()}
    assert {"init", "ingest", "audit", "search", "demo", "serve"} <= names


@pytest.mark.parametrize("words", readme_invocations(), ids=" ".join)
def test_readme_command_is_in_the_help(words: tuple[str, ...]) -> None:
    top = words[0]
    assert top in _listed(), f"`lantai {top}` is in the README but not in `lantai --help`"
    command = typer.main.get_command(app).commands[top]  # type: ignore[attr-defined]
    if len(words) > 1 and getattr(command, "commands", None):  # a group with subcommands
        assert words[1] in _listed(top), f"`lantai {top} {words[1]}` is in the README but not in `lantai {top} --help`"
