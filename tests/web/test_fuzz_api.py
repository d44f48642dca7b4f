"""Schemathesis over the site's own OpenAPI document, on both databases: no request it generates gets a
server error, with or without an API token, and every status the API answers is one the document lists.

(Schemathesis's pytest plugin does not run under this pytest; its operations are driven with hypothesis
directly, which is what the plugin does.)"""

from __future__ import annotations

import secrets

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from sqlalchemy import Engine

from dailypapers.store import accounts
from dailypapers.store.db import write_tx

EXAMPLES = 25  # per operation and run: about a minute per database on two cores


@pytest.fixture(scope="module")
def token(demo_engine: Engine) -> str:
    value = "dp_" + secrets.token_urlsafe(24)
    with write_tx(demo_engine) as conn:
        pk = accounts.create_user(conn, "fuzzer", "fuzzer@example.org", None, active=True).pk
        accounts.create_token(conn, pk, "fuzz", value)
    return value


def fuzz(base: str, headers: dict[str, str], checks: list) -> list[str]:  # type: ignore[type-arg]
    """Failures (operation and what failed) of every operation of the site's OpenAPI document."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=checks)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collected and reported together below
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:600]}")
    return failures


def test_no_request_makes_a_server_error_and_every_status_is_documented(demo_server: str) -> None:
    failures = fuzz(demo_server, {}, [not_a_server_error, status_code_conformance])
    assert not failures, "\n\n".join(failures)


def test_no_request_with_a_token_makes_a_server_error(demo_server: str, token: str) -> None:
    failures = fuzz(demo_server, {"Authorization": f"Bearer {token}"}, [not_a_server_error])
    assert not failures, "\n\n".join(failures)
