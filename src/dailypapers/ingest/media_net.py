"""Fetching one media URL safely: the SSRF guard (checked before each request and again when connecting),
only allowed hosts, at most MAX_REDIRECTS redirects each checked again, polite clients one per host, and a
body read up to a limit. `ingest.media` uses it; docs/media.md says why."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from dailypapers.config import Settings
from dailypapers.ingest.http import Clock, FetchError, PoliteClient, RateLimiter, Sleep
from dailypapers.sources.images import FORMATS, host_allowed, public_address

MAX_WAIT = 30.0  # seconds: a longer Retry-After postpones the host's URLs to a later run
MAX_REDIRECTS = 3
RETRIES = 2  # retries of one request within a run (transport errors, 5xx), after the polite client's waits
REDIRECTS = (301, 302, 303, 307, 308)
ACCEPT = ", ".join(FORMATS)

_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


class Refused(Exception):
    """A URL this site will not fetch (a host off the list, a private address, too many redirects)."""


# ---------------------------------------------------------------------------------------------
# The SSRF guard, at connection time


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses (or the allowed networks): resolves the name itself and connects
    to the address it checked, so a second, different answer from DNS is never used."""

    def __init__(self, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        refused = [a for a in addresses if not public_address(a, self.allowed)]
        if refused or not addresses:
            raise httpcore.ConnectError(f"{host} resolves to {refused[0] if refused else 'nothing'}: refused")
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                last = exc
        assert last is not None
        raise last


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, connecting through `_GuardedBackend` (no proxies: media come straight from their host)."""

    def __init__(self, allowed_networks: tuple[str, ...] = ()) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=10,
            network_backend=_GuardedBackend(allowed_networks),
        )


def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (an address resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def check_url(url: str, settings: Settings) -> None:
    """Refused unless `url` is http(s) on an allowed host whose every address is public (or allowed).
    FetchError when its name does not resolve (a transient failure: DNS down, or offline)."""
    if not host_allowed(url, settings.media_hosts):
        raise Refused(f"{urlsplit(url).hostname or url} is not on DAILYPAPERS_MEDIA_HOSTS")
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(parts.hostname or "", port)
    except OSError as exc:
        raise FetchError(url, f"cannot resolve {parts.hostname}: {exc}") from exc
    for address in addresses:
        if not public_address(address, settings.media_private_networks):
            raise Refused(f"{parts.hostname} resolves to {address}, not a public address")


# ---------------------------------------------------------------------------------------------
# Clients, one per host


def client_for(
    settings: Settings, host: str, *, clock: Clock | None = None, sleep: Sleep | None = None
) -> PoliteClient:
    """A polite client for one media host: `media_per_second` requests a second at most (one limiter per
    host in this process, or a limiter of its own on the given `clock`), redirects left to the caller."""
    interval = 1.0 / settings.media_per_second if settings.media_per_second > 0 else 0.0
    polite = dataclasses.replace(settings, request_interval=interval, max_retries=RETRIES)
    timing: dict[str, Any] = {}
    if clock is not None and sleep is not None:
        limiter = RateLimiter(interval, clock=clock, sleep=sleep)
        timing = {"clock": clock, "sleep": sleep}
    else:
        with _limiters_lock:
            limiter = _limiters.setdefault((host.lower(), interval), RateLimiter(interval))
    return PoliteClient(
        polite,
        limiter=limiter,
        follow_redirects=False,
        max_wait=MAX_WAIT,
        transport=GuardedTransport(settings.media_private_networks),
        **timing,
    )


class Clients:
    def __init__(self, make: Callable[[str], PoliteClient]) -> None:
        self.make = make
        self.clients: dict[str, PoliteClient] = {}

    def __call__(self, host: str) -> PoliteClient:
        if host not in self.clients:
            self.clients[host] = self.make(host)
        return self.clients[host]

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.clients.values())

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def download(url: str, settings: Settings, clients: Callable[[str], PoliteClient]) -> tuple[bytes, str]:
    """The body and Content-Type of `url`, following at most MAX_REDIRECTS redirects, each hop checked.
    Raises Refused, TooLarge (past `media_max_bytes`) or FetchError."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        check_url(current, settings)
        host = (urlsplit(current).hostname or "").lower()
        response = clients(host).get(
            current, ok=(200, *REDIRECTS), headers={"Accept": ACCEPT}, max_bytes=settings.media_max_bytes
        )
        if response.status_code in REDIRECTS:
            location = response.headers.get("Location", "").strip()
            if not location:
                raise Refused(f"HTTP {response.status_code} without a Location")
            current = urljoin(current, location)
            continue
        return response.content, response.headers.get("Content-Type", "")
    raise Refused(f"more than {MAX_REDIRECTS} redirects")
