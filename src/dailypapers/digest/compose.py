"""What a digest holds and how it reads: a period's featured papers, best first, new to the subscriber."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape
from typing import TYPE_CHECKING

import css_inline
import jinja2

from dailypapers import mail, periods
from dailypapers.config import Settings
from dailypapers.digest import links
from dailypapers.digest.prefs import FREQUENCIES
from dailypapers.periods import Period
from dailypapers.ranking import order
from dailypapers.ranking.score import TrendingParams
from dailypapers.sources.latex import plain_text
from dailypapers.store.subscribers import Subscriber

if TYPE_CHECKING:
    from sqlalchemy import Connection

MAX_PAPERS = 10
SNIPPET = 300


def digest_period(frequency: str, value: str | None = None, today: dt.date | None = None) -> Period:
    """The period a `frequency` digest mails: `value` ('YYYY-MM-DD' daily, 'YYYY-Www' weekly) or, if None,
    the latest one over before `today` (UTC today by default). ValueError names what is wrong."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency is one of {', '.join(FREQUENCIES)}, not {frequency!r}")
    kind = FREQUENCIES[frequency]
    if value:
        return periods.parse(kind, value)
    return periods.latest_complete(kind, today or dt.datetime.now(dt.UTC).date())


def frequency_of(period: Period) -> str:
    """'daily' for a day's digest, 'weekly' for a week's."""
    return next(f for f, kind in FREQUENCIES.items() if kind == period.kind)


def ledger_key(period: Period) -> str:
    """The delivery ledger's name of a period's digest: 'daily:2026-11-27', 'weekly:2026-W48'."""
    return f"{frequency_of(period)}:{period.key}"


@dataclass(frozen=True)
class DigestPaper:
    """One paper as a digest shows it."""

    pk: int
    id: str
    title: str
    authors: str
    abstract: str
    categories: list[str]
    upvotes: int
    day: dt.date
    reason: str = ""  # why it is in a "for you" digest


def period_papers(conn: Connection, period: Period, params: TrendingParams) -> list[DigestPaper]:
    """The period's featured papers in the feed's own trending order for that period (ranking.order), each
    once (where it ranks best), leaving out withdrawn papers."""
    seen: set[int] = set()
    papers = []
    for e in order.ordered(conn, params, period, sort="trending", limit=None):
        if e.pk in seen or e.withdrawn or e.day is None:
            continue
        seen.add(e.pk)
        authors = ", ".join(a["name"] for a in e.authors)
        papers.append(DigestPaper(e.pk, e.id, e.title, authors, e.abstract, e.categories, e.upvotes, e.day))
    return papers


def matches(paper: DigestPaper, sub: Subscriber) -> bool:
    """No filters: everything. Otherwise any of the subscriber's categories or keywords."""
    if not sub.categories and not sub.keywords:
        return True
    if set(sub.categories) & set(paper.categories):
        return True
    haystack = f"{paper.title}\n{paper.abstract}".lower()
    return any(k.lower() in haystack for k in sub.keywords)


def choose(sub: Subscriber, papers: list[DigestPaper], received: Iterable[int]) -> list[DigestPaper]:
    """The subscriber's share of `papers`: matching, not among the `received` paper pks, at most MAX_PAPERS."""
    seen = set(received)
    return [p for p in papers if p.pk not in seen and matches(p, sub)][:MAX_PAPERS]


def _snippet(abstract: str) -> str:
    flat = " ".join(plain_text(abstract).split())  # mail readers render no MathML: TeX as readable text
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rsplit(" ", 1)[0] + "…"


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("dailypapers.digest", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def _render(name: str, **context: object) -> str:
    return _templates.get_template(name).render(snippet=_snippet, plain=plain_text, **context)


# Placeholders for the per-subscriber links: the rest of a digest only depends on its papers, so it is
# rendered and CSS-inlined once per distinct selection (most subscribers get the same one).
_MANAGE, _UNSUBSCRIBE = "https://link.invalid/manage", "https://link.invalid/unsubscribe"
_BODIES_MAX = 256
_bodies: dict[tuple[object, ...], tuple[str, str, str]] = {}


def _bodies_for(
    base_url: str, period: Period, papers: list[DigestPaper], for_you: bool = False
) -> tuple[str, str, str]:
    """(subject, text, html) with placeholder links, from a small per-process cache."""
    shape = tuple((p.pk, p.title, p.authors, p.abstract, p.upvotes, p.id, p.reason) for p in papers)
    key = (base_url, period, for_you, shape)
    found = _bodies.get(key)
    if found is None:
        frequency = frequency_of(period)
        count = f"{len(papers)} paper{'s' if len(papers) != 1 else ''}"
        if for_you:
            subject = f"{frequency.title()} Papers for you, {period.key}: {count}"
        else:
            subject = f"{frequency.title()} Papers digest, {period.key}: {count}"
        shown = [{**p.__dict__, "arxiv": not p.id.startswith("local-")} for p in papers]
        context = {
            "subject": subject,
            "period": period,
            "frequency": frequency,
            "for_you": for_you,
            "papers": shown,
            "base_url": base_url,
            "manage": _MANAGE,
            "unsubscribe": _UNSUBSCRIBE,
        }
        found = (subject, _render("digest.txt", **context), _inliner.inline(_render("digest.html", **context)))
        if len(_bodies) >= _BODIES_MAX:
            _bodies.clear()
        _bodies[key] = found
    return found


def compose(settings: Settings, sub: Subscriber, period: Period, papers: list[DigestPaper]) -> EmailMessage:
    """The digest mail: plain text and HTML (its CSS inlined), manage and unsubscribe links, RFC 8058 headers,
    and marked as bulk mail (`Precedence: bulk`; mail.message marks every message automatic) so that auto-replies
    and out-of-office notices stay away. mail.BadAddress for an address no mail may go to."""
    manage = links.manage_url(settings, sub.pk, sub.email)
    unsubscribe = links.unsubscribe_url(settings, sub.pk, sub.email)
    subject, text, html = _bodies_for(settings.base_url, period, papers, sub.for_you and sub.user_pk is not None)
    text = text.replace(_MANAGE, manage).replace(_UNSUBSCRIBE, unsubscribe)
    html = html.replace(_MANAGE, escape(manage)).replace(_UNSUBSCRIBE, escape(unsubscribe))
    msg = mail.message(settings, sub.email, subject, text, html, cte="base64")
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Precedence"] = "bulk"
    return msg
