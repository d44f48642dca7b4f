"""One entry of a reader's imported library (BibTeX, CSL JSON), as its parsers yield it, and the rules the
parsers share: DOIs, arXiv ids found in free text, titles as they are matched, sizes, the file's format.

A leaf: no database, no HTTP. `sources.bibtex` and `sources.csl_json` read the formats; the use case
(`personal.library`) matches the records to stored papers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.limits import MAX_ABSTRACT, MAX_AUTHOR_NAME, MAX_DOI, MAX_TITLE
from dailypapers.sources.record import clean_text, normalize_text, strip_bom

FORMATS = ("bibtex", "csl-json")
MAX_LIBRARY_BYTES = 16 << 20  # an upload; the largest real libraries (30,000 entries with abstracts) are ~15 MB
MAX_ENTRIES = 20_000  # entries of one file; more is refused as a whole, before parsing
MAX_LIBRARY_AUTHORS = 1_000  # kept per entry (the rest are dropped: only names for display and search)
MAX_KEY = 200  # an entry's key as reported back
MAX_ERRORS = 200  # refusals reported in detail; the rest are only counted
MAX_ARXIV_ID = 64
MIN_TITLE_KEY = 8  # shorter normalized titles ("Notes", "Reply") match nothing by title


class LibraryFormatError(ValueError):
    """The file as a whole cannot be read as a library (empty, not BibTeX or CSL JSON, too large)."""


@dataclass(frozen=True, slots=True)
class LibraryRecord:
    """One entry of a library: plain text (TeX and markup decoded), a normalized arXiv id (no version) and
    DOI (lowercase, no resolver prefix), where the file gave them."""

    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    arxiv_id: str = ""
    doi: str = ""
    year: int | None = None
    key: str = ""
    line: int | None = None  # 1-based line of the entry (BibTeX) or item number (CSL JSON)


@dataclass(frozen=True, slots=True)
class LibraryError:
    """An entry that was refused: why, and its key and line (or item number) where known."""

    problem: str
    key: str = ""
    line: int | None = None
    where_kind: str = "line"  # "line" (BibTeX) or "item" (CSL JSON)

    def where(self) -> str:
        parts = []
        if self.key:
            parts.append(f"entry {self.key!r}")
        if self.line is not None:
            parts.append(f"{self.where_kind} {self.line}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.problem}" if where else self.problem


@dataclass(slots=True)
class ParsedLibrary:
    """What a parser read from one file: records in file order, refused entries, and notes about the
    file as a whole (e.g. that it was not UTF-8)."""

    format: str
    records: list[LibraryRecord] = field(default_factory=list)
    errors: list[LibraryError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def read(self) -> int:
        """Entries read: the records and the refused ones."""
        return len(self.records) + len(self.errors)


# -- the file -----------------------------------------------------------------------------------

_BIBTEX_START = re.compile(rb"@\s*[A-Za-z]+\s*[{(]")


def detect_format(data: bytes) -> str:
    """ "csl-json" or "bibtex" from the first bytes of `data`; LibraryFormatError when it is neither."""
    head = strip_bom(data).lstrip()[:4096]
    if not head:
        raise LibraryFormatError("The file is empty.")
    if head[:1] in (b"[", b"{"):
        return "csl-json"
    if _BIBTEX_START.search(strip_bom(data)[: 1 << 20]):
        return "bibtex"
    raise LibraryFormatError(
        "This is not a BibTeX file (no @article{…} or similar entry) or a CSL JSON file (a JSON list of items)."
    )


def check_size(data: bytes) -> None:
    if len(data) > MAX_LIBRARY_BYTES:
        raise LibraryFormatError(f"The file is larger than {MAX_LIBRARY_BYTES >> 20} MiB ({len(data):,} bytes).")


def too_many(count: int) -> LibraryFormatError:
    return LibraryFormatError(
        f"The file has more than {MAX_ENTRIES:,} entries ({count:,}); split it and import each part."
    )


# -- identifiers --------------------------------------------------------------------------------

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|https?://doi\.acm\.org/)", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_IN_URL = re.compile(r"(?:dx\.)?doi\.org/(10\.\d{4,9}/[^\s?#]+)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
# arXiv ids inside free text: "arXiv:2401.01234v2", "arXiv preprint arXiv:hep-th/9901001", arxiv.org URLs.
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html)/|\barxiv\s*[:/]\s*|\barxiv\s+(?:preprint\s+)?(?:arxiv:)?\s*)"
    r"(?P<id>\d{4}\.\d{4,5}(?:v\d+)?|[a-z]+(?:-[a-z]+)*(?:\.[A-Za-z-]{1,8})?/\d{7}(?:v\d+)?)",
    re.IGNORECASE | re.ASCII,
)


def normalize_doi(text: str | None) -> str:
    """A DOI as stored and compared: no resolver prefix, lowercase, no trailing punctuation; "" when
    `text` is no DOI."""
    s = (text or "").strip()
    if not s or len(s) > MAX_DOI + 40:
        return ""
    s = _DOI_PREFIX.sub("", s).strip().rstrip(".,;").lower()
    if "%" in s:
        from urllib.parse import unquote

        s = unquote(s)
    return s if _DOI.match(s) and len(s) <= MAX_DOI else ""


def doi_in_url(url: str | None) -> str:
    """The DOI a doi.org link points to, or ""."""
    m = _DOI_IN_URL.search(url or "")
    return normalize_doi(m.group(1)) if m else ""


def arxiv_id_of(text: str | None) -> str:
    """The arXiv id (no version) that `text` is (an id, `arXiv:` id or arXiv URL), or ""."""
    s = (text or "").strip()
    if not s or len(s) > 300:
        return ""
    try:
        return parse_arxiv_id(s)[0]
    except InvalidArxivId:
        return ""


def arxiv_id_in(text: str | None) -> str:
    """The first arXiv id written inside free text (a note, a journal, a URL), or ""."""
    if not text:
        return ""
    for m in _ARXIV_IN_TEXT.finditer(text[:5000]):
        if found := arxiv_id_of(m.group("id")):
            return found
    return ""


def arxiv_id_of_doi(doi: str) -> str:
    """arXiv's own DOIs (10.48550/arXiv.2401.01234) name the paper."""
    m = _ARXIV_DOI.match(doi or "")
    return arxiv_id_of(m.group(1)) if m else ""


# -- titles -------------------------------------------------------------------------------------

_WORDS = re.compile(r"[^\W_]+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def title_words(title: str) -> list[str]:
    """The words of a title as titles are compared: case folded, accents dropped, punctuation gone."""
    return _WORDS.findall(_fold(title))


def title_key(title: str) -> str:
    """A title normalized for matching ("Attention Is All You Need!" and "attention is all you need"
    meet); "" when too short to match on."""
    key = " ".join(title_words(title))
    return key if len(key) >= MIN_TITLE_KEY else ""


# -- one record ---------------------------------------------------------------------------------


def admit(
    *,
    title: str,
    abstract: str = "",
    authors: list[str] | tuple[str, ...] = (),
    arxiv_id: str = "",
    doi: str = "",
    year: int | None = None,
    key: str = "",
    line: int | None = None,
) -> LibraryRecord:
    """A record with its texts normalized, once within the limits; ValueError naming what is wrong."""
    title = clean_text(title)
    abstract = clean_text(abstract)
    if len(title) > MAX_TITLE:
        raise ValueError(f"title longer than {MAX_TITLE:,} characters ({len(title):,})")
    if len(abstract) > MAX_ABSTRACT:
        raise ValueError(f"abstract longer than {MAX_ABSTRACT:,} characters ({len(abstract):,})")
    names = []
    for name in authors[:MAX_LIBRARY_AUTHORS]:
        name = clean_text(name)
        if len(name) > MAX_AUTHOR_NAME:
            raise ValueError(f"author name longer than {MAX_AUTHOR_NAME:,} characters")
        if name:
            names.append(name)
    if arxiv_id and len(arxiv_id) > MAX_ARXIV_ID:
        arxiv_id = ""
    if not title and not arxiv_id and not doi:
        raise ValueError("no title, arXiv id or DOI")
    if year is not None and not 1000 <= year <= 2999:
        year = None
    return LibraryRecord(
        title=title,
        abstract=abstract,
        authors=tuple(names),
        arxiv_id=arxiv_id,
        doi=doi,
        year=year,
        key=normalize_text(key)[:MAX_KEY],
        line=line,
    )


_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def year_in(text: str | None) -> int | None:
    m = _YEAR.search(text or "")
    return int(m.group(1)) if m else None
