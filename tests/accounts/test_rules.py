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


@pytest.mark.parametrize(
    "email", ["ada@example.org", "a.b+c@sub.example.co.uk", "o'brien@example.com", "%x@example.org", "ü@exämple.org"]
)
def test_good_addresses(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize(
    "email",
    [
        "ada",
        "ada@example",
        "@example.org",
        "ada@@example.org",
        "a b@example.org",
        "x" * 320 + "@a.org",
        # Each of these would have the mail server deliver somewhere else, or to several.
        "x<postmaster>@example.org",
        "Ada <ada@example.org>",
        '"x y"@example.org',
        "a,b@example.org",
        "a;b@example.org",
        "(comment)a@example.org",
        "a@[127.0.0.1]",
        "a@localhost",
        "a@host.invalid",
        "=?utf-8?q?postmaster?=@example.org",  # an encoded word: headers would decode it
    ],
)
def test_bad_addresses_are_named_in_the_refusal(email: str) -> None:
    problem = email_problem(normal_email(email)) or ""
    assert "does not look like an email address: " in problem and repr(normal_email(email)) in problem


@pytest.mark.parametrize(
    "email", ["a@example.org\r\nBcc: x@example.org", "a@example.org\n", "a\r@example.org", "a@exa\x00mple.org"]
)
def test_line_breaks_and_control_characters_are_refused(email: str) -> None:
    assert email_problem(normal_email(email)) == "An email address must not contain control characters or line breaks."


def test_addresses_are_normalized_as_email_validator_does_and_compared_in_lower_case() -> None:
    assert normal_email("  Ada@Example.ORG ") == "ada@example.org"
    assert normal_email("ada@EXÄMPLE.org") == "ada@exämple.org"
    assert normal_email("ada@xn--exmple-cua.org") == "ada@exämple.org"  # IDNA to Unicode, as the library does
    assert normal_email("e\u0301@example.org") == "\u00e9@example.org"  # Unicode NFC


def test_the_digest_uses_the_same_address_rule() -> None:
    assert check("Ada@Example.org", "daily").email == "ada@example.org"
    for bad in ("ada@example", "x<postmaster>@example.org"):
        with pytest.raises(InvalidRequest, match="does not look like an email address"):
            check(bad, "daily")


def test_roles() -> None:
    assert role_problem("curator") is None
    assert "not a role" in (role_problem("king") or "")


def test_tokens_are_fresh_and_api_tokens_say_what_they_are() -> None:
    tokens = {new_api_token() for _ in range(100)}
    assert len(tokens) == 100 and all(t.startswith(API_TOKEN_PREFIX) and len(t) > 40 for t in tokens)
    assert new_session_token() != new_session_token()
