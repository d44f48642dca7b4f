"""What a rule says when it refuses a request. No HTTP here: the web maps these to statuses in one place
(`web/errors.py`), the command line to messages and exit codes.

`str(problem)` is a message for the person who asked, in their words.
"""

from __future__ import annotations


class Problem(Exception):
    """A request refused by a rule of the site."""


class BadRequest(Problem):
    """The request names something malformed or out of range (not an arXiv id, a day before arXiv)."""


class Unprocessable(BadRequest):
    """What the person wrote breaks a rule (an empty or too long comment, a reply to a deleted one).

    The JSON API answers it as it answers a body that fails validation; pages as any bad request.
    """


class NotFound(Problem):
    """What the request is about does not exist (any more)."""


class Forbidden(Problem):
    """The person asking may not do this."""


class Unavailable(Problem):
    """A service the site depends on (arXiv, the mail server) failed; trying later may work."""
