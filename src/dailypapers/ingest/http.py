"""A polite, synchronous HTTP client for arXiv: rate-limited, retrying, with a clear final error.

arXiv asks harvesters for at most one request every three seconds, a descriptive User-Agent, and
to back off when told to (`429`/`503` with `Retry-After`). `PoliteClient` does all of that:

- one request per `settings.request_interval` seconds, measured from the previous request's
  start, across every request (and retry) of the client and across threads;
- retries on 429, 500, 502, 503 and 504 and on transport errors (refused or reset connections,
  timeouts, truncated bodies) with exponential backoff, or after the `Retry-After` the server
  gave (seconds or an HTTP date, capped at `MAX_RETRY_AFTER`);
- after `settings.max_retries` retries, `FetchError` naming the URL and the last status or error.

Optionally (the media cache, `ingest.media`): redirects left to the caller (`follow_redirects=False`, so
that it checks every hop), a wait longer than `max_wait` not slept but raised (`FetchError.retry_after`),
and a body read only up to `max_bytes` (`TooLarge` past it, whatever the Content-Length said).

Clock and sleep are injectable so tests never wait for real three-second intervals.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

import httpx

from dailypapers import __version__
from dailypapers.config import Settings

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 600.0
MAX_BACKOFF = 300.0
USER_AGENT = f"dailypapers/{__version__} (self-hosted daily paper feed; python-httpx/{httpx.__version__})"

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class FetchError(Exception):
    """A request that failed for good: a non-retryable status, or retries used up."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, attempts: int = 1, retry_after: float | None = None
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.attempts = attempts
        self.retry_after = retry_after  # the wait the server asked for, when it was longer than the client's max_wait
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"GET {url} failed{tries}: {reason}")


class TooLarge(FetchError):
    """A body longer than the `max_bytes` the caller accepts (said by Content-Length, or found reading it)."""


class RateLimiter:
    """At most one start per `interval` seconds; thread-safe. Callers queue in `wait()`."""

    def __init__(self, interval: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.interval = max(0.0, interval)
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._last: float | None = None

    def wait(self, until: float | None = None) -> float | None:
        """Block until the next request may start; returns the start time it recorded. With `until` (a time
        of `clock`), returns None at once, recording nothing, when the turn would come later than that."""
        with self._lock:
            if self._last is not None:
                delay = self._last + self.interval - self.clock()
                if until is not None and self.clock() + max(0.0, delay) > until:
                    return None
                if delay > 0:
                    self.sleep(delay)
            self._last = self.clock()
            return self._last


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait per a `Retry-After` header (seconds or HTTP date), capped; None if absent or bad."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = when.timestamp() - now()
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _describe(exc: httpx.TransportError) -> str:
    detail = str(exc) or exc.__class__.__doc__ or ""
    return f"{exc.__class__.__name__}: {detail.strip()}"


class PoliteClient:
    """A rate-limited, retrying GET client built from `Settings`. Use as a context manager or `close()`.

    `requests` counts every attempt sent (retries included).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        wallclock: Callable[[], float] = time.time,
        limiter: RateLimiter | None = None,
        backoff_base: float | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = USER_AGENT,
        follow_redirects: bool = True,
        max_wait: float | None = None,
        deadline: float | None = None,
    ) -> None:
        self.max_retries = max(0, settings.max_retries)
        # Seconds one `get` may take in all (turns, attempts, backoff), for a person waiting on the answer.
        self.deadline = deadline
        self.clock = clock
        self.request_timeout = settings.request_timeout
        self.max_wait = max_wait  # a longer wait before a retry (a server's Retry-After) raises FetchError instead
        self.sleep = sleep
        self.wallclock = wallclock
        self.limiter = limiter or RateLimiter(settings.request_interval, clock=clock, sleep=sleep)
        self.backoff_base = max(0.0, settings.request_interval if backoff_base is None else backoff_base)
        self.requests = 0
        self._count_lock = threading.Lock()
        self._http = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=httpx.Timeout(settings.request_timeout),
            follow_redirects=follow_redirects,
            transport=transport,
        )

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def backoff(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1-based) when the server gave no Retry-After."""
        return min(MAX_BACKOFF, self.backoff_base * 2 ** (attempt - 1))

    def get(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        ok: Collection[int] = (200,),
        headers: Mapping[str, str] | None = None,
        max_bytes: int | None = None,
    ) -> httpx.Response:
        """GET `url` (with extra `headers`, e.g. If-None-Match), politely, retrying transient failures;
        returns a response whose status is in `ok`.

        Raises FetchError for any other status (at once for a non-retryable one, after
        `max_retries` retries for a retryable one) and for transport errors that persist. With
        `max_bytes`, the body is read up to that many bytes (decoded) and TooLarge raised past them.
        """
        request = self._http.build_request("GET", url, params=params, headers=headers)
        shown = str(request.url)
        end = None if self.deadline is None else self.clock() + self.deadline
        attempt = 0
        while True:
            if end is not None:
                if self.limiter.wait(until=end - 1.0) is None:
                    raise FetchError(shown, f"no answer within {self.deadline:.0f} s (other requests first)")
                timeout = min(self.request_timeout, end - self.clock())
                request = self._http.build_request("GET", url, params=params, headers=headers, timeout=timeout)
            else:
                self.limiter.wait()
            with self._count_lock:
                self.requests += 1
            retry_after: float | None = None
            try:
                if max_bytes is None:
                    response = self._http.send(request)
                else:
                    response = self._send_limited(request, shown, max_bytes, ok, attempt + 1)
            except httpx.UnsupportedProtocol as exc:
                raise FetchError(shown, _describe(exc), attempts=attempt + 1) from exc
            except httpx.TransportError as exc:
                reason, status, cause = _describe(exc), None, exc
            else:
                if response.status_code in ok:
                    return response
                status, cause = response.status_code, None
                reason = f"HTTP {status} {response.reason_phrase}".rstrip()
                if status not in RETRY_STATUSES:
                    raise FetchError(shown, reason, status=status, attempts=attempt + 1)
                retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self.wallclock)
            attempt += 1
            if attempt > self.max_retries:
                raise FetchError(shown, reason, status=status, attempts=attempt, retry_after=retry_after) from cause
            wait = self.backoff(attempt) if retry_after is None else retry_after
            if end is not None and self.clock() + wait >= end - 1.0:
                raise FetchError(
                    shown, f"{reason}; no answer within {self.deadline:.0f} s", status=status, attempts=attempt
                ) from cause
            if self.max_wait is not None and wait > self.max_wait:
                raise FetchError(
                    shown, f"{reason}; asked to wait {wait:.0f} s", status=status, attempts=attempt, retry_after=wait
                ) from cause
            self.sleep(wait)

    def _send_limited(
        self, request: httpx.Request, shown: str, max_bytes: int, ok: Collection[int], attempt: int
    ) -> httpx.Response:
        """Send `request` and read at most `max_bytes` of its body (of a status in `ok`; others are read
        whole, they are short); transport errors while reading propagate as from `send`."""
        response = self._http.send(request, stream=True)
        try:
            if response.status_code not in ok:
                response.read()
                return response
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise TooLarge(shown, f"{declared} bytes, more than {max_bytes}", status=200, attempts=attempt)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise TooLarge(shown, f"more than {max_bytes} bytes", status=200, attempts=attempt)
            response._content = bytes(body)  # as httpx's own read() keeps it: `content` works as usual
            return response
        finally:
            response.close()
