"""The arXiv API's Atom feed (`export.arxiv.org/api/query`) as `PaperRecord`s.

Both wire variants read the same way: the legacy one (pre-2025: an `xmlns` on every
`arxiv:`/`opensearch:` element, `<link title="pdf">`, hashed feed ids, old-style ids such as
`cond-mat/0603029v1`) and the 2025+ one (one namespace header, `arxiv:primary_category`
without `scheme`). Elements are matched by local name, so a changed namespace prefix or URI
does not lose fields.

The API returns only the latest version of each paper: it becomes `Version(n, date=updated)`,
and for n > 1 `Version(1, date=published)` is added; versions in between are unknown.

This module also holds the helpers the other arXiv readers share: `parse_xml`, `localname`,
`parse_iso_datetime`, `is_withdrawal_comment` and `split_authors`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from lxml import etree

from dailypapers.sources.arxiv_ids import InvalidArxivId, id_note, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.dates import in_utc
from dailypapers.sources.limits import admit
from dailypapers.sources.record import Author, PaperRecord, SourceError, Version, clean_text

SOURCE = "arxiv-api"

_WITHDRAWN = re.compile(
    r"\b(?:has|have|had|is|are|was|were|been|being)\s+(?:now\s+|formally\s+|permanently\s+)?withdrawn\b"
    r"|^\s*(?:this\s+(?:paper|article|submission|manuscript)\s+)?withdrawn\b",
    re.IGNORECASE,
)
_AFF_MARK = re.compile(r"\(\s*(\d+)\s*\)")
_NUM_LIST = re.compile(r"\d+(?:\s*(?:,|;|&|and)\s*\d+)*")
_COLLABORATION = re.compile(r"(?:for|on behalf of)\s+(?:the\s+)?", re.IGNORECASE)
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_ET_AL = re.compile(r"et\.?\s+al\.?", re.IGNORECASE)
_LXML_POSITION = re.compile(r",\s*line \d+, column \d+\s*$")


class ArxivApiError(SourceError):
    """The API answered with its error feed (an entry titled `Error`, sent with HTTP 400)."""


@dataclass(slots=True)
class AtomPage:
    """One page of API results: the papers, the entries that could not be read, and paging."""

    records: list[PaperRecord] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    total_results: int | None = None
    start_index: int | None = None
    items_per_page: int | None = None


# ---------------------------------------------------------------------------------------------
# Shared XML and date helpers


def parse_xml(data: bytes, *, where: str) -> etree._Element:
    """Parse untrusted XML without resolving entities or touching the network.

    Raises SourceError naming `where` and the line and column lxml reports.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A parser per call: lxml parser objects must not be shared between threads.
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False, dtd_validation=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        detail = _LXML_POSITION.sub("", exc.msg or "syntax error")
        raise SourceError(f"malformed XML at line {line}, column {column}: {detail}", where=where) from None
    return root


def localname(el: etree._Element) -> str:
    """The element's tag without namespace ('' for comments and processing instructions)."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def children(el: etree._Element, name: str) -> list[etree._Element]:
    """Direct child elements whose local name is `name`, in document order."""
    return [c for c in el if localname(c) == name]


def _raw_text(el: etree._Element) -> str:
    if len(el) == 0:
        return el.text or ""
    parts = [el.text or ""]
    for c in el:
        if isinstance(c.tag, str):
            parts.append(_raw_text(c))
        parts.append(c.tail or "")  # an unresolved entity, comment or PI adds only its tail
    return "".join(parts)


def text_of(el: etree._Element) -> str:
    """The element's whitespace-collapsed text content, unresolved entity references left out."""
    return clean_text(_raw_text(el))


def child_text(el: etree._Element, name: str) -> str:
    """Whitespace-collapsed text of the first child named `name`, or ''."""
    for c in el:
        if localname(c) == name:
            return text_of(c)
    return ""


def parse_iso_datetime(text: str) -> dt.datetime:
    """`2012-04-02T12:38:54Z`, `2016-10-09T00:00:00-04:00` or `2008-11-21` as an aware UTC datetime.

    Raises ValueError when the text is not such a date.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty date")
    return in_utc(dt.datetime.fromisoformat(s))


def is_withdrawal_comment(comments: str) -> bool:
    """Whether the comments field announces a withdrawal ("This paper has been withdrawn ...")."""
    return bool(comments) and _WITHDRAWN.search(comments) is not None


def _int_or_none(text: str) -> int | None:
    try:
        return int(text.strip())
    except (AttributeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Authors given as one string


def _split_top_level(text: str) -> list[str]:
    """Split at commas, semicolons, ` and ` and ` & ` outside parentheses.

    From "for the ..." or "on behalf of ..." on, the rest is one part (a collaboration name).
    """
    parts: list[str] = []
    depth = start = i = 0
    while i < len(text):
        ch = text[i]
        step = 0
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            if ch in ",;":
                step = 1
            elif text.startswith(" and ", i):
                step = 5
            elif text.startswith(" & ", i):
                step = 3
        if step:
            parts.append(text[start:i])
            start = i = i + step
            if _COLLABORATION.match(text[start:].lstrip()):
                break
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _trailing_group(text: str) -> tuple[str, str] | None:
    """`("Name", "inside")` when the text ends with a balanced parenthesized group."""
    t = text.rstrip()
    if not t.endswith(")"):
        return None
    depth = 0
    for i in range(len(t) - 1, -1, -1):
        if t[i] == ")":
            depth += 1
        elif t[i] == "(":
            depth -= 1
            if depth == 0:
                return t[:i].rstrip(), t[i + 1 : -1].strip()
    return None


def split_authors(text: str) -> list[Author]:
    """Split an arXiv author string ("A. B (X), C and D ((1) X, (2) Y)") into authors.

    Separators are commas, semicolons, " and " and " & " outside parentheses. A name's trailing
    "(Affiliation)" becomes its affiliation; numbered marks "(1,2)" are resolved against a final
    "((1) X, (2) Y)" block; like arXiv, an affiliation also covers the unaffiliated names just
    before it. "Jr."-style suffixes stay with their name, "et al." is dropped, and "for the X
    and Y Collaborations" stays one author. Names are kept as written (TeX accents included).
    """
    text = clean_text(text)
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip()  # a stray closing parenthesis would hide the affiliation block
    numbered: dict[str, str] = {}
    group = _trailing_group(text)
    if group and re.match(r"\(\s*\d+\s*\)", group[1]):
        text = group[0]
        marks = _AFF_MARK.split(group[1])
        for num, aff in zip(marks[1::2], marks[2::2], strict=True):
            if aff.strip(" ,;"):
                numbered[num] = aff.strip(" ,;")
    authors: list[Author] = []
    for raw in _split_top_level(text):
        part = re.sub(r"^(?:and|&)\s+", "", raw.strip())
        if not part or _ET_AL.fullmatch(part):
            continue
        if part.lower() in _SUFFIXES and authors:
            prev = authors[-1]
            authors[-1] = Author(f"{prev.name} {part}", prev.affiliations)
            continue
        name, affs = part, []
        while (g := _trailing_group(name)) and g[0]:
            name, inside = g
            if _NUM_LIST.fullmatch(inside):
                nums = re.findall(r"\d+", inside)
                affs[:0] = [numbered[n] for n in nums if n in numbered]
            elif inside:
                affs.insert(0, inside)
        authors.append(Author(name, tuple(dict.fromkeys(affs))))
    # As arXiv reads "A, B (X), C": an affiliation also covers the unaffiliated names before it.
    carry: tuple[str, ...] = ()
    for i in range(len(authors) - 1, -1, -1):
        if authors[i].affiliations:
            carry = authors[i].affiliations
        elif carry:
            authors[i] = Author(authors[i].name, carry)
    return authors


# ---------------------------------------------------------------------------------------------
# The Atom feed


def _is_error_entry(entry: etree._Element) -> bool:
    entry_id = child_text(entry, "id")
    if "/api/errors" in entry_id:
        return True
    if child_text(entry, "title") != "Error":
        return False
    try:
        parse_arxiv_id(entry_id)
    except InvalidArxivId:
        return True
    return False  # a paper that happens to be titled "Error"


def _entry_record(entry: etree._Element) -> PaperRecord:
    raw_id = child_text(entry, "id")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        raise SourceError(str(exc)) from None
    published_text, updated_text = child_text(entry, "published"), child_text(entry, "updated")
    try:
        published = parse_iso_datetime(published_text) if published_text else None
        updated = parse_iso_datetime(updated_text) if updated_text else None
    except ValueError as exc:
        raise SourceError(f"bad date in {raw_id!r}: {exc}") from None

    versions: list[Version] = []
    if version == 1:
        published = published or updated
        versions.append(Version(1, date=published))
    elif version is not None:
        if published is not None:
            versions.append(Version(1, date=published))
        versions.append(Version(version, date=updated))

    authors = []
    for a in children(entry, "author"):
        name = child_text(a, "name")
        if name:
            affs = tuple(t for t in (text_of(x) for x in children(a, "affiliation")) if t)
            authors.append(Author(name, affs))

    primary = ""
    for c in children(entry, "primary_category"):
        primary = (c.get("term") or "").strip()
    categories = [t for t in ((c.get("term") or "").strip() for c in children(entry, "category")) if t]
    if primary:
        categories = [primary, *(t for t in categories if t != primary)]
    else:
        primary = categories[0] if categories else ""
    categories = list(dict.fromkeys(categories))

    abstract = child_text(entry, "summary")
    comments = child_text(entry, "comment")
    code_urls, project_urls = find_links(abstract, comments)
    record = PaperRecord(
        id=arxiv_id,
        source=SOURCE,
        title=child_text(entry, "title"),
        abstract=abstract,
        authors=authors,
        versions=versions,
        categories=categories,
        primary_category=primary,
        doi=child_text(entry, "doi"),
        journal_ref=child_text(entry, "journal_ref"),
        comments=comments,
        published=published,
        updated=updated,
        code_urls=code_urls,
        project_urls=project_urls,
        withdrawn=is_withdrawal_comment(comments),
    )
    return admit(record)


def parse_feed(data: bytes, *, where: str) -> AtomPage:
    """Read one API response into an `AtomPage`.

    `where` names the response (a file or URL) in every error. An entry that cannot be read
    becomes one SourceError in `errors` and the others still parse. Raises ArxivApiError when
    the response is the API's error feed, and SourceError when the XML is malformed or is not
    an Atom feed.
    """
    root = parse_xml(data, where=where)
    if localname(root) != "feed":
        raise SourceError(f"not an Atom feed (root element <{localname(root)}>)", where=where)
    entries = children(root, "entry")
    for entry in entries:
        if _is_error_entry(entry):
            message = child_text(entry, "summary") or child_text(entry, "id") or "unknown API error"
            raise ArxivApiError(f"arXiv API error: {message}", where=where)

    page = AtomPage(
        total_results=_int_or_none(child_text(root, "totalResults")),
        start_index=_int_or_none(child_text(root, "startIndex")),
        items_per_page=_int_or_none(child_text(root, "itemsPerPage")),
    )
    for n, entry in enumerate(entries, start=1):
        try:
            page.records.append(_entry_record(entry))
        except SourceError as exc:
            label = f"{where}, entry {n} (line {entry.sourceline}){id_note(child_text(entry, 'id'))}"
            page.errors.append(SourceError(exc.problem, where=label))
    return page
