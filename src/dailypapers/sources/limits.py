"""What one record of any source may hold, in one table, and `admit`, which every source's records pass.

A record over a limit is rejected as a whole (a SourceError naming the field and the limit, which the
importer counts as "rejected" with the record's file, line and id) and the rest of its file still imports:
nothing is cut short, so nothing stored is half a field. The limits are far above real papers: over
20,676 records of the recorded data (tests/fixtures, the demo, ../shared/data) the longest title has 212
characters, the longest abstract 2,447 (arXiv's form allows 1,920), the longest comments 363, the longest
journal reference 235, the longest author name 45, the longest affiliation 150, the most authors 664
(arXiv's largest author lists, ATLAS and CMS papers, have about 5,100) and the longest Kaggle line
3,043 bytes. Dates lie in the years the periods cover (periods.FIRST_YEAR to LAST_YEAR).

Lengths are counted in characters after normalization (`record.normalize_text`), so a limit means the
same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import orjson

from dailypapers.periods import FIRST_YEAR, LAST_YEAR
from dailypapers.sources.names import MAX_NAME
from dailypapers.sources.record import PaperRecord, SourceError, normalized

MAX_LINE_BYTES = 4 << 20  # one line of a JSONL file (Kaggle, seed): room for MAX_AUTHORS with affiliations
# A whole-document file (HF JSON, arXiv Atom, RSS, OAI-PMH), decompressed: parsed in memory, so bounded. The
# largest real ones are arXiv API pages of 2,000 entries (about 10 MB) and OAI-PMH pages (about 2 MB).
MAX_DOCUMENT_BYTES = 256 << 20
MAX_ID = 64  # papers.id is VARCHAR(64); PostgreSQL refuses longer values
MAX_TITLE = 1_000
MAX_ABSTRACT = 20_000
MAX_COMMENTS = 4_000
MAX_JOURNAL_REF = 1_000
MAX_DOI = 300
MAX_LICENSE = 300
MAX_AUTHORS = 10_000
MAX_AUTHOR_NAME = MAX_NAME  # 300: longer names are no one's (author pages answer "not found" for them)
MAX_AFFILIATIONS = 50  # of one author
MAX_AFFILIATION = 1_000
MAX_CATEGORIES = 100
MAX_CATEGORY = 64  # papers.primary_category is VARCHAR(64); PostgreSQL refuses longer values
MAX_VERSIONS = 1_000  # how many versions, and the highest version number
MAX_UPVOTES = 2**31 - 1  # daily_listings.upvotes (and code_repos.stars) are INTEGER; PostgreSQL refuses more
MAX_LINKS = 100  # code links, and project links
MAX_URL = 2_000  # a link, or a submitter's avatar
MAX_USER_NAME = 96  # users.name is VARCHAR(96); PostgreSQL refuses longer values
MAX_FULLNAME = 300  # a submitter's full name
MAX_EXTRA_BYTES = 100_000  # what else a source tells (Hugging Face's AI summary and keywords...), as JSON

_TEXTS = (
    ("title", MAX_TITLE),
    ("abstract", MAX_ABSTRACT),
    ("comments", MAX_COMMENTS),
    ("journal_ref", MAX_JOURNAL_REF),
    ("doi", MAX_DOI),
    ("license", MAX_LICENSE),
)


def _length(what: str, text: str, limit: int) -> None:
    if len(text) > limit:
        raise SourceError(f"{what} longer than {limit:,} characters ({len(text):,})")


def _count(what: str, items: list | tuple, limit: int) -> None:  # type: ignore[type-arg]
    if len(items) > limit:
        raise SourceError(f"more than {limit:,} {what} ({len(items):,})")


def _date(what: str, value: dt.date | None) -> None:
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise SourceError(f"{what} {value.isoformat()} is outside the years {FIRST_YEAR} to {LAST_YEAR}")


def _longest(what: str, texts: list[str], limit: int) -> None:
    """The first of `texts` longer than `limit`, named (checked at once: the usual case is none)."""
    if texts and max(map(len, texts)) > limit:
        _length(what, next(t for t in texts if len(t) > limit), limit)


def check(rec: PaperRecord) -> None:
    """Raise SourceError naming the first field of `rec` over its limit (or its title, when it has none)."""
    _length("id", rec.id, MAX_ID)
    if not rec.title.strip():
        raise SourceError("empty title")
    for name, limit in _TEXTS:
        _length(name.replace("_", " "), getattr(rec, name), limit)
    _count("authors", rec.authors, MAX_AUTHORS)
    _longest("author name", [a.name for a in rec.authors], MAX_AUTHOR_NAME)
    for author in (a for a in rec.authors if a.affiliations):
        _count(f"affiliations of {author.name!r}", author.affiliations, MAX_AFFILIATIONS)
        _longest("affiliation", list(author.affiliations), MAX_AFFILIATION)
    _count("categories", rec.categories, MAX_CATEGORIES)
    _longest("category", [rec.primary_category, *rec.categories], MAX_CATEGORY)
    _count("versions", rec.versions, MAX_VERSIONS)
    if rec.versions and not 0 <= rec.latest_version <= MAX_VERSIONS:
        raise SourceError(f"version number out of range 0 to {MAX_VERSIONS:,} ({rec.latest_version:,})")
    for kind, urls in (("code links", rec.code_urls), ("project links", rec.project_urls)):
        _count(kind, urls, MAX_LINKS)
        _longest("link", urls, MAX_URL)
    _date("published date", rec.published)
    _date("updated date", rec.updated)
    _date("announcement day", rec.announced)
    for version in rec.versions:
        _date(f"date of version {version.version}", version.date)
    if rec.listing is not None:
        _date("featured day", rec.listing.day)
        if not 0 <= rec.listing.upvotes <= MAX_UPVOTES:
            raise SourceError(f"upvotes out of range 0 to {MAX_UPVOTES:,} ({rec.listing.upvotes:,})")
        if by := rec.listing.submitter:
            _length("submitter name", by.name, MAX_USER_NAME)
            _length("submitter full name", by.fullname, MAX_FULLNAME)
            _length("submitter avatar", by.avatar_url, MAX_URL)
    if rec.extra and len(extra := orjson.dumps(rec.extra)) > MAX_EXTRA_BYTES:
        raise SourceError(f"other fields longer than {MAX_EXTRA_BYTES:,} bytes of JSON ({len(extra):,})")


def admit(rec: PaperRecord) -> PaperRecord:
    """`rec` with every text in it normalized (`record.normalize_text`), once it is within every limit;
    SourceError names the field over its limit. Every source passes each record it yields through here."""
    rec = normalized(rec)
    check(rec)
    return rec
