"""Rendered responses cached per URL, dropped when the store's data version moves.

Every write that changes what a page shows bumps `data_version` in the database. Each process
reads that counter at most once per `ttl` seconds, so a page is at most `ttl` stale in a process
that did not make the change itself; a process that writes calls `invalidate()` and sees it at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.store.db import data_version, read_tx
from dailypapers.web import transport

if TYPE_CHECKING:
    from sqlalchemy import Engine


@dataclass(frozen=True, slots=True)
class Cached:
    body: bytes
    media_type: str
    etag: str
    status: int = 200
    gzipped: bytes | None = None  # the body gzipped once, for clients that accept it (web/transport.py)


class PageCache:
    def __init__(self, engine: Engine, *, ttl: float = 0.5, max_entries: int = 4096, max_age: float = 60.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._max = max_entries
        # Pages that depend on the clock (/trending, this week) change without any write: re-render
        # every entry at least this often.
        self._max_age = max_age
        self._entries: OrderedDict[str, tuple[int, float, Cached]] = OrderedDict()
        self._version = -1
        self._checked = 0.0
        self._lock = threading.Lock()
        self._rendering: dict[str, threading.Lock] = {}

    def version(self) -> int:
        now = time.monotonic()
        if now - self._checked >= self._ttl:
            with read_tx(self._engine) as conn:
                self._version = data_version(conn)
            self._checked = now
        return self._version

    def invalidate(self) -> None:
        """Forget the known version, so the next lookup reads it from the database."""
        self._checked = 0.0

    def lookup(self, key: str) -> Cached | None:
        version = self.version()
        hit = self._entries.get(key)
        if hit is None or hit[0] != version or time.monotonic() - hit[1] > self._max_age:
            return None
        return hit[2]

    def store(self, key: str, version: int, body: bytes, media_type: str, status: int = 200) -> Cached:
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        packed = transport.gzipped(body) if transport.compressible(media_type, len(body)) else None
        item = Cached(body, media_type, etag, status, packed)
        with self._lock:
            self._entries[key] = (version, time.monotonic(), item)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return item

    def get_or_render(self, key: str, render: Callable[[], tuple[bytes, str, int]]) -> Cached:
        """The cached response for `key`, rendering (and caching) it when missing or stale."""
        hit = self.lookup(key)
        if hit is not None:
            return hit
        # One render per key at a time: concurrent misses wait for it instead of rendering copies.
        with self._lock:
            key_lock = self._rendering.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.lookup(key)
            if hit is not None:
                return hit
            version = self._version
            body, media_type, status = render()
            item = self.store(key, version, body, media_type, status)
        with self._lock:
            self._rendering.pop(key, None)
        return item
