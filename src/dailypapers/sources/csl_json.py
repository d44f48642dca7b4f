"""CSL JSON libraries (Zotero's and Better BibTeX's "CSL JSON" export, pandoc's citeproc JSON) read into
`LibraryRecord`s.

The file is a JSON list of items (a single item object is read as a list of one). An item that is not an
object, or whose fields have the wrong types, is refused with its number and `id`; the rest still
import. Titles lose CSL's rich-text markup (`<i>`, `<b>`, `<sub>`, `<span class="nocase">`...). arXiv
ids come from `number` ("arXiv:2306.13455", as Zotero writes preprints), `URL`, `DOI` (10.48550/arXiv...),
`archive_location`, `note` and `container-title`.
"""

from __future__ import annotations

import html
import re
from typing import Any

import orjson

from dailypapers.sources.library_record import (
    MAX_ENTRIES,
    LibraryError,
    LibraryFormatError,
    LibraryRecord,
    ParsedLibrary,
    admit,
    arxiv_id_in,
    arxiv_id_of,
    arxiv_id_of_doi,
    check_size,
    doi_in_url,
    normalize_doi,
    too_many,
    year_in,
)
from dailypapers.sources.record import strip_bom

FORMAT = "csl-json"
# Fields of CSL items: a list of objects with none of them is some other JSON.
_CSL_FIELDS = {"title", "type", "author", "issued", "DOI", "URL", "container-title", "citation-key", "editor"}
_MARKUP = re.compile(r"</?(?:i|b|em|strong|sub|sup|sc|span|a)(?:\s[^<>]*)?>", re.IGNORECASE)
_JSON_TYPES = {
    dict: "an object",
    list: "a list",
    int: "a number",
    float: "a number",
    bool: "true or false",
    str: "text",
}


def parse_bytes(data: bytes) -> ParsedLibrary:
    """Read a CSL JSON file's bytes; LibraryFormatError when the file as a whole is no CSL JSON."""
    check_size(data)
    data = strip_bom(data)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise LibraryFormatError(f"This is not valid JSON: {exc}.") from None
    return parse(document)


def parse(document: Any) -> ParsedLibrary:
    """Read a parsed CSL JSON document: its items as records, in order, and the items refused, with why."""
    if isinstance(document, dict):
        items = document.get("items") if isinstance(document.get("items"), list) else [document]
    elif isinstance(document, list):
        items = document
    else:
        raise LibraryFormatError("This JSON is not CSL JSON: expected a list of items.")
    if not items:
        raise LibraryFormatError("The file holds no items.")
    if len(items) > MAX_ENTRIES:
        raise too_many(len(items))
    if not any(isinstance(item, dict) and _CSL_FIELDS & item.keys() for item in items):
        raise LibraryFormatError(
            'This JSON is not CSL JSON: none of its items has a "title", "type", "author", "DOI" or "URL".'
        )
    out = ParsedLibrary(FORMAT)
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            kind = _JSON_TYPES.get(type(item), "null" if item is None else type(item).__name__)
            out.errors.append(LibraryError(f"{kind}, not an item object", "", number, "item"))
            continue
        key = _key(item)
        try:
            out.records.append(record_of(item, key, number))
        except (TypeError, ValueError) as exc:
            out.errors.append(LibraryError(str(exc), key, number, "item"))
    return out


def _key(item: dict[str, Any]) -> str:
    for name in ("citation-key", "id"):
        value = item.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return ""


def _text(item: dict[str, Any], name: str) -> str:
    value = item.get(name)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and name not in ("title", "abstract"):
        return str(value)  # CSL allows numbers for "number", "volume"...
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is {_JSON_TYPES.get(type(value), type(value).__name__)}, not text")
    return value


def _plain(text: str) -> str:
    """CSL rich text as plain text: markup tags dropped, HTML entities decoded."""
    if "<" in text:
        text = _MARKUP.sub("", text)
    if "&" in text:
        text = html.unescape(text)
    return text


def record_of(item: dict[str, Any], key: str, number: int) -> LibraryRecord:
    """The record of one CSL item; TypeError or ValueError saying why it is refused."""
    title = _text(item, "title")
    doi_text = _text(item, "DOI")
    url = _text(item, "URL")
    doi = normalize_doi(doi_text) or doi_in_url(url)
    return admit(
        title=_plain(title),
        abstract=_plain(_text(item, "abstract")),
        authors=_authors(item.get("author") or item.get("editor")),
        arxiv_id=_arxiv(item, doi, doi_text, url),
        doi=doi,
        year=_year(item.get("issued")),
        key=key,
        line=number,
    )


def _arxiv(item: dict[str, Any], doi: str, doi_text: str, url: str) -> str:
    if found := arxiv_id_of_doi(doi):
        return found
    for name in ("number", "archive_location"):
        if found := arxiv_id_of(_text(item, name)) or arxiv_id_in(_text(item, name)):
            return found
    if found := arxiv_id_in(url) or arxiv_id_in(doi_text):  # "DOI": "arXiv:2106.09685" happens
        return found
    for name in ("note", "container-title", "publisher", "collection-title"):
        if found := arxiv_id_in(_text(item, name)):
            return found
    return ""


def _authors(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"'author' is {_JSON_TYPES.get(type(value), type(value).__name__)}, not a list of names")
    names = []
    for person in value:
        if isinstance(person, str):
            names.append(person)
        elif isinstance(person, dict):
            parts = [
                person.get(p)
                for p in ("given", "dropping-particle", "non-dropping-particle", "family", "suffix")
                if isinstance(person.get(p), str)
            ]
            literal = person.get("literal")
            names.append(literal if isinstance(literal, str) and literal else " ".join(p for p in parts if p))
    return [_plain(n) for n in names if n]


def _year(issued: Any) -> int | None:
    if isinstance(issued, dict):
        parts = issued.get("date-parts")
        if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
            first = parts[0][0]
            if isinstance(first, int) and not isinstance(first, bool):
                return first
            if isinstance(first, str):
                return year_in(first)
        for name in ("raw", "literal"):
            if isinstance(issued.get(name), str):
                return year_in(issued[name])
    if isinstance(issued, str):
        return year_in(issued)
    return None
