"""Comments on paper pages: Markdown rendering, posting, replies, editing, deleting, moderation, counts, API.

Everything but the rendering tests runs against the real server, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine, select

from dailypapers.accounts.passwords import hash_password
from dailypapers.comments import discussion as rules
from dailypapers.comments.markdown import MAX_BODY, BodyProblem, check_body, render_markdown
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, feed, profiles
from dailypapers.store import comments as comments_store
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import AuditEntry, Comment, Paper
from tests.support.server import serve_app
from tests.support.visitor import Visitor as BaseVisitor

DAY = dt.date(2026, 3, 2)
PAPER = "2603.00001"
OTHER = "2603.00002"
PASSWORD = "correct horse battery"


# Rendering


def test_markdown_formatting_and_links() -> None:
    out = render_markdown("Some **bold**, *em* and `code`.\n\n> quoted\n\n- one\n- two")
    assert "<strong>bold</strong>" in out and "<em>em</em>" in out and "<code>code</code>" in out
    assert "<blockquote>" in out and "<ul>" in out and "<li>one</li>" in out
    link = render_markdown("see [the repo](https://github.com/a/b) or <https://example.org>, <me@example.org>")
    assert '<a href="https://github.com/a/b" rel="nofollow noopener ugc">the repo</a>' in link
    assert '<a href="https://example.org" rel="nofollow noopener ugc">' in link
    assert '<a href="mailto:me@example.org" rel="nofollow noopener ugc">' in link
    assert render_markdown("```\nx < 1\n```") == "<pre><code>x &lt; 1\n</code></pre>"


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert('x')</script>",
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html,<script>alert(1)</script>)",
        "<img src=x onerror=alert(1)>",
        "![pic](https://example.org/x.png)",
        '<a href="https://example.org" onclick="alert(1)">raw</a>',
        "<b>raw</b> <iframe src=https://example.org></iframe> <!-- c -->",
        "[rel](/signout) [proto](//evil.example)",
    ],
)
def test_dangerous_markup_is_neutralized(body: str) -> None:
    out = render_markdown(body)
    doc = html.fragment_fromstring(out, create_parent="div")
    assert not doc.xpath("//script | //img | //iframe | //b | //*[@onerror] | //*[@onclick] | //*[@src]")
    for a in doc.xpath("//a"):
        assert a.get("href", "").startswith(("https://", "http://", "mailto:")), out
        assert a.get("rel") == "nofollow noopener ugc"
    assert "javascript:" not in "".join(a.get("href", "") for a in doc.xpath("//a"))
    assert {el.tag for el in doc.iter()} <= {"div", "p", "br", "em", "strong", "code", "pre", "blockquote", "a"}


def test_body_limits() -> None:
    assert check_body("  hi\r\nthere \n") == "hi\nthere"
    with pytest.raises(BodyProblem, match="empty"):
        check_body(" \n\t ")
    assert len(check_body("x" * MAX_BODY)) == MAX_BODY
    with pytest.raises(BodyProblem, match="at most 10,000 characters"):
        check_body("x" * (MAX_BODY + 1))


# The counter under concurrent writers


def test_num_comments_stays_exact_under_concurrent_writers(engine: Engine) -> None:
    ingest_items(engine, [PaperRecord(id=PAPER, source="test", title="Busy")], ImportReport())
    with write_tx(engine) as conn:
        paper_pk = feed.paper_pk_of(conn, PAPER)
    assert paper_pk is not None
    writers = [new_user(engine, f"w{i}") for i in range(4)]
    flipper = new_user(engine, "flip")

    def member(pk: int) -> accounts.Account:
        with read_tx(engine) as conn:
            found = accounts.account_by_pk(conn, pk)
        assert found is not None
        return found

    def write(user_pk: int) -> None:
        author = member(user_pk)
        for i in range(6):
            info = rules.post(engine, PAPER, author, f"comment {i}")
            if i % 3 == 0:
                rules.delete(engine, info.pk, author)

    def flip() -> None:
        author = member(flipper)
        for i in range(8):
            with write_tx(engine) as conn:
                if i % 2 == 0:
                    comments_store.lock_for_comment(conn, flipper, paper_pk)
                    comments_store.insert_comment(conn, paper_pk, flipper, None, "flipper", "<p>flipper</p>")
                # The admin's sequence (membership.set_suspended): suspend, then recount (papers, then bump).
                accounts.set_suspended(conn, author.pk, i % 2 == 0)
                comments_store.recount_comments(conn, flipper)

    with ThreadPoolExecutor(5) as pool:
        for f in [pool.submit(write, u) for u in writers] + [pool.submit(flip)]:
            f.result()
    assert num_comments(engine) == 4 * 4 + 4  # 4 kept by each writer, and the flipper's 4, reinstated


# Over HTTP


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[str]:
    records = [
        PaperRecord(id=pid, source="test", title=f"Paper {pid}", listing=Listing(day=DAY, source="test"))
        for pid in (PAPER, OTHER)
    ]
    ingest_items(engine, records, ImportReport())
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        yield base


def new_user(engine: Engine, name: str, role: str = "user") -> int:
    with write_tx(engine) as conn:
        return accounts.create_user(
            conn, name, f"{name}@example.org", hash_password(PASSWORD), role=role, active=True
        ).pk


def session_for(engine: Engine, user_pk: int) -> str:
    token = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_session(conn, user_pk, token, dt.timedelta(days=1))
    return token


class Visitor(BaseVisitor):
    """A visitor who comments on papers."""

    def comment(self, body: str, paper: str = PAPER, parent: int | None = None) -> int:
        r = self.post(f"/papers/{paper}/comments", body=body, parent=parent)
        assert r.status_code == 303, r.text
        location = r.headers["location"]
        assert location.startswith(f"/papers/{paper}#comment-")
        return int(location.rsplit("-", 1)[1])


def visitor(engine: Engine, base: str, name: str, role: str = "user") -> Visitor:
    return Visitor(base, session_for(engine, new_user(engine, name, role)))


def discussion(v: Visitor, paper: str = PAPER) -> html.HtmlElement:
    return html.fromstring(v.page(f"/papers/{paper}").text).cssselect("#discussion")[0]


def num_comments(engine: Engine, paper: str = PAPER) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(select(Paper.num_comments).where(Paper.id == paper)).scalar_one())


def row(engine: Engine, pk: int) -> Comment:
    with read_tx(engine) as conn:
        return conn.execute(select(Comment.__table__).where(Comment.pk == pk)).one()  # type: ignore[return-value]


def test_post_through_the_form_with_csrf(engine: Engine, site: str) -> None:
    new_user(engine, "ada")
    ada = Visitor(site)
    ada.page("/signin")
    signed_in = ada.post("/signin", login="ada", password=PASSWORD, next=f"/papers/{PAPER}")
    assert signed_in.status_code == 303 and "dp_session" in ada.http.cookies
    form = discussion(ada).cssselect("form.new-comment")[0]
    assert form.get("action") == f"/papers/{PAPER}/comments"

    refused = ada.post(f"/papers/{PAPER}/comments", csrf=False, body="no token")
    assert refused.status_code == 403
    forged = ada.http.post(f"/papers/{PAPER}/comments", data={"body": "bad token", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    pk = ada.comment("A **fine** paper <script>alert(1)</script>")
    assert num_comments(engine) == 1

    anon = Visitor(site)
    section = discussion(anon)
    box = section.cssselect(f"#comment-{pk}")[0]
    assert box.cssselect("strong")[0].text == "fine"
    assert box.cssselect("a.comment-author")[0].get("href") == "/users/ada"
    assert box.cssselect("time")[0].get("datetime")
    assert not section.cssselect("script") and "<script>alert(1)</script>" in box.text_content()
    assert "Sign in to comment" in section.text_content() and not section.cssselect("form")
    assert "1 comment" in section.cssselect(".comment-count")[0].text_content()
    # Signed out, posting sends you to sign in; unknown papers are 404.
    anon.page(f"/papers/{PAPER}")
    assert anon.post(f"/papers/{PAPER}/comments", body="hi").headers["location"].startswith("/signin")
    assert ada.post("/papers/2603.09999/comments", body="hi").status_code == 404


def test_replies_are_one_level_deep(engine: Engine, site: str) -> None:
    ada, bob = visitor(engine, site, "ada"), visitor(engine, site, "bob")
    ada.page(f"/papers/{PAPER}")
    bob.page(f"/papers/{PAPER}")
    top = ada.comment("Top")
    reply = bob.comment("Reply", parent=top)
    nested = ada.comment("Reply to the reply", parent=reply)
    assert row(engine, reply).parent_pk == top and row(engine, nested).parent_pk == top
    later = bob.comment("Second top-level")
    section = discussion(bob)
    tops = section.cssselect("#discussion > article.comment")
    assert [a.get("id") for a in tops] == [f"comment-{top}", f"comment-{later}"]
    replies = tops[0].cssselect(".replies > article.comment")
    assert [a.get("id") for a in replies] == [f"comment-{reply}", f"comment-{nested}"]
    assert len(tops[0].cssselect("form input[name=parent]")) == 1  # a reply form under top-level comments only
    assert num_comments(engine) == 4
    # A parent on another paper is refused.
    other = bob.comment("Elsewhere", paper=OTHER)
    assert ada.post(f"/papers/{PAPER}/comments", body="x", parent=other).status_code == 400


def test_edit_and_delete_own_only(engine: Engine, site: str) -> None:
    ada, bob = visitor(engine, site, "ada"), visitor(engine, site, "bob")
    ada.page(f"/papers/{PAPER}")
    bob.page(f"/papers/{PAPER}")
    first, lonely = ada.comment("First version"), ada.comment("Lonely")
    reply = bob.comment("An answer", parent=first)
    mine = discussion(ada).cssselect(f"#comment-{first}")[0]
    assert mine.cssselect(f"details.comment-edit form[action='/comments/{first}/edit']")
    assert mine.cssselect(f"form[action='/comments/{first}/delete']")
    assert not discussion(bob).cssselect(f"#comment-{first} > .comment-actions details.comment-edit")

    assert bob.post(f"/comments/{first}/edit", body="hijacked").status_code == 403
    assert bob.post(f"/comments/{first}/delete").status_code == 403
    assert ada.post(f"/comments/{first}/edit", csrf=False, body="x").status_code == 403
    r = ada.post(f"/comments/{first}/edit", body="Second *version*")
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{PAPER}#comment-{first}"
    edited = row(engine, first)
    assert edited.body == "Second *version*" and edited.edited_at is not None
    box = discussion(bob).cssselect(f"#comment-{first}")[0]
    assert box.cssselect("em")[0].text == "version" and "(edited)" in box.text_content()
    assert num_comments(engine) == 3

    assert ada.post(f"/comments/{first}/delete").status_code == 303
    assert ada.post(f"/comments/{lonely}/delete").status_code == 303
    section = discussion(bob)
    assert section.cssselect(f"#comment-{first}")[0].text_content().strip().startswith("[deleted]")
    assert "First version" not in section.text_content() and "Second" not in section.text_content()
    assert section.cssselect(f"#comment-{reply}") and not section.cssselect(f"#comment-{lonely}")
    assert num_comments(engine) == 1
    assert ada.post(f"/comments/{first}/edit", body="back").status_code == 404
    # Once the reply goes too, the deleted parent disappears.
    bob.post(f"/comments/{reply}/delete")
    assert not discussion(bob).cssselect("article.comment") and num_comments(engine) == 0


def test_curators_hide_and_unhide(engine: Engine, site: str) -> None:
    ada, bob = visitor(engine, site, "ada"), visitor(engine, site, "bob")
    cur = visitor(engine, site, "carol", role="curator")
    for v in (ada, bob, cur):
        v.page(f"/papers/{PAPER}")
    pk = ada.comment("Spam spam spam")
    ada.comment("Fine")
    assert not discussion(bob).cssselect(f"form[action='/comments/{pk}/hide']")
    assert bob.post(f"/comments/{pk}/hide").status_code == 403
    assert cur.post(f"/comments/{pk}/hide", csrf=False).status_code == 403
    r = cur.post(f"/comments/{pk}/hide")
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{PAPER}#comment-{pk}"
    assert num_comments(engine) == 1

    for v in (bob, Visitor(site)):
        box = discussion(v).cssselect(f"#comment-{pk}")[0]
        assert "This comment was hidden by a moderator" in box.text_content()
        assert "Spam" not in box.text_content() and not box.cssselect("a.comment-author")
    for v in (ada, cur):
        assert "Spam spam spam" in discussion(v).cssselect(f"#comment-{pk}")[0].text_content()
    assert discussion(cur).cssselect(f"form[action='/comments/{pk}/unhide']")
    with read_tx(engine) as conn:
        logged = conn.execute(select(AuditEntry.action, AuditEntry.target)).all()
    assert ("comment.hide", f"comment:{pk}") in [tuple(r) for r in logged]

    assert cur.post(f"/comments/{pk}/unhide").status_code == 303
    assert "Spam spam spam" in discussion(bob).text_content() and num_comments(engine) == 2


def test_suspended_authors_comments_show_as_hidden(engine: Engine, site: str) -> None:
    ada, bob = visitor(engine, site, "ada"), visitor(engine, site, "bob")
    ada.page(f"/papers/{PAPER}")
    bob.page(f"/papers/{PAPER}")
    troll = bob.comment("Rude words")
    bob.comment("More rude words", paper=OTHER)
    ada.comment("Polite answer", parent=troll)
    assert (num_comments(engine), num_comments(engine, OTHER)) == (2, 1)
    bob_pk = row(engine, troll).user_pk
    with write_tx(engine) as conn:
        accounts.set_suspended(conn, bob_pk, True)
        comments_store.recount_comments(conn, bob_pk)
    assert (num_comments(engine), num_comments(engine, OTHER)) == (1, 0)
    section = discussion(ada)
    assert "This comment was hidden by a moderator" in section.cssselect(f"#comment-{troll}")[0].text_content()
    assert "Rude" not in section.text_content() and "Polite answer" in section.text_content()
    with read_tx(engine) as conn:
        assert profiles.comments_of(conn, bob_pk, include_concealed=False, limit=10) == []
    with write_tx(engine) as conn:
        accounts.set_suspended(conn, bob_pk, False)
        comments_store.recount_comments(conn, bob_pk)
        shown = profiles.comments_of(conn, bob_pk, include_concealed=False, limit=10)
        assert [c.paper_id for c in shown] == [OTHER, PAPER]
    assert (num_comments(engine), num_comments(engine, OTHER)) == (2, 1)


def test_counts_on_cards_and_in_the_api(engine: Engine, site: str) -> None:
    ada = visitor(engine, site, "ada")
    ada.page(f"/papers/{PAPER}")
    top = ada.comment("One")
    ada.comment("Two", parent=top)
    gone = ada.comment("Three")
    ada.post(f"/comments/{gone}/delete")
    anon = Visitor(site)
    cards = html.fromstring(anon.page(f"/date/{DAY.isoformat()}").text)
    link = cards.cssselect(f"article.card[id='paper-{PAPER}'] a.comments")[0]
    assert link.text_content().strip() == "2 comments" and link.get("href") == f"/papers/{PAPER}#discussion"
    assert anon.http.get(f"/api/papers/{PAPER}").json()["numComments"] == 2
    items = {i["paper"]["id"]: i for i in anon.http.get("/api/daily_papers", params={"date": DAY.isoformat()}).json()}
    assert items[PAPER]["numComments"] == 2 and items[OTHER]["numComments"] == 0


def test_api_create_with_bearer_token(engine: Engine, site: str) -> None:
    ada_pk = new_user(engine, "ada")
    token = secrets.token_urlsafe(32)
    with write_tx(engine) as conn:
        accounts.create_token(conn, ada_pk, "script", token)
    auth = {"Authorization": f"Bearer {token}"}
    url = f"{site}/api/papers/{PAPER}/comments"
    r = httpx.post(url, json={"comment": "From a *script*"}, headers=auth)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["comment"] == "From a *script*" and made["html"] == "<p>From a <em>script</em></p>"
    assert made["author"]["name"] == "ada" and made["paper"] == PAPER and made["parent"] is None
    assert made["createdAt"].endswith("Z") and made["editedAt"] is None
    reply = httpx.post(url, json={"comment": "Follow-up", "parent": made["id"]}, headers=auth).json()
    assert reply["parent"] == made["id"]
    assert httpx.get(f"{site}/api/papers/{PAPER}").json()["numComments"] == 2

    assert httpx.post(url, json={"comment": "anonymous"}).status_code in (401, 403)
    assert httpx.post(url, json={"comment": "x"}, headers={"Authorization": "Bearer nope"}).status_code == 401
    too_long = httpx.post(url, json={"comment": "y" * (MAX_BODY + 1)}, headers=auth)
    assert too_long.status_code == 422 and "at most 10,000 characters" in too_long.json()["error"]
    assert httpx.post(url, json={"comment": "   "}, headers=auth).status_code == 422
    missing = httpx.post(f"{site}/api/papers/2603.09999/comments", json={"comment": "x"}, headers=auth)
    assert missing.status_code == 404
    assert num_comments(engine) == 2


def test_oversized_body_rejected_clearly(engine: Engine, site: str) -> None:
    ada = visitor(engine, site, "ada")
    ada.page(f"/papers/{PAPER}")
    r = ada.post(f"/papers/{PAPER}/comments", body="z" * (MAX_BODY + 1))
    assert r.status_code == 400
    assert "at most 10,000 characters" in r.text and "10,001" in r.text
    assert ada.post(f"/papers/{PAPER}/comments", body=" \r\n ").status_code == 400
    pk = ada.comment("z" * MAX_BODY)
    assert ada.post(f"/comments/{pk}/edit", body="z" * (MAX_BODY + 1)).status_code == 400
    assert num_comments(engine) == 1 and row(engine, pk).body == "z" * MAX_BODY


def test_sql_metacharacters_and_unicode_are_stored_verbatim(engine: Engine, site: str) -> None:
    ada = visitor(engine, site, "ada")
    ada.page(f"/papers/{PAPER}")
    body = 'Robert\'); DROP TABLE comments;-- "quoted" 100% a_b \\ ; 日本語 ünïcödé 🎉 — ∑ \u200b end'
    pk = ada.comment(body)
    assert row(engine, pk).body == body
    text = discussion(Visitor(site)).cssselect(f"#comment-{pk} .comment-body")[0].text_content()
    assert "DROP TABLE comments;--" in text and "日本語 ünïcödé 🎉" in text and '"quoted" 100%' in text
    with read_tx(engine) as conn:
        info = comments_store.get_comment(conn, pk)
    assert info is not None and info.body == body and num_comments(engine) == 1
