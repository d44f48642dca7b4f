"""Keyword search on both databases: ranking, phrases, filters, fallbacks, highlights, hostile input."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.search.highlight import highlights
from dailypapers.search.query import parse
from dailypapers.sources.record import Author, PaperRecord
from dailypapers.store import keyword, search_index
from dailypapers.store.db import read_tx
from tests.support.hostile import HOSTILE_QUERIES

LONG = (
    "Cross-site scripting is a classic. " * 6
    + "Here the attention layer is where the trouble hides, <b>really</b>. "
    + "The rest of this abstract pads it out well beyond three hundred characters. " * 4
)

# id: (title, abstract, authors, categories, published, extra)
PAPERS: dict[str, tuple[str, str, list[str], list[str], dt.date | None, dict]] = {
    "title": (
        "Attention Is All You Need",
        "We propose the Transformer, based solely on attention mechanisms.",
        ["Ashish Vaswani", "Noam Shazeer"],
        ["cs.CL", "cs.LG"],
        dt.date(2017, 6, 12),
        {},
    ),
    "abstract": (
        "Sequence Models for Translation",
        "An encoder with attention improves translation quality.",
        ["Dzmitry Bahdanau", "Yoshua Bengio"],
        ["cs.CL"],
        dt.date(2014, 9, 1),
        {},
    ),
    "gnn": (
        "Graph Neural Networks: A Review",
        "Neural networks on graphs are reviewed.",
        ["Jie Zhou"],
        ["cs.LG"],
        dt.date(2018, 12, 20),
        {},
    ),
    "drawing": (
        "Neural Methods for Graph Drawing",
        "Graph layouts with neural models.",
        ["Geoffrey Hinton"],
        ["stat.ML"],
        dt.date(2020, 3, 5),
        {},
    ),
    "capsules": (
        "Dynamic Routing Between Capsules",
        "A capsule is a group of neurons.",
        ["Sara Sabour", "Nicholas Frosst", "Geoffrey E. Hinton"],
        ["cs.CV"],
        dt.date(2017, 10, 26),
        {},
    ),
    "rss": (
        "Café au lait: naïve Bayes for coffee",
        "We classify coffee.",
        ["Zoë Müller"],
        ["q-bio.NC"],
        None,
        {"announced": dt.date(2024, 5, 2)},
    ),
    "withdrawn": (
        "Attention attention attention",
        "Attention, withdrawn.",
        ["Someone Gone"],
        ["cs.CL"],
        dt.date(2019, 1, 1),
        {"withdrawn": True},
    ),
    "xss": ("<script>alert(1)</script> Attention & <b>bold</b>", LONG, ["Mallory"], ["cs.CR"], dt.date(2021, 1, 1), {}),
    "strings": ("Strings and Branes", "A model of strings.", ["Edward Witten"], ["hep-th"], dt.date(2016, 2, 2), {}),
    "mathph": ("Spectral Theory", "Operators.", ["Barry Simon"], ["math-ph"], dt.date(2015, 1, 1), {}),
    "algebra": ("Moduli Spaces", "Curves.", ["Ravi Vakil"], ["math.AG"], dt.date(2015, 2, 1), {}),
    "diagrams": ("Remembering Hinton Diagrams", "Plots of weights.", ["Ann Other"], ["cs.LG"], dt.date(2015, 3, 1), {}),
}


@pytest.fixture
def pks(engine: Engine) -> dict[str, int]:
    records = []
    for pid, (title, abstract, authors, cats, published, extra) in PAPERS.items():
        when = dt.datetime.combine(published, dt.time(12), tzinfo=dt.UTC) if published else None
        records.append(
            PaperRecord(
                id=f"local-{pid}",
                source="test",
                local=True,
                title=title,
                abstract=abstract,
                authors=[Author(a) for a in authors],
                categories=cats,
                primary_category=cats[0],
                published=when,
                **extra,
            )
        )
    ingest_items(engine, records, ImportReport())
    search_index.index_pending(engine)
    with read_tx(engine) as conn:
        rows = conn.exec_driver_sql("SELECT id, pk FROM papers").all()
    return {pid.removeprefix("local-"): int(pk) for pid, pk in rows}


def run(engine: Engine, pks: dict[str, int], raw: str, limit: int = 20, offset: int = 0) -> list[str]:
    names = {pk: name for name, pk in pks.items()}
    with read_tx(engine) as conn:
        return [names[pk] for pk in keyword.search(conn, parse(raw), limit, offset)]


def test_title_match_ranks_above_abstract_match(engine: Engine, pks: dict[str, int]) -> None:
    found = run(engine, pks, "attention")
    assert set(found) == {"title", "abstract", "xss"}  # never the withdrawn paper
    assert found.index("title") < found.index("abstract") and found.index("xss") < found.index("abstract")


def test_all_words_first_then_any(engine: Engine, pks: dict[str, int]) -> None:
    found = run(engine, pks, "attention translation")
    assert found[0] == "abstract" and {"title", "xss"} <= set(found)
    assert set(run(engine, pks, "capsules transformer")) == {"capsules", "title"}  # none has both
    assert run(engine, pks, "capsules zzzqqq") == ["capsules"]
    assert run(engine, pks, "zzzqqq yyyqqq") == []


def test_phrases_match_as_phrases(engine: Engine, pks: dict[str, int]) -> None:
    assert run(engine, pks, '"graph neural"') == ["gnn"]
    assert set(run(engine, pks, "graph neural")) == {"gnn", "drawing"}
    assert run(engine, pks, '"neural graph"') == []


def test_exclusions(engine: Engine, pks: dict[str, int]) -> None:
    assert set(run(engine, pks, "attention -translation")) == {"title", "xss"}
    assert set(run(engine, pks, 'attention -"solely on attention"')) == {"abstract", "xss"}
    assert run(engine, pks, "-attention") == []  # exclusions alone select nothing


def test_author_filter(engine: Engine, pks: dict[str, int]) -> None:
    assert run(engine, pks, "author:hinton") == ["drawing", "capsules"]  # newest first, not the title mention
    assert run(engine, pks, "author:HINTON") == ["drawing", "capsules"]
    assert run(engine, pks, 'author:"Geoffrey Hinton"') == ["drawing"]  # a name as a word sequence
    assert run(engine, pks, 'author:"geoffrey e. hinton"') == ["capsules"]
    assert run(engine, pks, "author:hinton author:sabour") == ["capsules"]  # all of them
    assert run(engine, pks, "author:hinton capsules") == ["capsules"]
    assert run(engine, pks, "author:hinton -capsules") == ["drawing"]
    assert run(engine, pks, "author:hin") == []  # whole words
    assert set(run(engine, pks, "hinton")) == {"drawing", "capsules", "diagrams"}  # words also search authors
    assert run(engine, pks, "author:müller") == ["rss"]


def test_category_filter(engine: Engine, pks: dict[str, int]) -> None:
    assert run(engine, pks, "cat:cs.CL") == ["title", "abstract"]
    assert run(engine, pks, "cat:CS.cl") == ["title", "abstract"]
    assert run(engine, pks, "cat:cs") == ["xss", "gnn", "capsules", "title", "diagrams", "abstract"]
    assert run(engine, pks, "cat:math") == ["algebra"]  # the archive, not math-ph
    assert run(engine, pks, "cat:math-ph") == ["mathph"]
    assert run(engine, pks, "cat:hep-th cat:stat") == ["drawing", "strings"]  # any of them
    assert run(engine, pks, "cat:cs.CL attention") == ["title", "abstract"]
    assert run(engine, pks, "cat:nosuch") == []


def test_date_filters(engine: Engine, pks: dict[str, int]) -> None:
    assert run(engine, pks, "since:2017 until:2018") == ["gnn", "capsules", "title"]
    assert run(engine, pks, "date:2017-06") == ["title"]
    assert run(engine, pks, "after:2017-06-12 before:2018-12-20") == ["capsules"]
    # A paper without a submission date is dated by its announcement.
    assert run(engine, pks, "since:2024") == ["rss"]
    assert run(engine, pks, "year:2024 cat:q-bio") == ["rss"]
    assert run(engine, pks, "since:2016")[:3] == ["rss", "xss", "drawing"]
    assert set(run(engine, pks, "attention since:2015")) == {"title", "xss"}
    assert run(engine, pks, "attention cat:cs.CL since:2015") == ["title"]
    assert run(engine, pks, "since:2030") == [] and run(engine, pks, "since:2020 until:2019") == []


def test_paging_and_limits(engine: Engine, pks: dict[str, int]) -> None:
    everything = run(engine, pks, "cat:cs", limit=20)
    assert run(engine, pks, "cat:cs", limit=2) + run(engine, pks, "cat:cs", limit=2, offset=2) == everything[:4]
    ranked = run(engine, pks, "attention translation", limit=20)
    assert run(engine, pks, "attention translation", limit=1, offset=1) == ranked[1:2]
    assert run(engine, pks, "attention", limit=0) == [] and run(engine, pks, "attention", offset=100) == []
    assert run(engine, pks, "") == [] and run(engine, pks, "  ") == []


def test_matching_filters_given_papers(engine: Engine, pks: dict[str, int]) -> None:
    every = list(pks.values())
    names = {pk: name for name, pk in pks.items()}
    with read_tx(engine) as conn:

        def match(raw: str) -> set[str]:
            return {names[pk] for pk in keyword.matching(conn, parse(raw), every)}

        assert match("") == set(PAPERS) - {"withdrawn"}
        assert match("whatever words") == set(PAPERS) - {"withdrawn"}  # words are not filters
        assert match("cat:cs.CL") == {"title", "abstract"}
        assert match("author:hinton cat:cs") == {"capsules"}
        assert match("since:2017 until:2018") == {"title", "capsules", "gnn"}
        assert match("since:2024") == {"rss"}
        assert match("cat:cs -attention") == {"gnn", "capsules", "diagrams"}
        assert keyword.matching(conn, parse("cat:cs"), []) == set()
        assert keyword.matching(conn, parse("cat:cs"), [pks["gnn"], 10**9]) == {pks["gnn"]}


def test_accents_and_case(engine: Engine, pks: dict[str, int]) -> None:
    assert run(engine, pks, "CAFÉ Naïve") == ["rss"]
    # FTS5 folds diacritics (remove_diacritics 2); PostgreSQL's index and queries through dp_fold_accents
    assert run(engine, pks, "cafe naive") == ["rss"]
    assert run(engine, pks, "author:muller") == ["rss"]


def test_inflections_match(engine: Engine, pks: dict[str, int]) -> None:
    assert "capsules" in run(engine, pks, "capsule")  # both engines stem English words
    assert run(engine, pks, '"graph neural network"') == ["gnn"]


def test_phrases_and_empty_queries(engine: Engine, pks: dict[str, int]) -> None:
    with read_tx(engine) as conn:
        assert keyword.search(conn, parse('"graph neural"'), 5) == [pks["gnn"]]
        assert keyword.search(conn, parse(""), 5) == []


def test_hostile_queries_never_fail(engine: Engine, pks: dict[str, int]) -> None:
    with read_tx(engine) as conn:
        for raw in HOSTILE_QUERIES:
            q = parse(raw)
            assert isinstance(keyword.search(conn, q, 10), list), raw
            assert isinstance(keyword.search(conn, q, 10, 5), list), raw
            assert isinstance(keyword.matching(conn, q, list(pks.values())), set), raw
            highlights(q, {1: (raw, raw)})
    with read_tx(engine) as conn:  # and the connection is still fine
        assert keyword.search(conn, parse("attention"), 1)


def test_highlights_escape_and_mark() -> None:
    title, abstract = PAPERS["xss"][:2]
    q = parse("attention")
    hl = highlights(q, {7: (title, abstract), 8: ("Nothing here", "Plain <i>text</i> " * 40)})
    assert str(hl[7].title) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Attention</mark> &amp; &lt;b&gt;bold&lt;/b&gt;"
    )
    snippet = str(hl[7].snippet)
    assert "<mark>attention</mark>" in snippet and "&lt;b&gt;really&lt;/b&gt;" in snippet
    assert snippet.startswith("…") and snippet.endswith("…") and "<b>" not in snippet
    assert len(hl[7].snippet.striptags()) <= 310
    assert str(hl[8].title) == "Nothing here" and "<mark>" not in hl[8].snippet
    assert str(hl[8].snippet).startswith("Plain &lt;i&gt;text&lt;/i&gt;") and str(hl[8].snippet).endswith("…")


def test_highlights_phrases_inflections_and_accents() -> None:
    q = parse('"graph neural" model cafe')
    hl = highlights(q, {1: ("Graph Neural Networks Modeling", "Naïve models in a Café."), 2: ("", "")})
    assert str(hl[1].title) == "<mark>Graph Neural</mark> Networks <mark>Modeling</mark>"
    assert str(hl[1].snippet) == "Naïve <mark>models</mark> in a <mark>Café</mark>."
    assert str(hl[2].title) == "" and str(hl[2].snippet) == ""
    assert str(highlights(parse("author:x cat:cs"), {1: ("A <t>", "b")})[1].title) == "A &lt;t&gt;"
