"""The one normalized paper record every source yields, and the error a source raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any


def clean_text(text: str | None) -> str:
    """Collapse the hard wraps and runs of whitespace that arXiv puts in titles and abstracts."""
    if not text:
        return ""
    return " ".join(text.split())


class SourceError(ValueError):
    """A record or a whole document that cannot be read, with where it came from.

    `where` names the file and line, or the record id, so the message alone lets a user find it.
    """

    def __init__(self, problem: str, *, where: str = "") -> None:
        self.problem = problem
        self.where = where
        super().__init__(f"{where}: {problem}" if where else problem)


@dataclass(frozen=True, slots=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Version:
    version: int
    date: dt.datetime | None = None
    size: str | None = None


@dataclass(frozen=True, slots=True)
class Submitter:
    """Someone who featured a paper on a day (a user of ours, or of the source that brought it)."""

    name: str
    fullname: str = ""
    avatar_url: str = ""


@dataclass(frozen=True, slots=True)
class Listing:
    """A paper featured on a day: by a submitter, or by the source itself when `submitter` is None."""

    day: dt.date
    source: str
    submitter: Submitter | None = None
    upvotes: int = 0


@dataclass(slots=True)
class PaperRecord:
    """A paper as one source knows it.

    `id` is the arXiv id without version (`2401.01234`, `hep-th/9901001`), or a local id for
    papers that have none (`local` is then True). Fields a source does not carry stay empty;
    the store merges records of the same paper from several sources.
    """

    id: str
    source: str
    title: str = ""
    abstract: str = ""
    authors: list[Author] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    primary_category: str = ""
    doi: str = ""
    journal_ref: str = ""
    comments: str = ""
    license: str = ""
    published: dt.datetime | None = None
    updated: dt.datetime | None = None
    announced: dt.date | None = None  # day arXiv announced it (RSS listings)
    code_urls: list[str] = field(default_factory=list)
    project_urls: list[str] = field(default_factory=list)
    listing: Listing | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    local: bool = False
    withdrawn: bool = False

    @property
    def latest_version(self) -> int:
        return max((v.version for v in self.versions), default=0)

    def replace(self, **changes: Any) -> PaperRecord:
        return dataclasses.replace(self, **changes)
