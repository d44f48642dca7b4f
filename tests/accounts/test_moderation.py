"""Moderation: admin pages (roles, suspension, audit log), profile pages, and rate limits on memory and Redis.

Everything talking to the site runs against the real server, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lxml import html
from sqlalchemy import Engine, insert, select, update

from dailypapers.accounts.ratelimit import RateLimits
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.sources.record import Listing, PaperRecord, Submitter
from dailypapers.store import accounts
from dailypapers.store import votes as votes_store
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import Comment, DailyListing, Paper
from tests.support.accounts import PASSWORD, error_of, make_user, post, sign_in, signed_in
from tests.support.redis import RedisServer, start_redis
from tests.support.server import serve_app

DAY = dt.date(2026, 1, 5)
papers, listings, comments = Paper.__table__, DailyListing.__table__, Comment.__table__


def add_papers(engine: Engine, *records: tuple[str, str, Submitter | None]) -> dict[str, int]:
    """Papers featured on DAY: `(id, title, submitter)`; returns id -> pk."""
    recs = [
        PaperRecord(id=pid, source="test", title=title, listing=Listing(day=DAY, source="test", submitter=sub))
        for pid, title, sub in records
    ]
    ingest_items(engine, recs, ImportReport())
    with read_tx(engine) as conn:
        return {r.id: r.pk for r in conn.execute(select(papers.c.id, papers.c.pk))}


def add_comment(engine: Engine, paper_pk: int, user_pk: int, body: str, **flags: bool) -> int:
    now = dt.datetime.now(dt.UTC)
    with write_tx(engine) as conn:
        return int(
            conn.execute(
                insert(comments)
                .values(paper_pk=paper_pk, user_pk=user_pk, body=body, html=body, created_at=now, **flags)
                .returning(comments.c.pk)
            ).scalar_one()
        )


def num_comments(engine: Engine, paper_pk: int) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(select(papers.c.num_comments).where(papers.c.pk == paper_pk)).scalar_one())


def account(engine: Engine, name: str) -> accounts.Account:
    with read_tx(engine) as conn:
        found = accounts.account_by_name(conn, name)
    assert found is not None
    return found


def audit(engine: Engine) -> list[tuple[str | None, str, str, dict[str, object]]]:
    with read_tx(engine) as conn:
        return [(e.actor, e.action, e.target, dict(e.detail)) for e in accounts.audit_entries(conn)]


def row_of(page: httpx.Response, name: str) -> dict[str, str]:
    (row,) = html.fromstring(page.text).cssselect(f'table.admin-users tr[data-name="{name}"]')
    return {cls: row.cssselect(f"td.{cls}")[0].text_content().strip() for cls in ("role", "active", "suspended")}


# Admin pages


def test_admin_pages_are_for_admins_only(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "root", role="admin")
    bob = make_user(engine, "bob")
    make_user(engine, "cora", role="curator")
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        with httpx.Client(base_url=base) as anonymous:
            for path in ("/admin/users", "/admin/audit"):
                r = anonymous.get(path)
                assert r.status_code == 303 and r.headers["location"] == f"/signin?next={path}"
            assert post(anonymous, f"/admin/users/{bob.pk}/suspend").status_code == 303
            assert anonymous.post(f"/admin/users/{bob.pk}/suspend").status_code == 403  # no CSRF token
        for name in ("bob", "cora"):
            client = sign_in(base, name)
            assert client.get("/admin/users").status_code == 403
            assert client.get("/admin/audit").status_code == 403
            assert post(client, f"/admin/users/{bob.pk}/role", {"role": "admin"}).status_code == 403
            assert post(client, f"/admin/users/{bob.pk}/suspend").status_code == 403
            assert "Admin</a>" not in client.get("/settings").text
        root = sign_in(base, "root")
        assert root.post(f"/admin/users/{bob.pk}/suspend", data={"csrf_token": "forged"}).status_code == 403
        assert 'href="/admin/users"' in root.get("/settings").text
    bob_now = account(engine, "bob")
    assert bob_now.role == "user" and not bob_now.suspended and audit(engine) == []


def test_admin_lists_accounts_and_changes_roles(engine: Engine, tmp_path: Path) -> None:
    root = make_user(engine, "root", role="admin")
    bob = make_user(engine, "bob")
    make_user(engine, "dormant", active=False)
    add_papers(engine, ("2601.00001", "Imported", Submitter("hf_person", "HF Person")))
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        admin = sign_in(base, "root")
        page = admin.get("/admin/users")
        assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
        names = [tr.get("data-name") for tr in html.fromstring(page.text).cssselect("table.admin-users tbody tr")]
        assert names == ["root", "bob", "dormant"]  # imported submitters have no account to manage
        assert "bob@example.com" in page.text
        assert row_of(page, "dormant") == {"role": "user", "active": "no", "suspended": "no"}

        r = post(admin, f"/admin/users/{bob.pk}/role", {"role": "curator"})
        assert r.status_code == 200 and "bob is now a curator." in r.text
        assert row_of(r, "bob")["role"] == "curator" and account(engine, "bob").role == "curator"
        assert post(admin, f"/admin/users/{bob.pk}/role", {"role": "admin"}).status_code == 200

        r = post(admin, f"/admin/users/{bob.pk}/role", {"role": "superuser"})
        assert r.status_code == 400 and "not a role" in (error_of(r) or "")
        assert post(admin, "/admin/users/999999/role", {"role": "user"}).status_code == 404
        assert post(admin, "/admin/users/999999/suspend").status_code == 404

        for path, data, words in [
            (f"/admin/users/{root.pk}/role", {"role": "user"}, "You cannot demote yourself"),
            (f"/admin/users/{root.pk}/role", {"role": "curator"}, "You cannot demote yourself"),
            (f"/admin/users/{root.pk}/suspend", {}, "You cannot suspend yourself"),
        ]:
            r = post(admin, path, data)
            assert r.status_code == 400 and words in (error_of(r) or ""), path
        assert account(engine, "root").role == "admin" and not account(engine, "root").suspended
        assert signed_in(admin)

        # Another admin may demote this one; then the pages are closed to them.
        other = sign_in(base, "bob")
        assert post(other, f"/admin/users/{root.pk}/role", {"role": "user"}).status_code == 200
        assert admin.get("/admin/users").status_code == 403

        log = other.get("/admin/audit")
        assert log.status_code == 200
        rows = [
            [td.text_content().strip() for td in tr.cssselect("td")[1:]]
            for tr in html.fromstring(log.text).cssselect("table.audit-log tbody tr")
        ]
        assert rows == [
            ["bob", "set_role", "user:root", "new=user, old=admin"],
            ["root", "set_role", "user:bob", "new=admin, old=curator"],
            ["root", "set_role", "user:bob", "new=curator, old=user"],
        ]


def test_suspension_ends_sessions_hides_comments_and_is_logged(engine: Engine, tmp_path: Path) -> None:
    make_user(engine, "root", role="admin")
    bob = make_user(engine, "bob")
    pk = add_papers(engine, ("2601.00001", "Talked about", None))["2601.00001"]
    with write_tx(engine) as conn:
        accounts.create_token(conn, bob.pk, "script", "dp_bobs_token")
    bearer = {"Authorization": "Bearer dp_bobs_token"}
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        session = sign_in(base, "bob")
        said = httpx.post(f"{base}/api/papers/2601.00001/comments", json={"comment": "Bob was here"}, headers=bearer)
        assert said.status_code == 201 and num_comments(engine, pk) == 1
        link = f"/papers/2601.00001#comment-{said.json()['id']}"
        assert link in httpx.get(f"{base}/users/bob").text

        admin = sign_in(base, "root")
        r = post(admin, f"/admin/users/{bob.pk}/suspend")
        assert r.status_code == 200 and "bob is suspended" in r.text and row_of(r, "bob")["suspended"] == "yes"
        assert not signed_in(session)
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 401
        with httpx.Client(base_url=base) as c:
            assert error_of(post(c, "/signin", {"login": "bob", "password": PASSWORD})) == "This account is suspended."
        assert num_comments(engine, pk) == 0
        assert "Bob was here" not in httpx.get(f"{base}/papers/2601.00001").text
        profile = httpx.get(f"{base}/users/bob").text
        assert "suspended" in profile and link not in profile
        assert link in admin.get("/users/bob").text  # moderators still see what was hidden

        r = post(admin, f"/admin/users/{bob.pk}/reinstate")
        assert r.status_code == 200 and "bob is reinstated" in r.text and row_of(r, "bob")["suspended"] == "no"
        assert num_comments(engine, pk) == 1 and signed_in(sign_in(base, "bob"))
        assert httpx.get(f"{base}/settings", headers=bearer).status_code == 200
        log = admin.get("/admin/audit").text
        assert "suspend" in log and "reinstate" in log and "user:bob" in log
    assert [(a, act, t) for a, act, t, _ in audit(engine)] == [
        ("root", "reinstate", "user:bob"),
        ("root", "suspend", "user:bob"),
    ]


# Profiles


def test_profile_lists_submissions_upvotes_and_visible_comments(engine: Engine, tmp_path: Path) -> None:
    alice = make_user(engine, "alice")
    make_user(engine, "cora", role="curator")
    make_user(engine, "eve")
    pks = add_papers(
        engine, ("2601.00001", "First paper", None), ("2601.00002", "Second paper", None), ("2601.00003", "Third", None)
    )
    with write_tx(engine) as conn:
        conn.execute(update(listings).where(listings.c.paper_pk == pks["2601.00001"]).values(submitter_pk=alice.pk))
        votes_store.set_vote(conn, alice.pk, pks["2601.00002"], True)
    shown = add_comment(engine, pks["2601.00003"], alice.pk, "Nice <b>work</b> on this")
    hidden = add_comment(engine, pks["2601.00002"], alice.pk, "Something rude", hidden=True)
    deleted = add_comment(engine, pks["2601.00001"], alice.pk, "", deleted=True)

    def sections(page: httpx.Response) -> dict[str, str]:
        doc = html.fromstring(page.text)
        return {s: doc.cssselect(f"section#{s}")[0].text_content() for s in ("submitted", "upvoted", "comments")}

    with serve_app(engine, tmp_path, rate_limits=False) as base:
        anonymous = httpx.get(f"{base}/users/alice")
        assert anonymous.status_code == 200
        found = sections(anonymous)
        assert "First paper" in found["submitted"] and "Second" not in found["submitted"]
        assert "Second paper" in found["upvoted"] and "First" not in found["upvoted"]
        assert "Third" in found["comments"] and "Nice <b>work</b>" in found["comments"]
        assert "<b>work" not in anonymous.text  # escaped
        assert f'href="/papers/2601.00003#comment-{shown}"' in anonymous.text
        for pk in (hidden, deleted):
            assert f"#comment-{pk}" not in anonymous.text
        assert f"#comment-{hidden}" not in sign_in(base, "eve").get("/users/alice").text
        for name in ("alice", "cora"):  # the author and moderators see the hidden one, marked
            page = sign_in(base, name).get("/users/alice")
            assert f"#comment-{hidden}" in page.text and f"#comment-{deleted}" not in page.text
            assert "hidden" in sections(page)["comments"]
        assert httpx.get(f"{base}/users/ALICE").status_code == 200
        for missing in ("nobody", "alice%20", "%27%20OR%201%3D1"):
            r = httpx.get(f"{base}/users/{missing}")
            assert r.status_code == 404 and r.headers["content-type"].startswith("text/html"), missing


def test_imported_submitters_have_profiles(engine: Engine, tmp_path: Path) -> None:
    add_papers(
        engine,
        ("2601.00001", "Imported one", Submitter("hf_person", "HF Person")),
        ("2601.00002", "Imported two", Submitter("hf_person", "HF Person")),
        ("2601.00003", "Someone else's", Submitter("other", "Other")),
    )
    with serve_app(engine, tmp_path, rate_limits=False) as base:
        r = httpx.get(f"{base}/users/hf_person")
        assert r.status_code == 200
        assert "HF Person" in r.text and "Hugging Face submitter" in r.text
        submitted = html.fromstring(r.text).cssselect("section#submitted a[href^='/papers/']")
        assert sorted(a.text_content() for a in submitted) == ["Imported one", "Imported two"]
        assert 'href="/date/2026-01-05"' in r.text


# Rate limits


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> str:
    """Where limits are counted: "" (each process in memory) or the URL of a fresh, shared Redis."""
    if request.param == "memory":
        return ""
    server: RedisServer = request.getfixturevalue("redis_server")
    server.flush()
    return server.url


@contextlib.contextmanager
def sites(engine: Engine, tmp_path: Path, redis_url: str) -> Iterator[list[str]]:
    """One server counting in memory, or two servers (two processes' worth) sharing one Redis."""
    with contextlib.ExitStack() as stack:
        count = 2 if redis_url else 1
        yield [stack.enter_context(serve_app(engine, tmp_path, redis_url=redis_url)) for _ in range(count)]


def client_from(base: str, ip: str = "127.0.0.1") -> httpx.Client:
    """A client whose requests come from loopback address `ip` (the whole 127/8 is ours)."""
    return httpx.Client(base_url=base, transport=httpx.HTTPTransport(local_address=ip))


def assert_limited(r: httpx.Response, window: int) -> None:
    assert r.status_code == 429, (r.status_code, r.text[:200])
    assert 1 <= int(r.headers["retry-after"]) <= window + 1
    assert "Too many requests" in r.text


def test_sign_in_is_limited_per_address(engine: Engine, tmp_path: Path, storage: str) -> None:
    with sites(engine, tmp_path, storage) as bases:
        clients = [client_from(b) for b in bases]
        for i in range(10):
            r = post(clients[i % len(clients)], "/signin", {"login": f"user{i}", "password": "wrong password"})
            assert r.status_code == 400, i
        assert_limited(post(clients[-1], "/signin", {"login": "user99", "password": "wrong password"}), 60)
        assert post(client_from(bases[0], "127.0.0.2"), "/signin", {"login": "x", "password": "y"}).status_code == 400


def test_wrong_passwords_from_anywhere_limit_the_account_but_not_its_known_browsers(
    engine: Engine, tmp_path: Path, storage: str
) -> None:
    make_user(engine, "target")
    with sites(engine, tmp_path, storage) as bases:
        home = sign_in(bases[0], "target", transport=httpx.HTTPTransport(local_address="127.0.0.30"))
        for i in range(20):  # 20 addresses, each far below its own limit; by name or by address, one account
            c = client_from(bases[i % len(bases)], f"127.0.0.{i + 2}")
            login = "Target" if i % 2 else "target@example.com"
            assert post(c, "/signin", {"login": login, "password": f"guess {i}"}).status_code == 400, i
        late = client_from(bases[-1], "127.0.0.40")
        r = post(late, "/signin", {"login": "target", "password": PASSWORD})  # even the right password, elsewhere
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 3601
        assert "Too many failed sign-ins for this account" in (error_of(r) or "")
        assert post(late, "/signin", {"login": "someone", "password": PASSWORD}).status_code == 400
        # The owner's browser, which signed in before, still signs in (through either process).
        device = {"dp_device": home.cookies["dp_device"]}
        again = httpx.Client(
            base_url=bases[-1], cookies=device, transport=httpx.HTTPTransport(local_address="127.0.0.41")
        )
        assert post(again, "/signin", {"login": "target", "password": PASSWORD}).status_code == 303
        assert signed_in(again)


def test_sign_up_is_limited(engine: Engine, tmp_path: Path, storage: str) -> None:
    with sites(engine, tmp_path, storage) as bases:
        clients = [client_from(b) for b in bases]
        for i in range(5):
            data = {"username": f"new{i}", "email": f"new{i}@example.com", "password": PASSWORD}
            assert post(clients[i % len(clients)], "/signup", data).status_code == 200, i
        data = {"username": "new9", "email": "new9@example.com", "password": PASSWORD}
        assert_limited(post(clients[-1], "/signup", data), 3600)
    with read_tx(engine) as conn:
        assert accounts.account_by_name(conn, "new9") is None


def _bearer(engine: Engine, name: str) -> dict[str, str]:
    user = make_user(engine, name)
    with write_tx(engine) as conn:
        accounts.create_token(conn, user.pk, "t", f"dp_{name}_token")
    return {"Authorization": f"Bearer dp_{name}_token"}


def test_votes_are_limited_per_user_and_address(engine: Engine, tmp_path: Path, storage: str) -> None:
    add_papers(engine, ("2601.00001", "Popular", None))
    voter, other = _bearer(engine, "voter"), _bearer(engine, "other")
    with sites(engine, tmp_path, storage) as bases:
        clients = [httpx.Client(base_url=b, headers=voter) for b in bases]
        for i in range(120):
            method = "POST" if i % 2 == 0 else "DELETE"
            assert clients[i % len(clients)].request(method, "/api/papers/2601.00001/upvote").status_code == 200, i
        assert_limited(clients[-1].post("/api/papers/2601.00001/upvote"), 60)
        # The same account from another address is still over its limit; someone else there is not.
        elsewhere = client_from(bases[0], "127.0.0.3")
        assert_limited(elsewhere.post("/api/papers/2601.00001/upvote", headers=voter), 60)
        assert elsewhere.post("/api/papers/2601.00001/upvote", headers=other).status_code == 200


def test_comments_are_limited(engine: Engine, tmp_path: Path, storage: str) -> None:
    pk = add_papers(engine, ("2601.00001", "Much discussed", None))["2601.00001"]
    writer = _bearer(engine, "writer")
    with sites(engine, tmp_path, storage) as bases:
        for i in range(30):
            url = f"{bases[i % len(bases)]}/api/papers/2601.00001/comments"
            assert httpx.post(url, json={"comment": f"Thought {i}"}, headers=writer).status_code == 201, i
        r = httpx.post(f"{bases[-1]}/api/papers/2601.00001/comments", json={"comment": "One more"}, headers=writer)
        assert_limited(r, 3600)
    assert num_comments(engine, pk) == 30


def test_submissions_are_limited(engine: Engine, tmp_path: Path, storage: str) -> None:
    submitter = _bearer(engine, "submitter")
    with sites(engine, tmp_path, storage) as bases:
        for i in range(20):  # refused ids still count: the limit is checked before any lookup
            r = httpx.post(f"{bases[i % len(bases)]}/api/papers/submit", json={"arxiv_id": "nope"}, headers=submitter)
            assert r.status_code == 400, i
        r = httpx.post(f"{bases[-1]}/api/papers/submit", json={"arxiv_id": "2601.00001"}, headers=submitter)
        assert_limited(r, 3600)
        page = sign_in(bases[0], "submitter", transport=httpx.HTTPTransport(local_address="127.0.0.4"))
        assert_limited(post(page, "/submit", {"arxiv_id": "2601.00001"}), 3600)


def test_rate_limits_share_counts_through_redis_only(redis_server: RedisServer) -> None:
    redis_server.flush()
    limits = {"vote": "3/minute", "comment": "2/hour"}
    one, two = RateLimits(redis_server.url, limits), RateLimits(redis_server.url, limits)
    assert one.hit("vote", "ip:a").allowed and two.hit("vote", "ip:a").allowed and one.hit("vote", "ip:a").allowed
    for limiter in (one, two):
        verdict = limiter.hit("vote", "ip:a")
        assert not verdict.allowed and 1 <= verdict.retry_after <= 61
    assert two.hit("vote", "ip:b").allowed  # other keys and actions count apart
    assert two.hit("comment", "ip:a").allowed
    # Any key over its limit refuses the hit.
    assert not one.hit("vote", "ip:c", "ip:a").allowed
    one.reset()
    assert two.hit("vote", "ip:a").allowed
    # In memory, each process counts alone.
    three, four = RateLimits("memory://", limits), RateLimits("memory://", limits)
    for _ in range(3):
        assert three.hit("vote", "ip:a").allowed
    assert not three.hit("vote", "ip:a").allowed and four.hit("vote", "ip:a").allowed


def test_a_refused_request_counts_against_none_of_its_keys(storage: str) -> None:
    limits = RateLimits(storage or "memory://", {"vote": "2/minute"})
    for _ in range(2):
        assert limits.hit("vote", "ip:home", "user:greedy").allowed
    for _ in range(5):  # over its own limit from a shared address: refused, and the address is not charged
        assert not limits.hit("vote", "ip:shared", "user:greedy").allowed
    assert limits.hit("vote", "ip:shared", "user:polite").allowed
    assert limits.hit("vote", "ip:shared", "user:polite").allowed
    assert not limits.hit("vote", "ip:shared", "user:third").allowed
