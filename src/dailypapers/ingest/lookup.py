"""One paper by arXiv id: from the store, or fetched from the arXiv API and stored.

This is what a user's submission needs: the paper must be in the store before it can be
featured. Fetches go through `PoliteClient` (retries, clear errors), and every client this
module builds in a process shares one rate limiter per API URL, so submissions from many
request threads together still send at most one request per `settings.request_interval`.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.ingest.http import FetchError, PoliteClient, RateLimiter
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.arxiv_atom import ArxivApiError, parse_feed
from dailypapers.sources.arxiv_ids import normalize_arxiv_id
from dailypapers.sources.record import SourceError
from dailypapers.store import feed, search_index
from dailypapers.store.db import read_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

# A person is waiting for the answer: retry less than a harvest would (backoff doubles each time), and
# answer within LOOKUP_DEADLINE seconds whatever arXiv does (waiting turns, attempts and backoff in all).
LOOKUP_RETRIES = 2
LOOKUP_DEADLINE = 15.0

_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()
_fetch_locks: dict[str, tuple[threading.Lock, int]] = {}
_locks_lock = threading.Lock()


class LookupFailed(Exception):
    """The paper could not be looked up; the message says why in words a user understands."""


class ArxivUnreachable(LookupFailed):
    """arXiv did not answer usefully: network errors, HTTP errors after retries, an unreadable feed."""


class ArxivRejected(LookupFailed):
    """The arXiv API answered with its error feed for this id (e.g. "incorrect id format")."""


def shared_limiter(settings: Settings) -> RateLimiter:
    """The process-wide rate limiter for requests to `settings.arxiv_api_url`."""
    key = (settings.arxiv_api_url, settings.request_interval)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(settings.request_interval)
        return limiter


def stored_paper_id(engine: Engine, arxiv_id: str) -> str | None:
    """`arxiv_id` when that paper is in the store, else None."""
    with read_tx(engine) as conn:
        found = feed.paper_pk_of(conn, arxiv_id)
    return arxiv_id if found is not None else None


def _client(settings: Settings, client: PoliteClient | None) -> AbstractContextManager[PoliteClient]:
    if client is not None:
        return nullcontext(client)
    polite = dataclasses.replace(settings, max_retries=min(settings.max_retries, LOOKUP_RETRIES))
    return PoliteClient(polite, limiter=shared_limiter(settings), deadline=LOOKUP_DEADLINE)


def find_or_fetch(engine: Engine, settings: Settings, arxiv_id: str, client: PoliteClient | None = None) -> str | None:
    """The id (without version) of the paper `arxiv_id`, fetching it from arXiv when the store lacks it.

    `arxiv_id` may be any form `parse_arxiv_id` reads (versioned ids and URLs too); it raises
    InvalidArxivId for anything else. A fetched paper is stored (merged like any import) and
    indexed for search. Returns None when arXiv has no such paper. Raises ArxivRejected when the
    API answers with its error feed, and ArxivUnreachable when arXiv cannot be reached or sends
    something unreadable.
    """
    paper_id = normalize_arxiv_id(arxiv_id)
    if stored_paper_id(engine, paper_id):
        return paper_id
    # Two people submitting the same new paper at once: one fetch, and no clash inserting it twice.
    with _fetch_lock(paper_id):
        if stored_paper_id(engine, paper_id):
            return paper_id
        return _fetch(engine, settings, paper_id, client)


@contextmanager
def _fetch_lock(paper_id: str) -> Iterator[None]:
    with _locks_lock:
        lock, users = _fetch_locks.get(paper_id, (threading.Lock(), 0))
        _fetch_locks[paper_id] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _locks_lock:
            lock, users = _fetch_locks[paper_id]
            if users == 1:
                del _fetch_locks[paper_id]
            else:
                _fetch_locks[paper_id] = (lock, users - 1)


def _fetch(engine: Engine, settings: Settings, paper_id: str, client: PoliteClient | None) -> str | None:
    with _client(settings, client) as http:
        try:
            response = http.get(settings.arxiv_api_url, {"id_list": paper_id, "max_results": "1"}, ok=(200, 400))
        except FetchError as exc:
            raise ArxivUnreachable(f"Could not reach arXiv to look up {paper_id}: {exc.reason}") from exc
    where = str(response.request.url)
    try:
        page = parse_feed(response.content, where=where)
    except ArxivApiError as exc:
        raise ArxivRejected(
            f"arXiv does not accept the id {paper_id}: {exc.problem.removeprefix('arXiv API error: ')}"
        ) from exc
    except SourceError as exc:
        raise ArxivUnreachable(f"arXiv sent an unreadable answer for {paper_id} ({exc.problem})") from exc
    if response.status_code != 200:
        raise ArxivUnreachable(f"arXiv answered HTTP {response.status_code} for {paper_id}")
    # The API may answer an unknown id with no entry, or (in the past) with an empty placeholder entry.
    records = [r for r in page.records if r.id == paper_id and r.title]
    if not records:
        return None
    ingest_items(engine, records[:1], ImportReport())
    search_index.index_pending(engine)
    return paper_id
