"""Papers by the names on them (store.paper_names), kept at ingest and filled by migration 0009; and the
feed's category filter (store.feed.Filter.categories). On both databases."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import Engine, inspect, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.names import author_key
from dailypapers.sources.record import Author, Listing, PaperRecord
from dailypapers.store import feed, paper_names
from dailypapers.store.db import alembic_config, read_tx

DAY = dt.date(2026, 7, 31)


def _paper(n: int, authors: list[str], *, org: str | None = None, cats: list[str] | None = None, **kw) -> PaperRecord:  # type: ignore[no-untyped-def]
    extra = {"organization": {"name": org, "fullname": f"{org} Lab"}} if org else {}
    return PaperRecord(
        id=f"2607.{n:05d}",
        source="t",
        title=f"Paper {n}",
        abstract="An abstract.",
        authors=[Author(a) for a in authors],
        categories=cats or [],
        primary_category=(cats or [""])[0],
        published=dt.datetime(2026, 7, 1, tzinfo=dt.UTC) + dt.timedelta(days=n),
        extra=extra,
        **kw,
    )


def _index(engine: Engine) -> set[tuple[str, str, str]]:
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT n.kind, n.key, p.id FROM paper_names n JOIN papers p ON p.pk = n.paper_pk"))
        return {(r.kind, r.key, r.id) for r in rows}


def test_ingest_indexes_authors_and_organizations(engine: Engine) -> None:
    ingest_items(
        engine,
        [
            _paper(1, ["C. Bal\\'azs", "E. L. Berger"]),
            _paper(2, ["C. Balázs", "C. Balazs"], org="Qwen"),  # one author twice: one entry
            _paper(3, ["c. BALAZS", "Other Person"], org="qwen"),
            _paper(4, [], org=None),
        ],
        ImportReport(),
    )
    assert _index(engine) == {
        ("author", "c balazs", "2607.00001"),
        ("author", "e l berger", "2607.00001"),
        ("author", "c balazs", "2607.00002"),
        ("org", "qwen", "2607.00002"),
        ("author", "c balazs", "2607.00003"),
        ("author", "other person", "2607.00003"),
        ("org", "qwen", "2607.00003"),
    }
    with read_tx(engine) as conn:
        assert paper_names.count_papers(conn, "author", "c balazs") == 3
        newest_first = [e.id for e in paper_names.papers_by_author(conn, "c balazs", limit=10)]
        assert newest_first == ["2607.00003", "2607.00002", "2607.00001"]
        assert [e.id for e in paper_names.papers_by_author(conn, "c balazs", limit=2, offset=2)] == ["2607.00001"]
        assert paper_names.author_spellings(conn, "c balazs") == ["c. BALAZS", "C. Balázs", "C. Bal\\'azs"]
        assert paper_names.org_names(conn, "qwen") == ("qwen", "qwen Lab")  # as on its newest paper
        assert paper_names.org_names(conn, "nobody") is None
        assert paper_names.count_papers(conn, "author", "nobody") == 0


def test_an_update_replaces_the_entries(engine: Engine) -> None:
    ingest_items(engine, [_paper(1, ["Ann Author", "Bob Writer"], org="OldOrg")], ImportReport())
    ingest_items(engine, [_paper(1, ["Ann Author", "Carla Coder"], org="NewOrg")], ImportReport())
    with read_tx(engine) as conn:
        stored = conn.execute(text("SELECT authors, extra FROM papers")).one()
        expected = set(paper_names.name_keys(stored.authors, stored.extra))
    # Whatever the merge kept, the index says the same as the stored row.
    assert {(k, key) for k, key, _ in _index(engine)} == expected
    assert ("author", author_key("Ann Author")) in expected


def test_org_pages_put_the_latest_featured_first(engine: Engine) -> None:
    ingest_items(
        engine,
        [
            _paper(1, ["A"], org="Lab", listing=Listing(DAY, "t")),
            _paper(2, ["A"], org="Lab", listing=Listing(DAY - dt.timedelta(days=3), "t")),
            _paper(3, ["A"], org="Lab"),  # never featured: last
            _paper(4, ["A"], org="Other", listing=Listing(DAY, "t")),
        ],
        ImportReport(),
    )
    with read_tx(engine) as conn:
        assert [e.id for e in paper_names.papers_of_org(conn, "lab", limit=10)] == [
            "2607.00001",
            "2607.00002",
            "2607.00003",
        ]
        first = paper_names.papers_of_org(conn, "lab", limit=1)[0]
        assert first.day == DAY  # entries come with their listing


def test_migration_0009_fills_the_index_in_chunks(engine: Engine) -> None:
    """Papers stored before 0009 are indexed by it: more papers than one chunk (2,000) holds."""
    records = [_paper(i, [f"Author {i % 7}", "C. Bal\\'azs"], org="Lab" if i % 2 else None) for i in range(2100)]
    ingest_items(engine, records, ImportReport())
    before = _index(engine)
    assert len(before) == 2100 * 2 + 1050
    command.downgrade(alembic_config(engine), "0008")
    assert "paper_names" not in inspect(engine).get_table_names()
    command.upgrade(alembic_config(engine), "head")
    assert _index(engine) == before


def test_category_filter(engine: Engine) -> None:
    ingest_items(
        engine,
        [
            _paper(1, ["A"], cats=["cs.CL", "cs.LG"], listing=Listing(DAY, "t", upvotes=5)),
            _paper(
                2, ["A"], cats=["cs.CV"], listing=Listing(DAY, "t", upvotes=4), code_urls=["https://github.com/a/b"]
            ),
            _paper(3, ["A"], cats=["math.AG"], listing=Listing(DAY, "t", upvotes=3)),
            _paper(4, ["A"], cats=["hep-th", "cs.CL"], listing=Listing(DAY - dt.timedelta(days=1), "t", upvotes=2)),
            _paper(5, ["A"], cats=[], listing=Listing(DAY, "t", upvotes=1)),
        ],
        ImportReport(),
    )

    def ids(*cats: str, code: bool = False, start: dt.date | None = DAY) -> list[str]:
        only = feed.Filter(categories=cats, has_code=code)
        with read_tx(engine) as conn:
            entries = feed.featured_between(conn, start, DAY, only=only)
            assert feed.count_featured(conn, start, DAY, only) == len(entries)
            ranked = order.ordered(conn, TrendingParams(), None, limit=None, only=only, now=dt.datetime.now(dt.UTC))
            if start is None:  # across days: the trending score, over listings_between
                assert sorted(e.id for e in ranked) == sorted(e.id for e in entries)
        return [e.id[-1] for e in entries]

    assert ids() == ["1", "2", "3", "5"]
    assert ids("cs.CL") == ["1"]
    assert ids("cs.CL", start=None) == ["1", "4"]
    assert ids("cs.cl", "CS.CV") == ["1", "2"]  # any of them, any case
    assert ids("cs") == ["1", "2"]  # an archive: all its classes
    assert ids("math.AG", "hep-th", start=None) == ["3", "4"]
    assert ids("cs", code=True) == ["2"]
    assert ids("q-bio.NC") == []
