"""Account rules: usernames, addresses, roles and tokens (shared by sign-up, the CLI and subscriptions)."""

from __future__ import annotations

import pytest

from dailypapers.accounts.rules import (
    API_TOKEN_PREFIX,
    email_problem,
    new_api_token,
    new_session_token,
    normal_email,
    role_problem,
    username_problem,
)
from dailypapers.digest.prefs import InvalidRequest, check


@pytest.mark.parametrize("name", ["ada", "a1", "Ada.Lovelace_1815-x", "x" * 39])
def test_good_usernames(name: str) -> None:
    assert username_problem(name) is None


@pytest.mark.parametrize("name", ["a", "x" * 40, ".ada", "-ada", "ada lovelace", "ada\n", "adä", "", "a/b"])
def test_bad_usernames_are_named_in_the_refusal(name: str) -> None:
    problem = username_problem(name)
    assert problem is not None and repr(name) in problem and "not a valid username" in problem


@pytest.mark.parametrize("email", ["ada@example.org", "a.b+c@sub.example.co.uk"])
def test_good_addresses(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email", ["ada", "ada@example", "@example.org", "ada@@example.org", "a b@example.org", "x" * 320 + "@a.org"]
)
def test_bad_addresses(email: str) -> None:
    assert "does not look like an email address" in (email_problem(email) or "")


def test_addresses_are_compared_trimmed_and_lower_case() -> None:
    assert normal_email("  Ada@Example.ORG ") == "ada@example.org"


def test_the_digest_uses_the_same_address_rule() -> None:
    assert check("Ada@Example.org", "daily").email == "ada@example.org"
    with pytest.raises(InvalidRequest, match="does not look like an email address"):
        check("ada@example", "daily")


def test_roles() -> None:
    assert role_problem("curator") is None
    assert "not a role" in (role_problem("king") or "")


def test_tokens_are_fresh_and_api_tokens_say_what_they_are() -> None:
    tokens = {new_api_token() for _ in range(100)}
    assert len(tokens) == 100 and all(t.startswith(API_TOKEN_PREFIX) and len(t) > 40 for t in tokens)
    assert new_session_token() != new_session_token()
