"""CSL JSON libraries (sources.csl_json) on Better BibTeX's real CSL exports and on hostile JSON."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from dailypapers.sources import csl_json
from dailypapers.sources.library_record import LibraryFormatError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "library"


def read(name: str) -> csl_json.ParsedLibrary:
    return csl_json.parse_bytes((FIXTURES / name).read_bytes())


def test_pandoc_citation_export_drops_rich_text_markup() -> None:
    parsed = read("bbt_pandoc_citation.csl.json")
    assert parsed.errors == [] and [r.key for r in parsed.records] == [
        "Adams2001",
        "Berndt1994",
        "Dunning2016",
        "Wordsworth1883",
    ]
    adams, berndt, dunning, wordsworth = parsed.records
    assert adams.title == "The physical volcanology of the 1600 eruption of Huaynaputina, southern Peru"
    assert adams.year == 2014 and adams.authors[0] == "Nancy K Adams" and len(adams.authors) == 7
    assert berndt.doi == "10.1484/j.se.2.303788"
    assert "Bücher Prouerbia und Ecclesiastes" in berndt.title
    assert dunning.title.endswith("Collecta ex diuersis auditis in scola magistri Willelmi de Monte")
    assert "(g1)" in wordsworth.title and wordsworth.authors == ("John Wordsworth",)  # an editor
    assert wordsworth.line == 4


def test_better_csl_export_with_an_empty_item() -> None:
    parsed = read("bbt_uppercase_doi_825.csl.json")
    assert len(parsed.records) == 6
    assert parsed.records[1].title == "Frithuswith (d. 727)" and parsed.records[1].doi == "10.1093/ref:odnb/10183"
    (error,) = parsed.errors
    assert (error.key, error.line, error.problem) == ("emptybook", 4, "no title, arXiv id or DOI")
    assert str(error) == "entry 'emptybook', item 4: no title, arXiv id or DOI"


def test_zotero_shaped_items() -> None:
    parsed = read("zotero_style_arxiv.csl.json")
    dream, deep, sparse = parsed.records
    assert dream.arxiv_id == "2306.13455" and dream.doi == "10.48550/arxiv.2306.13455" and dream.year == 2023
    assert dream.abstract.startswith("Neural fields")
    assert deep.doi == "10.1038/nature14539" and deep.authors == ("Yann LeCun", "The Deep Learning Collaboration")
    assert sparse.title == "Sparse retrieval with learned term weights" and sparse.year == 2024
    assert [(e.line, e.problem) for e in parsed.errors] == [
        (4, "'title' is a list, not text"),
        (5, "text, not an item object"),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid JSON"),
        (b"[]", "no items"),
        (b'"a string"', "not CSL JSON"),
        (b"{not json", "not valid JSON"),
        (b"[" * 200_000 + b"]" * 200_000, "not valid JSON"),  # far deeper than any parser's recursion
        (b'[{"title": "x"}, ' + b"\xff\xfe" + b"]", "not valid JSON"),  # not UTF-8
    ],
)
def test_hostile_json_is_refused_as_a_whole(data: bytes, message: str) -> None:
    with pytest.raises(LibraryFormatError, match=message):
        csl_json.parse_bytes(data)


@pytest.mark.parametrize("name", ["not_csl.json", "not_csl_list.json"])
def test_json_that_is_not_csl(name: str) -> None:
    with pytest.raises(LibraryFormatError, match="not CSL JSON"):
        read(name)


def test_bom_single_item_and_wrong_types() -> None:
    one = b'\xef\xbb\xbf{"type": "article", "title": "A single item", "URL": "https://arxiv.org/abs/hep-th/9901001v2"}'
    (rec,) = csl_json.parse_bytes(one).records
    assert rec.arxiv_id == "hep-th/9901001" and rec.line == 1
    items = [
        {"title": "Fine", "author": "not a list"},
        {"title": "Huge", "abstract": "x" * 30_000},
        {"title": "Numbered", "number": 12, "issued": {"date-parts": [[True]]}},
    ]
    parsed = csl_json.parse(orjson.loads(orjson.dumps(items)))
    assert [r.title for r in parsed.records] == ["Numbered"]
    assert [e.problem for e in parsed.errors] == [
        "'author' is text, not a list of names",
        "abstract longer than 20,000 characters (30,000)",
    ]
