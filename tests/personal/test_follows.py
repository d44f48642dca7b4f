"""Following authors, organizations, categories and saved searches (personal.follows), on both databases:
what a follow keeps and refuses, the new papers it brings with their reasons, and the reasons of candidate
papers for "for you"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.personal import follows
from dailypapers.problems import NotFound, Unprocessable
from dailypapers.search.service import Searcher
from dailypapers.sources.record import Author, PaperRecord
from dailypapers.store import feed, reader_profiles, search_index
from dailypapers.store.accounts import Account
from dailypapers.store.convert import utc_today
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user

TODAY = utc_today()


def paper(
    pid: str,
    title: str,
    *,
    authors: tuple[str, ...] = ("Jane Doe",),
    categories: tuple[str, ...] = ("cs.LG",),
    announced: dt.date | None = None,
    published: dt.date | None = None,
    org: str = "",
    abstract: str = "An abstract about nothing in particular.",
) -> PaperRecord:
    when = dt.datetime.combine(published, dt.time(12), tzinfo=dt.UTC) if published else None
    return PaperRecord(
        id=pid,
        source="test",
        title=title,
        abstract=abstract,
        authors=[Author(a) for a in authors],
        categories=list(categories),
        primary_category=categories[0] if categories else "",
        announced=announced,
        published=when,
        extra={"organization": {"name": org, "fullname": org.upper()}} if org else {},
    )


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


PAPERS = [
    # Balázs' paper, written in TeX, new: announced two days ago.
    paper(
        "2612.00001",
        "Sparse attention for long documents",
        authors=("Csaba Bal\\'azs", "Ann Other"),
        categories=("cs.CL", "cs.LG"),
        announced=days_ago(2),
        published=days_ago(4),
    ),
    # Old: announced 40 days ago (published recently does not count: the announcement does).
    paper(
        "2610.00002",
        "Diffusion models, an old paper",
        authors=("Csaba Balázs",),
        categories=("cs.CV",),
        announced=days_ago(40),
        published=days_ago(42),
    ),
    # New by its submission day (no announcement known), in math.AG, from an organization.
    paper(
        "2612.00003",
        "Diffusion models for algebraic curves",
        authors=("Bob Builder",),
        categories=("math.AG",),
        published=days_ago(1),
        org="Qwen",
    ),
    # New, in cs.CV, with "diffusion" but not "models".
    paper(
        "2612.00004",
        "Latent diffusion for video",
        authors=("Carol Crane",),
        categories=("cs.CV",),
        announced=days_ago(0),
        published=days_ago(1),
    ),
]


@pytest.fixture
def reader(engine: Engine) -> Account:
    ingest_items(engine, PAPERS, ImportReport())
    search_index.index_pending(engine)  # SQLite's keyword index catches up (as the server's jobs do)
    return make_user(engine, "reader")


@pytest.fixture
def searcher(engine: Engine, tmp_path: Path) -> Searcher:
    return Searcher(engine, Settings(data_dir=tmp_path, embed_background=False))


def pk_of(engine: Engine, pid: str) -> int:
    with read_tx(engine) as conn:
        pk = feed.paper_pk_of(conn, pid)
    assert pk is not None
    return pk


def ids(found: list[follows.FollowedPaper]) -> list[str]:
    return [p.entry.id for p in found]


def test_a_follow_is_kept_under_its_key_and_is_idempotent(engine: Engine, reader: Account) -> None:
    first = follows.follow(engine, reader, "author", "C. Bal\\'azs")
    assert (first.kind, first.key, first.label) == ("author", "c balazs", "C. Balázs")
    again = follows.follow(engine, reader, "author", "c.   BALAZS")
    assert again.pk == first.pk and again.label == "C. Balázs"  # the first spelling stays
    org = follows.follow(engine, reader, "org", "  Qwen ")
    assert (org.key, org.label) == ("qwen", "Qwen")
    cat = follows.follow(engine, reader, "category", " cs.CL ")
    assert (cat.key, cat.label) == ("cs.cl", "cs.CL")
    search = follows.follow(engine, reader, "search", '  "diffusion   models"  cat:cs ')
    assert search.key == search.label == '"diffusion models" cat:cs'
    assert [f.pk for f in follows.follows_of(engine, reader.pk)] == [first.pk, org.pk, cat.pk, search.pk]
    assert follows.followed(engine, reader.pk, "author", "c balázs") == first
    assert follows.followed(engine, reader.pk, "author", "Someone Else") is None
    assert follows.followed(engine, reader.pk, "nonsense", "x") is None


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("people", "Hinton", "kind"),
        ("author", "", "value"),
        ("author", "   ", "value"),
        ("author", "x" * 10_000, "value"),
        ("author", "-- ; !!", "value"),
        ("author", "bad\x00name", "value"),
        ("org", "\u200b", "value"),
        ("category", "cs.CL; DROP TABLE follows", "value"),
        ("category", "cs.CL,math.AG", "value"),
        ("category", "x" * 41, "value"),
        ("search", "", "value"),
        ("search", "q" * 501, "value"),
        ("search", "-survey", "value"),  # exclusions alone select nothing
    ],
)
def test_bad_follows_are_refused_naming_the_field(
    engine: Engine, reader: Account, kind: str, value: str, field: str
) -> None:
    with pytest.raises(Unprocessable, match=f"^{field}: "):
        follows.follow(engine, reader, kind, value)
    assert follows.follows_of(engine, reader.pk) == []


def test_injection_strings_are_only_text(engine: Engine, reader: Account) -> None:
    hostile = "Robert'); DROP TABLE follows;--"
    f = follows.follow(engine, reader, "author", hostile)
    assert f.key == "robert drop table follows"
    s = follows.follow(engine, reader, "search", "' OR 1=1 -- NEAR(a b) *")
    assert s.label == "' OR 1=1 -- NEAR(a b) *"
    assert len(follows.follows_of(engine, reader.pk)) == 2


def test_follows_are_limited(engine: Engine, reader: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follows, "MAX_FOLLOWS", 3)
    monkeypatch.setattr(follows, "MAX_SEARCHES", 1)
    follows.follow(engine, reader, "search", "diffusion")
    with pytest.raises(Unprocessable, match="searches"):
        follows.follow(engine, reader, "search", "attention")
    follows.follow(engine, reader, "author", "A")
    follows.follow(engine, reader, "author", "B")
    with pytest.raises(Unprocessable, match="3 things"):
        follows.follow(engine, reader, "author", "C")
    assert follows.follow(engine, reader, "author", "b").label == "B"  # an existing follow is still answered


def test_unfollowing_by_value_and_by_pk(engine: Engine, reader: Account) -> None:
    other = make_user(engine, "other")
    a = follows.follow(engine, reader, "author", "Jane Doe")
    b = follows.follow(engine, reader, "category", "cs")
    theirs = follows.follow(engine, other, "category", "cs")
    assert follows.unfollow(engine, reader, "author", "jane   doe") is True
    assert follows.unfollow(engine, reader, "author", "Jane Doe") is False  # idempotent
    with pytest.raises(NotFound):
        follows.unfollow_by_pk(engine, reader, theirs.pk)  # not theirs to remove
    assert follows.unfollow_by_pk(engine, reader, b.pk) == b
    with pytest.raises(NotFound):
        follows.unfollow_by_pk(engine, reader, b.pk)
    assert follows.follows_of(engine, reader.pk) == []
    assert [f.pk for f in follows.follows_of(engine, other.pk)] == [theirs.pk]
    assert a.pk != theirs.pk


def test_every_change_marks_the_profile_stale(engine: Engine, reader: Account) -> None:
    def stale() -> dt.datetime | None:
        with read_tx(engine) as conn:
            return dict(reader_profiles.stale(conn, 10)).get(reader.pk)

    def trained() -> None:
        seen = stale()
        with write_tx(engine) as conn:
            reader_profiles.store_trained(conn, reader.pk, seen, None, 0)
        assert stale() is None

    follows.follow(engine, reader, "org", "Qwen")
    assert stale()
    trained()
    follows.follow(engine, reader, "org", "QWEN")  # nothing changed
    assert stale() is None
    follows.unfollow(engine, reader, "org", "qwen")
    assert stale()
    trained()
    f = follows.follow(engine, reader, "org", "Qwen")
    trained()
    follows.unfollow_by_pk(engine, reader, f.pk)
    assert stale()


def test_new_papers_from_follows_with_their_reasons(engine: Engine, reader: Account, searcher: Searcher) -> None:
    since = days_ago(7)
    assert follows.new_from_follows(engine, searcher, reader.pk, since, 10) == []
    follows.follow(engine, reader, "author", "Csaba Balazs")
    follows.follow(engine, reader, "org", "qwen")
    follows.follow(engine, reader, "category", "cs")
    follows.follow(engine, reader, "search", "diffusion models")
    found = follows.new_from_follows(engine, searcher, reader.pk, since, 10)
    # Newest first (by announcement, else submission); the old paper by Balázs, on diffusion models, is not new.
    assert ids(found) == ["2612.00004", "2612.00003", "2612.00001"]
    reasons = {p.entry.id: p.reasons for p in found}
    assert reasons["2612.00001"] == ["by an author you follow: Csaba Balazs", "in cs, a category you follow"]
    assert reasons["2612.00003"] == ["from an organization you follow: qwen", "matches your search 'diffusion models'"]
    # "diffusion" without "models" does not match the search
    assert reasons["2612.00004"] == ["in cs, a category you follow"]
    assert [p.day for p in found] == [days_ago(0), days_ago(1), days_ago(2)]
    # Paging.
    assert ids(follows.new_from_follows(engine, searcher, reader.pk, since, 2)) == ["2612.00004", "2612.00003"]
    assert ids(follows.new_from_follows(engine, searcher, reader.pk, since, 2, offset=2)) == ["2612.00001"]
    assert follows.new_from_follows(engine, searcher, reader.pk, since, 2, offset=4) == []
    # A longer window brings the old paper, for both the author and the search.
    older = follows.new_from_follows(engine, searcher, reader.pk, days_ago(60), 10)
    assert ids(older)[-1] == "2610.00002"
    assert older[-1].reasons == [
        "by an author you follow: Csaba Balazs",
        "in cs, a category you follow",
        "matches your search 'diffusion models'",
    ]


def test_a_category_follows_its_class_only_and_an_archive_all_its_classes(
    engine: Engine, reader: Account, searcher: Searcher
) -> None:
    follows.follow(engine, reader, "category", "CS.cl")
    found = follows.new_from_follows(engine, searcher, reader.pk, days_ago(7), 10)
    assert ids(found) == ["2612.00001"] and found[0].reasons == ["in CS.cl, a category you follow"]
    follows.follow(engine, reader, "category", "math")
    assert ids(follows.new_from_follows(engine, searcher, reader.pk, days_ago(7), 10)) == ["2612.00003", "2612.00001"]


def test_a_saved_search_with_filters_only(engine: Engine, reader: Account, searcher: Searcher) -> None:
    follows.follow(engine, reader, "search", 'author:"Carol Crane"')
    found = follows.new_from_follows(engine, searcher, reader.pk, days_ago(7), 10)
    assert ids(found) == ["2612.00004"]
    follows.follow(engine, reader, "search", "diffusion until:2001")  # its own dates end long before
    assert ids(follows.new_from_follows(engine, searcher, reader.pk, days_ago(7), 10)) == ["2612.00004"]


def test_withdrawn_papers_are_left_out(engine: Engine, reader: Account, searcher: Searcher) -> None:
    follows.follow(engine, reader, "category", "cs.CV")
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE papers SET withdrawn = :t WHERE id = '2612.00004'"), {"t": True})
    assert follows.new_from_follows(engine, searcher, reader.pk, days_ago(7), 10) == []


def test_matches_among_candidates(engine: Engine, reader: Account, searcher: Searcher) -> None:
    pks = {pid: pk_of(engine, pid) for pid in ("2612.00001", "2610.00002", "2612.00003", "2612.00004")}
    assert follows.matches_among(engine, searcher, reader.pk, list(pks.values())) == {}
    follows.follow(engine, reader, "author", "Csaba Bal\\'azs")
    follows.follow(engine, reader, "category", "math.AG")
    follows.follow(engine, reader, "search", "diffusion models")
    other = make_user(engine, "other")
    follows.follow(engine, other, "category", "cs")  # someone else's follows count for nothing here
    found = follows.matches_among(engine, searcher, reader.pk, list(pks.values()))
    assert found == {
        pks["2612.00001"]: ["by an author you follow: Csaba Balázs"],
        pks["2610.00002"]: ["by an author you follow: Csaba Balázs", "matches your search 'diffusion models'"],
        pks["2612.00003"]: ["in math.AG, a category you follow", "matches your search 'diffusion models'"],
    }
    assert follows.matches_among(engine, searcher, reader.pk, [pks["2612.00004"]]) == {}
    assert follows.matches_among(engine, searcher, reader.pk, []) == {}
