"""Digest subscribers, the delivery ledger (one digest per subscriber and period) and papers already mailed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text


@dataclass(frozen=True)
class Subscriber:
    """One row of `subscribers`."""

    pk: int
    email: str
    frequency: str
    categories: list[str]
    keywords: list[str]
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    bounced_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.bounced_at is None


_COLUMNS = "pk, email, frequency, categories, keywords, confirmed_at, unsubscribed_at, bounced_at"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def json_list(value: Any) -> list[str]:
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return [str(v) for v in value or []]


def _row(row: Any) -> Subscriber:
    return Subscriber(
        pk=int(row.pk),
        email=row.email,
        frequency=row.frequency,
        categories=json_list(row.categories),
        keywords=json_list(row.keywords),
        confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
        bounced_at=row.bounced_at,
    )


def by_email(conn: Connection, email: str) -> Subscriber | None:
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM subscribers WHERE email = :e"), {"e": email.lower()}).first()
    return _row(row) if row else None


def by_pk(conn: Connection, pk: int) -> Subscriber | None:
    row = conn.execute(text(f"SELECT {_COLUMNS} FROM subscribers WHERE pk = :pk"), {"pk": pk}).first()
    return _row(row) if row else None


def get_or_create(conn: Connection, email: str, frequency: str) -> Subscriber:
    """The subscriber for `email`, created unconfirmed if new. Known ones are left unchanged until confirmed."""
    email = email.lower()
    conn.execute(
        text(
            "INSERT INTO subscribers (email, frequency, categories, keywords, created_at) "
            "VALUES (:e, :f, '[]', '[]', :now) ON CONFLICT (email) DO NOTHING"
        ),
        {"e": email, "f": frequency, "now": _now()},
    )
    found = by_email(conn, email)
    assert found is not None
    return found


def set_preferences(conn: Connection, pk: int, frequency: str, categories: list[str], keywords: list[str]) -> None:
    conn.execute(
        text("UPDATE subscribers SET frequency = :f, categories = :c, keywords = :k WHERE pk = :pk"),
        {"f": frequency, "c": orjson.dumps(categories).decode(), "k": orjson.dumps(keywords).decode(), "pk": pk},
    )


def confirm(conn: Connection, pk: int, frequency: str, categories: list[str], keywords: list[str]) -> None:
    """Start (or restart) mailing `pk` with the preferences of the confirmed request."""
    set_preferences(conn, pk, frequency, categories, keywords)
    conn.execute(
        text("UPDATE subscribers SET confirmed_at = :now, unsubscribed_at = NULL, bounced_at = NULL WHERE pk = :pk"),
        {"now": _now(), "pk": pk},
    )


def unsubscribe(conn: Connection, pk: int) -> None:
    conn.execute(
        text("UPDATE subscribers SET unsubscribed_at = :now WHERE pk = :pk AND unsubscribed_at IS NULL"),
        {"now": _now(), "pk": pk},
    )


def mark_bounced(conn: Connection, pk: int) -> None:
    conn.execute(text("UPDATE subscribers SET bounced_at = :now WHERE pk = :pk"), {"now": _now(), "pk": pk})


def active_subscribers(conn: Connection, frequency: str) -> list[Subscriber]:
    """Confirmed subscribers of `frequency` that neither unsubscribed nor bounced, oldest first."""
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM subscribers WHERE frequency = :f AND confirmed_at IS NOT NULL "
            "AND unsubscribed_at IS NULL AND bounced_at IS NULL ORDER BY pk"
        ),
        {"f": frequency},
    )
    return [_row(r) for r in rows]


def delivery_status(conn: Connection, pk: int, period: str) -> str | None:
    sql = "SELECT status FROM digest_deliveries WHERE subscriber_pk = :s AND period = :p"
    return conn.execute(text(sql), {"s": pk, "p": period}).scalar()


def claim_delivery(conn: Connection, pk: int, period: str, message_id: str) -> str | None:
    """Record an attempt at the digest of `period` for `pk`; None when it was already sent.

    Returns the Message-ID to send under: the one of an earlier, unfinished attempt if there was one, so
    that a digest resent after a crash (between the server's OK and our record of it) is recognisable.
    """
    conn.execute(
        text(
            "INSERT INTO digest_deliveries (subscriber_pk, period, status, attempts, message_id) "
            "VALUES (:s, :p, 'sending', 0, :m) ON CONFLICT (subscriber_pk, period) DO NOTHING"
        ),
        {"s": pk, "p": period, "m": message_id},
    )
    updated = conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'sending', attempts = attempts + 1, "
            "message_id = coalesce(message_id, :m) WHERE subscriber_pk = :s AND period = :p AND status <> 'sent'"
        ),
        {"s": pk, "p": period, "m": message_id},
    )
    if updated.rowcount != 1:
        return None
    sql = "SELECT message_id FROM digest_deliveries WHERE subscriber_pk = :s AND period = :p"
    return str(conn.execute(text(sql), {"s": pk, "p": period}).scalar())


def mark_sent(conn: Connection, pk: int, period: str, message_id: str, paper_pks: list[int]) -> None:
    """The digest went out: the ledger says so and its papers are never mailed to `pk` again."""
    conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'sent', sent_at = :now, message_id = :m, last_error = NULL "
            "WHERE subscriber_pk = :s AND period = :p"
        ),
        {"now": _now(), "m": message_id, "s": pk, "p": period},
    )
    for paper_pk in paper_pks:
        conn.execute(
            text(
                "INSERT INTO digest_papers (subscriber_pk, paper_pk) VALUES (:s, :p) "
                "ON CONFLICT (subscriber_pk, paper_pk) DO NOTHING"
            ),
            {"s": pk, "p": paper_pk},
        )


def mark_failed(conn: Connection, pk: int, period: str, error: str) -> None:
    conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'failed', last_error = :e WHERE subscriber_pk = :s AND period = :p"
        ),
        {"e": error[:2000], "s": pk, "p": period},
    )


def received_papers(conn: Connection, pk: int) -> set[int]:
    rows = conn.execute(text("SELECT paper_pk FROM digest_papers WHERE subscriber_pk = :s"), {"s": pk})
    return {int(r[0]) for r in rows}
