"""The arXiv API Atom reader against real recorded responses (legacy 2016 and 2025/2026)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from dailypapers.sources.arxiv_atom import (
    ArxivApiError,
    is_withdrawal_comment,
    parse_feed,
    split_authors,
)
from dailypapers.sources.record import Author, SourceError, Version
from tests.support.fixtures import FIXTURES, recording, recordings

API = FIXTURES / "arxiv_api"
LEGACY = API / "arxiv_py" / "legacy_2016"
RECORDED = API / "arxiv_py" / "recorded_2026"
UTC = dt.UTC


def api(name: str) -> Path:
    """A recorded API feed (tests/fixtures/arxiv_api/, or the demo folder for the ones the demo ships)."""
    return recording("arxiv_api", name)


def recorded(prefix: str) -> bytes:
    """The XML body of a recorded exchange.

    arxiv.py stored the body as text decoded with requests' ISO-8859-1 default, so encoding it
    back with latin-1 gives arXiv's original UTF-8 bytes.
    """
    (path,) = RECORDED.glob(prefix + "*.json")
    return json.loads(path.read_text(encoding="utf-8"))["body"].encode("latin-1")


def by_id(page):
    return {r.id: r for r in page.records}


# Every feed of tests/fixtures/arxiv_api/ and those the demo ships (stored in its folder only).
ALL_FEEDS = [p.name for p in recordings("arxiv_api", "*.xml")] + sorted(
    f"legacy_2016/{p.name}" for p in LEGACY.glob("*")
)


@pytest.mark.parametrize("name", ALL_FEEDS)
def test_every_feed_file_parses_without_errors(name: str) -> None:
    path = LEGACY / name.split("/", 1)[1] if name.startswith("legacy_2016/") else api(name)
    page = parse_feed(path.read_bytes(), where=name)
    assert page.errors == []
    assert page.records and len(page.records) <= min(page.items_per_page, page.total_results)
    for rec in page.records:
        assert rec.source == "arxiv-api"
        assert rec.title and "\n" not in rec.title and "  " not in rec.title
        assert rec.primary_category and rec.categories[0] == rec.primary_category
        assert rec.published is not None and rec.published.tzinfo is not None
        assert rec.versions and rec.versions[0].version == 1


def test_legacy_single_entry_with_two_versions() -> None:
    page = parse_feed((LEGACY / "id_list=1111.2011v2.xml").read_bytes(), where="1111.2011v2.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (1, 0, 10)
    (rec,) = page.records
    assert rec.id == "1111.2011"
    assert rec.title == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    assert rec.abstract.startswith("Theoretical description of anisotropic systems, such as layered superconductors")
    assert [a.name for a in rec.authors] == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert rec.versions == [
        Version(1, date=dt.datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)),
        Version(2, date=dt.datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)),
    ]
    assert rec.latest_version == 2
    assert rec.published == dt.datetime(2011, 11, 8, 18, 48, 36, tzinfo=UTC)
    assert rec.updated == dt.datetime(2012, 4, 2, 12, 38, 54, tzinfo=UTC)
    assert rec.doi == "10.1103/PhysRevB.85.115117"
    assert rec.journal_ref == "Phys. Rev. B 85, 115117 (2012)"
    assert rec.comments == "8 pages, 3 figures. Published version"
    assert rec.primary_category == "cond-mat.str-el"
    assert rec.categories == ["cond-mat.str-el", "cond-mat.stat-mech"]
    assert not rec.withdrawn


def test_legacy_search_page_with_old_style_ids() -> None:
    page = parse_feed((LEGACY / "search_query=au_del_maestro.xml").read_bytes(), where="del_maestro.xml")
    assert (page.total_results, page.start_index, page.items_per_page) == (31, 0, 10)
    recs = by_id(page)
    assert len(recs) == 10
    old = recs["cond-mat/0412498"]
    assert old.versions == [Version(1, date=dt.datetime(2004, 12, 19, 16, 18, 24, tzinfo=UTC))]
    assert old.title == "Thermal melting of density waves on the square lattice"
    assert all(r.doi for r in page.records)
    assert recs["1201.4869"].journal_ref == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert recs["1201.4869"].primary_category == "cond-mat.mes-hall"


def test_legacy_2025_format_hard_wrapped_titles_are_collapsed() -> None:
    page = parse_feed(api("xiv_search_cs.RO_neural_2_oldformat_2025-10-17.xml").read_bytes(), where="xiv")
    assert page.total_results == 5619
    assert len(page.records) == 2
    for rec in page.records:
        assert "\n" not in rec.abstract and "  " not in rec.abstract


def test_old_style_id_with_affiliations_and_journal_ref() -> None:
    page = parse_feed(recorded("id_astro-ph_0601001"), where="astro-ph_0601001.json")
    (rec,) = page.records
    assert rec.id == "astro-ph/0601001"
    assert rec.primary_category == "astro-ph"
    assert rec.categories == ["astro-ph"]
    assert rec.journal_ref == "ActaAstron.56:1-50,2006"
    assert rec.authors == [
        Author("Andrew Gould", ("Ohio State",)),
        Author("Susan Dorsher", ("Ohio State",)),
        Author("B. Scott Gaudi", ("CfA",)),
        Author("Andrzej Udalski", ("Warsaw University Observatory",)),
    ]
    assert rec.versions == [Version(1, date=dt.datetime(2006, 1, 2, 14, 57, 58, tzinfo=UTC))]
    assert rec.published == rec.updated == dt.datetime(2006, 1, 2, 14, 57, 58, tzinfo=UTC)
    assert "http://www.astronomy.ohio-state.edu/~gould/ogle_hot_jupiters.ps.gz" in rec.project_urls


def test_old_style_versioned_id_and_cross_list() -> None:
    (rec,) = parse_feed(recorded("id_quant-ph_0201082v1"), where="quant-ph").records
    assert rec.id == "quant-ph/0201082"
    assert rec.latest_version == 1
    assert rec.categories == ["quant-ph", "cs.PL"]
    assert rec.comments == "32 pages"


def test_2026_format_fields_and_project_page() -> None:
    page = parse_feed(api("sotawhat_search_transformer_cs.LG_2026-06-14.xml").read_bytes(), where="sotawhat")
    assert (page.total_results, page.start_index, page.items_per_page) == (28946, 0, 5)
    rec = by_id(page)["2606.13677"]
    assert rec.title == "Mana: Dexterous Manipulation of Articulated Tools"
    assert rec.primary_category == "cs.RO"
    assert rec.categories == ["cs.RO", "cs.AI", "cs.CV", "cs.LG"]
    assert [a.name for a in rec.authors] == ["Zhao-Heng Yin", "Guanya Shi", "Pieter Abbeel", "C. Karen Liu"]
    assert rec.project_urls == ["https://zhaohengyin.github.io/mana"]
    assert "(<1 minute per tool)" in rec.abstract  # &lt; decoded, no LaTeX stripping
    assert by_id(page)["2606.13568"].categories == ["cs.LG", "math-ph"]


def test_unicode_title_versions_doi_and_journal_ref() -> None:
    page = parse_feed(api("fastpaper_search_attention_OR_mechanism_3_2026-03-26.xml").read_bytes(), where="fp")
    recs = by_id(page)
    assert recs["2002.00741"].title.startswith("Déjà vu: A Contextualized Temporal Attention Mechanism")
    assert recs["2002.00741"].primary_category == "cs.IR"
    v2 = recs["1112.2954"]
    assert v2.latest_version == 2
    assert [v.version for v in v2.versions] == [1, 2]
    assert v2.versions[0].date == v2.published and v2.versions[1].date == v2.updated
    assert v2.published < v2.updated
    assert v2.doi == "10.1016/j.mechmachtheory.2012.07.003"
    assert v2.journal_ref == "Mechanism and Machine Theory 57 (2012) 62-70"
    assert recs["1102.2017"].journal_ref == "Mechanism and Machine Theory 46 (2011) 1335--1349"


def test_large_recorded_page() -> None:
    page = parse_feed(recorded("q_testing_s0_m100"), where="q_testing_s0_m100")
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 0, 100)
    assert len(page.records) == 100 and page.errors == []
    assert sum(r.latest_version > 1 for r in page.records) == 36
    recs = by_id(page)
    assert recs["2409.05654"].latest_version == 9
    assert [v.version for v in recs["2409.05654"].versions] == [1, 9]
    assert any(r.title == "$ω$Test: WebView-Oriented Testing for Android Applications" for r in page.records)
    affiliated = [a for r in page.records for a in r.authors if a.affiliations]
    assert Author("Marie-Claude Gaudel", ("LRI",)) in affiliated
    assert Author("Pascale Le Gall", ("IBISC",)) in affiliated
    assert sum(bool(r.doi) for r in page.records) == 32


def test_paging_fields() -> None:
    page = parse_feed(recorded("q_testing_s10_m10"), where="s10")
    assert (page.total_results, page.start_index, page.items_per_page) == (214881, 10, 10)
    assert len(page.records) == 10


def test_empty_results() -> None:
    page = parse_feed(recorded("id_0000.0000"), where="empty")
    assert page.records == [] and page.errors == []
    assert page.total_results == 0


def test_bad_id_in_request_is_silently_dropped_by_arxiv() -> None:
    page = parse_feed(recorded("id_0808.05394_1707.08567"), where="two-ids")
    (rec,) = page.records
    assert rec.id == "1707.08567"
    assert len(rec.authors) == 34
    assert "Dirk Wübben" in [a.name for a in rec.authors]


def test_error_feed_raises_with_arxiv_message() -> None:
    with pytest.raises(ArxivApiError, match="incorrect id format for abc") as info:
        parse_feed(recorded("id_abc"), where="id_abc.json")
    assert isinstance(info.value, SourceError)
    assert info.value.where == "id_abc.json"
    assert "id_abc.json" in str(info.value)


def test_malformed_xml_names_where_and_line() -> None:
    data = (LEGACY / "search_query=au_del_maestro.xml").read_bytes()
    truncated = data[: len(data) // 2]
    with pytest.raises(SourceError) as info:
        parse_feed(truncated, where="cut.xml")
    message = str(info.value)
    assert message.startswith("cut.xml: malformed XML at line ")
    line = int(re.search(r"line (\d+)", message)[1])
    assert line > 1


def test_not_an_atom_feed() -> None:
    with pytest.raises(SourceError, match="not an Atom feed"):
        parse_feed(b"<rss version='2.0'><channel/></rss>", where="x.xml")


def test_broken_entry_is_reported_and_the_others_parse() -> None:
    data = (LEGACY / "search_query=au_del_maestro.xml").read_bytes()
    broken = data.replace(b"<id>http://arxiv.org/abs/1201.4869v1</id>", b"<id>http://arxiv.org/abs/nonsense</id>")
    page = parse_feed(broken, where="broken.xml")
    assert len(page.records) == 9
    assert "1201.4869" not in by_id(page)
    (err,) = page.errors
    assert err.where.startswith("broken.xml, entry 1 (line ")
    assert "nonsense" in str(err)


def test_entities_are_not_resolved() -> None:
    data = (LEGACY / "id_list=1111.2011v2.xml").read_bytes()
    evil = data.replace(
        b'<feed xmlns="http://www.w3.org/2005/Atom">',
        b'<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<feed xmlns="http://www.w3.org/2005/Atom">',
    ).replace(b"in the Large\n  Connectivity Limit", b"&xxe;")
    page = parse_feed(evil, where="evil.xml")
    (rec,) = page.records
    assert "root:" not in rec.title
    assert rec.title.startswith("Quantum Criticality")


def test_withdrawal_comments() -> None:
    assert is_withdrawal_comment("This paper has been withdrawn by the author")
    assert is_withdrawal_comment("9 pages, 3 figures This paper was submitted by mistake and has now been withdrawn")
    assert is_withdrawal_comment("Withdrawn: duplicate of arXiv:1004.1803")
    assert not is_withdrawal_comment("8 pages, 3 figures. Published version")
    assert not is_withdrawal_comment("")


def test_split_authors_keeps_names_and_affiliations() -> None:
    assert split_authors(
        "Zhong-Bo Kang (Iowa State U.), Jian-Wei Qiu (Iowa State U.), and\n  Werner Vogelsang (BNL)"
    ) == [
        Author("Zhong-Bo Kang", ("Iowa State U.",)),
        Author("Jian-Wei Qiu", ("Iowa State U.",)),
        Author("Werner Vogelsang", ("BNL",)),
    ]
    assert [a.name for a in split_authors("Anamta Khan, Ratna Kandala,  Deepti, Sheza Munir")] == [
        "Anamta Khan",
        "Ratna Kandala",
        "Deepti",
        "Sheza Munir",
    ]
    assert [a.name for a in split_authors("A. Smith, Jr., B. Jones et al.")] == [
        "A. Smith Jr.",
        "B. Jones et al.",
    ]
    assert [a.name for a in split_authors("A. Smith, B. Jones, et al.")] == ["A. Smith", "B. Jones"]
    assert split_authors("") == []
