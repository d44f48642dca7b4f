"""A vote or a comment moves no shared row, and the page cache renders again only the pages it changed:
those that show the paper, a cut list the paper climbs onto, the paper's discussion, and the member's own
lists of upvotes and comments."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from unittest import mock

from sqlalchemy import Connection, Engine

from dailypapers.comments import discussion
from dailypapers.curation import voting
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import feed, profiles
from dailypapers.store.db import data_version, read_tx
from dailypapers.web.cache import DUE, PageCache, Rendered
from tests.support.accounts import make_user

MONDAY, TUESDAY = dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def _papers(engine: Engine) -> None:
    listed = [
        ("2603.00001", MONDAY, 5),
        ("2603.00002", MONDAY, 4),
        ("2603.00003", MONDAY, 3),
        ("2603.00004", TUESDAY, 1),
    ]
    records = [
        PaperRecord(id=pid, source="test", title=f"Paper {pid}", listing=Listing(day=day, source="test", upvotes=n))
        for pid, day, n in listed
    ]
    ingest_items(engine, records, ImportReport())


class Pages:
    """Pages rendered from the store through one page cache, counting renders per page."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cache = PageCache(engine, ttl=0)  # every lookup checks: no waiting in the tests
        self.renders: Counter[str] = Counter()

    def get(self, key: str, read: Callable[..., list[tuple[str, int]]]) -> str:
        def render() -> Rendered:
            self.renders[key] += 1
            with read_tx(self.engine) as conn:
                return repr(read(conn)).encode(), "text/plain", 200

        return self.cache.get_or_render(key, render).body.decode()


def _day(day: dt.date, limit: int = 50) -> Callable[..., list[tuple[str, int]]]:
    return lambda conn: [(e.id, e.upvotes) for e in feed.featured_between(conn, day, day, limit=limit)]


def test_a_vote_renders_again_only_the_pages_that_show_the_paper(engine: Engine) -> None:
    _papers(engine)
    ada = make_user(engine, "ada")
    pages = Pages(engine)
    upvoted = lambda conn: [(u.paper_id, 0) for u in profiles.upvotes_of(conn, ada.pk)]  # noqa: E731
    for key, read in (("monday", _day(MONDAY)), ("tuesday", _day(TUESDAY)), ("ada", upvoted)):
        pages.get(key, read)
    with read_tx(engine) as conn:
        version = data_version(conn)

    state = voting.vote(engine, ada, "2603.00004", True)
    assert (state.upvoted, state.upvotes) == (True, 2)
    with read_tx(engine) as conn:
        assert data_version(conn) == version  # no shared row moved

    assert pages.get("tuesday", _day(TUESDAY)) == "[('2603.00004', 2)]"
    assert pages.get("ada", upvoted) == "[('2603.00004', 0)]"
    assert pages.get("monday", _day(MONDAY)).startswith("[('2603.00001', 5)")
    assert pages.renders == {"monday": 1, "tuesday": 2, "ada": 2}

    # Cast again: nothing changes, nothing is rendered again. Taken back: the count goes back.
    assert voting.vote(engine, ada, "2603.00004", True).upvotes == 2
    pages.get("tuesday", _day(TUESDAY))
    assert pages.renders["tuesday"] == 2
    assert voting.vote(engine, ada, "2603.00004", False) == voting.VoteState("2603.00004", False, 1)
    assert pages.get("tuesday", _day(TUESDAY)) == "[('2603.00004', 1)]"
    assert pages.get("ada", upvoted) == "[]"
    assert pages.renders == {"monday": 1, "tuesday": 3, "ada": 3}


def test_a_paper_that_climbs_onto_a_cut_page_is_seen(engine: Engine) -> None:
    _papers(engine)
    top_two = _day(MONDAY, limit=2)
    pages = Pages(engine)
    assert pages.get("top", top_two) == "[('2603.00001', 5), ('2603.00002', 4)]"
    for name in ("ada", "bob"):  # the third paper (3 upvotes) gets two: 5 beats 4 and ties 5 (listed later)
        voting.vote(engine, make_user(engine, name), "2603.00003", True)
    assert pages.get("top", top_two) == "[('2603.00001', 5), ('2603.00003', 5)]"
    assert pages.renders["top"] == 2


def test_a_vote_from_another_process_reaches_a_cache_with_a_ttl(engine: Engine) -> None:
    _papers(engine)
    cache = PageCache(engine, ttl=60)
    renders = Counter[str]()

    def render() -> Rendered:
        renders["tuesday"] += 1
        with read_tx(engine) as conn:
            return repr(_day(TUESDAY)(conn)).encode(), "text/plain", 200

    assert cache.get_or_render("tuesday", render).body == b"[('2603.00004', 1)]"
    voting.vote(engine, make_user(engine, "ada"), "2603.00004", True)
    # Within the ttl the counts are not read again; `invalidate` (a write through this process) reads them.
    assert cache.get_or_render("tuesday", render).body == b"[('2603.00004', 1)]"
    cache.invalidate()
    assert cache.get_or_render("tuesday", render).body == b"[('2603.00004', 2)]"
    assert renders["tuesday"] == 2


def test_peek_never_reads_the_database_and_says_when_a_read_is_due(engine: Engine) -> None:
    _papers(engine)
    cache = PageCache(engine, ttl=60)

    def render() -> Rendered:
        with read_tx(engine) as conn:
            return repr(_day(TUESDAY)(conn)).encode(), "text/plain", 200

    assert cache.peek("tuesday") is None
    item = cache.get_or_render("tuesday", render)
    assert cache.peek("tuesday") is item
    with mock.patch.object(engine, "connect", side_effect=AssertionError("peek read the database")):
        assert cache.peek("tuesday") is item
        cache.invalidate()
        assert cache.peek("tuesday") is DUE
    assert cache.lookup("tuesday") is item  # the due read finds nothing changed
    assert cache.peek("tuesday") is item


def test_a_comment_renders_again_only_the_pages_that_show_the_paper_or_its_discussion(engine: Engine) -> None:
    _papers(engine)
    ada = make_user(engine, "ada")
    pages = Pages(engine)
    with read_tx(engine) as conn:
        tuesday_pk = feed.paper_pk_of(conn, "2603.00004")
        version = data_version(conn)
    assert tuesday_pk is not None

    def thread(conn: Connection) -> list[tuple[str, int]]:
        return [(c.body, c.pk) for c in discussion.thread(conn, tuesday_pk, None)]

    def said(conn: Connection) -> list[tuple[str, int]]:
        return [(c.paper_id, 0) for c in profiles.comments_of(conn, ada.pk, include_concealed=False)]

    def counts(conn: Connection) -> list[tuple[str, int]]:
        return [(e.id, e.num_comments) for e in feed.featured_between(conn, TUESDAY, TUESDAY)]

    pages_of = {"monday": _day(MONDAY), "cards": counts, "thread": thread, "said": said}
    for key, read in pages_of.items():
        pages.get(key, read)

    posted = discussion.post(engine, "2603.00004", ada, "First!")
    assert pages.get("cards", counts) == "[('2603.00004', 1)]"
    assert "First!" in pages.get("thread", thread) and "2603.00004" in pages.get("said", said)
    discussion.edit(engine, posted.pk, ada, "Second thoughts")
    assert "Second thoughts" in pages.get("thread", thread)
    discussion.delete(engine, posted.pk, ada)
    assert pages.get("cards", counts) == "[('2603.00004', 0)]" and pages.get("said", said) == "[]"
    assert "Second thoughts" not in pages.get("thread", thread)
    pages.get("monday", _day(MONDAY))
    assert pages.renders == {"monday": 1, "cards": 3, "thread": 4, "said": 3}
    with read_tx(engine) as conn:
        assert data_version(conn) == version
