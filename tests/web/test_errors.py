"""One mapping from refusals to HTTP statuses, pages and JSON API alike."""

from __future__ import annotations

import pytest

from dailypapers.accounts.membership import NameTaken
from dailypapers.comments.discussion import InvalidComment
from dailypapers.digest.prefs import InvalidRequest
from dailypapers.problems import BadRequest, Forbidden, NotFound, Problem, Unavailable, Unprocessable
from dailypapers.web.errors import status_for


@pytest.mark.parametrize(
    ("problem", "page", "api"),
    [
        (BadRequest("not an arXiv id"), 400, 400),
        (NameTaken("taken"), 400, 400),
        (InvalidRequest("bad address"), 400, 400),
        (Unprocessable("empty comment"), 400, 422),
        (InvalidComment("empty comment"), 400, 422),
        (NotFound("no such paper"), 404, 404),
        (Forbidden("curators only"), 403, 403),
        (Unavailable("arXiv is down"), 502, 502),
        (Problem("anything else"), 400, 400),
    ],
)
def test_each_refusal_has_one_status(problem: Problem, page: int, api: int) -> None:
    assert status_for(problem, api=False) == page
    assert status_for(problem, api=True) == api
