"""Property-based run of every operation in the OpenAPI spec: no 5xx, answers match the schema.

Each operation is called as the role it is meant for (so handlers run, not only the 403 path),
with a bounded number of examples so the whole run stays well under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

from tests.api.conftest import World, build_world  # noqa: E402

CHECKS = [st_checks.not_a_server_error, st_checks.status_code_conformance, st_checks.content_type_conformance,
          st_checks.response_schema_conformance]


@pytest.fixture(scope="module")
def fuzz_world(tmp_path_factory: pytest.TempPathFactory, real_clamd: str) -> Iterator[World]:
    world = build_world(tmp_path_factory.mktemp("fuzz"), None, real_clamd)
    try:
        yield world
    finally:
        world.archive.close()


def _account_for(path: str) -> str:
    if path.startswith("/api/v1/users/{username}/clearance") or path.endswith("/classification"):
        return "secadmin"
    if path.startswith(("/api/v1/users", "/api/v1/tokens")):
        return "sysadmin"
    if path.startswith("/api/v1/audit"):
        return "auditor"
    return "archivist"


def _runner(operation, token: str, calls: list[int]):
    from hypothesis import given

    @given(case=operation.as_strategy())
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
              database=None)
    def run(case) -> None:
        calls.append(1)
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return run


def test_no_server_errors_and_schema_conformance(fuzz_world: World) -> None:
    """Every operation, as its intended role, with bounded generated examples."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_world.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30
    failures: list[str] = []
    calls: list[int] = []
    for operation in operations:
        run = _runner(operation, fuzz_world.tokens[_account_for(operation.path)], calls)
        try:
            run()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= 3 * len(operations)
