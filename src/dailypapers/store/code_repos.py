"""GitHub repositories that papers link to (`ingest.github_stars` keeps them): which paper links to which,
what GitHub last said about each (stars, last push, ETag), when to ask again, a star count per day, and
each paper's own `stars`, `stars_growth` and `code_pushed_at`: those of its most starred repository.

A paper's values follow its repositories in the same transaction that changes them, so they never
disagree with `code_repos`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Text, bindparam, cast, delete, exists, func, or_, select, update

from dailypapers.store.convert import as_date, aware, chunks, str_list, upsert_insert
from dailypapers.store.schema import DailyListing, Paper
from dailypapers.store.schema_derived import CodeRepo, CodeRepoStars, PaperCodeRepo

repos = CodeRepo.__table__
links = PaperCodeRepo.__table__
history = CodeRepoStars.__table__
papers = Paper.__table__
listings = DailyListing.__table__

CHUNK = 500  # ids per IN (...) list
GROWTH_DAYS = 7  # stars_growth: stars gained over this many days
_OLDEST_BASELINE = 14  # a week's growth is measured from a count at most this many days old


@dataclass(frozen=True, slots=True)
class DueRepo:
    """A repository to ask GitHub about."""

    pk: int
    name: str  # lower-cased owner/name, as papers link to it
    full_name: str  # GitHub's spelling once it answered (the new name after a rename), the first link's before
    etag: str
    status: str

    @property
    def api_name(self) -> str:
        """The name to ask for: GitHub's own after it answered (no redirect after a rename)."""
        return self.full_name or self.name


@dataclass(frozen=True, slots=True)
class RepoState:
    """All that is stored about a repository."""

    pk: int
    name: str
    full_name: str
    github_id: int | None
    status: str
    stars: int | None
    stars_growth: int | None
    pushed_at: dt.datetime | None
    etag: str
    error: str
    checked_at: dt.datetime | None
    next_check_at: dt.datetime


# ---------------------------------------------------------------------------------------------
# Which papers link to which repositories


def papers_linking_github(
    conn: Connection, *, after_pk: int = 0, since: dt.date | None = None
) -> list[tuple[int, list[str]]]:
    """`(pk, code_urls)` of the papers whose code links mention github.com or that link to a repository
    already, among those past `after_pk` and (with `since`) those published, announced or featured on or
    after `since`. Newest pk first, so that the newest papers' repositories are asked about first."""
    scope = papers.c.pk > after_pk
    if since is not None:
        start = dt.datetime(since.year, since.month, since.day, tzinfo=dt.UTC)
        featured = select(listings.c.paper_pk).where(listings.c.day >= since)
        scope = or_(scope, papers.c.published >= start, papers.c.announced >= since, papers.c.pk.in_(featured))
    mentions = cast(papers.c.code_urls, Text).ilike("%github.com%")
    linked = papers.c.pk.in_(select(links.c.paper_pk))
    query = select(papers.c.pk, papers.c.code_urls).where(scope, or_(mentions, linked)).order_by(papers.c.pk.desc())
    return [(int(r.pk), str_list(r.code_urls)) for r in conn.execute(query)]


def _repo_pks(conn: Connection, names: Collection[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in chunks(names, CHUNK):
        found.update(
            {r.name: int(r.pk) for r in conn.execute(select(repos.c.name, repos.c.pk).where(repos.c.name.in_(batch)))}
        )
    return found


def link_papers(conn: Connection, linked: Mapping[int, Sequence[str]], now: dt.datetime) -> tuple[int, int]:
    """Make each paper of `linked` link to exactly these repositories (`owner/name`, in any case), adding
    the repositories not known yet, due at `now` (the first linked first) and asked for as first spelled.
    The papers whose links changed get their repositories' stars. Returns `(repositories added, papers
    whose stars changed)`."""
    alive: set[int] = set()  # papers deleted since they were read are left out
    for batch in chunks(linked, CHUNK):
        alive.update(int(r[0]) for r in conn.execute(select(papers.c.pk).where(papers.c.pk.in_(batch))))
    linked = {paper: names for paper, names in linked.items() if paper in alive}
    spelled: dict[str, str] = {}
    for names in linked.values():
        for name in names:
            spelled.setdefault(name.lower(), name)
    known = _repo_pks(conn, spelled)
    new = [key for key in spelled if key not in known]
    added = 0
    for batch in chunks(new, CHUNK):
        stmt = upsert_insert(conn)(repos).values(
            [{"name": k, "full_name": spelled[k], "next_check_at": now} for k in batch]
        )
        stmt = stmt.on_conflict_do_nothing(index_elements=["name"]).returning(repos.c.name, repos.c.pk)
        rows = conn.execute(stmt).all()
        added += len(rows)
        known.update({r.name: int(r.pk) for r in rows})
    known.update(_repo_pks(conn, [k for k in new if k not in known]))  # added meanwhile by another process
    want = {(paper, known[name.lower()]) for paper, names in linked.items() for name in names}
    have: set[tuple[int, int]] = set()
    for batch in chunks(linked, CHUNK):
        query = select(links.c.paper_pk, links.c.repo_pk).where(links.c.paper_pk.in_(batch))
        have.update((int(r.paper_pk), int(r.repo_pk)) for r in conn.execute(query))
    gone = have - want
    if gone:
        stmt = delete(links).where(links.c.paper_pk == bindparam("p"), links.c.repo_pk == bindparam("r"))
        conn.execute(stmt, [{"p": p, "r": r} for p, r in gone])
    for batch in chunks(want - have, CHUNK):
        stmt = upsert_insert(conn)(links).values([{"paper_pk": p, "repo_pk": r} for p, r in batch])
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["paper_pk", "repo_pk"]))
    return added, refresh_papers(conn, {paper for paper, _ in gone | (want - have)})


def linked_papers(conn: Connection, repo_pk: int) -> list[int]:
    """The papers that link to a repository."""
    return [int(r[0]) for r in conn.execute(select(links.c.paper_pk).where(links.c.repo_pk == repo_pk))]


# ---------------------------------------------------------------------------------------------
# What to ask GitHub about, and what it answered


def _due(now: dt.datetime) -> Any:
    linked = exists().where(links.c.repo_pk == repos.c.pk)
    return (repos.c.next_check_at <= now) & linked


def due_repos(conn: Connection, now: dt.datetime, limit: int) -> list[DueRepo]:
    """Up to `limit` repositories that some paper links to and whose time to be asked about has come,
    the longest waiting first."""
    query = (
        select(repos.c.pk, repos.c.name, repos.c.full_name, repos.c.etag, repos.c.status)
        .where(_due(now))
        .order_by(repos.c.next_check_at, repos.c.pk)
        .limit(limit)
    )
    return [DueRepo(int(r.pk), r.name, r.full_name, r.etag, r.status) for r in conn.execute(query)]


def count_due(conn: Connection, now: dt.datetime) -> int:
    return int(conn.execute(select(func.count()).select_from(repos).where(_due(now))).scalar() or 0)


def last_activity(conn: Connection, repo_pk: int) -> dt.date | None:
    """The latest day a paper linking to the repository was published, announced or featured."""
    joined = links.join(papers, papers.c.pk == links.c.paper_pk).outerjoin(listings, listings.c.paper_pk == papers.c.pk)
    row = conn.execute(
        select(func.max(papers.c.published), func.max(papers.c.announced), func.max(listings.c.day))
        .select_from(joined)
        .where(links.c.repo_pk == repo_pk)
    ).one()
    published = aware(row[0])
    days = [d for d in (published.date() if published else None, as_date(row[1]), as_date(row[2])) if d]
    return max(days) if days else None


def repo_state(conn: Connection, name: str) -> RepoState | None:
    """A repository by its lower-cased `owner/name`."""
    row = conn.execute(select(repos).where(repos.c.name == name.lower())).first()
    if row is None:
        return None
    m = row._mapping
    return RepoState(**{f.name: m[f.name] for f in dataclasses.fields(RepoState)})


def star_history(conn: Connection, repo_pk: int) -> list[tuple[dt.date, int]]:
    """`(day, stars)` of a repository, oldest first."""
    query = select(history.c.day, history.c.stars).where(history.c.repo_pk == repo_pk).order_by(history.c.day)
    return [
        (dt.date.fromisoformat(str(r.day)) if not isinstance(r.day, dt.date) else r.day, int(r.stars))
        for r in conn.execute(query)
    ]


def _current(conn: Connection, repo_pk: int) -> tuple[Any, ...]:
    row = conn.execute(
        select(repos.c.stars, repos.c.stars_growth, repos.c.pushed_at).where(repos.c.pk == repo_pk)
    ).one()
    return (row.stars, row.stars_growth, aware(row.pushed_at))


def _count_day(conn: Connection, repo_pk: int, day: dt.date, stars: int) -> int | None:
    """Record the day's count (the last one seen that day wins); returns the growth over GROWTH_DAYS:
    from the latest count at least a week old (and at most two), else from the oldest count since,
    None while there is no count from an earlier day."""
    stmt = upsert_insert(conn)(history).values(repo_pk=repo_pk, day=day, stars=stars)
    conn.execute(stmt.on_conflict_do_update(index_elements=["repo_pk", "day"], set_={"stars": stmt.excluded.stars}))
    week = day - dt.timedelta(days=GROWTH_DAYS)
    mine = history.c.repo_pk == repo_pk
    base = conn.execute(
        select(history.c.stars)
        .where(mine, history.c.day <= week, history.c.day >= day - dt.timedelta(days=_OLDEST_BASELINE))
        .order_by(history.c.day.desc())
        .limit(1)
    ).scalar()
    if base is None:
        base = conn.execute(
            select(history.c.stars)
            .where(mine, history.c.day > week, history.c.day < day)
            .order_by(history.c.day)
            .limit(1)
        ).scalar()
    return None if base is None else stars - int(base)


def _changed(conn: Connection, repo_pk: int, before: tuple[Any, ...]) -> int:
    """Refresh the repository's papers if its stars, growth or last push changed; how many changed."""
    if _current(conn, repo_pk) == before:
        return 0
    return refresh_papers(conn, linked_papers(conn, repo_pk))


def save_found(
    conn: Connection,
    repo_pk: int,
    *,
    full_name: str,
    github_id: int | None,
    stars: int,
    pushed_at: dt.datetime | None,
    etag: str,
    now: dt.datetime,
    next_check_at: dt.datetime,
) -> int:
    """GitHub described the repository (200): store it, its count of the day and its growth, and its
    papers' values. Returns how many papers' values changed."""
    before = _current(conn, repo_pk)
    growth = _count_day(conn, repo_pk, now.date(), stars)
    conn.execute(
        update(repos)
        .where(repos.c.pk == repo_pk)
        .values(
            status="ok",
            full_name=full_name,
            github_id=github_id,
            stars=stars,
            stars_growth=growth,
            pushed_at=pushed_at,
            etag=etag,
            error="",
            checked_at=now,
            next_check_at=next_check_at,
        )
    )
    return _changed(conn, repo_pk, before)


def save_not_modified(conn: Connection, repo_pk: int, *, now: dt.datetime, next_check_at: dt.datetime) -> int:
    """GitHub answered 304: the stored description stands; it counts for the day (the growth moves on)."""
    before = _current(conn, repo_pk)
    values: dict[str, Any] = {"error": "", "checked_at": now, "next_check_at": next_check_at}
    if before[0] is not None:
        values["stars_growth"] = _count_day(conn, repo_pk, now.date(), int(before[0]))
    conn.execute(update(repos).where(repos.c.pk == repo_pk).values(values))
    return _changed(conn, repo_pk, before)


def save_missing(conn: Connection, repo_pk: int, *, error: str, now: dt.datetime, next_check_at: dt.datetime) -> int:
    """GitHub has no such repository (404, 410, 451, or refused it): no stars until it is found again;
    its count history is kept."""
    before = _current(conn, repo_pk)
    conn.execute(
        update(repos)
        .where(repos.c.pk == repo_pk)
        .values(
            status="missing",
            stars=None,
            stars_growth=None,
            pushed_at=None,
            etag="",
            error=error,
            checked_at=now,
            next_check_at=next_check_at,
        )
    )
    return _changed(conn, repo_pk, before)


def postpone(conn: Connection, repo_pk: int, *, error: str, next_check_at: dt.datetime) -> None:
    """Asking failed (a bad answer, a server error): keep what is stored and ask again at `next_check_at`."""
    conn.execute(update(repos).where(repos.c.pk == repo_pk).values(error=error, next_check_at=next_check_at))


# ---------------------------------------------------------------------------------------------
# Papers' own columns


def refresh_papers(conn: Connection, paper_pks: Iterable[int]) -> int:
    """Set each paper's `stars`, `stars_growth` and `code_pushed_at` to those of its most starred
    repository (the first linked on a tie), NULL when none has stars; returns how many papers changed."""
    changed = 0
    for batch in chunks(sorted(set(paper_pks)), CHUNK):
        best: dict[int, tuple[Any, ...]] = {}
        query = (
            select(links.c.paper_pk, repos.c.stars, repos.c.stars_growth, repos.c.pushed_at)
            .join(repos, repos.c.pk == links.c.repo_pk)
            .where(links.c.paper_pk.in_(batch), repos.c.stars.is_not(None))
            .order_by(links.c.paper_pk, repos.c.stars.desc(), repos.c.pk)
        )
        for r in conn.execute(query):
            best.setdefault(int(r.paper_pk), (r.stars, r.stars_growth, aware(r.pushed_at)))
        query = select(papers.c.pk, papers.c.stars, papers.c.stars_growth, papers.c.code_pushed_at).where(
            papers.c.pk.in_(batch)
        )
        rows = []
        for r in conn.execute(query):
            want = best.get(int(r.pk), (None, None, None))
            if (r.stars, r.stars_growth, aware(r.code_pushed_at)) != want:
                rows.append({"p": int(r.pk), "s": want[0], "g": want[1], "t": want[2]})
        if rows:
            stmt = (
                update(papers)
                .where(papers.c.pk == bindparam("p"))
                .values(
                    stars=bindparam("s", type_=papers.c.stars.type),
                    stars_growth=bindparam("g", type_=papers.c.stars_growth.type),
                    code_pushed_at=bindparam("t", type_=papers.c.code_pushed_at.type),
                )
            )
            conn.execute(stmt, rows)
            changed += len(rows)
    return changed


def prune_history(conn: Connection, before: dt.date) -> int:
    """Forget daily counts older than `before`; returns how many."""
    return int(conn.execute(delete(history).where(history.c.day < before)).rowcount or 0)
