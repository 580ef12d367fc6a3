"""Every error class has one HTTP status and one CLI exit code, and every interface shows it alike.

The classes are found by importing every Lantai module and walking ``LantaiError``'s subclasses,
so an error class added anywhere is covered without editing this file.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from collections.abc import Iterator

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import lantai
from lantai import errors
from lantai.api.errors import install
from lantai.cli.common import JsonOption, handle_errors


def _subclasses(cls: type[errors.LantaiError]) -> Iterator[type[errors.LantaiError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


def _every_error_class() -> list[type[errors.LantaiError]]:
    for module in pkgutil.walk_packages(lantai.__path__, "lantai."):
        if ".migrations" not in module.name:  # Alembic's env.py runs migrations when imported
            importlib.import_module(module.name)
    return sorted(set(_subclasses(errors.LantaiError)), key=lambda c: (c.__module__, c.__qualname__))


ERROR_CLASSES = _every_error_class()


def test_the_walk_finds_errors_outside_the_tree_module() -> None:
    names = {c.__name__ for c in ERROR_CLASSES}
    assert {"Unauthenticated", "Throttled", "FixityMismatch", "OfdPageNotFound", "ExtractionFailed"} <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_declares_a_status_an_exit_code_and_its_own_code(cls: type[errors.LantaiError]) -> None:
    assert isinstance(cls.http_status, int) and 400 <= cls.http_status <= 599
    assert cls.exit_code in (1, 2)  # 0 is success; 1 findings; 2 bad input, usage or a failure to run
    assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.code)
    if "code" in vars(cls):  # a class that names its own code is the only one to (others refine their parent)
        owners = [c.__name__ for c in ERROR_CLASSES if "code" in vars(c) and c.code == cls.code]
        assert owners == [cls.__name__], f"code {cls.code!r} declared by {owners}"


def test_the_tree_drawn_in_the_docstring_is_the_one_declared() -> None:
    drawn = re.findall(r"(\w+)\s.*HTTP (\d{3}), exit (\d)$", errors.__doc__ or "", re.M)
    assert len(drawn) == len({c for c in ERROR_CLASSES if c.__module__ == "lantai.errors"})
    for name, status, exit_code in drawn:
        cls = getattr(errors, name)
        assert (cls.http_status, cls.exit_code) == (int(status), int(exit_code)), name


def _api_answer(exc: errors.LantaiError) -> tuple[int, dict]:
    app = FastAPI()
    install(app)

    @app.get("/api/v1/fail")
    def fail() -> None:
        raise exc

    response = TestClient(app).get("/api/v1/fail")
    return response.status_code, response.json()


def _cli_answer(exc: errors.LantaiError) -> tuple[int, dict]:
    app = typer.Typer()

    @app.command()
    @handle_errors
    def fail(as_json: JsonOption = False) -> None:
        raise exc

    result = CliRunner().invoke(app, ["--json"])
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_api_and_cli_answer_with_the_declared_status_exit_code_and_one_shape(cls: type[errors.LantaiError]) -> None:
    exc = cls.__new__(cls)  # whatever the subclass's own constructor takes, the base fills the shape
    errors.LantaiError.__init__(exc, "档号重复", "duplicate archival code", record_id="Z109-WS-2025-00001")
    status, body = _api_answer(exc)
    exit_code, printed = _cli_answer(exc)
    assert (status, exit_code) == (cls.http_status, cls.exit_code)
    assert body == printed == {"code": cls.code, "message": "档号重复", "message_en": "duplicate archival code",
                               "details": {"record_id": "Z109-WS-2025-00001"}}


def test_http_level_errors_have_the_same_shape() -> None:
    app = FastAPI()
    install(app)

    @app.get("/api/v1/n/{n}")
    def number(n: int) -> int:
        return n

    client = TestClient(app)
    unknown, invalid = client.get("/api/v1/nowhere"), client.get("/api/v1/n/abc")
    assert unknown.status_code == 404 and set(unknown.json()) == {"code", "message", "message_en", "details"}
    assert unknown.json()["message"] == "资源不存在" and unknown.json()["message_en"] == "not found"
    assert invalid.status_code == 422 and invalid.json()["code"] == "bad_input" and invalid.json()["details"]["errors"]
