"""The Kaggle `arxiv-metadata-oai-snapshot.json` dump: one JSON object per line, streamed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import orjson

from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.dates import parse_iso, parse_rfc2822
from dailypapers.sources.record import Author, PaperRecord, SourceError, Version, clean_text

SOURCE = "kaggle"
MAX_CATEGORY = 64  # papers.primary_category is VARCHAR(64); PostgreSQL refuses longer values
_WITHDRAWN = ("this paper has been withdrawn", "this article has been withdrawn", "withdrawn by")


def _authors(obj: dict[str, Any]) -> list[Author]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:
        authors = []
        for part in parsed:
            if not isinstance(part, list) or not part:
                raise ValueError("authors_parsed entries must be lists")
            last, first, suffix = (*part, "", "")[:3]
            name = f"{first} {last} {suffix}" if suffix else f"{first} {last}"
            if "  " in name or "\n" in name or name[:1] == " " or name[-1:] == " ":
                name = " ".join(name.split())
            affils = tuple(clean_text(a) for a in part[3:] if a) if len(part) > 3 else ()
            authors.append(Author(name, affils))
        return authors
    text = obj.get("authors") or ""
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
    title = clean_text(obj.get("title"))
    if not title:
        raise ValueError("empty title")
    abstract = clean_text(obj.get("abstract"))
    comments = clean_text(obj.get("comments"))
    versions = _versions(obj)
    categories = (obj.get("categories") or "").split()
    if categories and len(categories[0]) > MAX_CATEGORY:
        raise ValueError(f"category longer than {MAX_CATEGORY} characters")
    code, project = find_links(abstract, comments)
    updated = obj.get("update_date")
    lowered = comments.lower()
    return PaperRecord(
        id=arxiv_id,
        source=SOURCE,
        title=title,
        abstract=abstract,
        authors=_authors(obj),
        versions=versions,
        categories=categories,
        primary_category=categories[0] if categories else "",
        doi=clean_text(obj.get("doi")),
        journal_ref=clean_text(obj.get("journal-ref")),
        comments=comments,
        license=clean_text(obj.get("license")),
        published=versions[0].date if versions else None,
        updated=parse_iso(updated) if updated else None,
        code_urls=code,
        project_urls=project,
        withdrawn=any(w in lowered for w in _WITHDRAWN),
    )


def iter_file(fp: IO[bytes], where: str, start_line: int = 0) -> Iterator[PaperRecord | SourceError]:
    """Yield a record, or a SourceError naming `where:line`, for each non-empty line of `fp`.

    Reads line by line, so a multi-GB snapshot never sits in memory. `start_line` is the number
    of lines already consumed before `fp`'s position (when resuming), for error messages.
    """
    for number, line in enumerate(fp, start_line + 1):
        if not line.strip():
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
