"""Rendered responses cached per URL, dropped when the store's data version moves.

Every write that changes what a page shows bumps `data_version` in the database. Each process
reads that counter at most once per `ttl` seconds, so a page is at most `ttl` stale in a process
that did not make the change itself; a process that writes calls `invalidate()` and sees it at once.

Memory is bounded in bytes, not entries, and split in two segments so that what a stranger can vary
freely (search results, where any text makes a new page, and error pages, where any id does) cannot
push out the pages every reader shares (feeds, papers): each segment drops its least recently used
entries past its own budget. A response
larger than MAX_ITEM_SHARE of its segment is served but not kept. Keys are canonical (site.cache_key).
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
    headers: tuple[tuple[str, str], ...] = ()  # headers of this response besides the usual (e.g. `Link`)

    def size(self) -> int:
        """Bytes this entry holds (its body, the gzipped copy, and a fixed allowance for the rest)."""
        return len(self.body) + (len(self.gzipped) if self.gzipped is not None else 0) + ENTRY_OVERHEAD


# What a render function returns: body, media type, status, and optionally headers of its own.
Rendered = tuple[bytes, str, int] | tuple[bytes, str, int, tuple[tuple[str, str], ...]]

ENTRY_OVERHEAD = 400  # bytes an entry costs besides its bodies: key, tuple, dataclass, headers
MAX_ITEM_SHARE = 1 / 16  # a response larger than this share of its segment is not cached
VARIED_SHARE = 0.25  # the share of the budget for pages a stranger can vary freely (searches, errors)
PAGES, VARIED = "pages", "varied"


class _Segment:
    """One LRU of entries within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, tuple[int, float, Cached]] = OrderedDict()

    def drop(self, key: str) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2].size() + len(key)

    def put(self, key: str, entry: tuple[int, float, Cached]) -> None:
        self.drop(key)
        self.entries[key] = entry
        self.bytes += entry[2].size() + len(key)
        while self.bytes > self.max_bytes and self.entries:
            dropped_key, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped[2].size() + len(dropped_key)


class PageCache:
    def __init__(self, engine: Engine, *, ttl: float = 0.5, max_bytes: int = 64 << 20, max_age: float = 60.0) -> None:
        self._engine = engine
        self._ttl = ttl
        varied = int(max_bytes * VARIED_SHARE)
        self._segments = {PAGES: _Segment(max_bytes - varied), VARIED: _Segment(varied)}
        # Pages that depend on the clock (/trending, this week) change without any write: re-render
        # every entry at least this often.
        self._max_age = max_age
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

    def stats(self) -> dict[str, tuple[int, int]]:
        """Per segment: (entries, bytes)."""
        with self._lock:
            return {name: (len(seg.entries), seg.bytes) for name, seg in self._segments.items()}

    def lookup(self, key: str, segment: str = PAGES) -> Cached | None:
        seg = self._segments[segment]
        hit = seg.entries.get(key)
        if hit is None and segment == PAGES:  # an error page of a shared route lives with the varied ones
            seg = self._segments[VARIED]
            hit = seg.entries.get(key)
        # The version is read (from the database, at most once per ttl) only for a key that is here.
        if hit is None or hit[0] != self.version() or time.monotonic() - hit[1] > self._max_age:
            return None
        with self._lock:
            if key in seg.entries:
                seg.entries.move_to_end(key)
        return hit[2]

    def store(
        self,
        key: str,
        version: int,
        body: bytes,
        media_type: str,
        status: int = 200,
        segment: str = PAGES,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Cached:
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        packed = transport.gzipped(body) if transport.compressible(media_type, len(body)) else None
        item = Cached(body, media_type, etag, status, packed, headers)
        seg = self._segments[segment if status == 200 else VARIED]
        with self._lock:
            for other in self._segments.values():  # a page that became an error (or back) lives in one place
                if other is not seg:
                    other.drop(key)
            if item.size() + len(key) <= seg.max_bytes * MAX_ITEM_SHARE:
                seg.put(key, (version, time.monotonic(), item))
        return item

    def get_or_render(self, key: str, render: Callable[[], Rendered], segment: str = PAGES) -> Cached:
        """The cached response for `key`, rendering (and caching) it when missing or stale."""
        hit = self.lookup(key, segment)
        if hit is not None:
            return hit
        # One render per key at a time: concurrent misses wait for it instead of rendering copies.
        with self._lock:
            key_lock = self._rendering.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.lookup(key, segment)
            if hit is not None:
                return hit
            version = self.version()  # read before rendering: a write during the render makes it stale
            rendered = render()
            body, media_type, status = rendered[:3]
            extra = rendered[3] if len(rendered) > 3 else ()
            item = self.store(key, version, body, media_type, status, segment, extra)
        with self._lock:
            self._rendering.pop(key, None)
        return item
