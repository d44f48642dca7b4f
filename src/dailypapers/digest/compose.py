"""What a digest holds and how it reads: a period's featured papers, best first, new to the subscriber."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape

import css_inline
import jinja2
from sqlalchemy import Connection, text

from dailypapers.config import Settings
from dailypapers.digest import links
from dailypapers.mail import outbox
from dailypapers.ranking.trending import TrendingParams, hours_since_featured, reference_time, score
from dailypapers.store import subscriptions
from dailypapers.store.subscriptions import Subscriber

MAX_PAPERS = 10
SNIPPET = 300


@dataclass(frozen=True)
class Period:
    """A daily or weekly period: its ledger key ('daily:2026-11-27', 'weekly:2026-W48') and days."""

    frequency: str
    start: dt.date
    end: dt.date

    @property
    def key(self) -> str:
        if self.frequency == "daily":
            return f"daily:{self.start.isoformat()}"
        year, week, _ = self.start.isocalendar()
        return f"weekly:{year}-W{week:02d}"

    @property
    def label(self) -> str:
        return self.key.split(":", 1)[1]


def parse_period(frequency: str, value: str | None = None, today: dt.date | None = None) -> Period:
    """`value` ('YYYY-MM-DD' daily, 'YYYY-Www' weekly) or, if None, the latest complete period before `today`."""
    today = today or dt.datetime.now(dt.UTC).date()
    if frequency == "daily":
        day = dt.date.fromisoformat(value) if value else today - dt.timedelta(days=1)
        return Period("daily", day, day)
    if frequency != "weekly":
        raise ValueError("frequency is 'daily' or 'weekly'")
    if value:
        try:
            year, week = value.upper().split("-W")
            monday = dt.date.fromisocalendar(int(year), int(week), 1)
        except ValueError as exc:
            raise ValueError(f"a week looks like 2026-W48, not {value!r}") from exc
    else:
        monday = today - dt.timedelta(days=today.weekday() + 7)
    return Period("weekly", monday, monday + dt.timedelta(days=6))


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
    score: float = 0.0


_SQL = """
SELECT p.pk, p.id, p.title, p.authors_text, p.abstract, p.categories, l.day,
       coalesce(l.upvotes, 0) + p.votes AS upvotes
FROM daily_listings l JOIN papers p ON p.pk = l.paper_pk
WHERE l.day >= :start AND l.day <= :end AND NOT p.withdrawn
"""


def period_papers(conn: Connection, period: Period, params: TrendingParams) -> list[DigestPaper]:
    """The period's featured papers (each once), best trending score first."""
    best: dict[int, DigestPaper] = {}
    now = reference_time(period.end)
    for row in conn.execute(text(_SQL), {"start": period.start, "end": period.end}):
        day = row.day if isinstance(row.day, dt.date) else dt.date.fromisoformat(str(row.day))
        cats = row.categories if isinstance(row.categories, list) else subscriptions.json_list(row.categories)
        upvotes = int(row.upvotes or 0)
        paper = DigestPaper(
            int(row.pk), row.id, row.title or "", row.authors_text or "", row.abstract or "", cats, upvotes, day
        )
        paper = DigestPaper(**{**paper.__dict__, "score": score(upvotes, hours_since_featured(day, now), params)})
        if paper.pk not in best or paper.score > best[paper.pk].score:
            best[paper.pk] = paper
    return sorted(best.values(), key=lambda p: (-p.score, -p.upvotes, p.id))


def matches(paper: DigestPaper, sub: Subscriber) -> bool:
    """No filters: everything. Otherwise any of the subscriber's categories or keywords."""
    if not sub.categories and not sub.keywords:
        return True
    if set(sub.categories) & set(paper.categories):
        return True
    haystack = f"{paper.title}\n{paper.abstract}".lower()
    return any(k.lower() in haystack for k in sub.keywords)


def select_papers(conn: Connection, sub: Subscriber, papers: list[DigestPaper]) -> list[DigestPaper]:
    """The subscriber's share of `papers`: matching, never mailed to them before, at most MAX_PAPERS."""
    received = subscriptions.received_papers(conn, sub.pk)
    return [p for p in papers if p.pk not in received and matches(p, sub)][:MAX_PAPERS]


def _snippet(abstract: str) -> str:
    flat = " ".join(abstract.split())
    return flat if len(flat) <= SNIPPET else flat[: SNIPPET - 1].rsplit(" ", 1)[0] + "…"


_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("dailypapers.digest", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


def _render(name: str, **context: object) -> str:
    return _templates.get_template(name).render(snippet=_snippet, **context)


# Placeholders for the per-subscriber links: the rest of a digest only depends on its papers, so it is
# rendered and CSS-inlined once per distinct selection (most subscribers get the same one).
_MANAGE, _UNSUBSCRIBE = "https://link.invalid/manage", "https://link.invalid/unsubscribe"
_BODIES_MAX = 256
_bodies: dict[tuple[object, ...], tuple[str, str, str]] = {}


def _bodies_for(base_url: str, period: Period, papers: list[DigestPaper]) -> tuple[str, str, str]:
    """(subject, text, html) with placeholder links, from a small per-process cache."""
    key = (base_url, period, tuple((p.pk, p.title, p.authors, p.abstract, p.upvotes, p.id) for p in papers))
    found = _bodies.get(key)
    if found is None:
        what = "Daily" if period.frequency == "daily" else "Weekly"
        subject = f"{what} Papers digest, {period.label}: {len(papers)} paper{'s' if len(papers) != 1 else ''}"
        shown = [{**p.__dict__, "arxiv": not p.id.startswith("local-")} for p in papers]
        context = {
            "subject": subject,
            "period": period,
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
    """The digest mail: plain text and HTML (its CSS inlined), manage and unsubscribe links, RFC 8058 headers."""
    manage = links.manage_url(settings, sub.pk, sub.email)
    unsubscribe = links.unsubscribe_url(settings, sub.pk, sub.email)
    subject, text, html = _bodies_for(settings.base_url, period, papers)
    text = text.replace(_MANAGE, manage).replace(_UNSUBSCRIBE, unsubscribe)
    html = html.replace(_MANAGE, escape(manage)).replace(_UNSUBSCRIBE, escape(unsubscribe))
    msg = outbox.message(settings, sub.email, subject, text, html, cte="base64")
    msg["List-Unsubscribe"] = f"<{unsubscribe}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return msg
