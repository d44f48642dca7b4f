"""The tables of what is derived from or fetched for papers, beside the core schema (`schema`): the
names index, GitHub repositories and their stars, curation models and skips, cached media, and
TL;DR descriptions. Alembic migrations in `migrations/` create them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dailypapers.store.convert import UTCDateTime
from dailypapers.store.schema import PK, Base, JSONType


class PaperName(Base):
    """Papers by the names on them, for the author and organization pages (store.paper_names keeps it at
    ingest): `kind` "author" or "org", `key` the name as `sources.names` normalizes it."""

    __tablename__ = "paper_names"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_paper_names_paper", "paper_pk"),)


class CodeRepo(Base):
    """A GitHub repository that papers link to, as GitHub last described it, and when to ask again.

    `name` is the lower-cased `owner/name` of the links; `full_name` GitHub's spelling (the new name after
    a rename; the first link's before GitHub answered). `status`: "new" (not asked yet), "ok", "missing"
    (404, 410, 451 or refused: asked rarely).
    """

    __tablename__ = "code_repos"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    github_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="new")
    stars: Mapped[int | None] = mapped_column(Integer)
    stars_growth: Mapped[int | None] = mapped_column(Integer)
    pushed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_code_repos_next_check", "next_check_at"),)


class PaperCodeRepo(Base):
    """A paper links to a GitHub repository (among its `code_urls`)."""

    __tablename__ = "paper_code_repos"

    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    repo_pk: Mapped[int] = mapped_column(ForeignKey("code_repos.pk", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_paper_code_repos_repo", "repo_pk"),)


class CodeRepoStars(Base):
    """A repository's star count on a day (the last one seen that day): its growth over a week."""

    __tablename__ = "code_repo_stars"

    repo_pk: Mapped[int] = mapped_column(ForeignKey("code_repos.pk", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    stars: Mapped[int] = mapped_column(Integer)

    __table_args__ = (Index("ix_code_repo_stars_day", "day"),)


class CurationModelRow(Base):
    """A curation model trained from the store's history (`curation.auto`), newest in use."""

    __tablename__ = "curation_models"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    trained_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    first_day: Mapped[dt.date] = mapped_column(Date)
    last_day: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[int] = mapped_column(Integer)
    papers: Mapped[int] = mapped_column(Integer)
    positives: Mapped[int] = mapped_column(Integer)
    picks: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)


class CurationSkip(Base):
    """A curator's "not for this community" on a paper of an announcement day: never auto-picked for it."""

    __tablename__ = "curation_skips"

    paper_pk: Mapped[int] = mapped_column(ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    user_pk: Mapped[int | None] = mapped_column(ForeignKey("users.pk", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Media(Base):
    """A thumbnail or an avatar, by the URL it comes from, and its copy under `$DATA_DIR/media/` (docs/media.md).

    `status`: "new" (not fetched yet), "ok" (`file` holds it), "failed" (tried again at `next_try_at`, or given
    up when that is NULL), "too_big", "not_image" (not asked again). `file` is named by the sha256 of its
    bytes, so identical images share one file.
    """

    __tablename__ = "media"

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="new")
    content_type: Mapped[str] = mapped_column(String(32), default="")
    size: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    file: Mapped[str] = mapped_column(String(80), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    fetched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_try_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_media_next_try", "next_try_at"),)


class PaperDescription(Base):
    """What a card says of a paper in one line: its TL;DR and keywords (docs/summaries.md).

    `source`: "hf" (Hugging Face's `ai_summary` and `ai_keywords`), "offline" (both computed here),
    "hf+offline" (one of each), "" (nothing to describe: no abstract). `text_hash` is the paper's at the
    time, and `hf_fields` which of Hugging Face's fields its `extra` had then (1: ai_summary, 2:
    ai_keywords): the row is stale when either differs from the paper's now.
    """

    __tablename__ = "paper_descriptions"

    paper_pk: Mapped[int] = mapped_column(
        ForeignKey("papers.pk", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    tldr: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    source: Mapped[str] = mapped_column(String(16), default="")
    text_hash: Mapped[str] = mapped_column(String(32), default="")
    hf_fields: Mapped[int] = mapped_column(Integer, default=0)
    described_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
