"""The subscription store on SQLite and PostgreSQL: preferences, the ledger, papers already mailed."""

from __future__ import annotations

from sqlalchemy import Engine

from dailypapers.store import subscribers as subs
from dailypapers.store.db import write_tx


def test_subscriber_lifecycle_and_ledger(engine: Engine) -> None:
    with write_tx(engine) as conn:
        sub = subs.get_or_create(conn, "Ada@Example.ORG", "daily")
        again = subs.get_or_create(conn, "ada@example.org", "weekly")
    assert sub.pk == again.pk and sub.email == "ada@example.org" and not sub.active
    with write_tx(engine) as conn:
        subs.confirm(conn, sub.pk, "weekly", ["cs.CL"], ["retrieval"])
        assert [s.email for s in subs.active_page(conn, "weekly", 0, 100)] == ["ada@example.org"]
        found = subs.by_pk(conn, sub.pk)
        assert found and found.categories == ["cs.CL"] and found.keywords == ["retrieval"] and found.active
        assert subs.claim_deliveries(conn, "weekly:2026-W48", {sub.pk: "<a@x>"}) == {sub.pk: "<a@x>"}
        # A rerun after a crash retries under the first attempt's Message-ID.
        assert subs.claim_deliveries(conn, "weekly:2026-W48", {sub.pk: "<b@x>"}) == {sub.pk: "<a@x>"}
        subs.mark_sent_many(conn, "weekly:2026-W48", [(sub.pk, "<m@x>", [])])
        assert subs.claim_deliveries(conn, "weekly:2026-W48", {sub.pk: "<c@x>"}) == {}
        assert subs.delivery_statuses(conn, [sub.pk], "weekly:2026-W48") == {sub.pk: "sent"}
        subs.unsubscribe(conn, sub.pk)
        assert subs.active_page(conn, "weekly", 0, 100) == []
