"""The rss.arxiv.org (2024+ RSS 2.0) reader against real feeds."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from dailypapers.sources.arxiv_rss import parse_rss
from dailypapers.sources.record import SourceError, Version
from tests.support.fixtures import FIXTURES

RSS = FIXTURES / "arxiv_rss"
CL = RSS / "new2024_cs_cl_2026-04-27_3items_distill.xml"
AI = RSS / "new2024_cs_ai_2026-04-27_3items_distill.xml"
LG = RSS / "new2024_cs_lg_2026-04-27_3items_distill.xml"
WEEKEND = RSS / "new2024_cs.CL_weekend_empty_All-News-AI.xml"


@pytest.mark.parametrize("path", [CL, AI, LG], ids=lambda p: p.name)
def test_every_item_parses(path: Path) -> None:
    page = parse_rss(path.read_bytes(), where=path.name)
    assert page.announced == dt.date(2026, 4, 27)
    assert len(page.records) == 3 and page.errors == []
    for rec in page.records:
        assert rec.source == "arxiv-rss"
        assert rec.announced == dt.date(2026, 4, 27)
        assert rec.extra["announce_type"] == "new"
        assert rec.versions == [Version(1)]
        assert re.fullmatch(r"2604\.\d{5}", rec.id)
        assert rec.abstract and not rec.abstract.startswith(("arXiv:", "Abstract:"))
        assert rec.categories and rec.primary_category == rec.categories[0]
        assert rec.license.startswith("http://")
        assert rec.authors


def test_cs_cl_feed_values_and_double_space_author() -> None:
    page = parse_rss(CL.read_bytes(), where="cs.CL")
    recs = {r.id: r for r in page.records}
    assert list(recs) == ["2604.22002", "2604.22027", "2604.22038"]
    rec = recs["2604.22002"]
    assert [a.name for a in rec.authors] == [
        "Anamta Khan",
        "Ratna Kandala",
        "Deepti",
        "Sheza Munir",
        "Joyojeet Pal",
    ]
    assert rec.license == "http://creativecommons.org/licenses/by-nc-sa/4.0/"
    assert rec.abstract.startswith("Social media platforms have become primary channels for heal")
    assert recs["2604.22027"].categories == ["cs.CL", "cs.AI", "cs.LG"]
    assert recs["2604.22027"].primary_category == "cs.CL"
    assert [a.name for a in recs["2604.22038"].authors] == ["Etha Tianze Hua", "Tian Yun", "Ellie Pavlick"]


def test_cs_ai_feed_values() -> None:
    recs = {r.id: r for r in parse_rss(AI.read_bytes(), where="cs.AI").records}
    rec = recs["2604.21936"]
    assert rec.title == ("An Artifact-based Agent Framework for Adaptive and Reproducible Medical Image Processing")
    assert len(rec.authors) == 18
    assert rec.authors[0].name == "Lianrui Zuo" and rec.authors[-1].name == "Bennett A. Landman"
    assert rec.categories == ["cs.AI", "cs.CV", "cs.MA"]
    assert r"\textbf{adaptability}" in rec.abstract  # LaTeX kept as given
    assert recs["2604.21935"].license == "http://creativecommons.org/licenses/by/4.0/"
    assert recs["2604.21935"].published is None  # the feed gives no submission date


def test_empty_weekend_feed() -> None:
    page = parse_rss(WEEKEND.read_bytes(), where="weekend")
    assert page.records == [] and page.errors == []
    assert page.announced == dt.date(2026, 8, 1)


def test_replacement_item() -> None:
    data = AI.read_bytes()
    data = data.replace(b"arXiv:2604.21935v1 Announce Type: new", b"arXiv:2604.21935v3 Announce Type: replace", 1)
    data = data.replace(
        b"<arxiv:announce_type>new</arxiv:announce_type>",
        b"<arxiv:announce_type>replace</arxiv:announce_type>",
        1,
    )
    rec = parse_rss(data, where="replace").records[0]
    assert rec.id == "2604.21935"
    assert rec.versions == [Version(3)]
    assert rec.extra["announce_type"] == "replace"


def test_broken_item_is_reported_and_the_others_parse() -> None:
    data = AI.read_bytes().replace(b"arXiv:2604.21936v1 Announce", b"arXiv:garbage Announce")
    page = parse_rss(data, where="cs.AI.xml")
    assert [r.id for r in page.records] == ["2604.21935", "2604.21937"]
    (err,) = page.errors
    assert err.where.startswith("cs.AI.xml, item 2 (line ")
    assert "garbage" in str(err)


def test_malformed_xml_names_where_and_line() -> None:
    data = CL.read_bytes()
    with pytest.raises(SourceError, match=r"^feed\.xml: malformed XML at line \d+, column \d+"):
        parse_rss(data[:3000], where="feed.xml")


def test_not_an_rss_feed() -> None:
    with pytest.raises(SourceError, match="not an RSS 2.0 feed"):
        parse_rss(b'<feed xmlns="http://www.w3.org/2005/Atom"/>', where="atom.xml")
