"""Public profile pages: what a member (or an imported Hugging Face submitter) submitted, upvoted and said,
and their public collections."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response

from dailypapers.store import collections, profiles
from dailypapers.store.db import read_tx
from dailypapers.web.auth import render_personal, viewer
from dailypapers.web.site import site_of

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 100


@router.get("/users/{name}")
def profile_page(request: Request, name: str) -> Response:
    """A user's profile; 404 for an unknown name. Concealed comments show only to their author and moderators."""
    if "\x00" in name:  # PostgreSQL cannot even compare text with NUL in it
        raise HTTPException(404, "No such user here.")
    me = viewer(request)
    with read_tx(site_of(request).engine) as conn:
        user = profiles.profile_by_name(conn, name)
        if user is None:
            raise HTTPException(404, "No such user here.")
        include_concealed = me is not None and (me.pk == user.pk or me.is_curator)
        submitted = profiles.submissions_of(conn, user.pk, LIST_LIMIT)
        upvoted = profiles.upvotes_of(conn, user.pk, LIST_LIMIT)
        said = profiles.comments_of(conn, user.pk, include_concealed=include_concealed, limit=LIST_LIMIT)
        public = collections.of_user(conn, user.pk, ("public",))  # never the private or unlisted ones
    return render_personal(
        request,
        "profile.html",
        user=user,
        submitted=submitted,
        upvoted=upvoted,
        comments=said,
        collections=public,
        limit=LIST_LIMIT,
        is_me=me is not None and me.pk == user.pk,
    )
