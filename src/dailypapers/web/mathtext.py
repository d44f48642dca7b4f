"""Titles, abstracts and excerpts as HTML: formulas as MathML (rendered by the browser, no script), TeX text
macros decoded, and links in abstracts as links. These are the templates' filters (`FILTERS`):

- `math_title`: a title (formulas inline; no links, as titles sit inside links);
- `math_abstract`: a whole abstract, as `<p>` paragraphs, its http(s) URLs linked;
- `math_snippet(length=300)`: the start of an abstract, cut between words and never inside a formula;
- `math_marked(source)`: a search highlight (`search.highlight`, escaped text with `<mark>`s) of `source`
  with its formulas rendered, the marks kept (a formula with a mark in it is marked whole);
- `plain_text`: text without markup, for <title>, attributes and feeds (`sources.latex.plain_text`).

Only what the renderer writes is markup: all text is escaped, and the result goes through nh3 with an
allow-list (the MathML of `sources.mathml`, a few text styles, links to http and https only, marked
`rel="nofollow noopener"`). A formula that does not parse is shown as its source.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from dataclasses import replace

import nh3
from markupsafe import Markup, escape

from dailypapers.sources.latex import Piece, pieces, plain_text
from dailypapers.sources.mathml import MATH_ATTRIBUTES, MATH_TAGS, formula_mathml, safe_math_attribute

SNIPPET = 300
SNIPPET_SLACK = 60  # characters of source a formula at the end of a snippet may run past its length
_STYLE_TAGS = {"b": "b", "i": "i", "em": "em", "tt": "code", "u": "u", "sup": "sup", "sub": "sub", "sc": "span"}
_OPEN = {style: f"<{tag}>" for style, tag in _STYLE_TAGS.items()} | {"sc": '<span class="sc">'}
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*|\n[ \t]+")  # a blank line, or arXiv's indented first line
_MARK = re.compile(r"(</?mark>)")
LINK_REL = "nofollow noopener"

Marks = Sequence[tuple[int, int]]


def _attribute(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "rel":
        return LINK_REL  # nh3 sets it on every link
    if tag == "a":
        return value if attr == "href" and value.lower().startswith(("http://", "https://")) else None
    if tag == "span":
        return value if attr == "class" and value == "sc" else None
    return safe_math_attribute(tag, attr, value)


_CLEANER = nh3.Cleaner(
    tags=set(MATH_TAGS) | {"p", "a", "mark", "span", *_STYLE_TAGS.values()},
    clean_content_tags={"script", "style"},
    attributes={**MATH_ATTRIBUTES, "a": {"href"}, "span": {"class"}},
    attribute_filter=_attribute,
    link_rel=LINK_REL,
    url_schemes={"http", "https"},
    url_relative="deny",
    strip_comments=True,
)


@functools.lru_cache(maxsize=4096)
def _pieces(text: str, urls: bool) -> tuple[Piece, ...]:
    return tuple(pieces(text, urls=urls))


def _escaped(text: str) -> str:
    return str(escape(text.replace("\n", " ")))


def _text_html(p: Piece, marks: Marks) -> str:
    """An exact text piece with the marks that fall in it."""
    out, pos = [], p.start
    for s, e in marks:
        s, e = max(s, pos), min(e, p.end)
        if s < e:
            before, inside = p.text[pos - p.start : s - p.start], p.text[s - p.start : e - p.start]
            out += [_escaped(before), "<mark>", _escaped(inside), "</mark>"]
            pos = e
    out.append(_escaped(p.text[pos - p.start :]))
    return "".join(out)


def _piece_html(source: str, p: Piece, marks: Marks, links: bool, block: bool) -> str:
    if p.kind == "text" and p.exact:
        return _text_html(p, marks)
    if p.kind == "math":
        mathml = formula_mathml(p.text, p.display and block)
        out = mathml if mathml is not None else _escaped(source[p.start : p.end])
    elif p.kind == "url" and links:
        out = f'<a href="{escape(p.text)}">{_escaped(p.label or p.text)}</a>'
    else:
        out = _escaped(p.label or p.text)
    if any(s < p.end and e > p.start for s, e in marks):
        out = f"<mark>{out}</mark>"
    return out


def _render(source: str, parts: Sequence[Piece], marks: Marks = (), *, links: bool = False, block: bool = False) -> str:
    out: list[str] = []
    styles: tuple[str, ...] = ()
    for p in (*parts, None):
        new = p.style if p else ()
        same = 0
        while same < min(len(styles), len(new)) and styles[same] == new[same]:
            same += 1
        out += [f"</{_STYLE_TAGS[s]}>" for s in reversed(styles[same:])] + [_OPEN[s] for s in new[same:]]
        styles = new
        if p:
            out.append(_piece_html(source, p, marks, links, block))
    return "".join(out)


def _clean(markup: str) -> Markup:
    return Markup(_CLEANER.clean(markup))


def _window(parts: Sequence[Piece], lo: int, hi: int) -> list[Piece]:
    """The pieces between `lo` and `hi` of the source: text cut there, formulas and links kept whole."""
    out = []
    for p in parts:
        if p.end <= lo or p.start >= hi:
            continue
        if p.exact and (p.start < lo or p.end > hi):
            s, e = max(p.start, lo), min(p.end, hi)
            p = replace(p, text=p.text[s - p.start : e - p.start], start=s, end=e)
        out.append(p)
    return out


@functools.lru_cache(maxsize=4096)
def title_html(text: str | None) -> Markup:
    """A title: formulas as inline MathML, text macros decoded; no links (titles are links themselves)."""
    text = text or ""
    return _clean(_render(text, _pieces(text, False)))


@functools.lru_cache(maxsize=1024)
def abstract_html(text: str | None) -> Markup:
    """A whole abstract as `<p>` paragraphs: formulas as MathML (`$$` ones as blocks), URLs linked."""
    paragraphs = [p.strip() for p in _PARAGRAPH.split((text or "").strip())]
    return _clean("".join(f"<p>{_render(p, _pieces(p, True), links=True, block=True)}</p>" for p in paragraphs if p))


@functools.lru_cache(maxsize=4096)
def snippet_html(text: str | None, length: int = SNIPPET) -> Markup:
    """About `length` characters of the start of `text` (cut between words, never inside a formula), with
    its formulas inline; no links (a card may be a link as a whole)."""
    text = text or ""
    parts: Sequence[Piece] = _pieces(text, False)
    if len(text) <= length:
        return _clean(_render(text, parts))
    cut = len(text[:length].rsplit(" ", 1)[0])
    for p in parts:  # a formula across the cut is shown whole, or left out when it would run long
        if not p.exact and p.start < cut < p.end and p.end - cut > SNIPPET_SLACK and p.start > length // 2:
            cut = p.start
    parts = _window(parts, 0, cut)
    if parts and parts[-1].exact:
        last = parts[-1]
        parts[-1] = replace(last, text=last.text.rstrip(",;:. \n"))
    return _clean(_render(text, parts) + "…")


def marked_html(marked: str, source: str | None) -> Markup:
    """A highlight of `source` (its title, or an excerpt of its abstract, with `<mark>`s, as
    `search.highlight` writes them) with the formulas rendered and the marks kept. When the highlight is not
    a part of `source`, it is shown as it came (escaped text with marks, as `search.highlight` writes it)."""
    text, source = str(marked), source or ""
    lead, trail = text.startswith("…"), text.endswith("…") and len(text) > 1
    body = text[1 if lead else 0 : len(text) - 1 if trail else len(text)]
    plain, marks, pos, opened = [], [], 0, -1
    for token in _MARK.split(body):
        if token == "<mark>":
            opened = pos
        elif token == "</mark>":
            if opened >= 0:
                marks.append((opened, pos))
            opened = -1
        else:
            token = html.unescape(token)
            plain.append(token)
            pos += len(token)
    found = "".join(plain)
    offset = source.find(found) if found else -1
    if offset < 0:
        return _clean(text)  # escaped text and marks already; cleaned all the same
    marks = [(s + offset, e + offset) for s, e in marks]
    parts = _window(_pieces(source, False), offset, offset + len(found))
    return _clean(("…" if lead else "") + _render(source, parts, marks) + ("…" if trail else ""))


FILTERS = {
    "math_title": title_html,
    "math_abstract": abstract_html,
    "math_snippet": snippet_html,
    "math_marked": marked_html,
    "plain_text": plain_text,
}
