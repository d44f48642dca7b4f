"""The arXiv OAI-PMH reader (arXiv, arXivRaw, oai_dc) against real harvested pages."""

from __future__ import annotations

import datetime as dt
import time
import unicodedata

import pytest

from dailypapers.sources.oai_pmh import OaiError, parse_oai
from dailypapers.sources.record import Author, SourceError, Version
from tests.support.fixtures import FIXTURES

OAI = FIXTURES / "arxiv_oai"
RAW_PAGE = OAI / "scirate_ListRecords_arXivRaw_page96001_2014-01-16.xml"
ARXIV_PAGE = OAI / "scirate_ListRecords_arXiv_page96001_2013-05-25.xml"
DC_PAGE = OAI / "atomiklabs_ListRecords_oai_dc_cs_2024-01-25_truncated.xml"
NEW_SERVER = OAI / "agentgraph_new-oaipmh_ListRecords_arXiv_plasm-ph_2026-01-05.xml"
INSPIRE = OAI / "inspire-next"
HEPCRAWL = OAI / "hepcrawl"
UTC = dt.UTC


@pytest.fixture(scope="module")
def raw_page():
    return parse_oai(RAW_PAGE.read_bytes(), where=RAW_PAGE.name)


@pytest.fixture(scope="module")
def arxiv_page():
    return parse_oai(ARXIV_PAGE.read_bytes(), where=ARXIV_PAGE.name)


def by_id(page):
    return {r.id: r for r in page.records}


# --- arXivRaw -------------------------------------------------------------------------------


def test_raw_page_harvest_state(raw_page) -> None:
    assert len(raw_page.records) == 1000 and raw_page.errors == []
    assert raw_page.resumption_token == "496549|96001"
    assert raw_page.complete_list_size == 907096
    assert raw_page.cursor == 95000
    assert raw_page.response_date == dt.datetime(2014, 1, 16, 11, 10, 55, tzinfo=UTC)
    assert {r.source for r in raw_page.records} == {"oai-arXivRaw"}


def test_raw_versions(raw_page) -> None:
    recs = by_id(raw_page)
    rec = recs["0811.3648"]
    assert rec.versions == [
        Version(1, date=dt.datetime(2008, 11, 21, 22, 55, 7, tzinfo=UTC), size="90kb"),
        Version(2, date=dt.datetime(2009, 4, 9, 2, 45, 30, tzinfo=UTC), size="71kb"),
    ]
    assert rec.published == dt.datetime(2008, 11, 21, 22, 55, 7, tzinfo=UTC)
    assert rec.updated == dt.datetime(2009, 4, 9, 2, 45, 30, tzinfo=UTC)
    assert rec.title == "Revisiting Norm Estimation in Data Streams"
    assert rec.categories == ["cs.DS", "cs.CC"] and rec.primary_category == "cs.DS"
    assert rec.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert rec.extra["submitter"] == "Jelani Nelson"
    # The file lists v10 before v2: versions come out in numeric order.
    assert [v.version for v in recs["0811.3733"].versions] == list(range(1, 12))
    assert recs["0811.3733"].updated == dt.datetime(2009, 10, 21, 15, 10, 15, tzinfo=UTC)
    assert recs["0811.3693"].latest_version == 18
    assert sum(len(r.versions) > 1 for r in raw_page.records) == 393
    assert sum(bool(r.doi) for r in raw_page.records) == 468
    assert sum(bool(r.journal_ref) for r in raw_page.records) == 470


def test_raw_authors_are_split_with_affiliations(raw_page) -> None:
    recs = by_id(raw_page)
    assert [a.name for a in recs["0811.3648"].authors] == [
        "Daniel M. Kane",
        "Jelani Nelson",
        "David P. Woodruff",
    ]
    harvard = ("Harvard-Smithsonian Center for Astrophysics",)
    assert recs["0811.3654"].authors[0] == Author("A. Baldi", harvard)
    assert recs["0811.3654"].authors[-1] == Author(
        "A. Simionescu", ("Max Planck Institute for Extraterrestrial Physics",)
    )
    assert recs["0811.3659"].authors[2] == Author(
        "A. Sacripanti",
        (
            "Medicina e Chirurgia, University of Rome Tor Vergata, Italy",
            "Dipartimento Tecnologie della Fisica e Nuovi Materiali, ENEA- Italy",
        ),
    )
    assert recs["0811.3662"].authors == [
        Author("Zhong-Bo Kang", ("Iowa State U.",)),
        Author("Jian-Wei Qiu", ("Iowa State U.",)),
        Author("Werner Vogelsang", ("BNL",)),
    ]
    assert [a.name for a in recs["0811.3680"].authors] == [
        "Quirino M. Sugon Jr.",
        "Carlo B. Fernandez",
        "Daniel J. McNamara",
    ]
    assert [a.name for a in recs["0811.3778"].authors] == [
        "R. Goncalo",
        "for the ATLAS and CMS Collaborations",
    ]
    watanabe = recs["0811.3796"].authors
    assert watanabe[0] == Author("Shin Watanabe", ("ISAS/JAXA", "University of Tokyo"))
    assert watanabe[-1] == Author("Tapio Pursimo", ("Nordic Optical Telescope",))
    # A stray ")" at the end of the string does not turn into an author.
    assert [a.name for a in recs["0811.3821"].authors][-1] == "R. Cesaroni"
    assert recs["0811.3821"].authors[-1].affiliations == ("INAF-Osservatorio Astrofisico di Arcetri",)


def test_raw_authors_match_the_structured_format(raw_page, arxiv_page) -> None:
    """arXivRaw's author strings split to the names arXiv's own parser gives in `arXiv` format."""
    structured = by_id(arxiv_page)

    def key(name: str) -> str:
        return "".join(ch for ch in unicodedata.normalize("NFKD", name) if ch.isascii() and ch.isalnum())

    differ = {
        rec.id
        for rec in raw_page.records
        if [key(a.name) for a in rec.authors] != [key(a.name) for a in structured[rec.id].authors]
        and not any("\\" in a.name for a in rec.authors)  # TeX accents: "J\\"arvinen" vs "Järvinen"
    }
    # Where they still differ, arXiv's own split is the wrong one ("for the ATLAS", ")", ":"), or
    # the author order changed between the two harvests (0811.3978).
    assert differ == {"0811.3778", "0811.3821", "0811.3894", "0811.3978"}
    assert [a.name for a in structured["0811.3778"].authors] == [
        "R. Goncalo",
        "for the ATLAS",
        "CMS Collaborations",
    ]


def test_raw_withdrawn_records(raw_page) -> None:
    withdrawn = {r.id for r in raw_page.records if r.withdrawn}
    assert withdrawn == {"0811.3882", "0811.3921", "0811.4009", "0811.4148", "0811.4613", "0811.4628"}
    rec = by_id(raw_page)["0811.3921"]
    assert rec.versions[-1].size == "0kb"
    assert rec.comments == "9 pages, 3 figures This paper was submitted by mistake and has now been withdrawn"


def test_raw_page_parses_fast() -> None:
    data = RAW_PAGE.read_bytes()
    start = time.perf_counter()
    page = parse_oai(data, where="raw")
    assert len(page.records) == 1000
    assert time.perf_counter() - start < 1.0


# --- arXiv ----------------------------------------------------------------------------------


def test_arxiv_page(arxiv_page) -> None:
    assert len(arxiv_page.records) == 1000 and arxiv_page.errors == []
    assert arxiv_page.resumption_token == "436115|96001"
    assert arxiv_page.complete_list_size == 846926
    assert arxiv_page.cursor == 95000
    assert {r.source for r in arxiv_page.records} == {"oai-arXiv"}
    rec = by_id(arxiv_page)["0811.3648"]
    assert [a.name for a in rec.authors] == ["Daniel M. Kane", "Jelani Nelson", "David P. Woodruff"]
    # <updated> does not say which version is the latest: only v1 is recorded.
    assert rec.versions == [Version(1, date=dt.datetime(2008, 11, 21, tzinfo=UTC))]
    assert rec.published == dt.datetime(2008, 11, 21, tzinfo=UTC)
    assert rec.updated == dt.datetime(2009, 4, 8, tzinfo=UTC)
    assert rec.extra["latest_version_unknown"] is True
    withdrawn = {r.id for r in arxiv_page.records if r.withdrawn}
    assert withdrawn == {"0811.3882", "0811.3921", "0811.4009", "0811.4148", "0811.4628"}
    assert [a.name for a in by_id(arxiv_page)["0811.3827"].authors][1] == "J. S. Andrade Jr."


def test_getrecord_old_style_id_with_affiliations() -> None:
    page = parse_oai((INSPIRE / "GetRecord_physics_0112006_affiliations.xml").read_bytes(), where="physics")
    (rec,) = page.records
    assert rec.id == "physics/0112006"
    assert rec.authors == [
        Author("G. Fiorentini", ("INFN, Sezione di Ferrara, Ferrara, Italy",)),
        Author("L. Okun", ("ITEP, Moscow, Russia",)),
        Author("M. Vysotsky", ("ITEP, Moscow, Russia",)),
    ]
    assert rec.doi == "10.1134/1.1533770"
    assert rec.categories == ["physics.class-ph", "physics.gen-ph"]
    assert rec.versions == [Version(1, date=dt.datetime(2001, 12, 4, tzinfo=UTC))]
    assert "latest_version_unknown" not in rec.extra
    assert page.resumption_token is None and page.complete_list_size is None


def test_getrecord_with_padded_fields() -> None:
    (rec,) = parse_oai((INSPIRE / "GetRecord_1305.0014.xml").read_bytes(), where="1305.0014").records
    assert rec.id == "1305.0014"
    assert rec.title == (
        "Framework for maximum likelihood analysis of neutron beta decay observables "
        "to resolve the limits of the V-A law"
    )
    assert rec.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert rec.journal_ref == "Phys. Rev. C 87, 065504 (2013)"
    assert rec.doi == "10.1103/PhysRevC.87.065504"
    assert rec.primary_category == "hep-ph"
    assert rec.categories == ["hep-ph", "hep-lat", "nucl-ex", "nucl-th"]


def test_hepcrawl_records() -> None:
    (rec,) = parse_oai((HEPCRAWL / "arxiv-single.xml").read_bytes(), where="single").records
    assert rec.id == "1401.2122"
    assert rec.primary_category == "math.AP"
    assert rec.extra["msc_class"] == "37K05 37K10 53D10"
    assert rec.journal_ref == "Lett. Math. Phys. 108 (2018), no. 2, 359-376"
    page = parse_oai((HEPCRAWL / "arxiv-physics-hep-ex.xml").read_bytes(), where="hep-ex")
    assert len(page.records) == 3
    assert by_id(page)["1706.09418"].extra["report_no"] == "BONN-TH-2017-03"


def test_new_server_with_odd_whitespace() -> None:
    page = parse_oai(NEW_SERVER.read_bytes(), where="new-server")
    assert page.errors == [] and page.resumption_token is None
    recs = by_id(page)
    assert list(recs) == ["2504.11237", "2508.21012", "2510.07502"]
    rec = recs["2504.11237"]
    assert rec.authors[-1] == Author("Zoltán Harman")
    assert rec.abstract.startswith("Mendeleev's periodic table")
    assert rec.license == "http://creativecommons.org/publicdomain/zero/1.0/"
    assert rec.doi == "10.1103/bppp-53g1"
    assert rec.journal_ref == "Phys. Rev. Research 7, L042071 (2025)"
    assert rec.categories[0] == "physics.atom-ph" and len(rec.categories) == 4
    assert rec.extra["oai_sets"][-1] == "physics:quant-ph"
    assert recs["2508.21012"].license == "http://creativecommons.org/licenses/by-nc-sa/4.0/"


# --- oai_dc ---------------------------------------------------------------------------------


def test_oai_dc_page() -> None:
    page = parse_oai(DC_PAGE.read_bytes(), where="dc")
    assert page.resumption_token == "6960524|1001"
    assert (page.complete_list_size, page.cursor) == (1162, 0)
    recs = by_id(page)
    assert len(recs) == 5 and page.errors == []
    assert {r.source for r in page.records} == {"oai-oai_dc"}
    rec = recs["1303.2033"]
    assert rec.title == "Extended Fourier analysis of signals"
    assert rec.authors == [Author("Vilnis Liepins")]
    assert rec.comments == "32 pages, 9 figures"
    assert rec.abstract.startswith("This summary of the doctoral thesis")
    assert rec.versions == [
        Version(1, date=dt.datetime(2013, 3, 8, tzinfo=UTC)),
        Version(2, date=dt.datetime(2024, 1, 23, tzinfo=UTC)),
    ]
    assert rec.extra["subjects"][0] == "Computer Science - Data Structures and Algorithms"
    assert [a.name for a in recs["2401.14034"].authors][:2] == ["Chuankun Li", "Shuai Li"]


# --- protocol errors, deletions, broken input -------------------------------------------------


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("GetRecord_1305.0014v1.xml", "You must not include the 'v1'"),
        ("GetRecord_1305.9999.xml", "does not correspond to an item in this repository"),
        ("GetRecord_is-malformed.xml", "Malformed identifier `oai:arXiv.org:is-malformed'"),
    ],
)
def test_id_does_not_exist(name: str, needle: str) -> None:
    with pytest.raises(OaiError) as info:
        parse_oai((INSPIRE / name).read_bytes(), where=name)
    assert info.value.code == "idDoesNotExist"
    assert needle in info.value.message
    assert isinstance(info.value, SourceError)
    assert name in str(info.value)


def test_no_records_match_is_an_empty_page() -> None:
    data = (INSPIRE / "GetRecord_1305.9999.xml").read_bytes().replace(b"idDoesNotExist", b"noRecordsMatch")
    page = parse_oai(data, where="none")
    assert page.records == [] and page.errors == [] and page.resumption_token is None
    assert page.response_date == dt.datetime(2017, 8, 24, 11, 43, 16, tzinfo=UTC)


def test_deleted_record_is_skipped() -> None:
    data = (HEPCRAWL / "arxiv-physics-hep-ex.xml").read_bytes()
    data = data.replace(b"<header>", b'<header status="deleted">', 1)
    page = parse_oai(data, where="deleted")
    assert len(page.records) == 2 and page.errors == []
    assert "1706.05371" not in by_id(page)


def test_broken_record_is_reported_and_the_others_parse() -> None:
    data = (HEPCRAWL / "arxiv-physics-hep-ex.xml").read_bytes()
    data = data.replace(b"oai:arXiv.org:1706.05371", b"oai:arXiv.org:junk").replace(
        b"<id>1706.05371</id>", b"<id>junk</id>"
    )
    page = parse_oai(data, where="hep-ex.xml")
    assert len(page.records) == 2
    (err,) = page.errors
    assert err.where.startswith("hep-ex.xml, record 1 (line ")
    assert "junk" in str(err)


def test_empty_resumption_token_ends_the_list() -> None:
    data = DC_PAGE.read_bytes().replace(
        b'<resumptionToken cursor="0" completeListSize="1162">6960524|1001</resumptionToken>',
        b'<resumptionToken cursor="1000" completeListSize="1162"/>',
    )
    page = parse_oai(data, where="last")
    assert page.resumption_token is None
    assert (page.complete_list_size, page.cursor) == (1162, 1000)


def test_malformed_xml_names_where_and_line() -> None:
    data = RAW_PAGE.read_bytes()[:20000]
    with pytest.raises(SourceError, match=r"^page\.xml: malformed XML at line \d+, column \d+"):
        parse_oai(data, where="page.xml")


def test_entities_are_not_resolved() -> None:
    data = (HEPCRAWL / "arxiv-single.xml").read_bytes()
    data = data.replace(
        b"<OAI-PMH ",
        b'<!DOCTYPE OAI-PMH [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n<OAI-PMH ',
        1,
    ).replace(b"<comments>16 pages", b"<comments>&xxe;16 pages")
    (rec,) = parse_oai(data, where="evil").records
    assert rec.comments.startswith("16 pages")
