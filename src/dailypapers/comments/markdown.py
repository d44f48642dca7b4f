"""Comment Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off), then nh3 (ammonia).

markdown-it already escapes raw HTML and refuses `javascript:` links; nh3 is the second line of
defence and the one that decides what may reach the page: a few formatting tags, and links to
http, https and mailto URLs only, marked `rel="nofollow noopener ugc"`.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_BODY = 10_000
ALLOWED_SCHEMES = ("http://", "https://", "mailto:")
TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
LINK_REL = "nofollow noopener ugc"


class BodyProblem(ValueError):
    """A comment body that cannot be accepted (empty or too long); the message says why."""


def _safe_url(url: str) -> bool:
    return url.strip().lower().startswith(ALLOWED_SCHEMES)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    # Headings, rules and images are not part of the comment subset: they stay literal text,
    # so `![x](url)` becomes "!" and a plain link, and `# Title` a paragraph.
    md.disable(["heading", "lheading", "hr", "image"])
    md.validateLink = _safe_url  # type: ignore[method-assign]
    return md


_MD = _markdown()


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "a" and attr == "href":
        return value if _safe_url(value) else None
    if tag == "ol" and attr == "start":
        return value if value.isdigit() and len(value) < 10 else None
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
