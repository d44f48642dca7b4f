"""arXiv's daily listing feed (RSS 2.0 from `rss.arxiv.org`, 2024+) as `PaperRecord`s.

Each `<item>` carries the id and version in its description (`arXiv:2604.22002v1 Announce
Type: new \\nAbstract: ...`), the announce type (`new`, `cross`, `replace`, `replace-cross`)
in `arxiv:announce_type`, the authors comma-separated in `dc:creator`, the license in
`dc:rights` and one `<category>` per category. The feed gives no submission dates: every
record gets `announced` (the channel's `pubDate` day, in arXiv's own time zone) and a
`Version(n)` without a date. The categories are kept in feed order and the first is taken as
the primary. On weekends and holidays the feed has no items, which is not an error.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field

from lxml import etree

from dailypapers.sources.arxiv_atom import children, localname, parse_xml, split_authors, text_of
from dailypapers.sources.arxiv_ids import InvalidArxivId, id_note, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.limits import admit
from dailypapers.sources.record import PaperRecord, SourceError, Version, clean_text

SOURCE = "arxiv-rss"

_DESCRIPTION = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?(?P<abstract>.*)$",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(slots=True)
class RssPage:
    """One day's listing: the papers, the items that could not be read, and the day announced."""

    records: list[PaperRecord] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    announced: dt.date | None = None


def _announced_day(text: str) -> dt.date | None:
    """The calendar day of an RFC 822 date, in the time zone it is written in."""
    if not text.strip():
        return None
    try:
        return email.utils.parsedate_to_datetime(text.strip()).date()
    except (TypeError, ValueError):
        return None


def _item_text(item: etree._Element, name: str) -> str:
    for c in item:
        if localname(c) == name:
            return text_of(c)
    return ""


def _item_record(item: etree._Element, announced: dt.date | None) -> PaperRecord:
    description = _item_text(item, "description")
    m = _DESCRIPTION.match(description)
    raw_id = m["id"] if m else _item_text(item, "guid") or _item_text(item, "link")
    try:
        arxiv_id, version = parse_arxiv_id(raw_id)
    except InvalidArxivId as exc:
        raise SourceError(str(exc)) from None
    if version is None:  # the description lost its version: the guid may still have it
        try:
            version = parse_arxiv_id(_item_text(item, "guid"))[1]
        except InvalidArxivId:
            version = None
    announce_type = _item_text(item, "announce_type") or (m["type"] if m else "")
    abstract = clean_text(m["abstract"] if m else description)
    categories = list(dict.fromkeys(t for t in (text_of(c) for c in children(item, "category")) if t))
    code_urls, project_urls = find_links(abstract)
    record = PaperRecord(
        id=arxiv_id,
        source=SOURCE,
        title=_item_text(item, "title"),
        abstract=abstract,
        authors=split_authors(_item_text(item, "creator")),
        versions=[Version(version)] if version else [],
        categories=categories,
        primary_category=categories[0] if categories else "",
        license=_item_text(item, "rights"),
        announced=announced,
        code_urls=code_urls,
        project_urls=project_urls,
        extra={"announce_type": announce_type.lower()} if announce_type else {},
    )
    return admit(record)


def parse_rss(data: bytes, *, where: str) -> RssPage:
    """Read one `rss.arxiv.org` feed into an `RssPage`.

    `where` names the feed in every error. An item that cannot be read becomes one SourceError
    in `errors` and the others still parse. Raises SourceError when the XML is malformed or the
    document is not an RSS 2.0 feed.
    """
    root = parse_xml(data, where=where)
    channel = next((c for c in root if localname(c) == "channel"), None)
    if localname(root) != "rss" or channel is None:
        raise SourceError(f"not an RSS 2.0 feed (root element <{localname(root)}>)", where=where)
    page = RssPage(announced=_announced_day(_item_text(channel, "pubDate")))
    if page.announced is None:
        page.announced = _announced_day(_item_text(channel, "lastBuildDate"))
    for n, item in enumerate(children(channel, "item"), start=1):
        try:
            page.records.append(_item_record(item, page.announced))
        except SourceError as exc:
            label = f"{where}, item {n} (line {item.sourceline}){id_note(_item_text(item, 'guid'))}"
            page.errors.append(SourceError(exc.problem, where=label))
    return page
