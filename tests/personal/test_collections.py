"""Saves and collections as use cases and store functions, on SQLite and PostgreSQL; the exports as pure
functions (BibTeX that parses back, with unique ASCII keys)."""

from __future__ import annotations

import datetime as dt
import threading

import bibtexparser
import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.personal import collections as personal
from dailypapers.personal import export
from dailypapers.problems import Forbidden, NotFound, Unprocessable
from dailypapers.sources.record import Author, Listing, PaperRecord
from dailypapers.store import collections as store
from dailypapers.store import reader_profiles, saves
from dailypapers.store.collections import ExportPaper, StoredCollection
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user

DAY = dt.date(2026, 3, 6)
X, Y, Z = "2603.00001", "2603.00002", "hep-th/9901001"


def add_papers(engine: Engine) -> None:
    records = [
        PaperRecord(
            id=pid,
            source="test",
            title=title,
            abstract="An abstract.",
            authors=[Author("Ada Lovelace"), Author("Kurt Gödel")],
            published=dt.datetime(2026, 3, 5, tzinfo=dt.UTC),
            primary_category="cs.LG",
            categories=["cs.LG"],
            listing=Listing(day=DAY, source="t", upvotes=3),
        )
        for pid, title in (
            (X, "Attention is all you need"),
            (Y, r"On $O(n^2)$ & 100% of \emph{Bal\'azs}"),
            (Z, "Strings"),
        )
    ]
    ingest_items(engine, records, ImportReport())


def stale_since(engine: Engine, user_pk: int) -> dt.datetime | None:
    # Read directly: store.reader_profiles.profile_of reads a Core row as an ORM object (reported).
    with read_tx(engine) as conn:
        stale = dict(reader_profiles.stale(conn, 1000))
    return stale.get(user_pk)


def clear_stale(engine: Engine, user_pk: int) -> None:
    with write_tx(engine) as conn:
        conn.execute(text("UPDATE reader_profiles SET stale_since = NULL WHERE user_pk = :u"), {"u": user_pk})


def test_save_is_idempotent_and_marks_the_profile_stale(engine: Engine) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    assert personal.save(engine, ada, X, True).saved
    assert stale_since(engine, ada.pk) is not None
    clear_stale(engine, ada.pk)
    assert personal.save(engine, ada, X, True).saved  # again: nothing changes
    assert stale_since(engine, ada.pk) is None
    assert personal.save(engine, ada, Z, True).saved  # an old-style id with a slash
    view = personal.saved_view(engine, ada, 10)
    assert [e.id for e in view.entries] == [Z, X] and view.total == 2
    assert not personal.save(engine, ada, X, False).saved
    assert stale_since(engine, ada.pk) is not None
    assert not personal.save(engine, ada, X, False).saved
    with pytest.raises(NotFound):
        personal.save(engine, ada, "2603.99999", True)
    with read_tx(engine) as conn:
        assert saves.saved_among(conn, ada.pk, []) == set()
        assert saves.count_saved(conn, ada.pk) == 1


def test_concurrent_saves_make_one_row(engine: Engine) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    failures: list[BaseException] = []

    def click() -> None:
        try:
            personal.save(engine, ada, Y, True)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM saves")).scalar() == 1


def test_collections_rules(engine: Engine) -> None:
    add_papers(engine)
    ada, bob = make_user(engine, "ada"), make_user(engine, "bob")
    c = personal.create(engine, ada, "  Ünïcode   diffusion  papers ", "About them.", "private")
    assert c.name == "Ünïcode diffusion papers" and c.visibility == "private" and c.owner == "ada"
    assert (
        c.slug.startswith("unicode-diffusion-papers-")
        and c.slug.isascii()
        and len(c.slug) == len("unicode-diffusion-papers-") + 6
    )
    other = personal.create(engine, ada, "Ünïcode diffusion papers")
    assert other.slug != c.slug
    assert personal.create(engine, ada, "日本語").slug.startswith("collection-")
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(Unprocessable):
            personal.create(engine, ada, bad)
    with pytest.raises(Unprocessable):
        personal.create(engine, ada, "ok", "d" * 2001)
    with pytest.raises(Unprocessable):
        personal.create(engine, ada, "ok", "", "secret")
    assert personal.create(engine, ada, "x" * 100, "d" * 2000, "PUBLIC").visibility == "public"

    # Another reader: a private collection does not exist for them; a public one they may see, not change.
    for who in (bob, None):
        with pytest.raises(NotFound):
            personal.view(engine, who, c.slug, 10)
        with pytest.raises(NotFound):
            personal.for_export(engine, who, c.slug)
    with pytest.raises(NotFound):
        personal.set_paper(engine, bob, c.slug, X, True)
    with pytest.raises(NotFound):
        personal.update(engine, bob, c.slug, visibility="public")
    with pytest.raises(NotFound):
        personal.delete(engine, bob, c.slug)
    for odd in ("", "../etc", "A" * 500, "x\x00y", "UPPER"):
        with pytest.raises(NotFound):
            personal.view(engine, ada, odd, 10)

    clear_stale(engine, ada.pk)
    m = personal.set_paper(engine, ada, c.slug, X, True, note="Read  first.")
    assert m.added and m.papers == 1
    assert stale_since(engine, ada.pk) is not None
    clear_stale(engine, ada.pk)
    m = personal.set_paper(engine, ada, c.slug, X, True)  # again: no change, the note stays
    assert m.added and m.papers == 1 and stale_since(engine, ada.pk) is None
    personal.set_paper(engine, ada, c.slug, Z, True)
    with pytest.raises(NotFound):
        personal.set_paper(engine, ada, c.slug, "2603.99999", True)
    with pytest.raises(Unprocessable):
        personal.set_paper(engine, ada, c.slug, Y, True, note="n" * 2001)
    shown = personal.view(engine, ada, c.slug, 10)
    assert shown.mine and [e.id for e in shown.entries] == [X, Z]
    assert shown.items[shown.entries[0].pk].note == "Read  first."

    public = personal.update(engine, ada, c.slug, visibility="unlisted", name="Renamed")
    assert public.slug == c.slug and public.name == "Renamed" and public.visibility == "unlisted"
    seen = personal.view(engine, bob, c.slug, 10)
    assert not seen.mine and len(seen.entries) == 2
    with pytest.raises(Forbidden):
        personal.set_paper(engine, bob, c.slug, Y, True)
    with pytest.raises(Forbidden):
        personal.delete(engine, bob, c.slug)
    assert c.slug not in [x.slug for x in personal.listed(engine, bob, ada.pk)]  # unlisted: not on the profile
    personal.update(engine, ada, c.slug, visibility="public")
    assert c.slug in [x.slug for x in personal.listed(engine, None, ada.pk)]
    assert len(personal.listed(engine, ada, ada.pk)) == len(personal.mine(engine, ada)) == 4

    m = personal.set_paper(engine, ada, c.slug, X, False)
    assert not m.added and m.papers == 1
    assert not personal.set_paper(engine, ada, c.slug, X, False).added
    clear_stale(engine, ada.pk)
    personal.delete(engine, ada, c.slug)
    assert stale_since(engine, ada.pk) is not None
    with pytest.raises(NotFound):
        personal.view(engine, ada, c.slug, 10)
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM collection_papers")).scalar() == 0


def test_limits(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    monkeypatch.setattr(personal, "MAX_COLLECTIONS", 2)
    monkeypatch.setattr(personal, "MAX_PAPERS", 1)
    c = personal.create(engine, ada, "one")
    personal.create(engine, ada, "two")
    with pytest.raises(Unprocessable, match="at most 2 collections"):
        personal.create(engine, ada, "three")
    personal.set_paper(engine, ada, c.slug, X, True)
    personal.set_paper(engine, ada, c.slug, X, True, note="still fine: already in it")
    with pytest.raises(Unprocessable, match="at most 1 papers"):
        personal.set_paper(engine, ada, c.slug, Y, True)


def test_store_functions(engine: Engine) -> None:
    add_papers(engine)
    ada = make_user(engine, "ada")
    with write_tx(engine) as conn:
        pk = store.create(conn, ada.pk, "taken-abc123", "Name", "", "private")
        assert pk is not None
        assert store.create(conn, ada.pk, "taken-abc123", "Other", "", "public") is None
        paper = int(conn.execute(text("SELECT pk FROM papers WHERE id = :i"), {"i": Y}).scalar_one())
        assert store.add_paper(conn, pk, paper, None)
        assert not store.add_paper(conn, pk, paper, "a note")
        assert store.containing(conn, ada.pk, paper) == {pk}
        [p] = store.export_papers(conn, pk)
        assert p.id == Y and p.note == "a note" and p.authors == ["Ada Lovelace", "Kurt Gödel"]
        assert p.published == dt.datetime(2026, 3, 5, tzinfo=dt.UTC) and p.primary_category == "cs.LG"
        found = store.by_slug(conn, "taken-abc123")
        assert found is not None and found.papers == 1 and found.owner == "ada"
        assert found.created_at.tzinfo is not None


# ---- exports (pure) ----


def paper(pid: str, title: str, authors: list[str], year: int = 2017, **kw: object) -> ExportPaper:
    fields: dict[str, object] = {
        "id": pid,
        "local": False,
        "title": title,
        "authors": authors,
        "abstract": "Abstract.",
        "published": dt.datetime(year, 6, 12, tzinfo=dt.UTC),
        "categories": ["cs.CL"],
        "primary_category": "cs.CL",
        "doi": "",
        "journal_ref": "",
        "note": "",
        "added_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }
    fields.update(kw)
    return ExportPaper(**fields)  # type: ignore[arg-type]


COLLECTION = StoredCollection(
    1, 1, "ada", "reading-abc123", "Reading [list] *now*", "Line one.\n\nLine two.", "public",
    dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 2, tzinfo=dt.UTC), 4,
)  # fmt: skip

PAPERS = [
    paper("1706.03762", "Attention Is All You Need", ["Ashish Vaswani", "Noam Shazeer"], doi="10.5555/3295222"),
    paper("1706.99999", "Attention, again: 50% & #1 of_them {unbalanced", ["Ashish Vaswani"], note="Über {note} \\"),
    paper(
        "hep-th/9901001",
        r"On $O(n^2)$ \emph{bounds} for $\alpha_1$",
        ["Paul Erd\\H{o}s", "Research and Development Team"],
    ),
    paper(
        "local-abc",
        "Ünïcode: ça marche 日本語",
        ["Łukasz Kaiser"],
        local=True,
        published=None,
        journal_ref="J. 1 (2020)",
    ),
]


def test_bibtex_parses_back_with_unique_ascii_keys() -> None:
    text_ = export.bibtex(PAPERS, "https://papers.example", header="Reading: https://papers.example/c")
    library = bibtexparser.parse_string(text_)
    assert library.failed_blocks == []
    keys = [e.key for e in library.entries]
    assert keys == ["vaswani2017attention", "vaswani2017attentiona", "erdos2017bounds", "kaiserunicode"]
    assert all(k.isascii() for k in keys)
    first, second, third, fourth = library.entries
    assert first.entry_type == "misc"
    assert first["eprint"] == "1706.03762" and first["archivePrefix"] == "arXiv" and first["primaryClass"] == "cs.CL"
    assert first["url"] == "https://arxiv.org/abs/1706.03762" and first["doi"] == "10.5555/3295222"
    assert first["author"] == "Ashish Vaswani and Noam Shazeer" and first["year"] == "2017"
    assert second["title"] == r"Attention, again: 50\% \& \#1 of\_them unbalanced"
    assert second["annote"] == "Über {note}"
    assert third["title"] == r"On $O(n^2)$ \emph{bounds} for $\alpha_1$"  # formulas untouched
    assert third["author"] == "Paul Erd\\H{o}s and {Research and Development Team}"
    assert "eprint" not in fourth and fourth["url"] == "https://papers.example/papers/local-abc"
    assert fourth["title"] == "Ünïcode: ça marche 日本語" and fourth["note"] == "J. 1 (2020)"
    assert text_.startswith("% Reading: https://papers.example/c\n")
    assert export.bibtex([], "https://x") == ""


def test_bibtex_keys_for_papers_without_names() -> None:
    bare = [paper("2401.00001", "", [], published=None), paper("2401.00001", "", [], published=None)]
    assert export.unique_keys(bare) == ["paper240100001", "paper240100001a"]
    many = [paper(f"2401.{i:05}", "Same", ["Same"]) for i in range(30)]
    keys = export.unique_keys(many)
    assert len(set(keys)) == 30 and keys[27] == "same2017same27"


def test_markdown_and_json() -> None:
    md = export.markdown(COLLECTION, PAPERS, "https://papers.example/")
    assert md.startswith("# Reading \\[list\\] \\*now\\*\n\nLine one.\n\nLine two.\n\n4 papers, collected by ada")
    assert "1. **[Attention Is All You Need](https://arxiv.org/abs/1706.03762)**" in md
    assert "**[On O(n²) bounds for α₁](https://arxiv.org/abs/hep-th/9901001)**" in md
    assert "   Paul Erdős, Research and Development Team" in md
    assert "   > Über {note} \\\\" in md
    assert "(https://papers.example/papers/local-abc)" in md
    data = export.as_json(COLLECTION, PAPERS, "https://papers.example")
    assert data["collection"]["url"] == "https://papers.example/collections/reading-abc123"
    assert data["papers"][2]["titleText"] == "On O(n²) bounds for α₁"
    assert data["papers"][3]["arxivUrl"] is None and data["papers"][3]["publishedAt"] is None
    assert data["papers"][0]["doi"] == "10.5555/3295222" and data["papers"][0]["addedAt"] == "2026-01-01T00:00:00Z"
