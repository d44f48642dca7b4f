"""arXiv category names, as a feed filter asks for them (`?cat=cs.CL&cat=hep-th`).

A category is an archive (`cs`, `hep-th`, `q-bio`, `cond-mat`), optionally with a subject class
(`cs.CL`, `math.AG`, `q-bio.NC`, `cond-mat.mes-hall`); an archive alone stands for all its classes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from dailypapers.problems import Unprocessable

MAX_CATEGORIES = 20  # in one filter
_PART = r"[A-Za-z]+(?:-[A-Za-z]+)*"
_CATEGORY = re.compile(rf"{_PART}(?:\.{_PART})?")
_MAX_LENGTH = 40


def filter_categories(values: Iterable[str]) -> tuple[str, ...]:
    """The categories a filter names: repeated values and comma-separated lists both work, duplicates
    (in any case) count once. Raises Unprocessable for a name that is not a category's."""
    found: dict[str, str] = {}
    for value in values:
        for part in value.split(","):
            name = part.strip()
            if not name:
                continue
            if len(name) > _MAX_LENGTH or not _CATEGORY.fullmatch(name):
                shown = repr(name if len(name) <= _MAX_LENGTH else name[:_MAX_LENGTH] + "…")
                raise Unprocessable(
                    f"cat: {shown} is not an arXiv category (categories look like cs.CL, math.AG, hep-th or q-bio.NC)"
                )
            found.setdefault(name.lower(), name)
    if len(found) > MAX_CATEGORIES:
        raise Unprocessable(f"cat: at most {MAX_CATEGORIES} categories at once")
    return tuple(found.values())
