"""Comment Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off), then nh3 (ammonia).

markdown-it already escapes raw HTML and refuses `javascript:` links; nh3 is the second line of
defence and the one that decides what may reach the page: a few formatting tags, links to
http, https and mailto URLs only, marked `rel="nofollow noopener ugc"`, and the MathML of formulas.

Formulas are TeX between `$...$` (inline) or `$$...$$` (display), as pandoc reads them, so that prices
stay prices: no space just inside the dollars, and no digit right after the closing one. They become
MathML (`sources.mathml`), or stay as typed when they do not parse; code spans and blocks keep their `$`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import escape

from dailypapers.sources.mathml import MATH_ATTRIBUTES, MATH_TAGS, MAX_FORMULA, formula_mathml, safe_math_attribute

MAX_BODY = 10_000
ALLOWED_SCHEMES = ("http://", "https://", "mailto:")
TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", *MATH_TAGS}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}, **MATH_ATTRIBUTES}
LINK_REL = "nofollow noopener ugc"


class BodyProblem(ValueError):
    """A comment body that cannot be accepted (empty or too long); the message says why."""


def _safe_url(url: str) -> bool:
    return url.strip().lower().startswith(ALLOWED_SCHEMES)


def _math(state: StateInline, silent: bool) -> bool:
    """`$x^2$` or `$$x^2$$` at the current position: a "math" token with the formula."""
    src, start = state.src, state.pos
    if src[start] != "$":
        return False
    delim = "$$" if src.startswith("$$", start) else "$"
    begin = start + len(delim)
    inline = delim == "$"  # `$$` formulas may have spaces and line breaks inside their dollars
    if begin >= state.posMax or inline and src[begin].isspace():
        return False
    limit = min(state.posMax, begin + MAX_FORMULA + len(delim))
    end = src.find(delim, begin, limit)
    while end != -1 and src[end - 1] == "\\":  # an escaped dollar is part of the formula
        end = src.find(delim, end + 1, limit)
    if end == -1 or "`" in src[begin:end]:
        return False  # a backtick inside: the dollars belong to a code span, not to a formula
    if inline and (src[end - 1].isspace() or src[end + 1 : end + 2].isdigit()):
        return False  # `$5 and $10`: the next dollar does not close a formula, so this one opens none
    if not silent:
        token = state.push("math", "math", 0)
        token.content, token.markup = src[begin:end], delim
    state.pos = end + len(delim)
    return True


def _render_math(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    mathml = formula_mathml(token.content, display=token.markup == "$$")
    return mathml if mathml is not None else str(escape(token.markup + token.content + token.markup))


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Headings, rules and images are not part of the comment subset: they stay literal text,
    # so `![x](url)` becomes "!" and a plain link, and `# Title` a paragraph.
    md.disable(["heading", "lheading", "hr", "image"])
    md.validateLink = _safe_url  # type: ignore[method-assign]
    md.inline.ruler.before("escape", "math", _math)
    md.add_render_rule("math", _render_math)
    return md


_MD = _markdown()


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if _safe_url(value) else None
    if tag == "ol" and attr == "start":
        return value if value.isdigit() and len(value) < 10 else None
    if tag in MATH_TAGS:
        return safe_math_attribute(tag, attr, value)
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS,
    clean_content_tags={"script", "style"},
    attributes=ATTRIBUTES,
    attribute_filter=_attribute_filter,
    link_rel=LINK_REL,
    url_schemes={"http", "https", "mailto"},
    url_relative="deny",
    strip_comments=True,
)


def check_body(body: str) -> str:
    """The body as it will be stored (line endings normalized, outer whitespace trimmed).

    Raises BodyProblem when it is empty or longer than MAX_BODY characters.
    """
    body = body.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not body:
        raise BodyProblem("Write something first: the comment is empty.")
    if len(body) > MAX_BODY:
        raise BodyProblem(f"Comments can have at most {MAX_BODY:,} characters; this one has {len(body):,}.")
    return body


def render_markdown(body: str) -> str:
    """Sanitized HTML for a comment's Markdown; safe to insert into a page unescaped."""
    return _CLEANER.clean(_MD.render(body)).strip()
