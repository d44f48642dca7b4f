"""The digest mail itself: CSS inlined for mail clients, data escaped, a plain-text twin."""

from __future__ import annotations

import datetime as dt

from dailypapers.config import Settings
from dailypapers.digest.compose import DigestPaper, compose
from dailypapers.periods import period_of
from dailypapers.store.subscribers import Subscriber
from tests.support.digest import SECRET

DAY = dt.date(2026, 1, 5)


def _mail(title: str, paper_id: str = "2601.00001"):  # type: ignore[no-untyped-def]
    settings = Settings(secret_key=SECRET, base_url="https://papers.example.org")
    sub = Subscriber(7, "ada@example.org", "daily", [], [], None, None, None)
    paper = DigestPaper(1, paper_id, title, "Ada Lovelace, Alan Turing", "An abstract. " * 60, ["cs.CL"], 12, DAY)
    return compose(settings, sub, period_of("day", DAY), [paper])


def test_html_part_has_its_css_inlined_and_no_style_block() -> None:
    html = _mail("Attention is all you need").get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<style" not in html
    assert 'class="title" href="https://papers.example.org/papers/2601.00001" style="' in html
    assert "font-weight: bold" in html and "https://arxiv.org/pdf/2601.00001" in html


def test_titles_are_escaped_in_html_and_their_tex_readable_in_both() -> None:
    msg = _mail('<img src=x onerror="alert(1)"> & $\\alpha$-nets for \\textbf{Bal\\\'azs}')
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "<img" not in html and "&lt;img src=x" in html and "&amp; α-nets for Balázs" in html
    assert '1. <img src=x onerror="alert(1)"> & α-nets for Balázs' in text  # mail clients render no MathML
    assert "Unsubscribe: https://papers.example.org/unsubscribe?token=" in text


def test_local_papers_get_no_arxiv_links() -> None:
    html = _mail("A local paper", "local-3f2a").get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "/papers/local-3f2a" in html and "arxiv.org" not in html


def test_list_unsubscribe_is_a_plain_url_in_angle_brackets_on_the_wire() -> None:
    raw = bytes(_mail("A paper")).decode()
    [line] = [line for line in raw.splitlines() if line.startswith("List-Unsubscribe:")]
    assert line.startswith("List-Unsubscribe: <https://papers.example.org/unsubscribe?token=") and line.endswith(">")
    assert "=?utf-8?" not in line


def test_each_subscriber_gets_their_own_links_when_the_papers_are_the_same() -> None:
    settings = Settings(secret_key=SECRET, base_url="https://papers.example.org")
    paper = DigestPaper(1, "2601.00001", "Shared", "Ada", "Abstract.", ["cs.CL"], 1, DAY)
    mails = {}
    for pk, email in ((1, "one@example.org"), (2, "two@example.org")):
        sub = Subscriber(pk, email, "daily", [], [], None, None, None)
        mails[pk] = compose(settings, sub, period_of("day", DAY), [paper])
    for pk, other in ((1, 2), (2, 1)):
        html = mails[pk].get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = mails[pk].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        own = mails[pk]["List-Unsubscribe"].strip("<>")
        assert own in text and own in html and mails[other]["List-Unsubscribe"].strip("<>") not in html + text
        assert "link.invalid" not in html + text
