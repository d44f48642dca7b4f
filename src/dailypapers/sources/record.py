"""The one normalized paper record every source yields, and the error a source raises."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

UTF8_BOM = b"\xef\xbb\xbf"
# Line breaks written as control characters (CR, VT, FF, the C0 separators, NEL): read as "\n".
_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1f\x85]")
# What no text of ours may hold: the other C0 and C1 controls (NUL among them, which PostgreSQL refuses),
# DEL, and unpaired surrogates (which no encoder accepts).
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\ud800-\udfff]")
_ANY_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def normalize_text(text: str | None) -> str:
    """The one normalizer every text from a source goes through: line breaks written as control
    characters become "\\n", other C0/C1 controls (NUL included) and unpaired surrogates are dropped,
    "\\n" and "\\t" are kept, and the result is in Unicode NFC. The same text on SQLite and PostgreSQL."""
    if not text:
        return ""
    if _ANY_CONTROL.search(text):
        text = _CONTROLS.sub("", _BREAKS.sub("\n", text))
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def is_normalized(text: str) -> bool:
    """Whether `normalize_text` would leave `text` as it is (for many texts at once: joined by "\\n")."""
    return not _ANY_CONTROL.search(text) and (text.isascii() or unicodedata.is_normalized("NFC", text))


def clean_text(text: str | None) -> str:
    """Normalized text (`normalize_text`) on one line: the hard wraps and runs of whitespace that arXiv
    puts in titles and abstracts collapsed to single spaces."""
    if not text:
        return ""
    return " ".join(normalize_text(text).split())


def strip_bom(data: bytes) -> bytes:
    """`data` without a leading UTF-8 byte order mark (some editors write one at the start of a file)."""
    return data[3:] if data.startswith(UTF8_BOM) else data


_JSON_TYPES = {dict: "an object", list: "a list", int: "a number", float: "a number", bool: "true or false"}


def text_field(obj: dict[str, Any], key: str) -> str:
    """The text of JSON object `obj`'s field `key` as written ("" when absent or null); TypeError naming the
    field when it holds something else (a number, a list...)."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value or ""
    raise TypeError(f"{key!r} has the wrong type: {_JSON_TYPES.get(type(value), type(value).__name__)}, not text")


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


def _normalized_value(value: Any) -> Any:
    """A JSON-like value (`extra`) with every text in it, keys included, normalized."""
    if isinstance(value, str):
        return normalize_text(value)
    if isinstance(value, dict):
        return {_normalized_value(k): _normalized_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalized_value(v) for v in value]
    return value


def _record_texts(rec: PaperRecord) -> str:
    """The texts of a record's own fields and authors, joined by "\\n" (which no normalizing changes)."""
    names = [t for a in rec.authors for t in (a.name, *a.affiliations)] if rec.authors else []
    fields = [rec.id, rec.title, rec.abstract, rec.comments, rec.doi, rec.journal_ref, rec.license]
    fields += [rec.primary_category, *rec.categories, *rec.code_urls, *rec.project_urls, *names]
    return "\n".join(fields)


def normalized(rec: PaperRecord) -> PaperRecord:
    """`rec`, changed in place, with every text in it through `normalize_text` (the parsers already clean
    most fields: this catches the ones they keep as written, such as names and the `extra` values)."""
    if rec.extra:
        rec.extra = _normalized_value(rec.extra)
    if rec.listing is not None and rec.listing.submitter is not None:
        by = rec.listing.submitter
        submitter = Submitter(normalize_text(by.name), normalize_text(by.fullname), normalize_text(by.avatar_url))
        rec.listing = dataclasses.replace(rec.listing, submitter=submitter)
    if is_normalized(_record_texts(rec)) and all(v.size is None or is_normalized(v.size) for v in rec.versions):
        return rec  # the usual case, checked at once: nothing to change
    n = normalize_text
    rec.id = n(rec.id)
    rec.title, rec.abstract, rec.comments = n(rec.title), n(rec.abstract), n(rec.comments)
    rec.doi, rec.journal_ref, rec.license = n(rec.doi), n(rec.journal_ref), n(rec.license)
    rec.primary_category = n(rec.primary_category)
    rec.categories = [n(c) for c in rec.categories]
    authors = [Author(n(a.name), tuple(n(x) for x in a.affiliations)) for a in rec.authors]
    rec.authors = [a for a in authors if a.name.strip()]  # a name of control characters only is none
    rec.versions = [v if v.size is None else Version(v.version, v.date, n(v.size)) for v in rec.versions]
    rec.code_urls = [n(u) for u in rec.code_urls]
    rec.project_urls = [n(u) for u in rec.project_urls]
    return rec
