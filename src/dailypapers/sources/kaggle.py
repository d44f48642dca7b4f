"""The Kaggle `arxiv-metadata-oai-snapshot.json` dump: one JSON object per line, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import orjson

from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.dates import parse_iso, parse_rfc2822
from dailypapers.sources.limits import MAX_LINE_BYTES, admit
from dailypapers.sources.record import Author, PaperRecord, SourceError, Version, clean_text, strip_bom, text_field

SOURCE = "kaggle"
_WITHDRAWN = ("this paper has been withdrawn", "this article has been withdrawn", "withdrawn by")


def _authors(obj: dict[str, Any]) -> list[Author]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = []
        for part in parsed:
            if not isinstance(part, list) or not part or not all(isinstance(p, str) for p in part):
                raise ValueError("authors_parsed entries must be lists of text")
            last, first, suffix = (*part, "", "")[:3]
            name = f"{first} {last} {suffix}" if suffix else f"{first} {last}"
            if "  " in name or not name.isprintable() or name[:1] == " " or name[-1:] == " ":
                name = clean_text(name)
            affils = tuple(clean_text(a) for a in part[3:] if a) if len(part) > 3 else ()
            authors.append(Author(name, affils))
        return authors
    text = text_field(obj, "authors")
    return [Author(clean_text(n)) for n in text.replace(" and ", ", ").split(",") if n.strip()]


def _versions(obj: dict[str, Any]) -> list[Version]:
    out = []
    for v in obj.get("versions") or []:
        label = str(v.get("version", "")).lstrip("v")
        if not label.isdigit():
            raise ValueError(f"bad version label {v.get('version')!r}")
        created = v.get("created")
        out.append(Version(int(label), parse_rfc2822(created) if created else None))
    return sorted(out, key=lambda v: v.version)


def record_from_object(obj: Any) -> PaperRecord:
    """One snapshot object as a record; raises ValueError/KeyError/TypeError/AttributeError on bad data."""
    if not isinstance(obj, dict):
        raise TypeError("line is not a JSON object")
    raw_id = obj.get("id")
    if not isinstance(raw_id, str):
        raise ValueError("missing 'id'")
    arxiv_id, _ = parse_arxiv_id(raw_id)
    title = clean_text(text_field(obj, "title"))
    if not title:
        raise ValueError("empty title")
    abstract = clean_text(text_field(obj, "abstract"))
    comments = clean_text(text_field(obj, "comments"))
    versions = _versions(obj)
    categories = clean_text(text_field(obj, "categories")).split()
    code, project = find_links(abstract, comments)
    updated = text_field(obj, "update_date")
    lowered = comments.lower()
    return admit(
        PaperRecord(
            id=arxiv_id,
            source=SOURCE,
            title=title,
            abstract=abstract,
            authors=_authors(obj),
            versions=versions,
            categories=categories,
            primary_category=categories[0] if categories else "",
            doi=clean_text(text_field(obj, "doi")),
            journal_ref=clean_text(text_field(obj, "journal-ref")),
            comments=comments,
            license=clean_text(text_field(obj, "license")),
            published=versions[0].date if versions else None,
            updated=parse_iso(updated) if updated else None,
            code_urls=code,
            project_urls=project,
            withdrawn=any(w in lowered for w in _WITHDRAWN),
        )
    )


def iter_file(fp: IO[bytes], where: str, start_line: int = 0) -> Iterator[PaperRecord | SourceError]:
    """Yield a record, or a SourceError naming `where:line`, for each non-empty line of `fp`.

    Reads line by line, so a multi-GB snapshot never sits in memory. `start_line` is the number
    of lines already consumed before `fp`'s position (when resuming), for error messages.
    """
    for number, line in enumerate(fp, start_line + 1):
        line = strip_bom(line)  # a byte order mark, at the start of the file (or of files joined into one)
        if not line.strip():
            continue
        if len(line) > MAX_LINE_BYTES:
            yield SourceError(f"line longer than {MAX_LINE_BYTES:,} bytes", where=f"{where}:{number}")
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield SourceError(f"malformed JSON ({exc})", where=f"{where}:{number}")
            continue
        try:
            yield record_from_object(obj)
        # AttributeError: a field of the wrong JSON type (a number for a title, a list for categories).
        except (ValueError, KeyError, TypeError, AttributeError, InvalidArxivId) as exc:
            rid = obj.get("id") if isinstance(obj, dict) else None
            label = f"{where}:{number}" + (f" (id {rid})" if isinstance(rid, str) else "")
            problem = f"a field has the wrong type ({exc})" if isinstance(exc, AttributeError) else str(exc)
            yield SourceError(problem, where=label)
