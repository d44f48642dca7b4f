"""Our papers in Hugging Face's JSON shapes, field for field, so `huggingface_hub` reads them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dailypapers.sources.record import Submitter
from dailypapers.store.feed import Entry, PaperDetail


def _ts(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user(s: Submitter | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "_id": s.name,
        "avatarUrl": s.avatar_url,
        "fullname": s.fullname or s.name,
        "name": s.name,
        "user": s.name,
        "type": "user",
        "isPro": False,
    }


def paper(e: Entry) -> dict[str, Any]:
    """The `paper` object of `/api/daily_papers` items and of `/api/papers/{id}`."""
    out: dict[str, Any] = {
        "id": e.id,
        "authors": [{"_id": f"{e.id}#{i}", "name": a["name"], "hidden": False} for i, a in enumerate(e.authors)],
        "publishedAt": _ts(e.published),
        "submittedOnDailyAt": _ts(e.day),
        "title": e.title,
        "summary": e.abstract,
        "upvotes": e.upvotes,
        # Ours, beside Hugging Face's fields: the total's two parts (clients that do not know them ignore them).
        "hfUpvotes": e.hf_upvotes,
        "localUpvotes": e.votes,
        "discussionId": e.id,
    }
    if e.submitter:
        out["submittedOnDailyBy"] = user(e.submitter)
    if e.code_urls:
        out["githubRepo"] = e.code_urls[0]
    if e.project_urls:
        out["projectPage"] = e.project_urls[0]
    for key in ("ai_summary", "ai_keywords", "githubStars", "mediaUrls"):
        if key in e.extra:
            out[key] = e.extra[key]
    if e.stars is not None:  # our own count from GitHub (docs/github.md), fresher than an imported one
        out["githubStars"] = e.stars
        out["githubStarsGrowth"] = e.stars_growth
        out["githubPushedAt"] = _ts(e.code_pushed_at)
    org = e.extra.get("organization")
    if isinstance(org, dict):
        out["organization"] = {
            "_id": org.get("name"),
            "name": org.get("name"),
            "fullname": org.get("fullname", ""),
        }
    return out


def daily_item(e: Entry, base_url: str) -> dict[str, Any]:
    """One item of `/api/daily_papers` (and of `/api/papers/search`)."""
    item: dict[str, Any] = {
        "paper": paper(e),
        "publishedAt": _ts(e.published or e.day),
        "title": e.title,
        "summary": e.abstract,
        "thumbnail": e.extra.get("thumbnail") or "",
        "numComments": e.num_comments,
        "isAuthorParticipating": False,
    }
    if e.submitter:
        item["submittedBy"] = user(e.submitter)
    if "organization" in item["paper"]:
        item["organization"] = item["paper"]["organization"]
    return item


def paper_info(d: PaperDetail) -> dict[str, Any]:
    """`/api/papers/{id}`: the paper object, with comment count and our extra metadata."""
    out = paper(d.entry)
    if d.original:  # when and by whom it was first submitted, as on Hugging Face (not its latest day)
        out["submittedOnDailyAt"] = _ts(d.original.day)
    out["numComments"] = d.entry.num_comments
    out["arxivUrl"] = None if d.entry.local else f"https://arxiv.org/abs/{d.entry.id}"
    out["categories"] = d.entry.categories
    out["codeUrls"] = d.entry.code_urls
    out["projectUrls"] = d.entry.project_urls
    return out
