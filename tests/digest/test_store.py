"""The subscription store on SQLite and PostgreSQL: preferences, the ledger, papers already mailed."""

from __future__ import annotations

from sqlalchemy import Engine

from dailypapers.store import subscriptions as subs
from dailypapers.store.db import write_tx


def test_subscriber_lifecycle_and_ledger(engine: Engine) -> None:
    with write_tx(engine) as conn:
        sub = subs.get_or_create(conn, "Ada@Example.ORG", "daily")
        again = subs.get_or_create(conn, "ada@example.org", "weekly")
    assert sub.pk == again.pk and sub.email == "ada@example.org" and not sub.active
    with write_tx(engine) as conn:
        subs.confirm(conn, sub.pk, "weekly", ["cs.CL"], ["retrieval"])
        assert [s.email for s in subs.active_subscribers(conn, "weekly")] == ["ada@example.org"]
        found = subs.by_pk(conn, sub.pk)
        assert found and found.categories == ["cs.CL"] and found.keywords == ["retrieval"] and found.active
        assert subs.claim_delivery(conn, sub.pk, "weekly:2026-W48", "<a@x>") == "<a@x>"
        # A rerun after a crash retries under the first attempt's Message-ID.
        assert subs.claim_delivery(conn, sub.pk, "weekly:2026-W48", "<b@x>") == "<a@x>"
        subs.mark_sent(conn, sub.pk, "weekly:2026-W48", "<m@x>", [])
        assert subs.claim_delivery(conn, sub.pk, "weekly:2026-W48", "<c@x>") is None
        assert subs.delivery_status(conn, sub.pk, "weekly:2026-W48") == "sent"
        subs.unsubscribe(conn, sub.pk)
        assert subs.active_subscribers(conn, "weekly") == []
