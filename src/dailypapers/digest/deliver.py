"""Deliver a period's digests exactly once per subscriber, over one reused SMTP connection.

For each active subscriber of the frequency: pick the papers new to them; claim the ledger row
(subscriber, period) unless it says 'sent'; send; then, in one transaction, mark it 'sent' and record
the papers. Temporary failures (4xx, a cut connection) are retried with backoff and, if they persist,
left 'failed' for the next run; a permanent 5xx marks the address bounced so it is never mailed again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

import aiosmtplib
from sqlalchemy import Engine

from dailypapers.config import Settings
from dailypapers.digest.compose import Period, compose, period_papers, select_papers
from dailypapers.mail import outbox
from dailypapers.ranking.trending import TrendingParams
from dailypapers.store import subscriptions
from dailypapers.store.db import read_tx, write_tx

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


class PermanentFailure(Exception):
    """The server refused the address or message for good (5xx)."""


class TemporaryFailure(Exception):
    """Worth trying again later (4xx, connection problems)."""


def _classify(exc: Exception) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    code = getattr(exc, "code", None)
    if isinstance(code, int) and 500 <= code < 600:
        return PermanentFailure(f"{code} {getattr(exc, 'message', '')}".strip())
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


class Mailer:
    """Sends messages over one SMTP connection, reconnecting after a failure; `.eml` files without SMTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, msg: EmailMessage) -> None:
        """Send `msg` once; raises `PermanentFailure` or `TemporaryFailure`."""
        if not self.settings.smtp_url:
            await outbox.send(self.settings, msg)
            return
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._smtp = aiosmtplib.SMTP(**outbox.smtp_params(self.settings.smtp_url))  # type: ignore[arg-type]
                await self._smtp.connect()
            await self._smtp.send_message(msg)
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()  # start the next message on a fresh connection
            raise _classify(exc) from exc

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


@dataclass
class Report:
    """What one run did, by subscriber email."""

    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass
class Options:
    """Retry and pacing: `retries` more tries after a temporary failure, waiting backoff * 2**n seconds."""

    retries: int = 3
    backoff: float = 2.0
    rate: float = 0.0  # messages per second; 0 means as fast as the server takes them
    sleep: Sleep = asyncio.sleep


async def deliver(engine: Engine, settings: Settings, period: Period, options: Options | None = None) -> Report:
    """Send `period`'s digest to every active subscriber of its frequency who has not had it yet."""
    options = options or Options()
    report = Report()
    mailer = Mailer(settings)
    last_send = 0.0
    with read_tx(engine) as conn:
        subscribers = subscriptions.active_subscribers(conn, period.frequency)
        papers = period_papers(conn, period, TrendingParams.from_settings(settings))
    try:
        for sub in subscribers:
            with read_tx(engine) as conn:
                if subscriptions.delivery_status(conn, sub.pk, period.key) == "sent":
                    report.already_sent.append(sub.email)
                    continue
                chosen = select_papers(conn, sub, papers)
            if not chosen:
                report.nothing_new.append(sub.email)
                continue
            msg = compose(settings, sub, period, chosen)
            with write_tx(engine) as conn:
                message_id = subscriptions.claim_delivery(conn, sub.pk, period.key, str(msg["Message-ID"]))
            if message_id is None:
                report.already_sent.append(sub.email)
                continue
            msg.replace_header("Message-ID", message_id)
            for attempt in range(options.retries + 1):
                if options.rate > 0:
                    wait = last_send + 1 / options.rate - time.monotonic()
                    if wait > 0:
                        await options.sleep(wait)
                last_send = time.monotonic()
                try:
                    await mailer.send(msg)
                except TemporaryFailure as exc:
                    log.warning("digest to subscriber %s: %s (try %d)", sub.pk, exc, attempt + 1)
                    if attempt < options.retries:
                        await options.sleep(options.backoff * 2**attempt)
                        continue
                    with write_tx(engine) as conn:
                        subscriptions.mark_failed(conn, sub.pk, period.key, str(exc))
                    report.failed.append(sub.email)
                except PermanentFailure as exc:
                    with write_tx(engine) as conn:
                        subscriptions.mark_failed(conn, sub.pk, period.key, str(exc))
                        subscriptions.mark_bounced(conn, sub.pk)
                    report.bounced.append(sub.email)
                else:
                    with write_tx(engine) as conn:
                        subscriptions.mark_sent(conn, sub.pk, period.key, message_id, [p.pk for p in chosen])
                    report.sent.append(sub.email)
                break
    finally:
        await mailer.close()
    return report
