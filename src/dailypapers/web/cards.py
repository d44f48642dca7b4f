"""What a page of cards needs besides the entries: the viewer's upvotes and saves, and the cached thumbnails and
avatars (`/media/...`, docs/media.md) to show. One query each for the whole page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dailypapers.config import Settings
from dailypapers.store import descriptions, media, saves, votes
from dailypapers.store.feed import Entry


def thumbnail_of(e: Entry) -> str | None:
    url = e.extra.get("thumbnail") if isinstance(e.extra, dict) else None
    return url if isinstance(url, str) and url else None


def card_context(conn: Any, settings: Settings, ctx: dict[str, Any], entries: Sequence[Entry]) -> dict[str, Any]:
    """`ctx` plus `voted` and `saved` (the pks of these papers the viewer upvoted, saved), `thumbs` (pk to
    the local URL of its cached thumbnail), `avatars` (a submitter's stored avatar URL to its cached copy)
    and `descs` (pk to its TL;DR and keywords: Hugging Face's, else ours, docs/summaries.md)."""
    viewer = ctx.get("viewer")
    pks = [e.pk for e in entries]
    thumbs = {e.pk: thumbnail_of(e) for e in entries}
    avatars = [e.submitter.avatar_url for e in entries if e.submitter and e.submitter.avatar_url]
    local = media.local_urls(conn, [*thumbs.values(), *avatars], base=settings.hf_api_url) if entries else {}
    return {
        **ctx,
        "voted": votes.voted_among(conn, viewer.pk, pks) if viewer else set(),
        "saved": saves.saved_among(conn, viewer.pk, pks) if viewer else set(),
        "thumbs": {pk: local[url] for pk, url in thumbs.items() if url and local.get(url)},
        "avatars": {url: local[url] for url in avatars if local.get(url)},
        "descs": descriptions.for_papers(conn, pks) if entries else {},
    }
