"""The "for you" digest on the demo data, both databases: a member's own ranking of the period's papers
with reasons, new papers from what they follow, exactly once, never a paper twice, nothing for a member
who has told us nothing; trending subscribers are unchanged."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

from sqlalchemy import Engine, text

from dailypapers.digest import subscribing
from dailypapers.digest.prefs import check
from dailypapers.ingest.demo import load_demo
from dailypapers.periods import period_of
from dailypapers.personal import follows
from dailypapers.store import subscribers
from dailypapers.store.convert import from_json
from dailypapers.store.db import read_tx, write_tx
from tests.support.accounts import make_user
from tests.support.digest import confirmed, run, settings_for

DAY = dt.date(2026, 7, 30)  # the demo's busiest day: 41 new papers


def mails(outbox: Path, to: str) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["To"] == to:
            found.append(msg)
    return found  # type: ignore[return-value]


def body(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def day_papers(engine: Engine, day: dt.date) -> list[tuple[int, str, str, list[dict[str, str]]]]:
    with read_tx(engine) as conn:
        rows = conn.execute(text("SELECT pk, id, title, authors, published FROM papers ORDER BY pk")).all()
    return [
        (r.pk, r.id, r.title, from_json(r.authors)) for r in rows if r.published and str(r.published)[:10] == str(day)
    ]


def for_you_member(engine: Engine, name: str, frequency: str = "daily") -> tuple[int, str]:
    account = make_user(engine, name)
    subscribing.subscribe_member(engine, check(account.email, frequency), user_pk=account.pk, for_you=True)
    return account.pk, str(account.email)


def test_a_members_own_digest_exactly_once_with_reasons(engine: Engine, tmp_path: Path) -> None:
    load_demo(engine)
    settings = settings_for(tmp_path)
    papers = day_papers(engine, DAY)
    saved_pk = day_papers(engine, dt.date(2026, 7, 10))[0][0]  # an earlier paper
    reader, reader_mail = for_you_member(engine, "reader")
    with write_tx(engine) as conn:
        conn.execute(
            text("INSERT INTO saves (user_pk, paper_pk, created_at) VALUES (:u, :p, :t)"),
            {"u": reader, "p": saved_pk, "t": dt.datetime.now(dt.UTC)},
        )
    _, quiet_mail = for_you_member(engine, "quiet")  # no signal, no follow
    trending_mail = "trend@example.com"
    confirmed(engine, trending_mail)

    report = run(engine, settings, DAY)
    assert reader_mail in report.sent
    # Nothing was featured that day: the trending digest has nothing, the member's own has the new papers.
    assert quiet_mail in report.nothing_new and trending_mail in report.nothing_new
    (mine,) = mails(tmp_path / "outbox", reader_mail)
    assert mine["Subject"].startswith(f"Daily Papers for you, {DAY}: 10 papers")
    text_body = body(mine)
    assert text_body.startswith(f"Papers for you for {DAY}")
    assert text_body.count("which you saved)") == 10
    ids_in_mail = {pid for _, pid, _, _ in papers if f"/papers/{pid}" in text_body}
    assert len(ids_in_mail) == 10, "only the day's papers"
    assert not mails(tmp_path / "outbox", trending_mail)

    again = run(engine, settings, DAY)
    assert reader_mail in again.already_sent and len(mails(tmp_path / "outbox", reader_mail)) == 1


def test_follows_bring_every_new_paper_and_nothing_is_mailed_twice(engine: Engine, tmp_path: Path) -> None:
    load_demo(engine)
    settings = settings_for(tmp_path)
    papers = day_papers(engine, DAY)
    reader, reader_mail = for_you_member(engine, "follower")
    followed = papers[-1][3][0]["name"]
    with read_tx(engine) as conn:
        from dailypapers.store.accounts import account_by_pk

        account = account_by_pk(conn, reader)
    assert account is not None
    follows.follow(engine, account, "author", followed)
    run(engine, settings, DAY)
    (mine,) = mails(tmp_path / "outbox", reader_mail)
    text_body = body(mine)
    assert f"By an author you follow: {followed}" in text_body
    assert f"/papers/{papers[-1][1]}" in text_body
    with read_tx(engine) as conn:
        sub = subscribers.by_email(conn, reader_mail)
        assert sub is not None and sub.for_you
        sent = subscribers.received_among(conn, [sub.pk], [pk for pk, _, _, _ in papers]).get(sub.pk, set())
    assert papers[-1][0] in sent

    # Switched to weekly, the week that holds the day brings none of the papers already mailed.
    subscribing.subscribe_member(engine, check(reader_mail, "weekly"), user_pk=reader, for_you=True)
    week = period_of("week", DAY)
    import asyncio

    from dailypapers.digest.deliver import Options, deliver
    from tests.support.digest import FakeSleep

    report = asyncio.run(deliver(engine, settings, week, Options(sleep=FakeSleep())))
    weekly = [m for m in mails(tmp_path / "outbox", reader_mail) if "W" in m["Subject"]]
    if reader_mail in report.sent:
        (w,) = weekly
        for pk, pid, _, _ in papers:
            if pk in sent:
                assert f"/papers/{pid}" not in body(w)
    else:
        assert reader_mail in report.nothing_new and not weekly
