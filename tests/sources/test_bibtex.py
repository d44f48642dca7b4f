"""BibTeX libraries (sources.bibtex) on real exports (Better BibTeX's test fixtures, astropy's ADS entries)
and on hostile files: broken entries, macros, duplicate keys, encodings, sizes."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dailypapers.sources import bibtex
from dailypapers.sources.library_record import (
    MAX_ENTRIES,
    MAX_TITLE,
    LibraryFormatError,
    detect_format,
    normalize_doi,
    title_key,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "library"


def read(name: str) -> bibtex.ParsedLibrary:
    return bibtex.parse_bytes((FIXTURES / name).read_bytes())


def test_an_ads_export_with_prose_around_it() -> None:
    parsed = read("astropy_citation.bib")
    assert parsed.errors == [] and parsed.read == 2
    first, second = parsed.records
    assert first.key == "2018AJ....156..123T" and first.line == 29
    assert first.title == "The Astropy Project: Building an Open-science Project and Status of the v2.0 Core Package"
    assert first.arxiv_id == "1801.02634"  # archivePrefix = "arXiv", eprint = {1801.02634}
    assert first.doi == "10.3847/1538-3881/aabc4f" and first.year == 2018
    assert first.authors[:3] == ("The Astropy Collaboration", "A. M. Price-Whelan", "B. M. Sipőcz")
    assert "H. M. Günther" in first.authors and "J. L. Cano Rodríguez" in first.authors
    assert second.arxiv_id == "" and second.doi == "10.1051/0004-6361/201322068"


def test_a_better_biblatex_library() -> None:
    parsed = read("bbt_big_whopping_library_excerpt.bib")
    assert parsed.errors == [] and len(parsed.records) == 10
    by_key = {r.key: r for r in parsed.records}
    assert by_key["Oldrup2009CityRural"].doi == "10.1080/14036090802476622"
    assert by_key["Oldrup2009CityRural"].year == 2009  # from `date`
    assert by_key["FredensborgKommuneUSSERODA"].title == "USSERØD Å – KONSEKVENSVURDERING AF UDDYBNING"
    assert by_key["FredensborgKommuneUSSERODA"].authors == ("Fredensborg Kommune", "NIRAS A/S")
    assert by_key["Williams2014JamesWilliams"].doi == "10.1177/0961463x13511579"  # lowercased
    # A JSTOR eprint is no arXiv id.
    assert by_key["Findlen1991AldrovandiAlgarotti"].arxiv_id == ""
    # An editor stands in for missing authors.
    assert by_key["LeGates2011CityReader"].authors == ("Richard T. LeGates", "Frederic Stout")


def test_biblatex_eprinttype_arxiv() -> None:
    (rec,) = read("bbt_eprint_arxiv_170.bib").records
    assert rec.arxiv_id == "1412.2970" and rec.year == 2014 and rec.authors[0] == "Sven Bachmann"


def test_hostile_file_with_bom_and_crlf() -> None:
    parsed = read("hostile_crlf_bom.bib")
    keys = [r.key for r in parsed.records]
    # @preamble, @string and @comment are no entries; the key used twice is read twice.
    assert keys == ["vaswani2017", "accents", "vaswani2017", "unicode", "concatenated"]
    first, accents, again, uni, concat = parsed.records
    assert first.arxiv_id == "1706.03762" and first.authors == ("Ashish Vaswani", "Noam Shazeer")
    assert accents.title == "Étude des über-modèles: α-stable laws and ça"
    assert accents.authors == ("Jörg Müller", "Charles François")
    assert accents.arxiv_id == "2401.01234"  # journal = {arXiv preprint arXiv:2401.01234}
    assert again.doi == "10.48550/arxiv.1706.03762" and again.arxiv_id == "1706.03762"
    assert uni.title == "Graph neural networks for 分子 property prediction — a survey"
    assert uni.arxiv_id == "2301.00001" and uni.doi == "10.1000/xyz.abc"
    assert concat.title == "Advances in Neural Information Processing Systems Workshop"  # nips # { Workshop}
    assert concat.arxiv_id == "1910.00896"  # dblp's CoRR volume abs/1910.00896
    problems = {(e.key, e.line): e.problem for e in parsed.errors}
    assert set(problems) == {("broken", 15), ("nofields", 39)}
    assert problems[("broken", 15)] == (
        "not a complete BibTeX entry: a brace or quote is still open when the next entry starts"
    )
    assert problems[("nofields", 39)] == "no title, arXiv id or DOI"
    assert str(parsed.errors[0]).startswith("entry 'broken', line 15: ")


def test_latin1_file_is_read_with_a_note() -> None:
    parsed = read("latin1.bib")
    assert parsed.records[0].title == "Les réseaux de neurones à l'école"
    assert parsed.records[0].authors == ("André Crémieux",)
    assert parsed.notes and "not UTF-8" in parsed.notes[0]


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "just some prose, no entries", "@comment{only a comment}", "@string{a = {b}}"],
)
def test_files_without_entries_are_refused(text: str) -> None:
    with pytest.raises(LibraryFormatError):
        bibtex.parse_bytes(text.encode())


def test_a_ten_megabyte_title_is_refused_alone_and_fast() -> None:
    huge = "@article{huge, title = {" + "a" * (10 << 20) + "}}\n@misc{ok, title = {A fine title}}\n"
    start = time.perf_counter()
    parsed = bibtex.parse_bytes(huge.encode())
    assert time.perf_counter() - start < 30
    assert [r.key for r in parsed.records] == ["ok"]
    (error,) = parsed.errors
    assert error.key == "huge" and error.problem.startswith(f"title longer than {MAX_TITLE:,} characters")


def test_too_many_entries_are_refused_before_parsing() -> None:
    text = "".join(f"@misc{{k{i}, title = {{T}}}}\n" for i in range(MAX_ENTRIES + 1))
    with pytest.raises(LibraryFormatError, match="more than 20,000 entries"):
        bibtex.parse(text)


def test_nul_bytes_and_unclosed_last_entry() -> None:
    parsed = bibtex.parse_bytes(b"@misc{a, title = {Zero\x00 byte}}\n@misc{b, title = {never closed}")
    assert [r.title for r in parsed.records] == ["Zero byte"]
    assert parsed.errors[0].key == "b" and parsed.errors[0].line == 2


def test_rules_shared_with_csl() -> None:
    assert normalize_doi("https://doi.org/10.1038/NATURE14539") == "10.1038/nature14539"
    assert normalize_doi("doi:10.1000/ABC.") == "10.1000/abc"
    assert normalize_doi("not a doi") == ""
    assert title_key("Attention Is All You Need!") == title_key("attention is   all you need")
    assert title_key("Étude") == ""  # too short to match on
    assert title_key("Über-Modelle für Graphen") == "uber modelle fur graphen"
    assert detect_format(b"\xef\xbb\xbf  [{}]") == "csl-json"
    assert detect_format(b"% comment\n@article{a,") == "bibtex"
    with pytest.raises(LibraryFormatError):
        detect_format(b"\x89PNG\r\n\x1a\n")
