"""Rendered responses cached per URL, dropped when what they show changes.

Most writes bump `data_version` in the database, which drops every page. A vote only appends tags to
`cache_invalidations` (store.invalidations): "paper:12", "day:2026-07-31"; a page rendered with tags
(its paper, the days it lists) is dropped when one of them comes, and a page rendered without tags by any
tag. Each process reads the version and the new tags at most once per `ttl` seconds, so a page is at most
`ttl` stale in a process that did not make the change itself; a process that writes calls `invalidate()`
and sees it at once.

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

from dailypapers.store import invalidations
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


# What a render function returns: body, media type, status, and optionally headers of its own and the
# tags of what it shows (store.invalidations; None: anything may change it).
Rendered = (
    tuple[bytes, str, int]
    | tuple[bytes, str, int, tuple[tuple[str, str], ...]]
    | tuple[bytes, str, int, tuple[tuple[str, str], ...], frozenset[str] | None]
)
Entry = tuple[int, float, "Cached", frozenset[str] | None]  # data version, time stored, response, tags

ENTRY_OVERHEAD = 400  # bytes an entry costs besides its bodies: key, tuple, dataclass, headers
MAX_ITEM_SHARE = 1 / 16  # a response larger than this share of its segment is not cached
VARIED_SHARE = 0.25  # the share of the budget for pages a stranger can vary freely (searches, errors)
PAGES, VARIED = "pages", "varied"
RECENT_TAGS = 10_000  # invalidations remembered for renders that overlapped them
BACKLOG = 50_000  # invalidations read at once; a process further behind drops its whole cache


class _Segment:
    """One LRU of entries within a byte budget."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.entries: OrderedDict[str, Entry] = OrderedDict()

    def drop(self, key: str) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2].size() + len(key)

    def put(self, key: str, entry: Entry) -> None:
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
        self._tag_seq: int | None = None  # the last invalidation read (None: not read yet)
        self._recent_tags: list[tuple[int, str]] = []  # the last ones read, for renders that overlapped them
        self._lock = threading.Lock()
        self._rendering: dict[str, threading.Lock] = {}

    def version(self) -> int:
        now = time.monotonic()
        if now - self._checked >= self._ttl:
            with read_tx(self._engine) as conn:
                self._version = data_version(conn)
                if self._tag_seq is None:
                    self._tag_seq, fresh = invalidations.latest(conn), []
                else:
                    fresh = invalidations.since(conn, self._tag_seq, BACKLOG)
                    if len(fresh) == BACKLOG:  # far behind: start again from now, with nothing cached
                        self._tag_seq, fresh = invalidations.latest(conn), []
                        self.clear()
            self._checked = now
            if fresh:
                self._drop_tagged(fresh)
        return self._version

    def _drop_tagged(self, fresh: list[tuple[int, str]]) -> None:
        """Drop the entries that show what these invalidations name, and untagged ones."""
        tags = {tag for _, tag in fresh}
        with self._lock:
            self._tag_seq = max(self._tag_seq or 0, fresh[-1][0])
            self._recent_tags = [*self._recent_tags, *fresh][-RECENT_TAGS:]
            for seg in self._segments.values():
                stale = [k for k, e in seg.entries.items() if e[3] is None or not e[3].isdisjoint(tags)]
                for key in stale:
                    seg.drop(key)

    def _tagged_since(self, seq: int | None, tags: frozenset[str] | None) -> bool:
        """Whether an invalidation read after `seq` names one of `tags` (any, for an untagged render)."""
        if seq is None:
            return False
        newer = [tag for s, tag in self._recent_tags if s > seq]
        return bool(newer) and (tags is None or not tags.isdisjoint(newer))

    def clear(self) -> None:
        with self._lock:
            for seg in self._segments.values():
                for key in list(seg.entries):
                    seg.drop(key)

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
        if hit is None:
            return None
        # The version and the invalidations are read (from the database, at most once per ttl) only for
        # a key that is here; reading them may drop it.
        version = self.version()
        hit = seg.entries.get(key)
        if hit is None or hit[0] != version or time.monotonic() - hit[1] > self._max_age:
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
        tags: frozenset[str] | None = None,
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
                seg.put(key, (version, time.monotonic(), item, tags))
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
            seq = self._tag_seq
            rendered = render()
            body, media_type, status = rendered[:3]
            extra = rendered[3] if len(rendered) > 3 else ()
            tags = rendered[4] if len(rendered) > 4 else None  # type: ignore[misc]
            if self._tagged_since(seq, tags):  # a vote on what it shows came in during the render
                version = -1  # served, and re-rendered next time
            item = self.store(key, version, body, media_type, status, segment, extra, tags)
        with self._lock:
            self._rendering.pop(key, None)
        return item
