"""Saving papers and keeping collections: the rules of who may see and change what.

A save is private to its reader. A collection is "private" (its owner only), "unlisted" (anyone with its
link) or "public" (also listed on the owner's profile). Another reader's private collection answers
`NotFound`, never `Forbidden`, so its existence does not leak; so does a change to another reader's
unlisted or public collection that they may see but not change (`Forbidden` there: they know it exists).

Every change to what a reader saved or collected marks their "for you" profile stale in the same
transaction (`store.reader_profiles.mark_stale`).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import string
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.problems import Forbidden, NotFound, Unprocessable
from dailypapers.store import collections as store
from dailypapers.store import feed, reader_profiles, saves
from dailypapers.store.collections import ExportPaper, Item, StoredCollection
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.feed import Entry

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from dailypapers.store.accounts import Account

VISIBILITIES = ("private", "unlisted", "public")
MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_NOTE = 2000
MAX_COLLECTIONS = 1000  # per reader
MAX_PAPERS = 10_000  # per collection
SLUG_WORDS = 60  # characters of the name in a slug
_SUFFIX = string.ascii_lowercase + string.digits
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,119}$"  # what a slug may look like (checked before the store is asked)
_SLUG = re.compile(SLUG_PATTERN)


@dataclass(frozen=True, slots=True)
class SaveState:
    id: str
    saved: bool


@dataclass(frozen=True, slots=True)
class Membership:
    """Whether a paper is in a collection after a change, and how many papers the collection holds."""

    slug: str
    id: str
    added: bool
    papers: int


@dataclass(frozen=True, slots=True)
class CollectionView:
    """A collection as a page or the API shows it: a page of its papers (as cards) with their notes."""

    collection: StoredCollection
    entries: list[Entry]
    items: dict[int, Item]  # paper pk -> its note and when it was added
    mine: bool


@dataclass(frozen=True, slots=True)
class SavedView:
    entries: list[Entry]
    saved_at: dict[int, dt.datetime]
    total: int
    collections: list[StoredCollection]


# ---- rules (pure) ----


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Unprocessable("A collection needs a name")
    if len(name) > MAX_NAME:
        raise Unprocessable(f"A collection's name has at most {MAX_NAME} characters")
    return name


def clean_description(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    if len(text) > MAX_DESCRIPTION:
        raise Unprocessable(f"A description has at most {MAX_DESCRIPTION} characters")
    return text


def clean_note(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    if len(text) > MAX_NOTE:
        raise Unprocessable(f"A note has at most {MAX_NOTE} characters")
    return text


def clean_visibility(value: str) -> str:
    value = value.strip().lower()
    if value not in VISIBILITIES:
        raise Unprocessable("Visibility is one of private, unlisted and public")
    return value


def slug_for(name: str) -> str:
    """An ASCII slug for the name with a short random suffix: "Diffusion models" -> "diffusion-models-k3x9q2"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = _NOT_SLUG.sub("-", ascii_name).strip("-")[:SLUG_WORDS].strip("-") or "collection"
    return f"{words}-{''.join(secrets.choice(_SUFFIX) for _ in range(6))}"


def may_see(collection: StoredCollection, account: Account | None) -> bool:
    return collection.visibility != "private" or (account is not None and account.pk == collection.user_pk)


# ---- saves ----


def _paper_pk(conn: Connection, paper_id: str) -> int:
    pk = feed.paper_pk_of(conn, paper_id)
    if pk is None:
        raise NotFound(f"Paper {paper_id} not found")
    return int(pk)


def save(engine: Engine, account: Account, paper_id: str, on: bool) -> SaveState:
    """Make `account`'s save of `paper_id` on or off (nothing changes when it already is)."""
    with write_tx(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        if saves.set_save(conn, account.pk, pk, on):
            reader_profiles.mark_stale(conn, account.pk)
        return SaveState(paper_id, saves.is_saved(conn, account.pk, pk))


def is_saved(engine: Engine, account: Account, paper_id: str) -> tuple[str, bool]:
    """(title, saved) of the paper for this reader."""
    with read_tx(engine) as conn:
        pk = _paper_pk(conn, paper_id)
        return feed.title_of(conn, pk), saves.is_saved(conn, account.pk, pk)


def saved_view(engine: Engine, account: Account, limit: int, offset: int = 0) -> SavedView:
    """The reader's saved papers (a page of them, the last saved first) and all their collections."""
    with read_tx(engine) as conn:
        rows = saves.saved_of(conn, account.pk, limit, offset)
        entries = feed.entries_by_pk(conn, [pk for pk, _ in rows])
        return SavedView(
            entries=entries,
            saved_at=dict(rows),
            total=saves.count_saved(conn, account.pk),
            collections=store.of_user(conn, account.pk),
        )


# ---- collections ----


def _visible(conn: Connection, account: Account | None, slug: str) -> StoredCollection:
    found = store.by_slug(conn, slug) if _SLUG.match(slug) else None
    if found is None or not may_see(found, account):
        raise NotFound("No such collection here")
    return found


def _own(conn: Connection, account: Account, slug: str) -> StoredCollection:
    found = _visible(conn, account, slug)
    if found.user_pk != account.pk:
        raise Forbidden("Only its owner can change this collection")
    return found


def create(
    engine: Engine, account: Account, name: str, description: str = "", visibility: str = "private"
) -> StoredCollection:
    name, description, visibility = clean_name(name), clean_description(description), clean_visibility(visibility)
    with write_tx(engine) as conn:
        if store.count_of_user(conn, account.pk) >= MAX_COLLECTIONS:
            raise Unprocessable(f"A reader keeps at most {MAX_COLLECTIONS} collections")
        for _ in range(8):
            slug = slug_for(name)
            if store.create(conn, account.pk, slug, name, description, visibility) is not None:
                found = store.by_slug(conn, slug)
                assert found is not None
                return found
    raise Unprocessable("Could not name the collection; try again")  # 36**6 suffixes: never in practice


def update(
    engine: Engine,
    account: Account,
    slug: str,
    *,
    name: str | None = None,
    description: str | None = None,
    visibility: str | None = None,
) -> StoredCollection:
    """Change what is given of the name, description and visibility (the slug stays, so links keep working)."""
    values: dict[str, str] = {}
    if name is not None:
        values["name"] = clean_name(name)
    if description is not None:
        values["description"] = clean_description(description)
    if visibility is not None:
        values["visibility"] = clean_visibility(visibility)
    with write_tx(engine) as conn:
        found = _own(conn, account, slug)
        if values:
            store.change(conn, found.pk, **values)
        changed = store.by_slug(conn, slug)
        assert changed is not None
        return changed


def delete(engine: Engine, account: Account, slug: str) -> None:
    with write_tx(engine) as conn:
        found = _own(conn, account, slug)
        store.remove(conn, found.pk)
        if found.papers:
            reader_profiles.mark_stale(conn, account.pk)


def set_paper(
    engine: Engine, account: Account, slug: str, paper_id: str, on: bool, note: str | None = None
) -> Membership:
    """Put `paper_id` in the reader's collection `slug` (with a note, if given) or take it out; idempotent."""
    note = clean_note(note) if note is not None else None
    with write_tx(engine) as conn:
        found = _own(conn, account, slug)
        pk = _paper_pk(conn, paper_id)
        if on:
            if not store.has_paper(conn, found.pk, pk) and found.papers >= MAX_PAPERS:
                raise Unprocessable(f"A collection holds at most {MAX_PAPERS} papers")
            changed = store.add_paper(conn, found.pk, pk, note)
        else:
            changed = store.remove_paper(conn, found.pk, pk)
        if changed or note is not None:
            store.touch(conn, found.pk)
        if changed:
            reader_profiles.mark_stale(conn, account.pk)
        return Membership(slug, paper_id, store.has_paper(conn, found.pk, pk), store.paper_count(conn, found.pk))


def view(engine: Engine, account: Account | None, slug: str, limit: int, offset: int = 0) -> CollectionView:
    """The collection with a page of its papers, if `account` (None: anyone) may see it."""
    with read_tx(engine) as conn:
        found = _visible(conn, account, slug)
        rows = store.items(conn, found.pk, limit, offset)
        entries = feed.entries_by_pk(conn, [i.paper_pk for i in rows])
        mine = account is not None and account.pk == found.user_pk
        return CollectionView(found, entries, {i.paper_pk: i for i in rows}, mine)


def for_export(engine: Engine, account: Account | None, slug: str) -> tuple[StoredCollection, list[ExportPaper]]:
    """The collection and every paper in it, with what an export writes, if `account` may see it."""
    with read_tx(engine) as conn:
        found = _visible(conn, account, slug)
        return found, store.export_papers(conn, found.pk)


def listed(engine: Engine, account: Account | None, owner_pk: int) -> list[StoredCollection]:
    """The collections of `owner_pk` that `account` sees listed: all of them for the owner, else the public ones."""
    with read_tx(engine) as conn:
        if account is not None and account.pk == owner_pk:
            return store.of_user(conn, owner_pk)
        return store.of_user(conn, owner_pk, ("public",))


def mine(engine: Engine, account: Account) -> list[StoredCollection]:
    with read_tx(engine) as conn:
        return store.of_user(conn, account.pk)
