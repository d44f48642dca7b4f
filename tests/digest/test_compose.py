"""The digest mail itself: CSS inlined for mail clients, data escaped, a plain-text twin."""

from __future__ import annotations

import datetime as dt

from dailypapers.config import Settings
from dailypapers.digest.compose import DigestPaper, Period, compose
from dailypapers.store.subscriptions import Subscriber
from tests.digest.helpers import SECRET

DAY = dt.date(2026, 1, 5)


def _mail(title: str, paper_id: str = "2601.00001"):  # type: ignore[no-untyped-def]
    settings = Settings(secret_key=SECRET, base_url="https://papers.example.org")
    sub = Subscriber(7, "ada@example.org", "daily", [], [], None, None, None)
    paper = DigestPaper(1, paper_id, title, "Ada Lovelace, Alan Turing", "An abstract. " * 60, ["cs.CL"], 12, DAY)
    return compose(settings, sub, Period("daily", DAY, DAY), [paper])


def test_html_part_has_its_css_inlined_and_no_style_block() -> None:
    html = _mail("Attention is all you need").get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<style" not in html
    assert 'class="title" href="https://papers.example.org/papers/2601.00001" style="' in html
    assert "font-weight: bold" in html and "https://arxiv.org/pdf/2601.00001" in html


def test_titles_are_escaped_in_html_and_kept_verbatim_in_text() -> None:
    msg = _mail('<img src=x onerror="alert(1)"> & $\\alpha$-nets')
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<img" not in html and "&lt;img src=x" in html and "&amp; $\\alpha$-nets" in html
    assert '1. <img src=x onerror="alert(1)"> & $\\alpha$-nets' in text
    assert "Unsubscribe: https://papers.example.org/unsubscribe?token=" in text


def test_local_papers_get_no_arxiv_links() -> None:
    html = _mail("A local paper", "local-3f2a").get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "/papers/local-3f2a" in html and "arxiv.org" not in html
