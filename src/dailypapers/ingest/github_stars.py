"""The stars of the GitHub repositories papers link to (docs/github.md): `GET /repos/{owner}/{repo}` for each
repository among papers' code links, keeping its stars, last push and ETag, a count per day for the week's
growth, and each paper's `stars`, `stars_growth` and `code_pushed_at` (its most starred repository's).

Polite: one request a second; conditional requests (an unchanged repository costs a 304, which GitHub does
not count against the rate limit); repositories of recent papers are asked about often, old ones rarely
(`refresh_interval`). GitHub's rate limit is read from every answer: when it is spent (or only a small
reserve is left), or GitHub answers 403/429 for going too fast, the run stops, remembers when it may go on
(`X-RateLimit-Reset`, `Retry-After`), and runs before then ask nothing.

Resumable and idempotent: each repository's answer is stored in its own transaction, with its papers'
values; a run that stops (a crash, a server error, the rate limit) leaves the repositories not asked about
due, and the next run goes on with them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import orjson

from dailypapers.config import Settings
from dailypapers.ingest.http import FetchError, PoliteClient, RateLimiter, parse_retry_after
from dailypapers.sources.github_repo import parse_repo, repo_names
from dailypapers.sources.record import SourceError
from dailypapers.store import bookkeeping, code_repos
from dailypapers.store.db import bump_data_version, read_tx, write_tx
from dailypapers.store.papers import max_paper_pk

if TYPE_CHECKING:
    from sqlalchemy import Engine

INTERVAL = 1.0  # seconds between requests to GitHub
API_VERSION = "2022-11-28"
JOB_BATCH = 500  # repositories one run of the `github-stars` job asks about at most (about 8 minutes)
# How often a repository is asked about, by the latest day one of its papers was published or featured.
HOT_DAYS, WARM_DAYS = 14, 90
HOT, WARM, COLD = dt.timedelta(hours=6), dt.timedelta(days=1), dt.timedelta(days=7)
MISSING_AGAIN = dt.timedelta(days=30)  # a repository GitHub does not have (any more)
BAD_ANSWER_AGAIN = dt.timedelta(days=1)  # an answer that is not a repository
FAILED_AGAIN = dt.timedelta(hours=1)  # a server error that outlasted the client's retries
FULL_SCAN_EVERY = dt.timedelta(days=1)  # all papers' links are read again (else only new and recent papers)
HISTORY_DAYS = 90  # daily counts kept
RESERVE_MIN = 2  # requests left unused: at least this, or a 20th of the hourly limit
ANSWERED = (200, 304, 403, 404, 410, 429, 451)  # statuses handled here (the client retries 5xx itself)
SCAN_KEY, LIMIT_KEY = "github-stars:scan", "github-stars:limit"

_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()


@dataclass
class StarsReport:
    """What a run did."""

    linked: int = 0  # repositories found among papers' links, new
    repos: int = 0  # repositories asked about
    updated: int = 0  # ... that GitHub described (200)
    not_modified: int = 0  # ... unchanged (304)
    missing: int = 0  # ... that GitHub does not have (404, 410, 451, or a 403 refusal)
    renamed: int = 0  # ... that GitHub knows under another name now
    papers: int = 0  # changes to papers' stars, growth or last push (a paper may change twice)
    requests: int = 0
    remaining: int | None = None  # X-RateLimit-Remaining of the last answer
    paused_until: dt.datetime | None = None  # GitHub's rate limit is spent until then
    errors: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    @property
    def note(self) -> str:
        if self.paused_until is None:
            return ""
        return f"GitHub's rate limit is spent: paused until {self.paused_until:%Y-%m-%d %H:%M:%S} UTC"


def refresh_interval(activity: dt.date | None, today: dt.date) -> dt.timedelta:
    """How long until a repository is asked about again, by the latest day one of its papers was published,
    announced or featured: every 6 hours within 14 days, daily within 90, else weekly."""
    if activity is None:
        return COLD
    age = (today - activity).days
    return HOT if age <= HOT_DAYS else WARM if age <= WARM_DAYS else COLD


def client_for(settings: Settings) -> PoliteClient:
    """A polite client for GitHub: one limiter per API URL in this process, one request a second."""
    with _limiters_lock:
        limiter = _limiters.setdefault(settings.github_api_url, RateLimiter(INTERVAL))
    return PoliteClient(dataclasses.replace(settings, request_interval=INTERVAL), limiter=limiter)


def _headers(settings: Settings, etag: str) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}
    if settings.github_token:
        headers["Authorization"] = f"Bearer {settings.github_token}"
    if etag:
        headers["If-None-Match"] = etag
    return headers


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _load_limit(engine: Engine) -> tuple[dt.datetime | None, int]:
    """(paused until, rate-limit answers in a row) as the last run left them."""
    with read_tx(engine) as conn:
        state = bookkeeping.load_harvest(conn, LIMIT_KEY)
    data = orjson.loads(state[0]) if state and state[0] else {}
    until = dt.datetime.fromisoformat(data["until"]) if data.get("until") else None
    return until, int(data.get("hits", 0))


def _save_limit(engine: Engine, until: dt.datetime | None, hits: int) -> None:
    cursor = orjson.dumps({"until": until.isoformat() if until else None, "hits": hits}).decode()
    with write_tx(engine) as conn:
        bookkeeping.save_harvest(conn, LIMIT_KEY, cursor)


def discover(engine: Engine, now: dt.datetime, report: StarsReport) -> None:
    """Link papers to the GitHub repositories among their code links: new papers and recent ones each run,
    all of them once a day (links can change with a paper). Old daily counts are forgotten then too."""
    with read_tx(engine) as conn:
        state = bookkeeping.load_harvest(conn, SCAN_KEY)
        top = max_paper_pk(conn)
    cursor = orjson.loads(state[0]) if state and state[0] else {}
    last_full = dt.datetime.fromisoformat(cursor["full"]) if cursor.get("full") else None
    full = last_full is None or now - last_full >= FULL_SCAN_EVERY
    with read_tx(engine) as conn:
        if full:
            rows = code_repos.papers_linking_github(conn)
        else:
            since = now.date() - dt.timedelta(days=HOT_DAYS)
            rows = code_repos.papers_linking_github(conn, after_pk=int(cursor.get("pk", 0)), since=since)
    items = [(pk, repo_names(urls)) for pk, urls in rows]
    for start in range(0, len(items), 1000):
        with write_tx(engine) as conn:
            added, changed = code_repos.link_papers(conn, dict(items[start : start + 1000]), now)
        report.linked += added
        report.papers += changed
    with write_tx(engine) as conn:
        if full:
            code_repos.prune_history(conn, now.date() - dt.timedelta(days=HISTORY_DAYS))
        done = {"pk": top, "full": (now if full else last_full or now).isoformat()}
        bookkeeping.save_harvest(conn, SCAN_KEY, orjson.dumps(done).decode())


def sync_stars(
    engine: Engine,
    settings: Settings,
    *,
    limit: int | None = None,
    client: PoliteClient | None = None,
    now: dt.datetime | None = None,
    reserve: int | None = None,
    started: Callable[[int], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> StarsReport:
    """Ask GitHub about the repositories that are due (at most `limit`), after linking new papers to theirs.
    `now` fixes the clock (tests); `reserve` the requests to leave unused (default: a 20th of the hourly
    limit, at least RESERVE_MIN). `started` gets how many repositories the run means to ask about,
    `progress` each one asked about. Raises FetchError when GitHub keeps failing (or refuses the token):
    what was asked before is stored, and the next run goes on."""
    clock = (lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC))
    report = StarsReport()
    discover(engine, clock(), report)
    paused, hits = _load_limit(engine)
    if paused is not None and paused > clock():
        report.paused_until = paused
        return report
    with read_tx(engine) as conn:
        due = code_repos.count_due(conn, clock())
    if started:
        started(due if limit is None else min(due, limit))
    http = client or client_for(settings)
    try:
        while due and (limit is None or report.repos < limit):
            size = 100 if limit is None else min(100, limit - report.repos)
            with read_tx(engine) as conn:
                batch = code_repos.due_repos(conn, clock(), size)
            if not batch:
                break
            for repo in batch:
                stop, hits = _check(engine, settings, http, repo, clock(), report, reserve, hits)
                if progress:
                    progress(1)
                if stop:
                    return report
    finally:
        report.requests = http.requests
        if client is None:
            http.close()
        if report.papers:
            with write_tx(engine) as conn:
                bump_data_version(conn)
    return report


def _check(
    engine: Engine,
    settings: Settings,
    http: PoliteClient,
    repo: code_repos.DueRepo,
    now: dt.datetime,
    report: StarsReport,
    reserve: int | None,
    hits: int,
) -> tuple[bool, int]:
    """Ask about one repository and store the answer; `(stop the run, rate-limit answers in a row)`."""
    url = f"{settings.github_api_url.rstrip('/')}/repos/{repo.api_name}"
    try:
        response = http.get(url, ok=ANSWERED, headers=_headers(settings, repo.etag))
    except FetchError as exc:
        if exc.status == 401:
            raise FetchError(url, "HTTP 401: GitHub refused DAILYPAPERS_GITHUB_TOKEN", status=401) from exc
        with write_tx(engine) as conn:  # not this repository's fault, but it must not hold up the others
            code_repos.postpone(conn, repo.pk, error=str(exc), next_check_at=now + FAILED_AGAIN)
        raise
    status = response.status_code
    remaining = _int(response.headers.get("X-RateLimit-Remaining"))
    reset = _int(response.headers.get("X-RateLimit-Reset"))
    report.remaining = remaining
    if status in (403, 429) and _is_rate_limit(response, remaining):
        report.paused_until = _limit_pause(response, now, remaining, reset, hits)
        _save_limit(engine, report.paused_until, hits + 1)
        return True, hits + 1
    report.repos += 1
    with write_tx(engine) as conn:
        again = now + refresh_interval(code_repos.last_activity(conn, repo.pk), now.date())
        if status == 200:
            try:
                info = parse_repo(response.content, where=url)
            except SourceError as exc:
                report.errors.append(f"{repo.name}: {exc}")
                code_repos.postpone(conn, repo.pk, error=str(exc), next_check_at=now + BAD_ANSWER_AGAIN)
            else:
                report.updated += 1
                report.renamed += info.full_name.lower() != repo.api_name.lower()
                report.papers += code_repos.save_found(
                    conn,
                    repo.pk,
                    full_name=info.full_name,
                    github_id=info.github_id,
                    stars=info.stars,
                    pushed_at=info.pushed_at,
                    etag=response.headers.get("ETag", ""),
                    now=now,
                    next_check_at=again,
                )
        elif status == 304:
            report.not_modified += 1
            report.papers += code_repos.save_not_modified(conn, repo.pk, now=now, next_check_at=again)
        else:
            report.missing += 1
            error = f"HTTP {status} {_message(response)}".strip()
            report.papers += code_repos.save_missing(
                conn, repo.pk, error=error, now=now, next_check_at=now + MISSING_AGAIN
            )
    if hits:
        _save_limit(engine, None, 0)
    limit = _int(response.headers.get("X-RateLimit-Limit"))
    keep = reserve if reserve is not None else max(RESERVE_MIN, (limit or 0) // 20)
    if remaining is not None and remaining <= keep:
        report.paused_until = dt.datetime.fromtimestamp(reset, dt.UTC) if reset else now + dt.timedelta(hours=1)
        if report.paused_until <= now:  # a reset already past (clocks apart): wait a minute all the same
            report.paused_until = now + dt.timedelta(minutes=1)
        _save_limit(engine, report.paused_until, 0)
        return True, 0
    return False, 0


def _message(response: httpx.Response) -> str:
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    return str(data.get("message", ""))[:200] if isinstance(data, dict) else ""


def _is_rate_limit(response: httpx.Response, remaining: int | None) -> bool:
    """GitHub's answers for going too fast: 429, or 403 with no requests left, a Retry-After, or saying so
    (its secondary limits once said "abuse detection mechanism"). Other 403s refuse the repository."""
    if response.status_code == 429 or remaining == 0 or "Retry-After" in response.headers:
        return True
    message = _message(response).lower()
    return "rate limit" in message or "abuse" in message


def _limit_pause(
    response: httpx.Response, now: dt.datetime, remaining: int | None, reset: int | None, hits: int
) -> dt.datetime:
    """When to ask again after a rate-limit answer, as GitHub documents it: after Retry-After; at
    X-RateLimit-Reset when no requests are left (an hour without it); else a minute, doubling with each
    rate-limit answer in a row, up to an hour."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now.timestamp)
    if retry_after is not None:
        return now + dt.timedelta(seconds=max(1.0, retry_after))
    if remaining == 0:
        at = dt.datetime.fromtimestamp(reset, dt.UTC) if reset else now + dt.timedelta(hours=1)
        return at if at > now else now + dt.timedelta(minutes=1)
    return now + min(dt.timedelta(hours=1), dt.timedelta(minutes=2 ** min(hits, 6)))
