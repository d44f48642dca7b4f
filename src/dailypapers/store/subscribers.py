"""Digest subscribers, the delivery ledger (one digest per subscriber and period) and papers already mailed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, text

from dailypapers.store.convert import aware, str_list, to_json, utc_now


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
    user_pk: int | None = None  # a member's own subscription
    for_you: bool = False  # the member's own ranking instead of the trending papers (docs/personal.md)

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.bounced_at is None


_COLUMNS = "pk, email, frequency, categories, keywords, confirmed_at, unsubscribed_at, bounced_at, user_pk, for_you"


def _row(row: Any) -> Subscriber:
    return Subscriber(
        pk=int(row.pk),
        email=row.email,
        frequency=row.frequency,
        categories=str_list(row.categories),
        keywords=str_list(row.keywords),
        confirmed_at=aware(row.confirmed_at),
        unsubscribed_at=aware(row.unsubscribed_at),
        bounced_at=aware(row.bounced_at),
        user_pk=int(row.user_pk) if row.user_pk is not None else None,
        for_you=bool(row.for_you),
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
        {"e": email, "f": frequency, "now": utc_now()},
    )
    found = by_email(conn, email)
    assert found is not None
    return found


def set_preferences(conn: Connection, pk: int, frequency: str, categories: list[str], keywords: list[str]) -> None:
    conn.execute(
        text("UPDATE subscribers SET frequency = :f, categories = :c, keywords = :k WHERE pk = :pk"),
        {"f": frequency, "c": to_json(categories), "k": to_json(keywords), "pk": pk},
    )


def confirm(conn: Connection, pk: int, frequency: str, categories: list[str], keywords: list[str]) -> None:
    """Start (or restart) mailing `pk` with the preferences of the confirmed request."""
    set_preferences(conn, pk, frequency, categories, keywords)
    conn.execute(
        text("UPDATE subscribers SET confirmed_at = :now, unsubscribed_at = NULL, bounced_at = NULL WHERE pk = :pk"),
        {"now": utc_now(), "pk": pk},
    )


def set_member(conn: Connection, pk: int, user_pk: int, for_you: bool) -> None:
    """The subscription is member `user_pk`'s; `for_you`: mail their own ranking."""
    conn.execute(
        text("UPDATE subscribers SET user_pk = :u, for_you = :f WHERE pk = :pk"), {"u": user_pk, "f": for_you, "pk": pk}
    )


def unsubscribe(conn: Connection, pk: int) -> None:
    conn.execute(
        text("UPDATE subscribers SET unsubscribed_at = :now WHERE pk = :pk AND unsubscribed_at IS NULL"),
        {"now": utc_now(), "pk": pk},
    )


def mark_bounced(conn: Connection, pk: int) -> None:
    conn.execute(text("UPDATE subscribers SET bounced_at = :now WHERE pk = :pk"), {"now": utc_now(), "pk": pk})


def count_active(conn: Connection, frequency: str) -> int:
    """How many subscribers `active_subscribers` would return."""
    sql = (
        "SELECT count(*) FROM subscribers WHERE frequency = :f AND confirmed_at IS NOT NULL "
        "AND unsubscribed_at IS NULL AND bounced_at IS NULL"
    )
    return int(conn.execute(text(sql), {"f": frequency}).scalar() or 0)


def active_page(conn: Connection, frequency: str, after: int, limit: int) -> list[Subscriber]:
    """The next `limit` active subscribers of `frequency` with pk above `after`, by pk (keyset pages)."""
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM subscribers WHERE frequency = :f AND confirmed_at IS NOT NULL "
            "AND unsubscribed_at IS NULL AND bounced_at IS NULL AND pk > :after ORDER BY pk LIMIT :n"
        ),
        {"f": frequency, "after": after, "n": limit},
    )
    return [_row(r) for r in rows]


def delivery_statuses(conn: Connection, pks: list[int], period: str) -> dict[int, str]:
    """The ledger status of `period` for those of `pks` that have a row."""
    if not pks:
        return {}
    sql = text(
        "SELECT subscriber_pk, status FROM digest_deliveries WHERE period = :p AND subscriber_pk IN :pks"
    ).bindparams(bindparam("pks", expanding=True))
    return {int(r[0]): str(r[1]) for r in conn.execute(sql, {"p": period, "pks": pks})}


def received_among(conn: Connection, pks: list[int], paper_pks: list[int]) -> dict[int, set[int]]:
    """Which of `paper_pks` each of `pks` was already mailed (subscribers with none are left out)."""
    if not pks or not paper_pks:
        return {}
    sql = text(
        "SELECT subscriber_pk, paper_pk FROM digest_papers WHERE subscriber_pk IN :pks AND paper_pk IN :papers"
    ).bindparams(bindparam("pks", expanding=True), bindparam("papers", expanding=True))
    found: dict[int, set[int]] = {}
    for sub_pk, paper_pk in conn.execute(sql, {"pks": pks, "papers": paper_pks}):
        found.setdefault(int(sub_pk), set()).add(int(paper_pk))
    return found


def claim_deliveries(conn: Connection, period: str, message_ids: dict[int, str]) -> dict[int, str]:
    """Record an attempt at the digest of `period` for each subscriber pk in `message_ids`.

    Returns {pk: Message-ID to send under}, leaving out those already sent. The Message-ID is the one of
    an earlier, unfinished attempt if there was one, so that a digest resent after a crash (between the
    server's OK and our record of it) is recognisable.
    """
    if not message_ids:
        return {}
    rows = [{"s": pk, "p": period, "m": m} for pk, m in message_ids.items()]
    conn.execute(
        text(
            "INSERT INTO digest_deliveries (subscriber_pk, period, status, attempts, message_id) "
            "VALUES (:s, :p, 'sending', 0, :m) ON CONFLICT (subscriber_pk, period) DO NOTHING"
        ),
        rows,
    )
    conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'sending', attempts = attempts + 1, "
            "message_id = coalesce(message_id, :m) WHERE subscriber_pk = :s AND period = :p AND status <> 'sent'"
        ),
        rows,
    )
    sql = text(
        "SELECT subscriber_pk, status, message_id FROM digest_deliveries WHERE period = :p AND subscriber_pk IN :pks"
    ).bindparams(bindparam("pks", expanding=True))
    found = conn.execute(sql, {"p": period, "pks": list(message_ids)})
    return {int(r.subscriber_pk): str(r.message_id) for r in found if r.status != "sent"}


def mark_sent_many(conn: Connection, period: str, sent: list[tuple[int, str, list[int]]]) -> None:
    """The digests (subscriber pk, Message-ID, paper pks) went out: the ledger says so, and their papers are
    never mailed to those subscribers again."""
    if not sent:
        return
    now = utc_now()
    conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'sent', sent_at = :now, message_id = :m, last_error = NULL "
            "WHERE subscriber_pk = :s AND period = :p"
        ),
        [{"now": now, "m": m, "s": pk, "p": period} for pk, m, _ in sent],
    )
    papers = [{"s": pk, "p": paper_pk} for pk, _, paper_pks in sent for paper_pk in paper_pks]
    if papers:
        conn.execute(
            text(
                "INSERT INTO digest_papers (subscriber_pk, paper_pk) VALUES (:s, :p) "
                "ON CONFLICT (subscriber_pk, paper_pk) DO NOTHING"
            ),
            papers,
        )


def mark_failed(conn: Connection, pk: int, period: str, error: str) -> None:
    conn.execute(
        text(
            "UPDATE digest_deliveries SET status = 'failed', last_error = :e WHERE subscriber_pk = :s AND period = :p"
        ),
        {"e": error[:2000], "s": pk, "p": period},
    )
