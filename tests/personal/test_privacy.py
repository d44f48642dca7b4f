"""A reader's data (personal.privacy): the export holds every kind of row the site keeps about them and nothing
of anyone else's, never a secret; deleting the account removes it all in one transaction, keeps the counters
equal to the rows, other people's replies in place, and the name free again; the last admin may not leave.
Both databases."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, text

from dailypapers.comments import discussion
from dailypapers.curation import voting
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.personal import privacy
from dailypapers.problems import Forbidden, NotFound, Problem, Unprocessable
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import accounts, feed, listings
from dailypapers.store.account_data import GHOST
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
from tests.support.accounts import PASSWORD, make_user

DAY = dt.date(2026, 3, 6)
PAPERS = ("2603.00001", "2603.00002", "2603.00003")
NOW = dt.datetime(2026, 3, 7, 12, tzinfo=dt.UTC)
# What an export may never hold: hashes, tokens, vectors, models.
SECRET_KEYS = {"password_hash", "token_hash", "vector", "model"}


def add_papers(engine: Engine) -> dict[str, int]:
    records = [
        PaperRecord(
            id=pid, source="test", title=f"Paper {pid}", abstract="An abstract.", listing=Listing(day=DAY, source="t")
        )
        for pid in PAPERS
    ]
    ingest_items(engine, records, ImportReport())
    with read_tx(engine) as conn:
        return {pid: pk for pid in PAPERS if (pk := feed.paper_pk_of(conn, pid)) is not None}


def populate(engine: Engine, who: Account, pks: dict[str, int], tag: str) -> dict[str, Any]:
    """One row of every kind for `who` (texts carry `tag`); returns the secrets made on the way."""
    first, second = pks[PAPERS[0]], pks[PAPERS[1]]
    voting.vote(engine, who, PAPERS[0], True)
    voting.vote(engine, who, PAPERS[1], True)
    comment = discussion.post(engine, PAPERS[0], who, f"A comment by {tag}")
    token, session = f"dp_token_{tag}_0123456789", f"session_{tag}_0123456789"
    with write_tx(engine) as conn:
        accounts.create_token(conn, who.pk, f"script of {tag}", token)
        accounts.create_session(conn, who.pk, session, dt.timedelta(days=1))
        listings.feature(conn, pks[PAPERS[2]], DAY + dt.timedelta(days=1 if tag == "ada" else 2), who.pk)
        conn.execute(insert(Save).values(user_pk=who.pk, paper_pk=first, created_at=NOW))
        cpk = conn.execute(
            insert(Collection)
            .values(
                user_pk=who.pk,
                slug=f"reading-{tag}",
                name=f"Reading of {tag}",
                description="",
                visibility="private",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(Collection.pk)
        ).scalar_one()
        conn.execute(
            insert(CollectionPaper).values(collection_pk=cpk, paper_pk=second, note=f"note {tag}", added_at=NOW)
        )
        conn.execute(
            insert(Follow).values(user_pk=who.pk, kind="author", key=f"author {tag}", label=tag, created_at=NOW)
        )
        conn.execute(
            insert(LibraryEntry).values(
                user_pk=who.pk,
                paper_pk=None,
                title=f"Library title {tag}",
                abstract="",
                authors_text="",
                arxiv_id="",
                doi="",
                year=2020,
                source="bibtex",
                vector=b"\x00\x01\x02\x03",
                imported_at=NOW,
            )
        )
        conn.execute(insert(Dismissal).values(user_pk=who.pk, paper_pk=second, created_at=NOW))
        conn.execute(delete(ReaderProfile).where(ReaderProfile.user_pk == who.pk))  # an upvote may have made it
        conn.execute(
            insert(ReaderProfile).values(
                user_pk=who.pk, stale_since=None, trained_at=NOW, signals=7, model=b"npz bytes", version=1
            )
        )
        spk = conn.execute(
            insert(Subscriber)
            .values(
                email=f"digest-{tag}@example.com",
                frequency="daily",
                categories=["cs.LG"],
                keywords=[tag],
                user_pk=who.pk,
                created_at=NOW,
                confirmed_at=NOW,
                for_you=True,
            )
            .returning(Subscriber.pk)
        ).scalar_one()
        conn.execute(insert(DigestDelivery).values(subscriber_pk=spk, period="2026-03-06", status="sent", attempts=1))
        conn.execute(insert(DigestPaper).values(subscriber_pk=spk, paper_pk=first))
    return {"token": token, "session": session, "comment": comment.pk}


def keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def count(engine: Engine, sql: str, **params: object) -> int:
    with read_tx(engine) as conn:
        return int(conn.execute(text(sql), params).scalar() or 0)


def counters_match_rows(engine: Engine) -> None:
    """`papers.votes` equals the vote rows, `papers.num_comments` the visible comments, for every paper."""
    with read_tx(engine) as conn:
        wrong = conn.execute(
            text(
                "SELECT p.id, p.votes, p.num_comments, "
                "(SELECT count(*) FROM votes v WHERE v.paper_pk = p.pk) AS vote_rows, "
                "(SELECT count(*) FROM comments c JOIN users u ON u.pk = c.user_pk WHERE c.paper_pk = p.pk "
                " AND NOT c.deleted AND NOT c.hidden AND NOT u.suspended) AS visible "
                "FROM papers p"
            )
        ).all()
    assert [r for r in wrong if r.votes != r.vote_rows or r.num_comments != r.visible] == []


@pytest.fixture
def readers(engine: Engine) -> tuple[Account, Account, dict[str, int]]:
    pks = add_papers(engine)
    ada, bob = make_user(engine, "ada"), make_user(engine, "bob")
    return ada, bob, pks


def test_the_export_holds_every_kind_of_data_and_nothing_else(
    engine: Engine, readers: tuple[Account, Account, dict[str, int]]
) -> None:
    ada, bob, pks = readers
    made = populate(engine, ada, pks, "ada")
    populate(engine, bob, pks, "bob")
    data = privacy.export_data(engine, ada)
    text_of = json.dumps(data)  # plain JSON values only

    assert data["format"] == "dailypapers-export" and data["version"] == 1
    assert data["account"]["name"] == "ada" and data["account"]["email"] == "ada@example.com"
    assert {"fullname", "created_at", "role", "active"} <= set(data["account"])
    assert [t["name"] for t in data["api_tokens"]] == ["script of ada"]
    assert data["sessions"]["count"] == 1 and data["sessions"]["sessions"][0]["expires_at"]
    assert sorted(v["paper"] for v in data["votes"]) == [PAPERS[0], PAPERS[1]]
    assert [(c["paper"], c["body"], c["deleted"]) for c in data["comments"]] == [(PAPERS[0], "A comment by ada", False)]
    assert [(s["paper"], s["day"]) for s in data["submissions"]] == [(PAPERS[2], "2026-03-07")]
    assert [s["paper"] for s in data["saves"]] == [PAPERS[0]]
    [collection] = data["collections"]
    assert collection["name"] == "Reading of ada" and collection["visibility"] == "private"
    assert [(p["paper"], p["note"]) for p in collection["papers"]] == [(PAPERS[1], "note ada")]
    assert [(f["kind"], f["key"]) for f in data["follows"]] == [("author", "author ada")]
    assert [e["title"] for e in data["library"]] == ["Library title ada"]
    assert [d["paper"] for d in data["not_interested"]] == [PAPERS[1]]
    assert data["reader_profile"]["signals"] == 7 and data["reader_profile"]["trained_at"].startswith("2026-03-07")
    [sub] = data["digest_subscriptions"]
    assert sub["email"] == "digest-ada@example.com" and sub["for_you"] is True
    assert [d["period"] for d in sub["deliveries"]] == ["2026-03-06"] and sub["papers_sent"] == [PAPERS[0]]

    assert "bob" not in text_of  # nothing of another reader's
    assert made["token"] not in text_of and made["session"] not in text_of
    assert not keys_in(data) & SECRET_KEYS


def test_deleting_removes_everything_personal_and_keeps_the_counters(
    engine: Engine, readers: tuple[Account, Account, dict[str, int]]
) -> None:
    ada, bob, pks = readers
    made = populate(engine, ada, pks, "ada")
    populate(engine, bob, pks, "bob")
    reply = discussion.post(engine, PAPERS[0], bob, "A reply by bob", parent_pk=made["comment"])
    lonely = discussion.post(engine, PAPERS[1], ada, "A comment nobody answered")
    votes_before = count(engine, "SELECT votes FROM papers WHERE id = :p", p=PAPERS[0])

    with write_tx(engine) as conn:
        accounts.log_action(conn, bob.pk, "suspend", "user:ada")
    assert [e["action"] for e in privacy.export_data(engine, ada)["audit_entries_about_you"]] == ["suspend"]
    done = privacy.delete_account(engine, ada, PASSWORD, "ada")

    assert (done.votes, done.comments_kept_as_deleted, done.comments_removed, done.submissions) == (2, 1, 1, 1)
    assert (done.saves, done.collections, done.follows, done.library_entries, done.dismissals) == (1, 1, 1, 1, 1)
    assert (done.sessions, done.api_tokens, done.digest_subscriptions) == (1, 1, 1)
    per_user = {
        "users": "pk",
        "votes": "user_pk",
        "comments": "user_pk",
        "saves": "user_pk",
        "collections": "user_pk",
        "follows": "user_pk",
        "library_entries": "user_pk",
        "dismissals": "user_pk",
        "reader_profiles": "user_pk",
        "sessions": "user_pk",
        "api_tokens": "user_pk",
        "subscribers": "user_pk",
        "daily_listings": "submitter_pk",
    }
    for table, column in per_user.items():
        assert count(engine, f"SELECT count(*) FROM {table} WHERE {column} = :u", u=ada.pk) == 0, table
    assert count(engine, "SELECT count(*) FROM collection_papers WHERE note = 'note ada'") == 0
    assert count(engine, "SELECT count(*) FROM subscribers WHERE email = 'digest-ada@example.com'") == 0
    assert count(engine, "SELECT count(*) FROM digest_deliveries") == 1  # bob's
    assert count(engine, "SELECT count(*) FROM digest_papers") == 1
    assert count(engine, "SELECT votes FROM papers WHERE id = :p", p=PAPERS[0]) == votes_before - 1
    counters_match_rows(engine)

    with read_tx(engine) as conn:  # the thread holds: bob's reply under a "[deleted]" comment of nobody
        kept = conn.execute(
            text("SELECT c.body, c.deleted, u.name FROM comments c JOIN users u ON u.pk = c.user_pk WHERE c.pk = :c"),
            {"c": made["comment"]},
        ).one()
        assert (kept.body, bool(kept.deleted), kept.name) == ("", True, GHOST)
        assert (
            conn.execute(text("SELECT body FROM comments WHERE pk = :c"), {"c": reply.pk}).scalar() == "A reply by bob"
        )
        assert conn.execute(text("SELECT count(*) FROM comments WHERE pk = :c"), {"c": lonely.pk}).scalar() == 0
        thread = discussion.thread(conn, pks[PAPERS[0]], None)
        # The listing ada submitted stays, without her.
        assert (
            conn.execute(
                text("SELECT count(*) FROM daily_listings WHERE day = :d AND submitter_pk IS NULL"),
                {"d": DAY + dt.timedelta(days=1)},
            ).scalar()
            == 1
        )
    top = [c for c in thread if c.pk == made["comment"]]
    assert top and top[0].deleted and [r.body for r in top[0].replies] == ["A reply by bob"]
    assert privacy.export_data(engine, bob)["collections"][0]["papers"][0]["note"] == "note bob"  # bob untouched

    again = make_user(engine, "ada")  # the name and the address are free
    assert again.email == "ada@example.com"
    fresh = privacy.export_data(engine, again)  # nothing of the account that had the name before
    assert fresh["audit_entries_about_you"] == [] and fresh["votes"] == [] and fresh["digest_subscriptions"] == []


def test_refusals_change_nothing(engine: Engine, readers: tuple[Account, Account, dict[str, int]]) -> None:
    ada, _, pks = readers
    populate(engine, ada, pks, "ada")
    with pytest.raises(Forbidden, match="password is not right"):
        privacy.delete_account(engine, ada, "wrong password", "ada")
    with pytest.raises(Unprocessable, match="type your username, ada"):
        privacy.delete_account(engine, ada, PASSWORD, "Ada ")
    assert count(engine, "SELECT count(*) FROM users WHERE name = 'ada'") == 1
    assert len(privacy.export_data(engine, ada)["votes"]) == 2
    privacy.delete_account(engine, ada, PASSWORD, None)  # the API does not ask for the name
    with pytest.raises(NotFound):
        privacy.delete_account(engine, ada, PASSWORD, "ada")
    with pytest.raises(NotFound):
        privacy.export_data(engine, ada)


def test_the_last_admin_cannot_leave(engine: Engine) -> None:
    root = make_user(engine, "root", role="admin")
    with pytest.raises(Forbidden, match="last admin"):
        privacy.delete_account(engine, root, PASSWORD, "root")
    other = make_user(engine, "other", role="admin")
    privacy.delete_account(engine, root, PASSWORD, "root")
    with pytest.raises(Forbidden, match="last admin"):
        privacy.delete_account(engine, other, PASSWORD, "other")


def test_two_admins_leaving_at_once_leave_one(engine: Engine) -> None:
    admins = [make_user(engine, name, role="admin") for name in ("one", "two")]
    outcomes: list[str] = []

    def leave(who: Account) -> None:
        try:
            privacy.delete_account(engine, who, PASSWORD, who.name)
            outcomes.append("deleted")
        except Problem as refused:
            outcomes.append(type(refused).__name__)

    threads = [threading.Thread(target=leave, args=(a,)) for a in admins]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["Forbidden", "deleted"]
    assert count(engine, "SELECT count(*) FROM users WHERE role = 'admin'") == 1


def test_two_deletions_share_the_ghost(engine: Engine, readers: tuple[Account, Account, dict[str, int]]) -> None:
    ada, bob, _ = readers
    carol = make_user(engine, "carol")
    for author in (ada, bob):
        top = discussion.post(engine, PAPERS[0], author, f"by {author.name}")
        discussion.post(engine, PAPERS[0], carol, "a reply", parent_pk=top.pk)
    privacy.delete_account(engine, ada, PASSWORD, "ada")
    privacy.delete_account(engine, bob, PASSWORD, "bob")
    assert count(engine, "SELECT count(*) FROM users WHERE name = :g AND external", g=GHOST) == 1
    assert (
        count(engine, "SELECT count(*) FROM comments c JOIN users u ON u.pk = c.user_pk WHERE u.name = :g", g=GHOST)
        == 2
    )
    counters_match_rows(engine)
