"""A reader's data over HTTP (web/privacy.py): the export as a file from the page and through the API, the
deletion form and `DELETE /api/me` with their refusals, what deletion leaves (counters equal to rows, other
people's replies, a free name), two deletions at once, the last admin. Real server, both databases."""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import closing
from pathlib import Path

import httpx
from lxml import html
from sqlalchemy import Engine, delete, insert, text

from dailypapers.comments import discussion
from dailypapers.curation import voting
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, listings
from dailypapers.store.accounts import Account
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import DigestDelivery, DigestPaper, Subscriber
from dailypapers.store.schema_personal import (
    Collection,
    CollectionPaper,
    Dismissal,
    Follow,
    LibraryEntry,
    ReaderProfile,
    Save,
)
from tests.support.accounts import PASSWORD, error_of, make_user, post, sign_in, signed_in
from tests.support.server import serve_app

DAY = dt.date(2026, 3, 6)
X, Y, Z = "2603.00001", "2603.00002", "2603.00003"
NOW = dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC)


def add_papers(engine: Engine) -> dict[str, int]:
    records = [
        PaperRecord(
            id=pid, source="test", title=f"Paper {pid}", abstract="An abstract.", listing=Listing(day=DAY, source="t")
        )
        for pid in (X, Y, Z)
    ]
    ingest_items(engine, records, ImportReport())
    with read_tx(engine) as conn:
        return {r.id: r.pk for r in conn.execute(text("SELECT id, pk FROM papers"))}


def populate(engine: Engine, who: Account, pks: dict[str, int], tag: str, *, submit_on: dt.date) -> int:
    """One row of each kind for `who`, marked with `tag`; returns the pk of their comment on X."""
    voting.vote(engine, who, X, True)
    voting.vote(engine, who, Y, True)
    comment = discussion.post(engine, X, who, f"Comment by {tag}")
    with write_tx(engine) as conn:
        listings.feature(conn, pks[Z], submit_on, who.pk)
        conn.execute(insert(Save).values(user_pk=who.pk, paper_pk=pks[X], created_at=NOW))
        cpk = conn.execute(
            insert(Collection)
            .values(
                user_pk=who.pk,
                slug=f"c-{tag}",
                name=f"Collection {tag}",
                description="",
                visibility="private",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(Collection.pk)
        ).scalar_one()
        conn.execute(
            insert(CollectionPaper).values(collection_pk=cpk, paper_pk=pks[Y], note=f"note {tag}", added_at=NOW)
        )
        conn.execute(insert(Follow).values(user_pk=who.pk, kind="category", key=f"cs.{tag}", label=tag, created_at=NOW))
        conn.execute(
            insert(LibraryEntry).values(
                user_pk=who.pk, title=f"Library {tag}", source="bibtex", vector=b"\x00" * 8, imported_at=NOW
            )
        )
        conn.execute(insert(Dismissal).values(user_pk=who.pk, paper_pk=pks[Z], created_at=NOW))
        conn.execute(delete(ReaderProfile).where(ReaderProfile.user_pk == who.pk))  # an upvote may have made it
        conn.execute(insert(ReaderProfile).values(user_pk=who.pk, trained_at=NOW, signals=3, model=b"m", version=1))
        spk = conn.execute(
            insert(Subscriber)
            .values(email=who.email, frequency="weekly", user_pk=who.pk, created_at=NOW, confirmed_at=NOW, for_you=True)
            .returning(Subscriber.pk)
        ).scalar_one()
        conn.execute(insert(DigestDelivery).values(subscriber_pk=spk, period="2026-W10", status="sent", attempts=1))
        conn.execute(insert(DigestPaper).values(subscriber_pk=spk, paper_pk=pks[X]))
    return comment.pk


def token_for(engine: Engine, who: Account, tag: str) -> str:
    secret = f"dp_{tag}_secret_token_0123456789"
    with write_tx(engine) as conn:
        accounts.create_token(conn, who.pk, f"script {tag}", secret)
    return secret


def scalar(engine: Engine, sql: str, **params: object) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def assert_counters_equal_rows(engine: Engine) -> None:
    with read_tx(engine) as conn:
        rows = conn.execute(
            text(
                "SELECT p.votes, (SELECT count(*) FROM votes v WHERE v.paper_pk = p.pk) AS n, p.num_comments, "
                "(SELECT count(*) FROM comments c JOIN users u ON u.pk = c.user_pk WHERE c.paper_pk = p.pk "
                " AND NOT c.deleted AND NOT c.hidden AND NOT u.suspended) AS visible FROM papers p"
            )
        ).all()
    assert all(r.votes == r.n and r.num_comments == r.visible for r in rows), rows


def test_the_export_is_a_file_of_the_readers_data_only(engine: Engine, tmp_path: Path) -> None:
    pks = add_papers(engine)
    ada, bob = make_user(engine, "ada"), make_user(engine, "bob")
    populate(engine, ada, pks, "ada", submit_on=DAY + dt.timedelta(days=1))
    populate(engine, bob, pks, "bob", submit_on=DAY + dt.timedelta(days=2))
    secret = token_for(engine, ada, "ada")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        assert httpx.get(f"{base}/settings/data", follow_redirects=False).status_code == 303  # signed out
        assert httpx.get(f"{base}/api/me/export").status_code == 401
        with closing(sign_in(base, "ada")) as c:
            page = c.get("/settings/data")
            assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
            doc = html.fromstring(page.text)
            assert doc.cssselect('a[href="/settings/data/export.json"]')[0].text_content() == "Download my data"
            facts = dict(
                zip(
                    [dt_.text_content() for dt_ in doc.cssselect(".facts dt")],
                    [dd.text_content() for dd in doc.cssselect(".facts dd")],
                    strict=True,
                )
            )
            assert facts["Upvotes"] == "2" and facts["Saved papers"] == "1" and facts["Library entries"] == "1"
            assert doc.cssselect('form[action="/settings/data/delete"] input[name="csrf_token"]')
            assert 'href="/settings/data"' in c.get("/settings").text  # linked from the settings

            download = c.get("/settings/data/export.json")
        api = httpx.get(f"{base}/api/me/export", headers={"Authorization": f"Bearer {secret}"})
    for r in (download, api):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.headers["content-disposition"].startswith('attachment; filename="dailypapers-ada-')
        assert r.headers["cache-control"] == "private, no-store"
        data = r.json()
        assert data["account"]["name"] == "ada"
        assert [v["paper"] for v in data["votes"]] == [X, Y]
        assert [c["body"] for c in data["comments"]] == ["Comment by ada"]
        assert [s["paper"] for s in data["submissions"]] == [Z]
        assert [s["paper"] for s in data["saves"]] == [X]
        assert data["collections"][0]["papers"][0]["note"] == "note ada"
        assert [f["key"] for f in data["follows"]] == ["cs.ada"]
        assert [e["title"] for e in data["library"]] == ["Library ada"]
        assert [d["paper"] for d in data["not_interested"]] == [Z]
        assert data["reader_profile"]["signals"] == 3
        assert data["digest_subscriptions"][0]["papers_sent"] == [X]
        assert [t["name"] for t in data["api_tokens"]] == ["script ada"]
        assert "bob" not in r.text and secret not in r.text
        assert '"vector"' not in r.text and '"model"' not in r.text and "_hash" not in r.text


def test_deleting_from_the_page(engine: Engine, tmp_path: Path) -> None:
    pks = add_papers(engine)
    ada, bob = make_user(engine, "ada"), make_user(engine, "bob")
    ada_comment = populate(engine, ada, pks, "ada", submit_on=DAY + dt.timedelta(days=1))
    populate(engine, bob, pks, "bob", submit_on=DAY + dt.timedelta(days=2))
    discussion.post(engine, X, bob, "Bob replies to ada", parent_pk=ada_comment)
    with serve_app(engine, tmp_path, rate_limits=False) as base, closing(sign_in(base, "ada")) as c:
        wrong = post(c, "/settings/data/delete", {"password": "not my password", "confirm": "ada"})
        assert wrong.status_code == 403 and error_of(wrong) == "The password is not right."
        misnamed = post(c, "/settings/data/delete", {"password": PASSWORD, "confirm": "bob"})
        assert misnamed.status_code == 400 and "type your username, ada" in (error_of(misnamed) or "")
        forged = c.post("/settings/data/delete", data={"password": PASSWORD, "confirm": "ada"})  # no CSRF token
        assert forged.status_code == 403
        assert signed_in(c) and scalar(engine, "SELECT count(*) FROM users WHERE name = 'ada'") == 1

        done = post(c, "/settings/data/delete", {"password": PASSWORD, "confirm": "ada"})
        assert done.status_code == 200 and "Account deleted" in done.text
        cleared = [h for h in done.headers.get_list("set-cookie") if h.startswith("dp_session=")]
        assert cleared and ("Max-Age=0" in cleared[0] or "expires=" in cleared[0].lower())
        assert not signed_in(c)
        paper = c.get(f"/papers/{X}").text

        assert "Bob replies to ada" in paper and "[deleted]" in paper and "Comment by ada" not in paper
        for table, column in (
            ("users", "pk"),
            ("votes", "user_pk"),
            ("comments", "user_pk"),
            ("saves", "user_pk"),
            ("collections", "user_pk"),
            ("follows", "user_pk"),
            ("library_entries", "user_pk"),
            ("dismissals", "user_pk"),
            ("reader_profiles", "user_pk"),
            ("sessions", "user_pk"),
            ("api_tokens", "user_pk"),
            ("subscribers", "user_pk"),
            ("daily_listings", "submitter_pk"),
        ):
            assert scalar(engine, f"SELECT count(*) FROM {table} WHERE {column} = :u", u=ada.pk) == 0, table
        assert scalar(engine, "SELECT count(*) FROM collection_papers WHERE note = 'note ada'") == 0
        assert scalar(engine, "SELECT count(*) FROM daily_listings WHERE submitter_pk IS NULL AND source = 'user'") == 1
        assert scalar(engine, "SELECT votes FROM papers WHERE id = :p", p=X) == 1  # bob's only
        assert_counters_equal_rows(engine)

        # The name and the address are free again.
        with httpx.Client(base_url=base) as fresh:
            again = post(
                fresh, "/signup", {"username": "ada", "email": "ada@example.com", "password": "another password"}
            )
        assert again.status_code == 200 and "Check your inbox" in again.text
        assert scalar(engine, "SELECT count(*) FROM users WHERE name = 'ada' AND email = 'ada@example.com'") == 1


def test_two_deletions_at_once_through_the_api(engine: Engine, tmp_path: Path) -> None:
    pks = add_papers(engine)
    ada, bob = make_user(engine, "ada"), make_user(engine, "bob")
    populate(engine, ada, pks, "ada", submit_on=DAY + dt.timedelta(days=1))
    populate(engine, bob, pks, "bob", submit_on=DAY + dt.timedelta(days=2))
    secret = token_for(engine, ada, "ada")
    auth = {"Authorization": f"Bearer {secret}"}
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        refused = httpx.request("DELETE", f"{base}/api/me", json={"password": "wrong password"}, headers=auth)
        assert refused.status_code == 403 and refused.json() == {"error": "The password is not right."}
        misnamed = httpx.request("DELETE", f"{base}/api/me", json={"password": PASSWORD, "username": "x"}, headers=auth)
        assert misnamed.status_code == 422
        assert httpx.request("DELETE", f"{base}/api/me", json={}, headers=auth).status_code == 422
        statuses: list[int] = []
        start = threading.Barrier(2)

        def delete() -> None:
            start.wait()
            r = httpx.request("DELETE", f"{base}/api/me", json={"password": PASSWORD}, headers=auth, timeout=30)
            statuses.append(r.status_code)
            if r.status_code == 200:
                assert r.json()["deleted"] is True and r.json()["votes"] == 2

        threads = [threading.Thread(target=delete) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses)[0] == 200 and sorted(statuses)[1] in (401, 404), statuses
        assert httpx.get(f"{base}/api/me/export", headers=auth).status_code == 401  # the token went with it
        assert httpx.get(f"{base}/api/papers/{X}").json()["upvotes"] == 1
    assert scalar(engine, "SELECT count(*) FROM users WHERE pk = :u", u=ada.pk) == 0
    assert scalar(engine, "SELECT count(*) FROM votes") == 2  # bob's
    assert_counters_equal_rows(engine)


def test_the_last_admin_is_refused(engine: Engine, tmp_path: Path) -> None:
    root = make_user(engine, "root", role="admin")
    secret = token_for(engine, root, "root")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        with closing(sign_in(base, "root")) as c:
            page = post(c, "/settings/data/delete", {"password": PASSWORD, "confirm": "root"})
            assert page.status_code == 403 and "last admin" in (error_of(page) or "")
            assert signed_in(c)
        r = httpx.request(
            "DELETE", f"{base}/api/me", json={"password": PASSWORD}, headers={"Authorization": f"Bearer {secret}"}
        )
        assert r.status_code == 403 and "last admin" in r.json()["error"]
    assert scalar(engine, "SELECT count(*) FROM users WHERE name = 'root'") == 1
