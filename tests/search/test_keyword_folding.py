"""Accents are folded in keyword search on both databases (FTS5's remove_diacritics; PostgreSQL's
`dp_fold_accents`, migration 0013), and PostgreSQL's ranked searches that read a bounded number of matches
(store/keyword_pg.py) return what ranking every match returns."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search.query import parse
from dailypapers.sources.record import Author, PaperRecord
from dailypapers.store import keyword, keyword_pg, search_index, term_stats
from dailypapers.store.db import read_tx, write_tx


def _add(engine: Engine, papers: list[tuple[str, str, str, list[str]]]) -> dict[str, int]:
    records = [
        PaperRecord(id=pid, source="test", title=title, abstract=abstract, authors=[Author(a) for a in authors])
        for pid, title, abstract, authors in papers
    ]
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)
    with read_tx(engine) as conn:
        return dict(conn.execute(text("SELECT id, pk FROM papers")).all())


def _ids(engine: Engine, pks: dict[str, int], raw: str) -> set[str]:
    names = {pk: pid for pid, pk in pks.items()}
    with read_tx(engine) as conn:
        return {names[pk] for pk in keyword.search(conn, parse(raw), limit=20)}


def test_accents_are_folded_both_ways(engine: Engine) -> None:
    pks = _add(
        engine,
        [
            ("2601.00001", "The Schrödinger equation on graphs", "Wave functions.", ["Łukasz Søndergaard"]),
            ("2601.00002", "Schrodinger bridges for generative models", "Transport.", ["Zoë Müller"]),
            ("2601.00003", "Crème brûlée and the ﬁnite element method", "Desserts, naïvely.", ["Jürgen Straße"]),
            ("2601.00004", "Unrelated", "Nothing to see.", ["Someone Else"]),
        ],
    )
    both = {"2601.00001", "2601.00002"}
    assert _ids(engine, pks, "Schrodinger") == both
    assert _ids(engine, pks, "Schrödinger") == both
    assert _ids(engine, pks, "SCHRÖDINGER bridges") >= {"2601.00002"}
    assert _ids(engine, pks, '"schrodinger equation"') == {"2601.00001"}
    assert _ids(engine, pks, "creme brulee") == {"2601.00003"}
    assert _ids(engine, pks, "crème brûlée naïve") == {"2601.00003"}
    assert _ids(engine, pks, "author:muller") == {"2601.00002"}
    assert _ids(engine, pks, "author:müller") == {"2601.00002"}
    assert _ids(engine, pks, "graphs -schrodinger") == set()
    if engine.dialect.name == "postgresql":  # letters with no decomposition, and ligatures (FTS5 keeps these)
        assert _ids(engine, pks, "author:lukasz") == {"2601.00001"}
        assert _ids(engine, pks, 'author:"lukasz sondergaard"') == {"2601.00001"}
        assert _ids(engine, pks, "author:strasse") == {"2601.00003"}
        assert _ids(engine, pks, "finite element") == {"2601.00003"}
    with read_tx(engine) as conn:
        allowed = keyword.matching(conn, parse("author:muller"), list(pks.values()))
    assert allowed == {pks["2601.00002"]}


def test_an_update_refolds_the_index(pg: Engine) -> None:
    """The vector is a generated column: an UPDATE (or an INSERT or COPY that leaves it out) refolds it."""
    pks = _add(pg, [("2601.00001", "Plain title", "Plain.", ["A. Person"])])
    with write_tx(pg) as conn:
        conn.execute(text("UPDATE papers SET title = 'Über Gödel' WHERE pk = :pk"), {"pk": pks["2601.00001"]})
    assert _ids(pg, pks, "uber godel") == {"2601.00001"}
    with read_tx(pg) as conn:
        sql = "SELECT attstorage FROM pg_attribute WHERE attrelid = 'papers'::regclass AND attname = 'search_vector'"
        storage = conn.execute(text(sql)).scalar()
    assert storage == "m"  # kept in the row: ranking a match reads no TOAST


def _corpus(pg: Engine, count: int) -> dict[str, int]:
    """`count` papers that all hold 'common'; every third 'rare', every fifth 'scarce' (in the title for some)."""
    papers = []
    for i in range(1, count + 1):
        words = ["common study"]
        if i % 3 == 0:
            words.append("rare")
        if i % 5 == 0:
            words.append("scarce")
        if i % 7 == 0:
            words.append("odd")
        title = ("Scarce " if i % 10 == 0 else "") + f"Paper {i}"
        papers.append((f"2601.{i:05d}", title, " ".join(words) + f" number {i}.", ["A. Person"]))
    return _add(pg, papers)


def _every_match_ranked(pg: Engine, raw: str, mode: str, want: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """keyword_pg's ranking with every match read (no pk range, no pairs-first search)."""
    with monkeypatch.context() as m:
        m.setattr(keyword_pg, "AND_WINDOW", 10**6)
        m.setattr(keyword_pg, "SMALL", 10**6)
        with read_tx(pg) as conn:
            return keyword_pg.ranked(conn, parse(raw), mode, want, [], {})


def test_all_words_over_a_window_rank_the_newest_matches(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(term_stats, "_df_cache", {})
    pks = _corpus(pg, 300)
    monkeypatch.setattr(keyword_pg, "AND_WINDOW", 20)
    with read_tx(pg) as conn:
        found = keyword_pg.ranked(conn, parse("common study"), "AND", 10, [], {})
        newest = sorted(pks.values())[-30:]
        # The newest 30 matches are ranked (the window, or `want` + 20 if more): all alike, newest first.
        assert set(found) <= set(newest) and len(found) == 10
        scarce = keyword_pg.ranked(conn, parse("scarce common"), "AND", 5, [], {})  # 60 matches, 1 in 5
    with read_tx(pg) as conn:
        ids = dict(conn.execute(text("SELECT pk, id FROM papers")).all())
    assert all(int(ids[pk][-5:]) % 5 == 0 for pk in scarce) and len(scarce) == 5
    assert all(int(ids[pk][-5:]) % 10 == 0 for pk in scarce[:5])  # 'Scarce' in the title first


def _counted(run: Any, calls: list[str], *args: Any, **kwargs: Any) -> Any:
    calls.append(args[1])
    return run(*args, **kwargs)


def test_any_word_search_reads_pairs_first_and_finds_the_same(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(term_stats, "_df_cache", {})
    _corpus(pg, 300)
    cases = (("rare scarce odd", 10, 1), ("rare scarce odd", 50, 3), ("scarce odd", 30, 3), ("rare odd nothere", 7, 1))
    for raw, want, reads in cases:
        exact = _every_match_ranked(pg, raw, "OR", want, monkeypatch)
        monkeypatch.setattr(keyword_pg, "SMALL", 0)
        calls: list[str] = []
        monkeypatch.setattr(keyword_pg, "_run", functools.partial(_counted, keyword_pg._run, calls))
        with read_tx(pg) as conn:
            assert keyword_pg.ranked(conn, parse(raw), "OR", want, [], {}) == exact, raw
        # The papers with two of the words first; one word at a time only while one could still make it.
        assert len(calls) == reads, (raw, want, calls)
        monkeypatch.undo()
        monkeypatch.setattr(term_stats, "_df_cache", {})


def test_common_words_are_left_out_and_counted_from_statistics(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(term_stats, "_df_cache", {})
    monkeypatch.setattr(term_stats, "_pg_stats", {})
    _corpus(pg, 300)
    with write_tx(pg) as conn:
        conn.execute(text("ANALYZE papers"))
    with read_tx(pg) as conn:
        assert term_stats.doc_freq(conn, "common") == 300  # from the statistics: in every paper
        assert term_stats.doc_freq(conn, "Scarce") == 60
        assert term_stats.doc_freq(conn, "nothere") == 0 and term_stats.doc_freq(conn, "the") == 0
        monkeypatch.setattr(term_stats, "COMMON_MIN", 10)
        q = term_stats.without_common_terms(conn, parse("common study rare odd"))
        assert q.content_terms == ("rare", "odd")
        found = keyword.search(conn, parse("common study rare odd"), limit=5)
        ids = dict(conn.execute(text("SELECT pk, id FROM papers")).all())
    assert found and all(int(ids[pk][-5:]) % 21 == 0 for pk in found)


def test_migration_0013_goes_down_and_up(pg: Engine) -> None:
    """Down: the unfolded vector of 0001 and no function; up again: folded, as new papers are."""
    from alembic import command

    from dailypapers.store.db import alembic_config

    pks = _add(pg, [("2601.00001", "Gödel's theorems", "Incompleteness.", ["Kurt Gödel"])])
    function = "SELECT count(*) FROM pg_proc WHERE proname = 'dp_fold_accents'"
    lexemes = "SELECT tsvector_to_array(search_vector) FROM papers"
    command.downgrade(alembic_config(pg), "0012")
    with read_tx(pg) as conn:
        assert conn.execute(text(function)).scalar() == 0
        assert "gödel" in conn.execute(text(lexemes)).scalar()
    command.upgrade(alembic_config(pg), "head")
    with read_tx(pg) as conn:
        assert conn.execute(text(function)).scalar() == 1
        assert "godel" in conn.execute(text(lexemes)).scalar()
    assert _ids(pg, pks, "godel theorems") == _ids(pg, pks, "gödel") == {"2601.00001"}
