"""What the property tests draw from: hostile text (controls, unpaired surrogates, odd digits), JSON values,
records of each JSON format built from real ones, and real XML documents with one element changed; the
settings every property test runs under; and what any record a source yields must satisfy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from lxml import etree

from dailypapers.periods import FIRST_YEAR, LAST_YEAR
from dailypapers.sources import limits
from dailypapers.sources.arxiv_ids import parse_arxiv_id
from dailypapers.sources.record import PaperRecord, SourceError, normalize_text
from dailypapers.store import papers
from tests.support.fixtures import recording, recordings

# Reproducible in CI: the same examples on every run (derandomize), nothing saved between runs (no example
# database in the checkout), no deadline (a slow machine is no failure). Each test picks its example count.
FAST = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Characters that broke or could break a parser or a database: NUL and other C0/C1 controls, unpaired
# surrogates, a byte order mark, line and paragraph separators, combining marks, other scripts' digits.
_SPECIAL = "\x00\x01\x07\x08\x0b\x0c\x0d\x1b\x1f\x7f\x80\x85\x9f\ud800\udfff\ufeff\u2028\u2029\u0301\u0663\uff12 \t\n"
chars = st.characters(categories=["L", "M", "N", "P", "S", "Zs", "Cc", "Cf", "Cs"]) | st.sampled_from(_SPECIAL)
texts = st.text(chars, max_size=40)
# What a JSON file can carry: any text but unpaired surrogates (which UTF-8 cannot encode, nor orjson read).
json_texts = texts.map(lambda t: "".join(c for c in t if not "\ud800" <= c <= "\udfff"))

# Values of the fields the parsers read: ids, dates and versions in valid and broken shapes.
ID_TEXTS = st.sampled_from(
    ["0704.0001", "2401.01234", "2401.01234v3", "hep-th/9901001", "math.GT/0309136v2", "arXiv:2607.28568",
     "https://arxiv.org/abs/2607.28568v2", "oai:arXiv.org:0811.3648", "0000.0000", "2413.00001", "abc", "",
     "a" * 70 + "/0101001", "2401.01234v99999999999", "\u0662\u0664\u0660\u0661.01234"]
)  # fmt: skip
DATE_TEXTS = st.sampled_from(
    ["2007-05-23", "2026-06-12T00:00:00.000Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00",
     "3000-01-01", "1899-12-31", "Mon, 2 Apr 2007 19:18:42 GMT", "Fri, 31 Dec 9999 23:00:00 -0500",
     "Mon, 1 Jan 0001 00:00:00 +0100", "32 Foo 2020", "", "2026-02-30", "2026-W01"]
)  # fmt: skip
VERSION_TEXTS = st.sampled_from(["v1", "v2", "v0", "1", "v99999999999", "v-1", "", "v1.5", "v\u0663"])
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_texts
    | ID_TEXTS
    | DATE_TEXTS
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(json_texts | st.sampled_from(["name", "user"]), inner, max_size=4)
    ),
    max_leaves=12,
)
big_texts = st.builds(lambda s, n: s * n, st.sampled_from(["a", "é ", "\x00", "word "]), st.integers(0, 30_000))


def json_objects(keys: list[str], field_values: Callable[[str], st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Objects with some of `keys`, each holding a value made for it or any JSON value."""
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys)).flatmap(
        lambda d: st.fixed_dictionaries({k: field_values(k) | json_values for k in d})
    )


# ---------------------------------------------------------------------------------------------
# Real records, one field replaced


def kaggle_objects() -> list[dict[str, Any]]:
    lines = recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl").read_bytes().splitlines()
    return [orjson.loads(line) for line in lines[:40]]


def hf_items() -> list[dict[str, Any]]:
    return orjson.loads(recording("hf_daily_papers", "personal-news-feed_daily_papers_2026-08.json").read_bytes())


def one_of_these(objects: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """One of `objects` (drawn by index, so that no report prints them all)."""
    return st.integers(0, len(objects) - 1).map(lambda i: objects[i])


def replaced(obj: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    return {**obj, key: value}


# ---------------------------------------------------------------------------------------------
# Real XML documents, small ones, with one element's text or attribute changed, or one element removed


def _first_records(path_bytes: bytes, n: int) -> bytes:
    """An OAI-PMH ListRecords answer cut after its `n`-th record (the recorded pages are megabytes)."""
    cut = 0
    for _ in range(n):
        cut = path_bytes.index(b"</record>", cut) + len(b"</record>")
    return path_bytes[:cut] + b"\n</ListRecords>\n</OAI-PMH>\n"


def xml_documents() -> dict[str, list[bytes]]:
    """Small recorded documents of each XML format, by format name."""
    pages = [
        "scirate_ListRecords_arXivRaw_page96001_2014-01-16.xml",
        "scirate_ListRecords_arXiv_page96001_2013-05-25.xml",
        "atomiklabs_ListRecords_oai_dc_cs_2024-01-25_truncated.xml",
    ]
    oai = [_first_records(recording("arxiv_oai", name).read_bytes(), 3) for name in pages] + [
        recording("arxiv_oai", "inspire-next/GetRecord_physics_0112006_affiliations.xml").read_bytes(),
        recording("arxiv_oai", "hepcrawl/arxiv-single.xml").read_bytes(),
    ]
    atom = [
        recording("arxiv_api", "fastpaper_search_attention_OR_mechanism_3_2026-03-26.xml").read_bytes(),
        recording("arxiv_api", "arxiv_py/legacy_2016/id_list=1111.2011v2.xml").read_bytes(),
    ]
    rss = [p.read_bytes() for p in recordings("arxiv_rss", "*.xml")]
    return {"oai": oai, "arxiv-api": atom, "rss": rss}


@st.composite
def mutated_xml(draw: st.DrawFn, documents: list[bytes]) -> bytes:
    """One of `documents` with an element's text, tail or attribute replaced, or the element removed."""
    root = etree.fromstring(documents[draw(st.integers(0, len(documents) - 1))])
    elements = [el for el in root.iter() if isinstance(el.tag, str)]
    for _ in range(draw(st.integers(1, 3))):
        el = draw(st.sampled_from(elements))
        how = draw(st.sampled_from(["text", "attribute", "remove", "duplicate"]))
        value = draw(st.one_of(xml_texts, ID_TEXTS, DATE_TEXTS, VERSION_TEXTS, big_texts.map(_xml_safe)))
        if how == "text":
            el.text = value
        elif how == "attribute":
            el.set(draw(st.sampled_from(["term", "version", "scheme", "status", "code", "title", "href"])), value)
        elif el.getparent() is not None:
            parent = el.getparent()
            if how == "remove":
                parent.remove(el)
                elements = [e for e in root.iter() if isinstance(e.tag, str)]
            else:
                parent.append(etree.fromstring(etree.tostring(el)))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _xml_safe(text: str) -> str:
    """`text` without what XML 1.0 cannot hold at all (C0 controls but tab and newlines, surrogates, U+FFFE/F)."""
    return "".join(
        c for c in text if (c >= " " or c in "\t\n\r") and not "\ud800" <= c <= "\udfff" and c not in "\ufffe\uffff"
    )


xml_texts = texts.map(_xml_safe)


# ---------------------------------------------------------------------------------------------
# What every record a source yields must satisfy


def _texts_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*_texts_in(k), *_texts_in(v))]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts_in(v)]
    return []


def record_texts(rec: PaperRecord) -> list[str]:
    out = [rec.id, rec.title, rec.abstract, rec.comments, rec.doi, rec.journal_ref, rec.license]
    out += [rec.primary_category, *rec.categories, *rec.code_urls, *rec.project_urls, *_texts_in(rec.extra)]
    out += [t for a in rec.authors for t in (a.name, *a.affiliations)]
    if rec.listing and rec.listing.submitter:
        by = rec.listing.submitter
        out += [by.name, by.fullname, by.avatar_url]
    return out


def check_item(item: object) -> None:
    """A source's item is a record within every limit, its text normalized and storable on both databases,
    or a SourceError that says what and where."""
    if isinstance(item, SourceError):
        event("source error")
        assert item.problem and str(item)
        return
    event("record")
    assert isinstance(item, PaperRecord), f"not a record nor a SourceError: {item!r}"
    limits.check(item)  # raises if a limit is broken
    for text in record_texts(item):
        assert isinstance(text, str) and normalize_text(text) == text, f"not normalized: {text!r}"
        text.encode("utf-8")  # no unpaired surrogate
    if not item.local:
        assert parse_arxiv_id(item.id)[0] == item.id
    assert item.title
    for dialect in ("sqlite", "postgresql"):
        papers.record_params(item, dialect)  # what the store writes can be built
    for day in (item.published, item.updated, item.announced, item.listing.day if item.listing else None):
        assert day is None or FIRST_YEAR <= day.year <= LAST_YEAR
