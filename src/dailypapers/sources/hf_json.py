"""Hugging Face papers JSON: `/api/daily_papers` (a list of featured papers) and `/api/papers/{id}`.

These carry what arXiv does not: the day a paper was featured, who submitted it, its upvotes,
and the code and project links the community attached.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import IO, Any

import orjson

from dailypapers.sources.arxiv_ids import InvalidArxivId, parse_arxiv_id
from dailypapers.sources.code_links import find_links
from dailypapers.sources.dates import parse_iso
from dailypapers.sources.limits import admit
from dailypapers.sources.record import (
    Author,
    Listing,
    PaperRecord,
    SourceError,
    Submitter,
    clean_text,
    strip_bom,
    text_field,
)

SOURCE = "huggingface"
_EXTRA_KEYS = ("ai_summary", "ai_keywords", "githubStars", "discussionId", "mediaUrls")


def _url_key(url: str) -> str:
    """The same link written with or without a trailing slash or in other case (as `merge` compares)."""
    return url.rstrip("/").lower()


def _submitter(obj: Any) -> Submitter | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("name") or obj.get("user"), str):
        return None
    name = clean_text(obj.get("name") or obj.get("user"))
    if not name:
        return None
    fullname = clean_text(text_field(obj, "fullname"))
    return Submitter(name=name, fullname=fullname, avatar_url=clean_text(text_field(obj, "avatarUrl")))


def record_from_paper(paper: Any, item: dict[str, Any] | None = None, day: dt.date | None = None) -> PaperRecord:
    """A record from an HF `paper` object (plus its daily-papers wrapper `item`, when there is one). `day` is
    the day it was featured when the object does not say (older answers of `/api/daily_papers?date=D`)."""
    if not isinstance(paper, dict):
        raise TypeError("'paper' is not an object")
    raw_id = paper.get("id")
    if not isinstance(raw_id, str):
        raise ValueError("missing paper 'id'")
    arxiv_id, version = parse_arxiv_id(raw_id)
    title = clean_text(text_field(paper, "title") or text_field(item or {}, "title"))
    if not title:
        raise ValueError("empty title")
    abstract = clean_text(text_field(paper, "summary") or text_field(item or {}, "summary"))
    code, project = find_links(abstract)
    repo = paper.get("githubRepo")
    if isinstance(repo, str) and repo.startswith("http"):
        code = [repo, *(u for u in code if _url_key(u) != _url_key(repo))]
    page = paper.get("projectPage")
    if isinstance(page, str) and page.startswith("http"):
        project = [page, *(u for u in project if _url_key(u) != _url_key(page))]
    authors = [
        Author(clean_text(a["name"]))
        for a in paper.get("authors") or []
        if isinstance(a, dict) and isinstance(a.get("name"), str) and not a.get("hidden")
    ]
    published = paper.get("publishedAt")
    listing = None
    featured = paper.get("submittedOnDailyAt")
    featured_on = parse_iso(featured).date() if isinstance(featured, str) else day
    if featured_on is not None:
        upvotes = paper.get("upvotes")
        listing = Listing(
            day=featured_on,
            source=SOURCE,
            submitter=_submitter(paper.get("submittedOnDailyBy") or (item or {}).get("submittedBy")),
            upvotes=upvotes if isinstance(upvotes, int) and upvotes >= 0 else 0,
        )
    org = paper.get("organization") or (item or {}).get("organization")
    extra = {k: paper[k] for k in _EXTRA_KEYS if paper.get(k) not in (None, "", [])}
    thumbnail = (item or {}).get("thumbnail")
    if isinstance(thumbnail, str) and thumbnail.startswith("https://"):
        extra["thumbnail"] = thumbnail
    if isinstance(org, dict) and org.get("name"):
        extra["organization"] = {"name": org.get("name"), "fullname": org.get("fullname", "")}
    return admit(
        PaperRecord(
            id=arxiv_id,
            source=SOURCE,
            title=title,
            abstract=abstract,
            authors=authors,
            published=parse_iso(published) if isinstance(published, str) else None,
            code_urls=code,
            project_urls=project,
            listing=listing,
            extra=extra,
        )
    )


def parse(data: bytes, *, where: str, day: dt.date | None = None) -> tuple[list[PaperRecord], list[SourceError]]:
    """Records from a daily-papers list or a single paper object; bad items become errors. `day`: the day
    a list was asked for, the featured day of items that do not name one."""
    try:
        doc = orjson.loads(strip_bom(data))
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"malformed JSON ({exc})", where=where) from exc
    if isinstance(doc, dict) and "error" in doc and "id" not in doc:
        raise SourceError(f"Hugging Face error response: {doc['error']}", where=where)
    if isinstance(doc, dict) and "id" not in doc and "paper" not in doc:
        raise SourceError("not a Hugging Face papers response (an object with no 'id' or 'paper')", where=where)
    if not isinstance(doc, list | dict):
        raise SourceError(f"not a Hugging Face papers response (a JSON {type(doc).__name__})", where=where)
    items = doc if isinstance(doc, list) else [doc]
    records, errors = [], []
    for index, item in enumerate(items):
        label = f"{where} item {index}"
        try:
            if isinstance(item, dict) and "paper" in item:
                records.append(record_from_paper(item["paper"], item, day))
            else:
                records.append(record_from_paper(item))
        # AttributeError: a field of the wrong JSON type (a number for a title).
        except (ValueError, KeyError, TypeError, AttributeError, InvalidArxivId) as exc:
            paper = item.get("paper", item) if isinstance(item, dict) else None
            pid = paper.get("id") if isinstance(paper, dict) else None
            errors.append(SourceError(str(exc), where=label + (f" (id {pid})" if isinstance(pid, str) else "")))
    return records, errors


_DATED_NAME = re.compile(r"(?<!\d)(\d{4}-\d{2}-\d{2})(?!\d)")


def day_of_file(where: str) -> dt.date | None:
    """The date a file is named by (`2024-05-27.json`, as answers of `/api/daily_papers?date=D` are
    archived), or None."""
    found = _DATED_NAME.search(where.replace("\\", "/").rsplit("/", 1)[-1])
    try:
        return dt.date.fromisoformat(found.group(1)) if found else None
    except ValueError:
        return None


def iter_file(fp: IO[bytes], where: str) -> Iterator[PaperRecord | SourceError]:
    """A file's records. Items of the older answers, which do not say when they were featured, are featured
    on the date the file is named by, if it is."""
    records, errors = parse(fp.read(), where=where, day=day_of_file(where))
    yield from records
    yield from errors
