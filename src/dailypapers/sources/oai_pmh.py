"""arXiv OAI-PMH responses (`ListRecords`, `GetRecord`) as `PaperRecord`s.

Three metadata formats are read, told apart by the namespace of the element inside
`<metadata>`; each gives its own source name:

- `arXivRaw` (`oai-arXivRaw`): every version with its RFC 2822 date and size, authors as one
  string (split by `split_authors`), space-separated categories with the primary first.
- `arXiv` (`oai-arXiv`): structured authors with affiliations, `<created>` and `<updated>`
  dates. `<created>` is the v1 date. `<updated>` does not say which version it belongs to (a
  metadata-only change such as an added journal-ref also sets it), so only `Version(1)` is
  recorded; when `<updated>` is present, `extra["latest_version_unknown"]` is True and
  `updated` holds that date. Without `<updated>` the paper has only v1.
- `oai_dc` (`oai-oai_dc`): `dc:identifier` holds the abs URL (plus `doi:...` and the journal
  reference when known), `dc:creator` is "Last, First", one `dc:date` per version, and the
  comments are the `dc:description` that starts with "Comment:". Subjects are human-readable
  names ("Computer Science - Information Theory"), not category codes: they go to
  `extra["subjects"]` and `categories` stays empty.

`withdrawn` is set when the comments announce a withdrawal ("This paper has been withdrawn")
or, in arXivRaw, when the latest version's size is 0kb. Deleted records are skipped. A record
that cannot be read becomes one SourceError in `errors`. OAI protocol errors raise `OaiError`,
except `noRecordsMatch` (an empty page).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field

from lxml import etree

from dailypapers.sources.arxiv_atom import (
    is_withdrawal_comment,
    localname,
    parse_iso_datetime,
    parse_xml,
    split_authors,
    text_of,
)
from dailypapers.sources.arxiv_ids import InvalidArxivId, id_note, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.dates import in_utc
from dailypapers.sources.limits import admit
from dailypapers.sources.record import Author, PaperRecord, SourceError, Version

_FORMATS = {
    "arxiv.org/oai/arxivraw": "arXivRaw",
    "arxiv.org/oai/arxiv": "arXiv",
    "www.openarchives.org/oai/2.0/oai_dc": "oai_dc",
}
_FORMATS_BY_TAG = {"arXivRaw": "arXivRaw", "arXiv": "arXiv", "dc": "oai_dc"}


class OaiError(SourceError):
    """An OAI-PMH protocol error (`<error code="...">`), with its `code` and `message`."""

    def __init__(self, message: str, *, code: str = "", where: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"OAI-PMH error {code}: {message}", where=where)


@dataclass(slots=True)
class OaiPage:
    """One OAI-PMH response: the papers, the unreadable records, and the harvest state."""

    records: list[PaperRecord] = field(default_factory=list)
    errors: list[SourceError] = field(default_factory=list)
    resumption_token: str | None = None
    complete_list_size: int | None = None
    cursor: int | None = None
    response_date: dt.datetime | None = None


# ---------------------------------------------------------------------------------------------
# Fields


def _index(el: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for c in el:
        name = localname(c)
        if name:
            found.setdefault(name, []).append(c)
    return found


def _text(fields: dict[str, list[etree._Element]], name: str) -> str:
    els = fields.get(name)
    return text_of(els[0]) if els else ""


def _rfc2822(text: str) -> dt.datetime:
    return in_utc(email.utils.parsedate_to_datetime(text.strip()))


def _arxiv_id(raw: str, header_id: str) -> str:
    for candidate in (raw, header_id):
        if candidate:
            try:
                return parse_arxiv_id(candidate)[0]
            except InvalidArxivId:
                continue
    raise SourceError(f"no arXiv id in record (id {raw!r}, header {header_id!r})")


def _extra(fields: dict[str, list[etree._Element]], **more: object) -> dict[str, object]:
    extra: dict[str, object] = {k: v for k, v in more.items() if v}
    for tag in ("report-no", "msc-class", "acm-class", "submitter", "proxy"):
        value = _text(fields, tag)
        if value:
            extra[tag.replace("-", "_")] = value
    return extra


def _common(fields: dict[str, list[etree._Element]], arxiv_id: str, source: str) -> PaperRecord:
    """The fields arXiv and arXivRaw share: title, abstract, categories, comments, doi..."""
    categories = list(dict.fromkeys(_text(fields, "categories").split()))
    abstract = _text(fields, "abstract")
    comments = _text(fields, "comments")
    code_urls, project_urls = find_links(abstract, comments)
    return PaperRecord(
        id=arxiv_id,
        source=source,
        title=_text(fields, "title"),
        abstract=abstract,
        categories=categories,
        primary_category=categories[0] if categories else "",
        doi=_text(fields, "doi"),
        journal_ref=_text(fields, "journal-ref"),
        comments=comments,
        license=_text(fields, "license"),
        code_urls=code_urls,
        project_urls=project_urls,
        withdrawn=is_withdrawal_comment(comments),
    )


def _from_arxiv_raw(fields: dict[str, list[etree._Element]], header_id: str, extra: dict) -> PaperRecord:
    rec = _common(fields, _arxiv_id(_text(fields, "id"), header_id), "oai-arXivRaw")
    versions: list[Version] = []
    for v in fields.get("version", []):
        m = re.fullmatch(r"v?(\d+)", (v.get("version") or "").strip())
        if not m:
            raise SourceError(f"bad version attribute {v.get('version')!r} in {rec.id}")
        vf = _index(v)
        date_text = _text(vf, "date")
        try:
            date = _rfc2822(date_text) if date_text else None
        except (TypeError, ValueError):
            raise SourceError(f"bad version date {date_text!r} in {rec.id}") from None
        versions.append(Version(int(m[1]), date=date, size=_text(vf, "size") or None))
    versions.sort(key=lambda v: v.version)
    rec.versions = versions
    rec.authors = split_authors(_text(fields, "authors"))
    if versions:
        rec.published = versions[0].date if versions[0].version == 1 else None
        rec.updated = versions[-1].date
        rec.withdrawn = rec.withdrawn or (versions[-1].size or "").strip().lower() in ("0kb", "0")
    rec.extra = _extra(fields, **extra)
    return rec


def _from_arxiv(fields: dict[str, list[etree._Element]], header_id: str, extra: dict) -> PaperRecord:
    rec = _common(fields, _arxiv_id(_text(fields, "id"), header_id), "oai-arXiv")
    authors = []
    for a in fields.get("authors", [])[:1]:
        for au in a:
            if localname(au) != "author":
                continue
            af = _index(au)
            name = " ".join(p for p in (_text(af, "forenames"), _text(af, "keyname"), _text(af, "suffix")) if p)
            affs = tuple(t for t in (text_of(x) for x in af.get("affiliation", [])) if t)
            if name:
                authors.append(Author(name, affs))
    rec.authors = authors
    created, updated = _text(fields, "created"), _text(fields, "updated")
    try:
        rec.published = parse_iso_datetime(created) if created else None
        rec.updated = parse_iso_datetime(updated) if updated else rec.published
    except ValueError:
        raise SourceError(f"bad created/updated date {created!r}/{updated!r} in {rec.id}") from None
    rec.versions = [Version(1, date=rec.published)] if rec.published else []
    rec.extra = _extra(fields, latest_version_unknown=bool(updated), **extra)
    return rec


def _from_oai_dc(fields: dict[str, list[etree._Element]], header_id: str, extra: dict) -> PaperRecord:
    identifiers = [text_of(el) for el in fields.get("identifier", [])]
    abs_urls = [i for i in identifiers if "arxiv.org/abs/" in i.lower()]
    arxiv_id = _arxiv_id(abs_urls[0] if abs_urls else "", header_id)
    doi = next((i[4:].strip() for i in identifiers if i.lower().startswith("doi:")), "")
    journal_ref = next((i for i in identifiers if i and "://" not in i and not i.lower().startswith("doi:")), "")
    abstract, comments = "", ""
    for el in fields.get("description", []):
        text = text_of(el)
        if text.startswith("Comment:"):
            comments = comments or text[len("Comment:") :].strip()
        elif not abstract:
            abstract = text
    authors = []
    for el in fields.get("creator", []):
        last, sep, first = text_of(el).partition(", ")
        name = f"{first} {last}" if sep and first else last
        if name:
            authors.append(Author(name))
    dates: list[dt.datetime] = []
    for el in fields.get("date", []):
        try:
            dates.append(parse_iso_datetime(text_of(el)))
        except ValueError:
            raise SourceError(f"bad dc:date {el.text!r} in {arxiv_id}") from None
    code_urls, project_urls = find_links(abstract, comments)
    subjects = [text_of(el) for el in fields.get("subject", []) if text_of(el)]
    return PaperRecord(
        id=arxiv_id,
        source="oai-oai_dc",
        title=_text(fields, "title"),
        abstract=abstract,
        authors=authors,
        versions=[Version(n, date=d) for n, d in enumerate(dates, start=1)],
        doi=doi,
        journal_ref=journal_ref,
        comments=comments,
        license=_text(fields, "rights"),
        published=dates[0] if dates else None,
        updated=dates[-1] if dates else None,
        code_urls=code_urls,
        project_urls=project_urls,
        withdrawn=is_withdrawal_comment(comments),
        extra={k: v for k, v in {"subjects": subjects, **extra}.items() if v},
    )


_READERS = {"arXivRaw": _from_arxiv_raw, "arXiv": _from_arxiv, "oai_dc": _from_oai_dc}


def _metadata_format(meta: etree._Element) -> str:
    ns = etree.QName(meta).namespace or ""
    key = ns.split("://", 1)[-1].rstrip("/").lower()
    fmt = _FORMATS.get(key) or _FORMATS_BY_TAG.get(localname(meta))
    if not fmt:
        raise SourceError(f"unknown metadata format <{localname(meta)}> in namespace {ns!r}")
    return fmt


def _record(record: etree._Element) -> PaperRecord | None:
    parts = _index(record)
    header = parts.get("header", [None])[0]
    if header is None:
        raise SourceError("record without <header>")
    if (header.get("status") or "").strip() == "deleted":
        return None
    hf = _index(header)
    header_id = _text(hf, "identifier")
    meta_el = parts.get("metadata", [None])[0]
    meta = next((c for c in meta_el if localname(c)), None) if meta_el is not None else None
    if meta is None:
        raise SourceError(f"record {header_id!r} has no metadata")
    sets = [text_of(s) for s in hf.get("setSpec", []) if text_of(s)]
    extra = {"oai_datestamp": _text(hf, "datestamp"), "oai_sets": sets}
    return admit(_READERS[_metadata_format(meta)](_index(meta), header_id, extra))


def _header_id(record: etree._Element) -> str:
    """The OAI identifier in a record's header (`oai:arXiv.org:2401.01234`), or ""."""
    header = _index(record).get("header", [None])[0]
    return _text(_index(header), "identifier") if header is not None else ""


def _int_attr(el: etree._Element, name: str) -> int | None:
    try:
        return int((el.get(name) or "").strip())
    except ValueError:
        return None


def parse_oai(data: bytes, *, where: str) -> OaiPage:
    """Read one OAI-PMH `ListRecords` or `GetRecord` response into an `OaiPage`.

    `where` names the response in every error. Raises OaiError for a protocol error other
    than `noRecordsMatch`, and SourceError for malformed XML or a document that is not
    OAI-PMH. `resumption_token` is None when the token is absent or empty (the last page).
    """
    root = parse_xml(data, where=where)
    if localname(root) != "OAI-PMH":
        raise SourceError(f"not an OAI-PMH response (root element <{localname(root)}>)", where=where)
    top = _index(root)
    page = OaiPage()
    date_text = _text(top, "responseDate")
    try:
        page.response_date = parse_iso_datetime(date_text) if date_text else None
    except ValueError:
        raise SourceError(f"bad responseDate {date_text!r}", where=where) from None
    for err in top.get("error", []):
        code = (err.get("code") or "").strip()
        if code == "noRecordsMatch":
            return page
        raise OaiError(text_of(err) or "(no message)", code=code or "unknown", where=where)
    for verb in (*top.get("ListRecords", []), *top.get("GetRecord", [])):
        n = 0
        for el in verb:
            name = localname(el)
            if name == "resumptionToken":
                page.resumption_token = text_of(el) or None
                page.complete_list_size = _int_attr(el, "completeListSize")
                page.cursor = _int_attr(el, "cursor")
            elif name == "record":
                n += 1
                try:
                    rec = _record(el)
                except SourceError as exc:
                    where_rec = f"{where}, record {n} (line {el.sourceline}){id_note(_header_id(el))}"
                    page.errors.append(SourceError(exc.problem, where=where_rec))
                    continue
                if rec is not None:
                    page.records.append(rec)
    return page
