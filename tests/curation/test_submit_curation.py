"""Submitting papers (form and API, fetching unknown ones from a replayed arXiv API), curators'
feature/unfeature/pin, the audit log, and `dailypapers user create|role`: on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import typer
from lxml import html
from sqlalchemy import Engine, select, text
from typer.testing import CliRunner

from dailypapers.cli.users import users_app
from dailypapers.config import Settings
from dailypapers.curation import featuring
from dailypapers.ingest import lookup
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.ingest.lookup import LOOKUP_RETRIES, ArxivUnreachable, find_or_fetch, stored_paper_id
from dailypapers.problems import NotFound
from dailypapers.sources.arxiv_ids import InvalidArxivId
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, feed, listings, search_index
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.schema import DailyListing
from tests.support.harvest import recorded
from tests.support.postgres import free_port
from tests.support.replay import STALL, ReplayServer, Reply, status
from tests.support.server import serve_app
from tests.support.visitor import Visitor as BaseVisitor

KNOWN = "2601.00001"
OTHER = "2601.00002"
DAY = dt.date(2026, 1, 5)
API = "/api/query"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class Visitor(BaseVisitor):
    """A visitor who submits papers."""

    def submit(self, arxiv_id: str) -> httpx.Response:
        return self.post("/submit", arxiv_id=arxiv_id)


@dataclass
class Site:
    base: str
    arxiv: ReplayServer
    engine: Engine

    def visitor(self, name: str, role: str = "user") -> Visitor:
        with write_tx(self.engine) as conn:
            pk = accounts.create_user(conn, name, f"{name}@example.org", None, role=role, active=True).pk
            session = secrets.token_urlsafe(32)
            accounts.create_session(conn, pk, session, dt.timedelta(days=1))
        return Visitor(self.base, session)

    def token(self, name: str) -> str:
        token = "dp_" + secrets.token_urlsafe(16)
        with write_tx(self.engine) as conn:
            pk = accounts.create_user(conn, name, f"{name}@example.org", None, active=True).pk
            accounts.create_token(conn, pk, "test", token)
        return token

    def api(self, token: str | None, arxiv_id: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(f"{self.base}/api/papers/submit", json={"arxiv_id": arxiv_id}, headers=headers, timeout=30)


def serve_id(arxiv: ReplayServer, arxiv_id: str, body: bytes, code: int = 200) -> None:
    arxiv.add(API, Reply(body, code), id_list=arxiv_id)


@pytest.fixture
def site(engine: Engine, tmp_path: Path) -> Iterator[Site]:
    records = [
        PaperRecord(id=KNOWN, source="test", title="A known paper", listing=Listing(DAY, "test", upvotes=5)),
        PaperRecord(id=OTHER, source="test", title="Another paper", listing=Listing(DAY, "test", upvotes=1)),
    ]
    ingest_items(engine, records, ImportReport())
    with ReplayServer() as arxiv:
        settings = {"arxiv_api_url": f"{arxiv.url}{API}", "request_interval": 0.01, "max_retries": 3}
        with serve_app(engine, tmp_path, rate_limits=False, **settings) as base:
            yield Site(base, arxiv, engine)


def listing_rows(engine: Engine, paper_id: str) -> list[tuple[dt.date, str, str | None, bool]]:
    with read_tx(engine) as conn:
        pk = feed.paper_pk_of(conn, paper_id)
        assert pk is not None
        return [(li.day, li.source, li.submitter, li.pinned) for li in listings.listings_of(conn, pk)]


def error_of(r: httpx.Response) -> str:
    found = html.fromstring(r.text).cssselect("p.error")
    return found[0].text_content() if found else ""


def card_ids(r: httpx.Response) -> list[str]:
    return [a.get("id").removeprefix("paper-") for a in html.fromstring(r.text).cssselect("article.card")]


# Submitting


def test_submit_a_stored_paper_features_it_today_with_a_notice(site: Site) -> None:
    ada = site.visitor("ada")
    form = ada.page("/submit")
    assert html.fromstring(form.text).cssselect("input[name=arxiv_id]")
    r = ada.submit(f"https://arxiv.org/abs/{KNOWN}v3")
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{KNOWN}"
    assert (today(), "user", "ada", False) in listing_rows(site.engine, KNOWN)
    page = html.fromstring(ada.page(f"/papers/{KNOWN}").text)
    assert "You submitted this paper" in page.cssselect("#submitted")[0].text_content()
    assert not page.cssselect("#curation")  # not a curator
    day = html.fromstring(ada.page(f"/date/{today().isoformat()}").text)
    assert "ada" in day.cssselect(f"[id='paper-{KNOWN}'] .submitter")[0].text_content()
    assert site.arxiv.requests() == []  # the store had it: arXiv was not asked
    bob = site.visitor("bob")
    assert not html.fromstring(bob.page(f"/papers/{KNOWN}").text).cssselect("#submitted")


def test_signed_out_visitors_are_sent_to_sign_in(site: Site) -> None:
    r = httpx.get(f"{site.base}/submit")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")


@pytest.mark.parametrize(
    ("typed", "paper_id", "recording", "title"),
    [
        ("https://arxiv.org/pdf/1605.08386v1.pdf", "1605.08386", "id_1605.08386", "Heat-bath random walks"),
        ("arXiv:astro-ph/0601001v1", "astro-ph/0601001", "id_astro-ph_0601001", "Frequency of Hot Jupiters"),
    ],
)
def test_submit_a_paper_the_store_lacks_fetches_it_from_arxiv(
    site: Site, typed: str, paper_id: str, recording: str, title: str
) -> None:
    serve_id(site.arxiv, paper_id, recorded(recording))
    ada = site.visitor("ada")
    r = ada.submit(typed)
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{paper_id}"
    (asked,) = site.arxiv.requests(API)
    assert asked.query["id_list"] == paper_id and "dailypapers/" in asked.headers["User-Agent"]
    page = html.fromstring(ada.page(f"/papers/{paper_id}").text)
    assert page.cssselect("h1")[0].text_content().startswith(title)
    assert listing_rows(site.engine, paper_id) == [(today(), "user", "ada", False)]
    with read_tx(site.engine) as conn:
        assert search_index.pending(conn) == 0
    found = httpx.get(f"{site.base}/api/papers/search", params={"q": title}).json()
    assert paper_id in str(found)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Enter an arXiv id"),
        ("   ", "Enter an arXiv id"),
        ("attention is all you need", "Not an arXiv id"),
        ("2413.00001", "month 13 out of range"),
        ("1401.12345", "5-digit numbers start in 2015"),
        ("https://example.org/abs/2401.01234", "Not an arXiv id"),
        ("https://arxiv.org/abs/", "Not an arXiv id"),
        ("2401.01234v0", "Not an arXiv id"),
        ("x" * 400, "too long"),
    ],
)
def test_invalid_ids_are_400_on_the_form(site: Site, typed: str, reason: str) -> None:
    ada = site.visitor("ada")
    r = ada.submit(typed)
    assert r.status_code == 400
    assert reason in error_of(r) and "2401.01234" in error_of(r)  # says why, and shows the forms it takes
    assert html.fromstring(r.text).cssselect("input[name=arxiv_id]")  # the form again, to correct it
    assert site.arxiv.requests() == []


def test_a_paper_arxiv_does_not_know_is_404(site: Site) -> None:
    serve_id(site.arxiv, "2901.00001", recorded("id_0000.0000"))  # the real empty answer
    ada = site.visitor("ada")
    r = ada.submit("2901.00001")
    assert r.status_code == 404 and "arXiv has no paper 2901.00001" in error_of(r)
    assert 'value="2901.00001"' in r.text
    with read_tx(site.engine) as conn:
        assert feed.paper_pk_of(conn, "2901.00001") is None
    token = site.token("bot")
    answer = site.api(token, "2901.00001")
    assert answer.status_code == 404 and "arXiv has no paper" in answer.json()["error"]


def test_the_arxiv_error_feed_is_400_with_its_message(site: Site) -> None:
    serve_id(site.arxiv, "2901.00002", recorded("id_abc"), 400)
    ada = site.visitor("ada")
    r = ada.submit("2901.00002")
    assert r.status_code == 400 and "incorrect id format" in error_of(r)


def test_arxiv_unreachable_is_502_with_a_clear_message(site: Site) -> None:
    site.arxiv.inject_from(1, status(503))
    ada = site.visitor("ada")
    r = ada.submit("2901.00003")
    assert r.status_code == 502
    assert "Could not reach arXiv" in error_of(r) and "HTTP 503" in error_of(r) and "try again" in error_of(r)
    assert len(site.arxiv.requests(API)) == 1 + LOOKUP_RETRIES
    log = site.arxiv.requests(API)
    assert all(b.at - a.at >= 0.009 for a, b in zip(log, log[1:], strict=False))  # spaced out, politely


def test_a_hung_arxiv_is_answered_within_the_lookup_deadline(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookup, "LOOKUP_DEADLINE", 2.0)  # 15 s in production; the request timeout stays 30 s
    site.arxiv.inject_from(1, STALL)
    ada = site.visitor("ada")
    started = time.monotonic()
    r = ada.submit("2901.00004")
    took = time.monotonic() - started
    assert r.status_code == 502 and "no answer within 2 s" in error_of(r), error_of(r)
    assert took < 4.0, took
    assert stored_paper_id(site.engine, "2901.00004") is None


def test_second_submission_the_same_day_is_told_it_is_there(site: Site) -> None:
    assert site.visitor("ada").submit(KNOWN).status_code == 303
    bob = site.visitor("bob")
    r = bob.submit(f"arXiv:{KNOWN}")
    assert r.status_code == 200
    status_line = html.fromstring(r.text).cssselect("p.ok")[0].text_content()
    assert "already on today's feed" in status_line and "submitted by ada" in status_line
    assert [row for row in listing_rows(site.engine, KNOWN) if row[0] == today()] == [(today(), "user", "ada", False)]


def test_api_submit_with_a_token(site: Site) -> None:
    serve_id(site.arxiv, "1605.08386", recorded("id_1605.08386"))
    token = site.token("bot")
    r = site.api(token, "https://arxiv.org/abs/1605.08386v1")
    assert r.status_code == 201
    assert r.json() == {"id": "1605.08386", "featured_on": today().isoformat(), "already_featured": False}
    again = site.api(token, "1605.08386")
    assert again.status_code == 200 and again.json()["already_featured"] is True
    assert len(site.arxiv.requests(API)) == 1
    bad = site.api(token, "not-an-id")
    assert bad.status_code == 400 and "Not an arXiv id" in bad.json()["error"]
    assert site.api("dp_wrong", KNOWN).status_code == 401
    assert site.api(None, KNOWN).status_code == 401  # neither a token nor a session: not signed in
    assert listing_rows(site.engine, "1605.08386") == [(today(), "user", "bot", False)]


def test_lookups_share_one_rate_limit_and_fetch_a_paper_once(engine: Engine, tmp_path: Path) -> None:
    with ReplayServer() as arxiv:
        serve_id(arxiv, "1605.08386", recorded("id_1605.08386"))
        serve_id(arxiv, "astro-ph/0601001", recorded("id_astro-ph_0601001"))
        settings = Settings(data_dir=tmp_path, arxiv_api_url=f"{arxiv.url}{API}", request_interval=0.5)
        with ThreadPoolExecutor(4) as pool:  # four people submit the same new paper at once
            found = list(pool.map(lambda _: find_or_fetch(engine, settings, "1605.08386v1"), range(4)))
        assert found == ["1605.08386"] * 4
        assert find_or_fetch(engine, settings, "https://arxiv.org/abs/astro-ph/0601001") == "astro-ph/0601001"
        first, second = arxiv.requests(API)  # one request per paper, each lookup with a client of its own
        assert second.at - first.at >= 0.4  # spaced by the limiter (arrival times jitter under load)


def test_lookup_with_arxiv_down_raises_a_clear_error(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, arxiv_api_url=f"http://127.0.0.1:{free_port()}{API}", request_interval=0)
    with pytest.raises(ArxivUnreachable, match=r"Could not reach arXiv to look up 2401.01234: Connect"):
        find_or_fetch(engine, settings, "2401.01234")
    with pytest.raises(InvalidArxivId):
        find_or_fetch(engine, settings, "nonsense")


# Curation


def test_curator_features_on_another_day_pins_and_unfeatures(site: Site) -> None:
    cleo = site.visitor("cleo", role="curator")
    panel = html.fromstring(cleo.page(f"/papers/{OTHER}").text).cssselect("#curation")
    assert panel and panel[0].cssselect("input[type=date][name=day]")
    other_day = dt.date(2025, 12, 24)
    assert cleo.post(f"/papers/{OTHER}/feature", day=other_day.isoformat()).status_code == 303
    assert (other_day, "curator", "cleo", False) in listing_rows(site.engine, OTHER)
    assert OTHER in card_ids(cleo.page(f"/date/{other_day.isoformat()}"))

    assert card_ids(cleo.page(f"/date/{DAY.isoformat()}")) == [KNOWN, OTHER]  # by upvotes
    r = cleo.post(f"/papers/{OTHER}/pin", day=DAY.isoformat(), on="1")
    assert r.status_code == 303 and r.headers["location"] == f"/papers/{OTHER}#curation"
    day_page = cleo.page(f"/date/{DAY.isoformat()}")
    assert card_ids(day_page) == [OTHER, KNOWN]  # pinned first
    badge = html.fromstring(day_page.text).cssselect(f"[id='paper-{OTHER}'] .pinned")
    assert badge and badge[0].text_content() == "Pinned"
    assert not html.fromstring(day_page.text).cssselect(f"[id='paper-{KNOWN}'] .pinned")
    assert httpx.get(f"{site.base}/date/{DAY.isoformat()}").text.count("Pinned") >= 1  # visitors see it too
    assert cleo.post(f"/papers/{OTHER}/pin", day=DAY.isoformat(), on="0").status_code == 303
    assert card_ids(cleo.page(f"/date/{DAY.isoformat()}")) == [KNOWN, OTHER]

    assert cleo.post(f"/papers/{OTHER}/unfeature", day=DAY.isoformat()).status_code == 303
    assert card_ids(cleo.page(f"/date/{DAY.isoformat()}")) == [KNOWN]
    assert cleo.post(f"/papers/{OTHER}/unfeature", day=DAY.isoformat()).status_code == 404
    assert cleo.post(f"/papers/{OTHER}/pin", day=DAY.isoformat()).status_code == 404
    assert cleo.post("/papers/2601.09999/feature", day=DAY.isoformat()).status_code == 404
    assert cleo.post(f"/papers/{OTHER}/feature", day="1800-01-01").status_code == 400
    assert cleo.post(f"/papers/{OTHER}/feature", day="not-a-day").status_code == 400

    with read_tx(site.engine) as conn:
        log = [(a.actor, a.action, a.target) for a in accounts.audit_entries(conn)]
    assert log[::-1] == [
        ("cleo", "feature", f"paper:{OTHER}@2025-12-24"),
        ("cleo", "pin", f"paper:{OTHER}@{DAY.isoformat()}"),
        ("cleo", "unpin", f"paper:{OTHER}@{DAY.isoformat()}"),
        ("cleo", "unfeature", f"paper:{OTHER}@{DAY.isoformat()}"),
    ]


def test_admins_curate_too(site: Site) -> None:
    root = site.visitor("root", role="admin")
    assert html.fromstring(root.page(f"/papers/{KNOWN}").text).cssselect("#curation")
    assert root.post(f"/papers/{KNOWN}/pin", day=DAY.isoformat()).status_code == 303
    assert listing_rows(site.engine, KNOWN) == [(DAY, "test", None, True)]


def test_non_curators_get_403_and_forms_need_csrf(site: Site) -> None:
    ada = site.visitor("ada")
    for action, data in (("feature", {"day": "2025-12-24"}), ("unfeature", {"day": DAY.isoformat()})):
        r = ada.post(f"/papers/{KNOWN}/{action}", **data)
        assert r.status_code == 403 and "curators" in r.text
    assert ada.post(f"/papers/{KNOWN}/pin", day=DAY.isoformat()).status_code == 403
    assert httpx.get(f"{site.base}/papers/{KNOWN}").status_code == 200
    assert "curation" not in httpx.get(f"{site.base}/papers/{KNOWN}").text

    cleo = site.visitor("cleo", role="curator")
    cleo.page(f"/papers/{KNOWN}")
    assert cleo.post(f"/papers/{KNOWN}/pin", csrf=False, day=DAY.isoformat()).status_code == 403
    assert cleo.post(f"/papers/{KNOWN}/pin", csrf=False, day=DAY.isoformat(), csrf_token="forged").status_code == 403
    assert ada.post("/submit", csrf=False, arxiv_id=OTHER).status_code == 403
    assert listing_rows(site.engine, KNOWN) == [(DAY, "test", None, False)]
    with read_tx(site.engine) as conn:
        assert accounts.audit_entries(conn) == []
        assert conn.execute(select(DailyListing.pk).where(DailyListing.day == today())).first() is None


def test_featuring_is_idempotent_and_only_curators_actions_are_audited(engine: Engine) -> None:
    ingest_items(engine, [PaperRecord(id=KNOWN, source="test", title="T")], ImportReport())
    with write_tx(engine) as conn:
        pk = feed.paper_pk_of(conn, KNOWN)
        assert pk is not None
        version = conn.execute(text("SELECT value FROM site_state WHERE key = 'data_version'")).scalar()
        assert listings.feature(conn, pk, DAY, None) is True  # as a member's submission does: no audit
        curator = accounts.create_user(conn, "cleo", "cleo@example.org", None, role="curator", active=True)
    assert featuring.feature(engine, curator, KNOWN, DAY) is False
    featuring.set_pinned(engine, curator, KNOWN, DAY, True)
    featuring.set_pinned(engine, curator, KNOWN, DAY, True)  # already pinned: no change, nothing audited
    featuring.set_pinned(engine, curator, KNOWN, DAY, False)
    featuring.unfeature(engine, curator, KNOWN, DAY)
    with pytest.raises(NotFound):
        featuring.unfeature(engine, curator, KNOWN, DAY)
    with read_tx(engine) as conn:
        assert conn.execute(text("SELECT value FROM site_state WHERE key = 'data_version'")).scalar() == version + 4
        assert [a.action for a in accounts.audit_entries(conn)] == ["unfeature", "unpin", "pin"]


# The command line


def run_cli(db_url: str, tmp_path: Path, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    app = typer.Typer()
    app.add_typer(users_app, name="user")
    env = {"DAILYPAPERS_DATABASE_URL": db_url, "DAILYPAPERS_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, " ".join(result.stderr.split())  # rich wraps long lines


def test_cli_creates_users_whose_token_and_password_work(engine: Engine, db_url: str, tmp_path: Path) -> None:
    ingest_items(engine, [PaperRecord(id=KNOWN, source="test", title="T")], ImportReport())
    code, out, err = run_cli(db_url, tmp_path, "user", "create", "bot", "--email", "Bot@Example.org", "--token")
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n" and token.startswith("dp_") and "Created user bot" in err
    pw = "a long enough password"
    args = ("user", "create", "cleo", "--email", "cleo@example.org", "--role", "curator", "--password-stdin")
    code, out, err = run_cli(db_url, tmp_path, *args, stdin=pw + "\n")
    assert (code, out) == (0, "") and "with a password" in err
    with read_tx(engine) as conn:
        bot = accounts.account_by_name(conn, "bot")
        cleo = accounts.account_by_name(conn, "cleo")
        assert bot and bot.active and bot.role == "user" and bot.email == "bot@example.org"
        assert accounts.password_hash_of(conn, bot.pk) is None
        assert cleo and cleo.active and cleo.role == "curator"

    with serve_app(engine, tmp_path, rate_limits=False) as base:
        r = httpx.post(
            f"{base}/api/papers/submit", json={"arxiv_id": KNOWN}, headers={"Authorization": f"Bearer {token}"}
        )
        assert r.status_code == 201 and r.json()["already_featured"] is False
        browser = Visitor(base)
        signed_in = browser.post("/signin", login="cleo", password=pw)
        assert signed_in.status_code == 303
        assert html.fromstring(browser.page(f"/papers/{KNOWN}").text).cssselect("#curation")
    assert listing_rows(engine, KNOWN) == [(today(), "user", "bot", False)]

    code, out, err = run_cli(db_url, tmp_path, "user", "role", "bot", "admin")
    assert code == 0 and "user -> admin" in err
    with read_tx(engine) as conn:
        bot = accounts.account_by_name(conn, "bot")
        assert bot and bot.role == "admin"
        assert [a.action for a in accounts.audit_entries(conn)][:1] == ["set_role"]


@pytest.mark.parametrize(
    ("args", "stdin", "code", "message"),
    [
        (("create", "ada", "--email", "other@example.org", "--token"), None, 1, "user named 'ada' already exists"),
        (("create", "ADA", "--email", "other@example.org", "--token"), None, 1, "already exists"),
        (("create", "eve", "--email", "ADA@example.org", "--token"), None, 1, "email 'ada@example.org' already"),
        (("create", "eve", "--email", "eve@example.org"), None, 2, "--password-stdin"),
        (("create", "eve", "--email", "eve@example.org", "--password-stdin"), "short\n", 2, "at least 8"),
        (("create", "eve", "--email", "not-an-email", "--token"), None, 2, "email address"),
        (("create", "e", "--email", "eve@example.org", "--token"), None, 2, "not a valid username"),
        (("create", "eve", "--email", "eve@example.org", "--role", "king", "--token"), None, 2, "not a role"),
        (("role", "nobody", "curator"), None, 1, "no user named 'nobody'"),
        (("role", "ada", "king"), None, 2, "not a role"),
    ],
)
def test_cli_refuses_duplicates_and_bad_input(
    engine: Engine, db_url: str, tmp_path: Path, args: tuple[str, ...], stdin: str | None, code: int, message: str
) -> None:
    assert run_cli(db_url, tmp_path, "user", "create", "ada", "--email", "ada@example.org", "--token")[0] == 0
    got, out, err = run_cli(db_url, tmp_path, "user", *args, stdin=stdin)
    assert got == code and out == ""
    assert message in err
    with read_tx(engine) as conn:
        assert accounts.account_by_name(conn, "eve") is None
