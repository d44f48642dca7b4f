"""The database schema as SQLAlchemy 2 models. Alembic migrations in `migrations/` create it.

What is derived from or fetched for papers (names index, code repositories, curation models, media,
descriptions) is in `schema_derived`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dailypapers.store.convert import UTCDateTime

JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only makes INTEGER PRIMARY KEY an alias of rowid; BigInteger would not be.
PK = BigInteger().with_variant(Integer(), "sqlite")
# Paper embeddings: pgvector's vector(384) on PostgreSQL (HNSW-indexed), float32 bytes on SQLite.
EMBEDDING_DIM = 384
VectorType = LargeBinary().with_variant(Vector(EMBEDDING_DIM), "postgresql")


class Base(DeclarativeBase):
    pass


class Paper(Base):
    """One paper, keyed by its arXiv id without version (or a local id when it has none)."""

    __tablename__ = "papers"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(64), unique=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text, default="")
    abstract: Mapped[str] = mapped_column(Text, default="")
    # [{"name": ..., "affiliations": [...]}, ...] in order; authors_text is "A, B, C" for display and search.
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    authors_text: Mapped[str] = mapped_column(Text, default="")
    # [{"version": 1, "date": iso, "size": "12kb"}, ...] ascending.
    versions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    primary_category: Mapped[str] = mapped_column(String(64), default="")
    doi: Mapped[str] = mapped_column(Text, default="")
    journal_ref: Mapped[str] = mapped_column(Text, default="")
    comments: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    announced: Mapped[dt.date | None] = mapped_column(Date)
    code_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    project_urls: Mapped[list[str]] = mapped_column(JSONType, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    num_comments: Mapped[int] = mapped_column(Integer, default=0)
    text_hash: Mapped[str] = mapped_column(String(32), default="")  # of title and abstract: what is embedded
    content_hash: Mapped[str] = mapped_column(String(32), default="")  # of every column above
    # Of its most starred GitHub repository (ingest.github_stars keeps them): NULL when none is known.
    stars: Mapped[int | None] = mapped_column(Integer)
    stars_growth: Mapped[int | None] = mapped_column(Integer)  # stars gained over the last 7 days
    code_pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_papers_published", "published"),
        Index("ix_papers_announced", "announced"),
        Index("ix_papers_doi_lower", func.lower(doi)),  # imported libraries are matched by DOI
    )


class User(Base):
    """A person who features papers: a member of this site, or one known from an imported source."""

    __tablename__ = "users"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(96), unique=True)
    fullname: Mapped[str] = mapped_column(Text, default="")
    avatar_url: Mapped[str] = mapped_column(Text, default="")
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="user")
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)


class DailyListing(Base):
    """A paper featured on a day, by a user or by the source that brought it, with its upvotes."""

    __tablename__ = "daily_listings"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"))
    day: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(64))
    submitter_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")  # why the curation model picked it (auto picks)

    __table_args__ = (
        UniqueConstraint("paper_pk", "day", name="uq_listing_paper_day"),
        Index("ix_listings_day_upvotes", "day", "upvotes"),
        Index("ix_listings_submitter", "submitter_pk"),
    )


class ImportCheckpoint(Base):
    """How far an interrupted import of one file got; deleted when the import completes."""

    __tablename__ = "import_checkpoints"

    file_key: Mapped[str] = mapped_column(String(128), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
    line: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class HarvestState(Base):
    """Where a live harvest stands (an OAI resumption token, an API offset), for resuming after a crash."""

    __tablename__ = "harvest_state"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class JobRun(Base):
    """A periodic job's work for one period (a day's harvest, a day's digest): done once `finished_at` is set."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobLog(Base):
    """One run of a background job (an attempt of a queued job): its status, progress and error."""

    __tablename__ = "job_log"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(BigInteger)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12))
    worker: Mapped[str] = mapped_column(String(120), default="")
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_job_log_job", "job_id"), Index("ix_job_log_status", "status", "pk"))


class SiteState(Base):
    """Small counters, e.g. `data_version`, bumped by every write that changes what pages show."""

    __tablename__ = "site_state"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Session(Base):
    """A signed-in browser; the cookie holds the token, the database only its SHA-256."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_sessions_user", "user_pk"),)


class ApiToken(Base):
    __tablename__ = "api_tokens"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Vote(Base):
    __tablename__ = "votes"

    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_votes_paper", "paper_pk"),)


class Comment(Base):
    __tablename__ = "comments"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"))
    user_pk: Mapped[int] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    parent_pk: Mapped[int | None] = mapped_column(ForeignKey("comments.pk", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_comments_paper", "paper_pk", "pk"), Index("ix_comments_user", "user_pk"))


class AuditEntry(Base):
    __tablename__ = "audit_log"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    actor_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Subscriber(Base):
    """An email digest subscription (double opt-in: confirmed_at is set by the emailed link)."""

    __tablename__ = "subscribers"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    frequency: Mapped[str] = mapped_column(String(8), default="daily")
    categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    for_you: Mapped[bool] = mapped_column(Boolean, default=False)  # the reader's own ranking (docs/personal.md)


class DigestDelivery(Base):
    """The delivery ledger: one row per (subscriber, period), so each digest is sent once."""

    __tablename__ = "digest_deliveries"

    subscriber_pk: Mapped[int] = mapped_column(ForeignKey("subscribers.pk", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(320))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DigestPaper(Base):
    """Papers a subscriber has received, so no digest repeats one."""

    __tablename__ = "digest_papers"

    subscriber_pk: Mapped[int] = mapped_column(ForeignKey("subscribers.pk", ondelete="CASCADE"), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)


class PaperEmbedding(Base):
    """A paper's title-and-abstract embedding by `model`, of the text whose hash is `content_hash` (the
    paper's `text_hash` then: a change of its other metadata leaves the embedding current).

    `seq` is taken from the `embedding_seq` counter in site_state on every write: the watermark that
    lets a process's approximate-nearest-neighbour index catch up with exactly what changed. PostgreSQL
    also has an HNSW index (vector_cosine_ops) on `vector`, made by the migration.
    """

    __tablename__ = "paper_embeddings"

    paper_pk: Mapped[int] = mapped_column(
        ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    model: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(BigInteger)
    vector: Mapped[Any] = mapped_column(VectorType)

    # (seq, model) serves catch-up by seq and counts by model without reading the vectors.
    __table_args__ = (Index("ix_paper_embeddings_seq", "seq", "model"),)


class EmbeddingClaim(Base):
    """Papers one process is embedding now, so that others leave them alone until `claimed_at` is old."""

    __tablename__ = "embedding_claims"

    paper_pk: Mapped[int] = mapped_column(
        ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    owner: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class EmbeddingTombstone(Base):
    """SQLite: a deleted embedding, at its `seq`, written by a trigger so that ANN indexes drop it too."""

    __tablename__ = "embedding_tombstones"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    paper_pk: Mapped[int] = mapped_column(BigInteger)
