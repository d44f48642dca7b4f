"""Rendered responses cached per URL, dropped when the store's data version moves or a count they show does.

Every write that changes what a page shows bumps `data_version` in the database, except votes. Each
process reads that counter at most once per `ttl` seconds, so a page is at most `ttl` stale in a process
that did not make the change itself; a process that writes calls `invalidate()` and sees it at once.
Votes, the most frequent write, move no shared row: a page keeps the counts it showed (`store.shown`),
and at most once per `ttl` a hit checks them against their rows; only a page whose counts moved is
rendered again.

Memory is bounded in bytes, not entries, and split in two segments so that what a stranger can vary
freely (search results, where any text makes a new page, and error pages, where any id does) cannot
push out the pages every reader shares (feeds, papers): each segment drops its least recently used
entries past its own budget. A response
larger than MAX_ITEM_SHARE of its segment is served but not kept. Keys are canonical (site.cache_key).
"""

from __future__ import annotations

import enum
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.store import shown as shown_counts
from dailypapers.store.db import data_version, read_tx
from dailypapers.web import observe, transport

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
    route: str = ""  # the route template that rendered it, for the metrics of hits before routing

    def size(self) -> int:
        """Bytes this entry holds (its body, the gzipped copy, and a fixed allowance for the rest)."""
        return len(self.body) + (len(self.gzipped) if self.gzipped is not None else 0) + ENTRY_OVERHEAD


# What a render function returns: body, media type, status, and optionally headers of its own.
Rendered = tuple[bytes, str, int] | tuple[bytes, str, int, tuple[tuple[str, str], ...]]

ENTRY_OVERHEAD = 400  # bytes an entry costs besides its bodies: key, tuple, dataclass, headers
MAX_ITEM_SHARE = 1 / 16  # a response larger than this share of its segment is not cached
VARIED_SHARE = 0.25  # the share of the budget for pages a stranger can vary freely (searches, errors)
PAGES, VARIED = "pages", "varied"


class Due(enum.Enum):
    """`PageCache.peek`'s answer when the database must be read before the entry may be served."""

    DUE = "due"


DUE = Due.DUE


@dataclass(slots=True)
class _Entry:
    version: int  # the data version it was rendered at
    stored: float  # when (time.monotonic())
    item: Cached
    shown: shown_counts.Shown  # the vote counts it showed
    checked: float  # when they were last found unchanged


class _Segment:
    """One LRU of entries within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, _Entry] = OrderedDict()

    def drop(self, key: str) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old.item.size() + len(key)

    def put(self, key: str, entry: _Entry) -> None:
        self.drop(key)
        self.entries[key] = entry
        self.bytes += entry.item.size() + len(key)
        while self.bytes > self.max_bytes and self.entries:
            dropped_key, dropped = self.entries.popitem(last=False)
            self.bytes -= dropped.item.size() + len(dropped_key)


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
        self._counts_floor = 0.0  # counts checked before this are checked again (see `invalidate`)
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
        """Forget the known version and counts, so the next lookup reads them from the database."""
        self._checked = 0.0
        self._counts_floor = time.monotonic()

    def stats(self) -> dict[str, tuple[int, int]]:
        """Per segment: (entries, bytes)."""
        with self._lock:
            return {name: (len(seg.entries), seg.bytes) for name, seg in self._segments.items()}

    def _find(self, key: str, segment: str) -> tuple[_Segment, _Entry | None]:
        seg = self._segments[segment]
        hit = seg.entries.get(key)
        if hit is None and segment == PAGES:  # an error page of a shared route lives with the varied ones
            seg = self._segments[VARIED]
            hit = seg.entries.get(key)
        return seg, hit

    def _touch(self, seg: _Segment, key: str) -> None:
        with self._lock:
            if key in seg.entries:
                seg.entries.move_to_end(key)

    def lookup(self, key: str, segment: str = PAGES) -> Cached | None:
        """The cached response for `key` if it is still right, reading the database when a check is due."""
        seg, hit = self._find(key, segment)
        # The version is read (from the database, at most once per ttl) only for a key that is here.
        if hit is None or hit.version != self.version():
            return None
        now = time.monotonic()
        if now - hit.stored > self._max_age or (hit.shown and not self._counts_hold(hit, now)):
            return None
        self._touch(seg, key)
        return hit.item

    def peek(self, key: str, segment: str = PAGES) -> Cached | None | Due:
        """As `lookup`, without touching the database: DUE when that needs a check of the database
        first (the event loop then asks `lookup` in a worker thread, so it never waits on the database)."""
        seg, hit = self._find(key, segment)
        if hit is None:
            return None
        now = time.monotonic()
        if now - self._checked >= self._ttl:
            return DUE
        if hit.version != self._version or now - hit.stored > self._max_age:
            return None
        if hit.shown and (now - hit.checked >= self._ttl or hit.checked < self._counts_floor):
            return DUE
        self._touch(seg, key)
        return hit.item

    def _counts_hold(self, hit: _Entry, now: float) -> bool:
        """Whether the vote counts the page showed are still right (read at most once per ttl)."""
        if now - hit.checked < self._ttl and hit.checked >= self._counts_floor:
            return True
        with read_tx(self._engine) as conn:
            same = shown_counts.unchanged(conn, hit.shown)
        if same:
            hit.checked = now
        return same

    def store(
        self,
        key: str,
        version: int,
        body: bytes,
        media_type: str,
        status: int = 200,
        segment: str = PAGES,
        headers: tuple[tuple[str, str], ...] = (),
        shown: shown_counts.Shown | None = None,
    ) -> Cached:
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        packed = transport.gzipped(body) if transport.compressible(media_type, len(body)) else None
        item = Cached(body, media_type, etag, status, packed, headers, observe.current_route())
        seg = self._segments[segment if status == 200 else VARIED]
        with self._lock:
            for other in self._segments.values():  # a page that became an error (or back) lives in one place
                if other is not seg:
                    other.drop(key)
            if item.size() + len(key) <= seg.max_bytes * MAX_ITEM_SHARE:
                now = time.monotonic()
                seg.put(key, _Entry(version, now, item, shown or shown_counts.Shown(), now))
        return item

    def get_or_render(self, key: str, render: Callable[[], Rendered], segment: str = PAGES) -> Cached:
        """The cached response for `key`, rendering (and caching) it when missing or stale."""
        hit = self.lookup(key, segment)
        if hit is not None:
            observe.cache_lookup("hit")
            return hit
        # One render per key at a time: concurrent misses wait for it instead of rendering copies.
        with self._lock:
            key_lock = self._rendering.setdefault(key, threading.Lock())
        with key_lock:
            hit = self.lookup(key, segment)
            if hit is not None:
                observe.cache_lookup("hit")  # rendered meanwhile, by the request this one waited for
                return hit
            observe.cache_lookup("miss")
            version = self.version()  # read before rendering: a write during the render makes it stale
            with shown_counts.recording() as shown:
                rendered = render()
            body, media_type, status = rendered[:3]
            extra = rendered[3] if len(rendered) > 3 else ()
            item = self.store(key, version, body, media_type, status, segment, extra, shown)
        with self._lock:
            self._rendering.pop(key, None)
        return item
