"""The search-box parser: the documented syntax, and hostile input that must only ever be text."""

from __future__ import annotations

import datetime as dt

import pytest

from dailypapers.search.query import MAX_TERMS, Query, parse, spans, stem
from tests.support.hostile import HOSTILE_QUERIES

D = dt.date


def test_plain_words_are_lowercased_deduplicated_and_in_order() -> None:
    q = parse("Retrieval  augmented GENERATION retrieval")
    assert q.terms == ("retrieval", "augmented", "generation")
    assert q.text == "Retrieval augmented GENERATION retrieval"
    assert not q.has_filters and not q.is_empty and q.phrases == ()


def test_phrases_exclusions_and_filters() -> None:
    q = parse(
        'author:"Geoffrey Hinton" au:lecun "in-context Learning" transformers -survey -"large model" '
        "cat:cs.CL category:stat since:2024-02 until:2024"
    )
    assert q.terms == ("transformers",)
    assert q.phrases == ("in context learning",)
    assert q.exclude == ("survey", "large model")
    assert q.authors == ("geoffrey hinton", "lecun")
    assert q.categories == ("cs.cl", "stat")
    assert (q.since, q.until) == (D(2024, 2, 1), D(2024, 12, 31))
    assert q.text == "in-context Learning transformers"  # what a semantic search embeds
    assert q.has_filters and q.words == ("transformers", "in", "context", "learning")


@pytest.mark.parametrize(
    ("raw", "since", "until"),
    [
        ("since:2024", D(2024, 1, 1), None),
        ("since:2024-03", D(2024, 3, 1), None),
        ("since:2024-03-05", D(2024, 3, 5), None),
        ("until:2024", None, D(2024, 12, 31)),
        ("until:2024-02", None, D(2024, 2, 29)),
        ("after:2024-01-31", D(2024, 2, 1), None),
        ("after:2023", D(2024, 1, 1), None),
        ("before:2024-03", None, D(2024, 2, 29)),
        ("before:2024-03-01", None, D(2024, 2, 29)),
        ("year:2023", D(2023, 1, 1), D(2023, 12, 31)),
        ("date:2024-06", D(2024, 6, 1), D(2024, 6, 30)),
        ("date:2024-06-07", D(2024, 6, 7), D(2024, 6, 7)),
        ("date:2024-01..2024-03", D(2024, 1, 1), D(2024, 3, 31)),
        ("date:2024-06..", D(2024, 6, 1), None),
        ("date:..2023", None, D(2023, 12, 31)),
        ("since:2020 since:2022 until:2024 until:2023-06", D(2022, 1, 1), D(2023, 6, 30)),  # intersected
        ("SINCE:2024", D(2024, 1, 1), None),
    ],
)
def test_dates(raw: str, since: dt.date | None, until: dt.date | None) -> None:
    q = parse(raw)
    assert (q.since, q.until) == (since, until)
    assert q.terms == () and q.has_filters and not q.is_empty and q.text == ""


@pytest.mark.parametrize(
    ("raw", "terms"),
    [
        ("after:2024-13-45", ("after", "2024", "13", "45")),
        ("year:2024-05", ("year", "2024", "05")),
        ("date:2024..2023-13", ("date", "2024", "2023", "13")),
        ("before:0001-01-01", ("before", "0001", "01")),
        ("title:attention", ("title", "attention")),
        ("cat:cs_CL", ("cat", "cs", "cl")),
        ('cat:"cs CL"', ("cat", "cs", "cl")),
        ("-author:hinton", ("author", "hinton")),
        ("author: hinton", ("author", "hinton")),
    ],
)
def test_bad_filters_are_read_as_words(raw: str, terms: tuple[str, ...]) -> None:
    q = parse(raw)
    assert q.terms == terms and not q.has_filters
    assert q.text == " ".join(raw.lstrip("-").split())


def test_unbalanced_quotes_fall_back_to_words() -> None:
    assert parse('"in context learning').terms == ("in", "context", "learning")
    q = parse('"graph neural" networks "unclosed phrase')
    assert q.phrases == ("graph neural",) and q.terms == ("networks", "unclosed", "phrase")
    assert parse('author:"Geoffrey Hinton').terms == ("author", "geoffrey", "hinton")


def test_one_word_phrase_is_a_term_and_empty_phrases_vanish() -> None:
    assert parse('"Transformers"').terms == ("transformers",) and parse('"Transformers"').phrases == ()
    assert parse('"" "$$" "--"').is_empty


def test_category_archive_and_case() -> None:
    assert parse("cat:CS.cl cat:math cat:hep-th cat:cond-mat.mes-hall").categories == (
        "cs.cl",
        "math",
        "hep-th",
        "cond-mat.mes-hall",
    )


def test_exclusions_alone_are_empty() -> None:
    q = parse("-survey -review")
    assert q.exclude == ("survey", "review") and q.is_empty and q.text == ""


def test_engine_syntax_is_only_words() -> None:
    q = parse("NEAR(attention transformer, 5) OR atten* ^title NOT survey")
    assert q.terms == ("near", "attention", "transformer", "5", "or", "atten", "title", "not", "survey")
    assert q.phrases == () and q.exclude == () and not q.has_filters


def test_latex_sql_and_unicode() -> None:
    assert parse("$\\alpha$-divergence").terms == ("alpha", "divergence")
    assert parse("'; DROP TABLE papers; --").terms == ("drop", "table", "papers")
    q = parse("Café NAÏVE 日本語 🙂")
    assert q.terms == ("café", "naïve", "日本語") and q.text == "Café NAÏVE 日本語 🙂"
    assert parse("ｆｕｌｌ ａｕｔｈｏｒ：ｈｉｎｔｏｎ").authors == ("hinton",)  # NFKC
    assert parse("“retrieval augmented”").phrases == ("retrieval augmented",)


def test_control_characters_are_dropped() -> None:
    q = parse("graph\x00neural\x01net\u202ework\tsearch")
    assert q.terms == ("graph", "neural", "net", "work", "search")
    assert "\x00" not in q.text and "\u202e" not in q.text


def test_limits() -> None:
    q = parse(" ".join(f"w{i}" for i in range(100)))
    assert len(q.terms) == MAX_TERMS and q.terms[0] == "w0"
    assert parse("x" * 10_000).terms == ()  # an 80+ character "word" is noise
    assert len(parse("x " * 10_000).raw) == 20_000


@pytest.mark.parametrize("raw", HOSTILE_QUERIES)
def test_hostile_input_never_raises(raw: str) -> None:
    q = parse(raw)
    assert isinstance(q, Query) and q.raw == raw
    assert len(q.terms) <= MAX_TERMS and all(t and t == t.lower() for t in q.terms)
    assert all("\x00" not in s for s in (q.text, *q.terms, *q.phrases, *q.authors, *q.exclude))
    spans(q, raw)


def test_non_string_input() -> None:
    assert parse(None).is_empty  # type: ignore[arg-type]


def test_stem_meets_inflections() -> None:
    assert stem("Models") == stem("model") == stem("modeling") == stem("modeled")
    assert stem("learning") == stem("learned") == stem("learns") == stem("learn")
    assert stem("studies") == stem("study") and stem("Café") == stem("cafe")
    assert stem("embedding") == stem("embedded") and stem("uses") == stem("using") == stem("use")


def test_spans_find_terms_and_phrases() -> None:
    q = parse('"graph neural" models')
    text = "Graph Neural Networks model graphs; a neural graph."
    assert [text[a:b] for a, b in spans(q, text)] == ["Graph Neural", "model"]
    # Like the engines, a phrase is a sequence of words whatever the punctuation between them.
    assert spans(q, "a graph, neural") == [(2, 15)]
    assert spans(parse("x"), "") == [] and spans(parse(""), "anything") == []
