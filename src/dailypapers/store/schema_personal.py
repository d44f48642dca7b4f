"""The tables of the personal layer (docs/personal.md): saved papers, collections, follows, an imported
library, "not interested" clicks and each reader's trained profile. Beside the core schema (`schema`);
the Alembic migration `0012` creates them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dailypapers.store.convert import UTCDateTime
from dailypapers.store.schema import PK, Base


class Save(Base):
    """A reader saved a paper (the "Saved" list: every reader has one, private)."""

    __tablename__ = "saves"

    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_saves_paper", "paper_pk"), Index("ix_saves_user_created", "user_pk", "created_at"))


class Collection(Base):
    """A reader's named collection of papers. `slug` names it in URLs, unique on the site;
    `visibility` is "private" (its owner only), "unlisted" (anyone with the link) or "public" (listed on
    the owner's profile)."""

    __tablename__ = "collections"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    visibility: Mapped[str] = mapped_column(String(10), default="private")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_collections_user", "user_pk"),)


class CollectionPaper(Base):
    """A paper in a collection, with an optional note."""

    __tablename__ = "collection_papers"

    collection_pk: Mapped[int] = mapped_column(ForeignKey("collections.pk", ondelete="CASCADE"), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    note: Mapped[str] = mapped_column(Text, default="")
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_collection_papers_paper", "paper_pk"),)


class Follow(Base):
    """A reader follows an author, an organization, a category or a saved search.

    `kind` is "author", "org", "category" or "search"; `key` what it matches: a name as `sources.names`
    normalizes it (as `paper_names` keys it), a category code, or the search box's text as typed (trimmed);
    `label` how the reader wrote it, for display."""

    __tablename__ = "follows"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(500))
    label: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("user_pk", "kind", "key", name="uq_follows_user_kind_key"),
        Index("ix_follows_kind_key", "kind", "key"),
    )


class LibraryEntry(Base):
    """One entry of a reader's imported library (BibTeX, CSL JSON): matched to a stored paper
    (`paper_pk`) by arXiv id, DOI or title, or kept as text whose embedding (`vector`, float32 bytes,
    NULL until embedded) still tells the ranker what the reader reads."""

    __tablename__ = "library_entries"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    paper_pk: Mapped[int | None] = mapped_column(ForeignKey("papers.pk", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors_text: Mapped[str] = mapped_column(Text, default="")
    arxiv_id: Mapped[str] = mapped_column(String(64), default="")
    doi: Mapped[str] = mapped_column(String(300), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default="")
    vector: Mapped[bytes | None] = mapped_column(LargeBinary)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_library_entries_user", "user_pk"), Index("ix_library_entries_paper", "paper_pk"))


class Dismissal(Base):
    """A reader clicked "not interested" on a paper: it leaves their "for you" list and teaches the ranker."""

    __tablename__ = "dismissals"

    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReaderProfile(Base):
    """What the "for you" ranker learned from a reader's signals (`ranking.personal`), retrained in the
    background when they change: `stale_since` is set by every signal and cleared by the training that
    saw it. `model` holds the trained weights (an npz); `signals` how many signals it learned from."""

    __tablename__ = "reader_profiles"

    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    stale_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    trained_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    signals: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_reader_profiles_stale", "stale_since"),)


class RankerState(Base):
    """Site-wide state of the "for you" ranker: `key` "document_frequencies" holds the hashed terms'
    document frequencies over recent papers (an npz), the idf every reader's word model uses."""

    __tablename__ = "ranker_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
