"""Live harvests from arXiv (API search, OAI-PMH, RSS listings), page by page and resumable.

Each page's records are written in one transaction; right after it commits, the harvest's cursor
(the API `start` offset, the OAI resumption token) is saved under a key that names the harvest.
Running the same harvest again after a crash or an error resumes from that cursor. Re-writing
a page (after a crash between the two commits) is harmless: merging is idempotent. When a
harvest finishes, its state is marked done and the next run of the same harvest starts afresh.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from dailypapers.config import Settings
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.arxiv_atom import ArxivApiError, AtomPage, parse_feed
from dailypapers.sources.arxiv_rss import parse_rss
from dailypapers.sources.oai_pmh import OaiError, OaiPage, parse_oai
from dailypapers.sources.record import PaperRecord, SourceError
from dailypapers.store import bookkeeping, search_index
from dailypapers.store.db import read_tx, write_tx

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
P = TypeVar("P")
MAX_KEY = 255


@dataclass
class HarvestReport(ImportReport):
    """An `ImportReport` plus what the harvest itself did."""

    key: str = ""
    pages: int = 0
    requests: int = 0
    resumed_from: str | None = None
    total_results: int | None = None
    indexed: int = 0
    announced: dt.date | None = None  # the announcement day of an RSS listing


def harvest_key(kind: str, **parts: object) -> str:
    """A stable key naming a harvest, e.g. `oai:arXiv:set=cs:from=2024-01-01:until=`."""
    key = ":".join([kind, *(f"{k}={'' if v is None else v}" for k, v in parts.items())])
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{key[: MAX_KEY - 18]}#{digest}"


@contextmanager
def _client(settings: Settings, client: PoliteClient | None) -> Iterator[PoliteClient]:
    if client is not None:
        yield client
        return
    with PoliteClient(settings) as own:
        yield own


def _fetch(client: PoliteClient, url: str, params: dict[str, str], parser: Callable[..., P]) -> P:
    """GET and parse one page. A non-200 answer is parsed for the service's own error (ArxivApiError,
    OaiError); otherwise it becomes FetchError. Malformed XML raises SourceError naming the URL."""
    response = client.get(url, params, ok=(200, 400))
    where = str(response.request.url)
    if response.status_code == 200:
        return parser(response.content, where=where)
    try:
        parser(response.content, where=where)
    except (ArxivApiError, OaiError):
        raise
    except SourceError:
        pass
    status = response.status_code
    raise FetchError(where, f"HTTP {status} {response.reason_phrase}".rstrip(), status=status)


def _resume_point(engine: Engine, key: str) -> str | None:
    with read_tx(engine) as conn:
        state = bookkeeping.load_harvest(conn, key)
    if state is None or state[1]:
        return None  # never started, or finished: start afresh
    return state[0]


def _save(engine: Engine, key: str, cursor: str, *, done: bool = False) -> None:
    with write_tx(engine) as conn:
        bookkeeping.save_harvest(conn, key, cursor, done)


def _write_page(
    engine: Engine,
    records: Sequence[PaperRecord],
    errors: Sequence[SourceError],
    report: HarvestReport,
    *,
    auto_feature: Sequence[str] = (),
) -> None:
    """One page in one transaction (the batch is as large as the page)."""
    report.pages += 1
    ingest_items(
        engine,
        [*records, *errors],
        report,
        auto_feature_categories=auto_feature,
        batch_size=max(1, len(records)),
    )


def _finish(engine: Engine, report: HarvestReport, client: PoliteClient, first_request: int) -> None:
    report.requests = client.requests - first_request
    report.indexed = search_index.index_pending(engine)


def harvest_arxiv_api(
    engine: Engine,
    settings: Settings,
    query: str,
    *,
    max_results: int,
    page_size: int = 100,
    client: PoliteClient | None = None,
) -> HarvestReport:
    """Harvest up to `max_results` papers matching an arXiv API `search_query`, newest submissions first.

    Pages of `page_size` go to `settings.arxiv_api_url`. The cursor is the next `start` offset.
    An empty page before `totalResults` is reached (an arXiv API hiccup) is asked again up to
    `settings.max_retries` times. Raises ArxivApiError for the API's error feed, FetchError for
    HTTP failures and SourceError for a malformed page; pages written before stay written.
    """
    if max_results < 1 or page_size < 1:
        raise ValueError("max_results and page_size must be positive")
    key = harvest_key("api", q=query, max=max_results)
    report = HarvestReport(key=key)
    cursor = _resume_point(engine, key)
    start = int(cursor) if cursor and cursor.isdigit() else 0
    if cursor is not None:
        report.resumed_from = str(start)
    with _client(settings, client) as http:
        first_request = http.requests
        try:
            empty_tries = 0
            while start < max_results and (report.total_results is None or start < report.total_results):
                params = {
                    "search_query": query,
                    "start": str(start),
                    "max_results": str(min(page_size, max_results - start)),
                    "sortBy": "submittedDate",
                    "sortOrder": "descending",
                }
                page: AtomPage = _fetch(http, settings.arxiv_api_url, params, parse_feed)
                if page.total_results is not None and page.total_results > (report.total_results or 0):
                    report.total_results = page.total_results
                got = len(page.records) + len(page.errors)
                if got == 0:
                    if report.total_results is None or start >= report.total_results:
                        break
                    empty_tries += 1
                    if empty_tries > settings.max_retries:
                        raise FetchError(
                            settings.arxiv_api_url,
                            f"empty page at start={start} although totalResults={report.total_results}",
                            attempts=empty_tries,
                        )
                    log.warning("arXiv API returned an empty page at start=%s; asking again", start)
                    continue
                empty_tries = 0
                _write_page(engine, page.records, page.errors, report)
                start += got
                _save(engine, key, str(start))
            _save(engine, key, str(start), done=True)
        finally:
            _finish(engine, report, http, first_request)
    return report


def harvest_oai(
    engine: Engine,
    settings: Settings,
    *,
    metadata_prefix: str = "arXiv",
    set_spec: str | None = None,
    from_date: str | None = None,
    until: str | None = None,
    client: PoliteClient | None = None,
) -> HarvestReport:
    """Harvest OAI-PMH `ListRecords` from `settings.arxiv_oai_url`, following resumption tokens.

    The cursor is the resumption token. If a saved token has expired (`badResumptionToken`),
    the harvest restarts from its first page. Raises OaiError for other protocol errors,
    FetchError for HTTP failures and SourceError for a malformed page.
    """
    key = harvest_key(f"oai:{metadata_prefix}", set=set_spec, **{"from": from_date}, until=until)
    report = HarvestReport(key=key)
    token = _resume_point(engine, key) or None
    report.resumed_from = token
    first: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    for name, value in (("set", set_spec), ("from", from_date), ("until", until)):
        if value:
            first[name] = value
    with _client(settings, client) as http:
        first_request = http.requests
        try:
            while True:
                params = {"verb": "ListRecords", "resumptionToken": token} if token else first
                try:
                    page: OaiPage = _fetch(http, settings.arxiv_oai_url, params, parse_oai)
                except OaiError as exc:
                    if exc.code != "badResumptionToken" or token is None or token != report.resumed_from:
                        raise
                    log.warning("saved resumption token expired; restarting harvest %s", key)
                    report.errors.append(f"saved resumption token {token!r} expired; restarted")
                    token = report.resumed_from = None
                    continue
                if page.complete_list_size is not None:
                    report.total_results = page.complete_list_size
                _write_page(engine, page.records, page.errors, report)
                token = page.resumption_token
                if not token:
                    break
                _save(engine, key, token)
            _save(engine, key, "", done=True)
        finally:
            _finish(engine, report, http, first_request)
    return report


def rss_url(settings: Settings, categories: Sequence[str]) -> str:
    """The listing feed URL for several categories, e.g. `.../rss/cs.AI+cs.LG`."""
    if not categories:
        raise ValueError("at least one category is needed")
    return f"{settings.arxiv_rss_url.rstrip('/')}/{'+'.join(categories)}"


def harvest_rss(
    engine: Engine,
    settings: Settings,
    categories: list[str],
    client: PoliteClient | None = None,
) -> HarvestReport:
    """Harvest today's listing of `categories` from the RSS feed (one request).

    Newly announced papers of the categories in `settings.auto_feature` are featured on their
    announcement day (unless `settings.auto_feature_top` leaves the choice to `curation.auto.pick_day`).
    The harvest state records the announced day (cursor) and is marked done.
    """
    url = rss_url(settings, categories)
    key = harvest_key("rss", cats="+".join(categories))
    report = HarvestReport(key=key)
    with _client(settings, client) as http:
        first_request = http.requests
        try:
            page = _fetch(http, url, {}, parse_rss)
            _write_page(engine, page.records, page.errors, report, auto_feature=settings.featured_on_arrival)
            _save(engine, key, page.announced.isoformat() if page.announced else "", done=True)
            report.announced = page.announced
        finally:
            _finish(engine, report, http, first_request)
    return report


__all__ = [
    "FetchError",
    "HarvestReport",
    "harvest_arxiv_api",
    "harvest_key",
    "harvest_oai",
    "harvest_rss",
    "rss_url",
]
