"""Exactly-once delivery against a real SMTP server with injected faults, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dailypapers.digest.compose import digest_period, ledger_key
from dailypapers.periods import Period, period_of
from dailypapers.store import subscribers
from dailypapers.store.db import read_tx, write_tx
from tests.support.digest import DAY, FakeSleep, add_papers, confirmed, run, settings_for
from tests.support.smtp import smtp_server

EMAILS = ["a@example.org", "b@example.org", "c@example.org"]


def _setup(engine: Engine) -> list[int]:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5), ("2601.00002", "Big models", "cs.LG", 9))
    return [confirmed(engine, e) for e in EMAILS]


def test_cut_connection_mid_batch_then_rerun_sends_each_digest_once(engine: Engine, tmp_path: Path) -> None:
    _setup(engine)
    with smtp_server() as (url, smtp):
        smtp.data_faults = {2: "cut"}
        first = run(engine, settings_for(tmp_path, smtp_url=url), retries=0)
        assert first.sent == ["a@example.org", "c@example.org"] and first.failed == ["b@example.org"]
        second = run(engine, settings_for(tmp_path, smtp_url=url), retries=0)
        assert second.sent == ["b@example.org"] and second.already_sent == ["a@example.org", "c@example.org"]
        third = run(engine, settings_for(tmp_path, smtp_url=url))
        assert third.sent == [] and len(third.already_sent) == 3
        assert sorted(str(m["To"]) for m in smtp.messages) == EMAILS


def test_temporary_failures_are_retried_with_backoff(engine: Engine, tmp_path: Path) -> None:
    _setup(engine)
    sleep = FakeSleep()
    with smtp_server() as (url, smtp):
        smtp.recipient_faults = {"b@example.org": ["451 4.3.0 try later", "421 4.7.0 busy"]}
        report = run(engine, settings_for(tmp_path, smtp_url=url), sleep=sleep, backoff=2.0)
        assert report.sent == EMAILS and report.failed == []
        assert sleep.waits == [2.0, 4.0]
        assert sorted(str(m["To"]) for m in smtp.messages) == EMAILS


def test_permanent_failure_marks_the_address_bounced(engine: Engine, tmp_path: Path) -> None:
    pks = _setup(engine)
    with smtp_server() as (url, smtp):
        smtp.recipient_faults = {"c@example.org": "550 5.1.1 no such user"}
        report = run(engine, settings_for(tmp_path, smtp_url=url))
        assert report.bounced == ["c@example.org"] and report.sent == EMAILS[:2]
        with read_tx(engine) as conn:
            sub = subscribers.by_pk(conn, pks[2])
            assert sub is not None and sub.bounced_at is not None
            assert subscribers.delivery_statuses(conn, [pks[2]], "daily:2026-01-05") == {pks[2]: "failed"}
        add_papers(engine, DAY.replace(day=6), ("2601.00003", "Another", "cs.IR", 1))
        later = run(engine, settings_for(tmp_path, smtp_url=url), day=DAY.replace(day=6))
        assert later.sent == EMAILS[:2] and "c@example.org" not in later.bounced
        assert [str(m["To"]) for m in smtp.messages].count("c@example.org") == 0


def test_rerun_after_a_crash_finishes_the_rest_under_the_same_message_id(engine: Engine, tmp_path: Path) -> None:
    pks = _setup(engine)
    with write_tx(engine) as conn:  # a crash: a claimed but unfinished, and a finished delivery
        subscribers.claim_deliveries(
            conn, "daily:2026-01-05", {pks[0]: "<first-try@example>", pks[1]: "<done@example>"}
        )
        subscribers.mark_sent_many(conn, "daily:2026-01-05", [(pks[1], "<done@example>", [])])
    with smtp_server() as (url, smtp):
        report = run(engine, settings_for(tmp_path, smtp_url=url), rate=1000.0)
        assert report.sent == ["a@example.org", "c@example.org"] and report.already_sent == ["b@example.org"]
        assert smtp.to("a@example.org")[0]["Message-ID"] == "<first-try@example>"


def test_never_the_same_paper_twice_and_nothing_new_means_no_mail(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5), ("2601.00002", "Big models", "cs.LG", 9))
    confirmed(engine, "a@example.org", "weekly")
    confirmed(engine, "ir@example.org", "weekly", ["cs.IR"])
    week = digest_period("weekly", "2026-W02")
    assert week == Period("week", DAY, DAY.replace(day=11)) and ledger_key(week) == "weekly:2026-W02"
    import asyncio

    from dailypapers.digest.deliver import Options, deliver

    with smtp_server() as (url, smtp):
        settings = settings_for(tmp_path, smtp_url=url)
        report = asyncio.run(deliver(engine, settings, week, Options(sleep=FakeSleep())))
        assert report.sent == ["a@example.org", "ir@example.org"]
        body = smtp.to("ir@example.org")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "Sparse retrieval" in body and "Big models" not in body
        first = smtp.to("a@example.org")[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert first.index("Big models") < first.index("Sparse retrieval")  # more upvotes first
        # The same papers again on a later day of the next week: nothing new, so no mail.
        add_papers(engine, DAY.replace(day=12), ("2601.00001", "Sparse retrieval", "cs.IR", 5))
        next_week = asyncio.run(deliver(engine, settings, digest_period("weekly", "2026-W03"), Options()))
        assert next_week.sent == [] and len(next_week.nothing_new) == 2 and len(smtp.messages) == 2


def test_without_smtp_digests_are_written_to_the_outbox(engine: Engine, tmp_path: Path) -> None:
    _setup(engine)
    report = run(engine, settings_for(tmp_path))
    assert report.sent == EMAILS
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3


def test_large_runs_compose_in_processes_send_in_parallel_and_mark_sent_in_small_groups(
    engine: Engine, tmp_path: Path
) -> None:
    """The path large runs take: worker processes, several connections, ledger marks in groups."""
    import asyncio

    from sqlalchemy import text

    from dailypapers.digest.deliver import GROUP, Options, deliver
    from dailypapers.store.db import make_engine

    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5), ("2601.00002", "Big models", "cs.LG", 9))
    emails = [f"r{n:02d}@example.org" for n in range(45)]
    for email in emails:
        confirmed(engine, email)
    watcher = make_engine(engine.url.render_as_string(hide_password=False))
    unmarked: list[int] = []
    with smtp_server() as (url, smtp):
        smtp.recipient_faults = {"r03@example.org": "550 5.1.1 no such user", "r10@example.org": ["451 4.3.0 later"]}
        smtp.data_faults = {7: "cut"}
        record = smtp.handle_DATA

        async def handle_data(server: Any, session: Any, envelope: Any) -> str:
            # Digests the server accepted that the ledger does not call sent yet: what a crash could resend.
            with watcher.connect() as conn:
                marked = conn.execute(text("SELECT count(*) FROM digest_deliveries WHERE status = 'sent'")).scalar()
            unmarked.append(len(smtp.messages) - int(marked or 0))
            return await record(server, session, envelope)

        smtp.handle_DATA = handle_data  # type: ignore[method-assign]
        settings = settings_for(tmp_path, smtp_url=url)
        options = Options(sleep=FakeSleep(), retries=1, processes=2, connections=3)
        period = period_of("day", DAY)
        report = asyncio.run(deliver(engine, settings, period, options))
        assert report.bounced == ["r03@example.org"] and report.failed == []
        assert sorted(report.sent) == [e for e in emails if e != "r03@example.org"]
        assert sorted(str(m["To"]) for m in smtp.messages) == sorted(report.sent)  # each exactly once
        assert max(unmarked) <= GROUP + 3 and unmarked[-1] < len(smtp.messages)
        ids = {str(m["To"]): str(m["Message-ID"]) for m in smtp.messages}
        with read_tx(engine) as conn:
            rows = conn.execute(text("SELECT status, count(*) FROM digest_deliveries GROUP BY status")).all()
            assert dict(rows) == {"sent": 44, "failed": 1}
            pk = subscribers.by_email(conn, "r20@example.org").pk  # type: ignore[union-attr]
            assert subscribers.received_among(conn, [pk], [1, 2, 3]).get(pk) and len(ids) == 44
            got = conn.execute(text("SELECT message_id FROM digest_deliveries WHERE subscriber_pk = :s"), {"s": pk})
            assert got.scalar() == ids["r20@example.org"]
        again = asyncio.run(deliver(engine, settings, period, options))
        assert again.sent == [] and len(again.already_sent) == 44 and len(smtp.messages) == 44
    watcher.dispose()


def test_digests_are_marked_bulk_and_automatic_and_dated_in_utc(engine: Engine, tmp_path: Path) -> None:
    _setup(engine)
    with smtp_server() as (url, smtp):
        assert run(engine, settings_for(tmp_path, smtp_url=url)).sent == EMAILS
        for msg, wire in zip(smtp.messages, smtp.raw, strict=True):
            assert msg["Auto-Submitted"] == "auto-generated" and msg["Precedence"] == "bulk"
            assert msg["X-Auto-Response-Suppress"] == "All"
            date = re.search(rb"\r\nDate: ([^\r]+)\r\n", wire)
            assert date and re.fullmatch(rb"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", date.group(1)), date


@pytest.mark.parametrize("processes", [0, 2])
def test_an_address_stored_before_addresses_were_checked_is_never_mailed(
    engine: Engine, tmp_path: Path, processes: int
) -> None:
    """`x<postmaster>@example.org` in the To header would make the envelope say RCPT TO:<postmaster>."""
    _setup(engine)
    bad = confirmed(engine, "x<postmaster>@example.org")
    with smtp_server() as (url, smtp):
        recipients: list[str] = []
        record = smtp.handle_RCPT

        async def handle_rcpt(server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
            recipients.append(address)
            return await record(server, session, envelope, address, options)

        smtp.handle_RCPT = handle_rcpt  # type: ignore[method-assign]
        report = run(engine, settings_for(tmp_path, smtp_url=url), processes=processes)
        assert report.bounced == ["x<postmaster>@example.org"] and sorted(report.sent) == EMAILS
        assert sorted(recipients) == EMAILS
    with read_tx(engine) as conn:
        sub = subscribers.by_pk(conn, bad)
        assert sub is not None and sub.bounced_at is not None
