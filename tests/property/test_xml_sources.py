"""The XML sources (arXiv's Atom API, OAI-PMH, RSS) on random bytes and on real documents with elements
changed, removed or repeated: a page of records within every limit and SourceErrors naming each entry that
could not be read, or a SourceError for the whole document; nothing else ever escapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dailypapers.sources import arxiv_atom, arxiv_rss, oai_pmh
from dailypapers.sources.record import UTF8_BOM, SourceError
from tests.property.strategies import FAST, check_item, mutated_xml, xml_documents, xml_texts

DOCUMENTS = xml_documents()
PARSERS: dict[str, Callable[..., Any]] = {
    "arxiv-api": arxiv_atom.parse_feed,
    "oai": oai_pmh.parse_oai,
    "rss": arxiv_rss.parse_rss,
}


def read(fmt: str, data: bytes) -> None:
    """Parse `data` as `fmt`, checking every record and error of the page (or the document's refusal)."""
    try:
        page = PARSERS[fmt](data, where="doc.xml")
    except SourceError as exc:
        assert str(exc).startswith("doc.xml: ") and exc.problem
        return
    for item in (*page.records, *page.errors):
        check_item(item)
    for error in page.errors:
        assert error.where.startswith("doc.xml, ")


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FAST
@given(data=st.data())
def test_changed_real_documents_give_records_or_source_errors(fmt: str, data: st.DataObject) -> None:
    read(fmt, data.draw(mutated_xml(DOCUMENTS[fmt])))


@pytest.mark.parametrize("fmt", sorted(PARSERS))
@FAST
@given(data=st.data())
def test_random_bytes_and_text_give_a_page_or_a_source_error(fmt: str, data: st.DataObject) -> None:
    document = DOCUMENTS[fmt][0]
    cut = data.draw(st.integers(0, len(document)))
    raw = data.draw(
        st.one_of(
            st.binary(max_size=400),
            st.just(document[:cut]),  # a download cut short
            xml_texts.map(lambda t: document[:cut] + t.encode() + document[cut:]),
            st.binary(max_size=8).map(lambda b: document[:cut] + b + document[cut:]),
        )
    )
    read(fmt, data.draw(st.sampled_from([b"", UTF8_BOM])) + raw)


@pytest.mark.parametrize("fmt", sorted(PARSERS))
def test_a_byte_order_mark_changes_nothing(fmt: str) -> None:
    pages = [[PARSERS[fmt](d, where="doc.xml") for d in (document, UTF8_BOM + document)] for document in DOCUMENTS[fmt]]
    assert all(plain.records == marked.records for plain, marked in pages)
    assert any(plain.records for plain, _ in pages)
