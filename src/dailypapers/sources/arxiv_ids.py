"""arXiv identifiers: parse the forms people and feeds use, normalize to one key.

New style: `YYMM.NNNN` (2007-2014) or `YYMM.NNNNN` (2015+). Old style: `archive[.SC]/YYMMNNN`,
e.g. `hep-th/9901001` or `math.GT/0309136`; the subject class is not part of the key.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

# ASCII only: `\d` would otherwise accept other scripts' digits (`２４０１.０１２３４`). Versions start at 1.
_NEW = re.compile(r"(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>[1-9]\d*))?", re.ASCII)
_OLD = re.compile(r"(?P<arch>[a-z]+(?:-[a-z]+)*)(?:\.[A-Za-z-]{1,8})?/(?P<num>\d{7})(?:v(?P<v>[1-9]\d*))?", re.ASCII)
_PREFIXES = re.compile(
    r"^(?:https?://)?(?:(?:www|export)\.)?arxiv\.org/(?:abs|pdf|html)/"
    r"|^oai:arxiv\.org:|^arxiv:",
    re.IGNORECASE,
)


class InvalidArxivId(ValueError):
    """The text is not an arXiv identifier or URL."""


def parse_arxiv_id(text: str) -> tuple[str, int | None]:
    """Return `(id_without_version, version_or_None)` for an id, `arXiv:` id, OAI id or arXiv URL.

    Raises InvalidArxivId naming the text when it is none of those.
    """
    raw = (text or "").strip()
    s = unquote(raw) if "%" in raw else raw
    s = _PREFIXES.sub("", s)
    s = s.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if s.lower().endswith(".pdf"):
        s = s[:-4]
    m = _NEW.fullmatch(s)
    if m:
        if not 1 <= int(s[2:4]) <= 12:
            raise InvalidArxivId(f"not an arXiv id (month {s[2:4]} out of range): {raw!r}")
        yymm = int(s[:4])
        if len(m["id"]) == 10 and yymm < 1501:
            raise InvalidArxivId(f"not an arXiv id (5-digit numbers start in 2015): {raw!r}")
        if len(m["id"]) == 9 and not 704 <= yymm <= 1412:
            raise InvalidArxivId(f"not an arXiv id (4-digit numbers are from 0704 to 1412): {raw!r}")
        return m["id"], int(m["v"]) if m["v"] else None
    m = _OLD.fullmatch(s)
    if m:
        return f"{m['arch']}/{m['num']}", int(m["v"]) if m["v"] else None
    raise InvalidArxivId(f"not an arXiv id or arXiv URL: {raw!r}")


def id_note(text: str) -> str:
    """` (id 2401.01234)` for a text that holds an arXiv id, to name a record in an error; "" otherwise."""
    try:
        return f" (id {parse_arxiv_id(text)[0]})"
    except InvalidArxivId:
        return ""


def normalize_arxiv_id(text: str) -> str:
    """The id without version; raises InvalidArxivId."""
    return parse_arxiv_id(text)[0]


def abs_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def pdf_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/pdf/{arxiv_id}"
