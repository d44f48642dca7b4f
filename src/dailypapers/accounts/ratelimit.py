"""Rate limits per action and client, with the `limits` library: in memory for the embedded mode,
in Redis (`DAILYPAPERS_REDIS_URL`) when several processes serve the site."""

from __future__ import annotations

import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

# Action -> limit, per client address (and per account where there is one).
DEFAULT_LIMITS = {
    "signup": "5/hour",
    "signin": "10/minute",  # sign-in attempts per client address
    # Wrong passwords per account (or unknown login), from anywhere: beyond it only browsers the account signed in
    # from before (the known-device cookie) may try, so guessers spread over many addresses cannot lock the owner out.
    "signin_failures": "20/hour",
    "account_mail": "10/hour",  # asks for an activation or password-reset link, per client address
    "account_mail_to": "3/hour",  # account mails per account: beyond it, asks are answered alike but send nothing
    "submit": "20/hour",
    "comment": "30/hour",
    "vote": "120/minute",
    "subscribe": "10/hour",
    "library_import": "30/hour",  # library files imported per account (each may hold 20,000 entries)
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


class RateLimits:
    def __init__(self, storage_url: str = "memory://", limits: dict[str, str] | None = None) -> None:
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_url))
        self._items: dict[str, RateLimitItem] = {k: parse(v) for k, v in (limits or DEFAULT_LIMITS).items()}

    def hit(self, action: str, *keys: str) -> Verdict:
        """Count one `action` for each key; refused (with seconds to wait) if any key is over its limit.

        A refused request counts against none of its keys: otherwise one client over its own limit
        would keep using up the budget it shares with others (an address behind a NAT, say).
        """
        item = self._items[action]
        for key in keys:
            if not self._limiter.test(item, action, key):
                return self._refused(item, action, key)
        for key in keys:  # each hit is atomic; one lost to a concurrent request is still refused
            if not self._limiter.hit(item, action, key):
                return self._refused(item, action, key)
        return Verdict(True, 0)

    def peek(self, action: str, key: str) -> Verdict:
        """Whether one more `action` for `key` would be allowed, without counting it."""
        item = self._items[action]
        return Verdict(True, 0) if self._limiter.test(item, action, key) else self._refused(item, action, key)

    def count(self, action: str, key: str) -> None:
        """Count one `action` for `key` (what was already over the limit stays so)."""
        self._limiter.hit(self._items[action], action, key)

    def _refused(self, item: RateLimitItem, action: str, key: str) -> Verdict:
        reset, _ = self._limiter.get_window_stats(item, action, key)
        return Verdict(False, max(1, int(reset - time.time()) + 1))

    def reset(self) -> None:
        self._limiter.storage.reset()
