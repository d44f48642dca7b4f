"""What makes a username, an email address, a role and a secret token acceptable. Pure: no database.

Used by sign-up on the site, `dailypapers user create`, and digest subscriptions (addresses): every address
that enters the site passes `normal_email` and `email_problem`.
"""

from __future__ import annotations

import contextlib
import re
import secrets
from email.policy import default as HEADERS

from email_validator import EmailNotValidError, validate_email

ROLES = ("user", "curator", "admin")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{1,38}")
# Control characters (CR and LF above all) and Unicode line breaks: nothing that could end a mail header.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
MAX_EMAIL = 320
API_TOKEN_PREFIX = "dp_"


def username_problem(name: str) -> str | None:
    """Why `name` cannot be a username, or None."""
    if USERNAME.fullmatch(name):
        return None
    return (
        f"{name!r} is not a valid username: 2 to 39 letters, digits, '.', '_' or '-', starting with a letter or digit."
    )


def _validated(email: str) -> str:
    """`email` as email-validator normalizes it (domain in lower case and Unicode NFC, IDNA-checked); raises
    EmailNotValidError. A plain mailbox only: no display name, quoted local part, IP literal or reserved
    domain, so the address cannot name another recipient on the SMTP envelope; no DNS lookups (offline)."""
    checked = validate_email(
        email,
        check_deliverability=False,
        allow_display_name=False,
        allow_quoted_local=False,
        allow_domain_literal=False,
    )
    return checked.normalized


def normal_email(email: str) -> str:
    """An address as it is stored and compared: trimmed of spaces, normalized as email-validator does, and in
    lower case (the store compares addresses case-insensitively). Invalid ones come back just trimmed and
    lower-cased, for `email_problem` to refuse."""
    email = email.strip(" ")
    if len(email) <= MAX_EMAIL and not CONTROL.search(email):
        with contextlib.suppress(EmailNotValidError):
            email = _validated(email)
    return email.lower()


def _read_back(email: str) -> bool:
    """Whether a To header holding `email` names that one mailbox (mail.message checks the same as it sends):
    RFC 2047 encoded words such as `=?utf-8?q?...?=`, valid in an address, are decoded in headers."""
    found = HEADERS.header_factory("To", email).addresses
    return len(found) == 1 and found[0].addr_spec == email and not found[0].display_name


def email_problem(email: str) -> str | None:
    """Why `email` (already normalized) cannot be an account's or a subscriber's address, or None."""
    if CONTROL.search(email):
        return "An email address must not contain control characters or line breaks."
    try:
        _validated(email)
    except EmailNotValidError as exc:
        return f"{email!r} does not look like an email address: {exc}"
    if not _read_back(email):
        return f"{email!r} does not look like an email address: mail headers would read it as another one."
    return None


def role_problem(role: str) -> str | None:
    """Why `role` is not a role, or None."""
    return None if role in ROLES else f"{role!r} is not a role; choose from {', '.join(ROLES)}."


def new_api_token() -> str:
    """A fresh personal API token (shown once; the store keeps only its hash)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_session_token() -> str:
    """A fresh session cookie value (the store keeps only its hash)."""
    return secrets.token_urlsafe(32)
