"""Marking a query's words in titles and abstract excerpts, the same on both databases and for papers
found by meaning: pure Python over the parsed query (`search.query.spans`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from dailypapers.search.query import Query, spans

SNIPPET = 300  # characters of abstract shown around the matches
_MARK, _END = Markup("<mark>"), Markup("</mark>")


@dataclass(frozen=True)
class Highlight:
    title: Markup  # the escaped title, matches in <mark>
    snippet: Markup  # an escaped excerpt of the abstract around the matches (else its start), <mark>ed


def highlights(q: Query, rows: Mapping[int, tuple[str, str]]) -> dict[int, Highlight]:
    """Titles and abstract excerpts of papers (pk -> (title, abstract)) with the query's words marked.

    Pure Python, so it marks the same words on both engines and for semantic hits: words match
    case- and accent-insensitively, and across plural and -ed/-ing endings.
    """
    out = {}
    for pk, (title, abstract) in rows.items():
        title, abstract = title or "", abstract or ""
        out[pk] = Highlight(title=_marked(title, spans(q, title)), snippet=_snippet(abstract, spans(q, abstract)))
    return out


def _marked(text_: str, found: Sequence[tuple[int, int]], start: int = 0, end: int | None = None) -> Markup:
    end = len(text_) if end is None else end
    out, pos = [], start
    for s, e in found:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        out += [escape(text_[pos:s]), _MARK, escape(text_[s:e]), _END]
        pos = e
    out.append(escape(text_[pos:end]))
    return Markup("").join(out)


def _snippet(abstract: str, found: Sequence[tuple[int, int]]) -> Markup:
    """About SNIPPET characters of the abstract: where most matches are, else its beginning."""
    if len(abstract) <= SNIPPET:
        return _marked(abstract, found)
    start, best = 0, 0
    for s, _ in found:
        begin = max(0, s - SNIPPET // 5)
        n = sum(1 for a, b in found if a >= begin and b <= begin + SNIPPET)
        if n > best:
            start, best = begin, n
    end = min(len(abstract), start + SNIPPET)
    start = max(0, min(start, end - SNIPPET))
    if start > 0:  # start and end on word boundaries
        space = abstract.find(" ", start, start + 30)
        start = space + 1 if space != -1 else start
    if end < len(abstract):
        space = abstract.rfind(" ", end - 30, end)
        end = space if space > start else end
    body = _marked(abstract, found, start, end)
    return Markup("…" if start > 0 else "") + body + Markup("…" if end < len(abstract) else "")
