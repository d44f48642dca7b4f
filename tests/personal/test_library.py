"""Importing a library (personal.library) on both databases: matching by arXiv id, DOI and title, duplicates
on re-import, refusals, removal, and the embeddings of unmatched entries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.personal import library
from dailypapers.problems import Unprocessable
from dailypapers.search.embedder import paper_text
from dailypapers.sources.record import PaperRecord
from dailypapers.store import reader_profiles, search_index
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user
from tests.support.semantic import DIM, HashEmbedder, settings_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "library"
PAPERS = [
    PaperRecord(id="1706.03762", source="test", title="Attention Is All You Need", abstract="Transformers."),
    PaperRecord(
        id="1801.02634",
        source="test",
        title="The Astropy Project: Building an Open-science Project and Status of the v2.0 Core Package",
        abstract="Astropy.",
    ),
    PaperRecord(
        id="2401.00007",
        source="test",
        title="Between the City and the Rural",
        abstract="A published paper with a DOI.",
        doi="10.1080/14036090802476622",
    ),
    PaperRecord(
        id="2402.00008",
        source="test",
        title="Lieb-Robinson bounds, Arveson spectrum and Haag-Ruelle scattering theory for gapped quantum spin "
        "systems",
        abstract="Matched by the arXiv id of the entry.",
    ),
    PaperRecord(
        id="2403.00009",
        source="test",
        title=r"{\'E}tude des {\"u}ber-mod{\`e}les: $\alpha$-stable laws and {\c{c}}a",
        abstract="Matched by title, TeX on both sides.",
    ),
]


def add_papers(engine: Engine, *, index: bool = True) -> None:
    ingest_items(engine, PAPERS, ImportReport())
    if index:
        search_index.index_pending(engine)


def rows(engine: Engine, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with read_tx(engine) as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


@pytest.mark.parametrize("indexed", [True, False])
def test_import_matches_counts_and_skips_duplicates(engine: Engine, indexed: bool) -> None:
    add_papers(engine, index=indexed)
    ada = make_user(engine, "ada")
    summary = library.import_library(engine, ada, (FIXTURES / "hostile_crlf_bom.bib").read_bytes())
    # vaswani2017 (arXiv id), accents (its arXiv id 2401.01234 is not stored: by title), the second vaswani2017
    # (a duplicate), unicode and concatenated (unmatched); broken and nofields refused.
    assert summary.format == "bibtex" and summary.read == 7
    assert (summary.matched_arxiv, summary.matched_doi, summary.matched_title) == (1, 0, 1)
    assert (summary.unmatched, summary.duplicates, summary.refused) == (2, 1, 2)
    assert {(e.key, e.line) for e in summary.errors} == {("broken", 15), ("nofields", 39)}
    assert summary.library_entries == 4
    with read_tx(engine) as conn:
        stale = reader_profiles.profile_of(conn, ada.pk)
    assert stale is not None and stale.stale_since is not None

    more = library.import_library(engine, ada, (FIXTURES / "astropy_citation.bib").read_bytes(), "bibtex")
    assert (more.matched_arxiv, more.unmatched, more.duplicates) == (1, 1, 0)
    again = library.import_library(engine, ada, (FIXTURES / "astropy_citation.bib").read_bytes())
    assert again.added == 0 and again.duplicates == 2 and again.library_entries == 6

    page = library.library_of(engine, ada, 1, 3)
    assert page.counts.entries == 6 and page.counts.matched == 3 and page.counts.embedded == 0
    assert [e.paper_id for e in page.entries] == ["1706.03762", "2403.00009", None]
    assert page.entries[1].title == "Étude des über-modèles: α-stable laws and ça"
    assert library.library_of(engine, ada, 3, 3).entries == []

    # Another reader's library is theirs alone.
    bob = make_user(engine, "bob")
    assert library.import_library(engine, bob, (FIXTURES / "astropy_citation.bib").read_bytes()).added == 2
    assert library.remove_library(engine, ada) == 6
    assert library.library_counts(engine, ada).entries == 0
    assert library.library_counts(engine, bob).entries == 2


def test_doi_and_csl_json(engine: Engine) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    bib = library.import_library(engine, ada, (FIXTURES / "bbt_big_whopping_library_excerpt.bib").read_bytes())
    assert (bib.matched_doi, bib.matched_title, bib.unmatched) == (1, 0, 9)
    csl = library.import_library(engine, ada, (FIXTURES / "zotero_style_arxiv.csl.json").read_bytes())
    assert csl.format == "csl-json" and (csl.read, csl.refused, csl.unmatched) == (5, 2, 3)
    assert rows(engine, "SELECT count(*) FROM library_entries WHERE source = 'csl-json'") == [(3,)]
    stored = rows(engine, "SELECT doi, year, authors_text FROM library_entries WHERE title = 'Deep learning'")
    assert stored == [("10.1038/nature14539", 2015, "Yann LeCun, The Deep Learning Collaboration")]


@pytest.mark.parametrize(
    ("data", "fmt", "message"),
    [
        (b"", None, "empty"),
        (b"hello, this is not a library", None, "not a BibTeX file"),
        (b'{"name": "x"}', None, "not CSL JSON"),
        (b"@misc{a, title={x}}", "ris", "Unknown format"),
        (b"@misc{a, title={x}}", "csl-json", "not valid JSON"),
        (b"[" * 100_000, None, "not valid JSON"),
        (b"x" * (16 << 20 | 1), "bibtex", "larger than 16 MiB"),
    ],
)
def test_files_that_are_no_library(engine: Engine, data: bytes, fmt: str | None, message: str) -> None:
    ada = make_user(engine, "ada")
    with pytest.raises(Unprocessable, match=message):
        library.import_library(engine, ada, data, fmt)
    assert library.library_counts(engine, ada).entries == 0


def test_a_file_of_refused_entries_adds_nothing(engine: Engine) -> None:
    ada = make_user(engine, "ada")
    summary = library.import_library(engine, ada, b"@misc{a, year = {2020}}\n@misc{b, title = {unclosed}")
    assert summary.added == 0 and summary.refused == 2
    with read_tx(engine) as conn:
        assert reader_profiles.profile_of(conn, ada.pk) is None  # nothing changed: nothing to retrain


def test_embed_pending_embeds_unmatched_entries_as_papers_are(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    library.import_library(engine, ada, (FIXTURES / "zotero_style_arxiv.csl.json").read_bytes())
    library.import_library(engine, ada, (FIXTURES / "bbt_eprint_arxiv_170.bib").read_bytes())  # matched
    with write_tx(engine) as conn:  # the training saw everything so far
        reader_profiles.store_trained(conn, ada.pk, None, None, 0)
        conn.execute(text("UPDATE reader_profiles SET stale_since = NULL"))
    model = HashEmbedder()
    assert library.embed_pending(engine, settings_for(tmp_path), limit=2, embedder=model) == 2
    assert library.embed_pending(engine, settings_for(tmp_path), embedder=model) == 1
    assert library.embed_pending(engine, settings_for(tmp_path), embedder=model) == 0
    stored = rows(engine, "SELECT title, abstract, vector, paper_pk FROM library_entries ORDER BY pk")
    assert len(stored) == 4 and stored[-1][3] is not None and stored[-1][2] is None  # matched: no vector
    for title, abstract, blob, _ in stored[:3]:
        vector = np.frombuffer(blob, dtype=np.float32)
        assert vector.shape == (DIM,) and abs(float(np.linalg.norm(vector)) - 1) < 1e-5
        expected = HashEmbedder().encode([paper_text(title, abstract)])[0]
        assert np.allclose(vector, expected, atol=1e-6)
    assert model.texts[0] == (
        "DreamEditor: Text-Driven 3D Scene Editing with Neural Fields. "
        "Neural fields have achieved impressive advancements in view synthesis and scene reconstruction."
    )
    assert library.library_counts(engine, ada).embedded == 3
    with read_tx(engine) as conn:
        profile = reader_profiles.profile_of(conn, ada.pk)
    assert profile is not None and profile.stale_since is not None  # new vectors: retrain


def test_entries_are_matched_to_papers_that_arrive_later(engine: Engine) -> None:
    reader = make_user(engine, "later")
    bib = (
        b"@article{a, title={Attention Is All You Need}, eprint={1706.03762}, archivePrefix={arXiv}}\n"
        b"@article{b, title={Between the City and the Rural}, doi={10.1080/14036090802476622}}\n"
        b"@article{c, title={Never stored here}, eprint={2999.00001}, archivePrefix={arXiv}}\n"
        b"@article{d, title={No id at all}}\n"
    )
    summary = library.import_library(engine, reader, bib, "bibtex")
    assert summary.as_dict()["added"] == 4
    assert rows(engine, "SELECT count(*) FROM library_entries WHERE paper_pk IS NOT NULL") == [(0,)]
    add_papers(engine)  # the papers come in after the import
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE reader_profiles SET stale_since = NULL"))
    first = rows(engine, "SELECT min(pk) FROM library_entries")[0][0]
    assert library.rematch(engine, 0, 1) == (1, first)  # one entry a run: the next goes on after it
    assert library.rematch(engine, first) == (1, 0)  # the rest, to the end: the next pass starts again
    matched = rows(engine, "SELECT p.id FROM library_entries e JOIN papers p ON p.pk = e.paper_pk ORDER BY p.id")
    assert matched == [("1706.03762",), ("2401.00007",)]
    assert rows(engine, "SELECT count(*) FROM reader_profiles WHERE stale_since IS NOT NULL") == [(1,)]
    assert library.rematch(engine) == (0, 0)
