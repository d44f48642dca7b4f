"""Sending one composed digest over SMTP (or into the outbox without a mail server), and what a failure
means: a permanent refusal of the address, a temporary one worth retrying, or a server that cannot be
reached at all."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender

from dailypapers import mail
from dailypapers.config import Settings
from dailypapers.digest.compose import DigestPaper, compose
from dailypapers.periods import Period
from dailypapers.store.subscribers import Subscriber


class PermanentFailure(Exception):
    """The server refused the address or message for good (5xx)."""


class TemporaryFailure(Exception):
    """Worth trying again later (4xx, connection problems)."""


class ServerUnavailable(TemporaryFailure):
    """The mail server cannot be reached at all. The run stops there: its unsent digests stay claimed and
    the next run (the `send-digests` job's retry, or the command run again) sends them."""


def _classify(exc: Exception) -> Exception:
    if mail.is_permanent(exc):
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
            exc = exc.recipients[0]
        return PermanentFailure(f"{getattr(exc, 'code', '')} {getattr(exc, 'message', '')}".strip())
    return TemporaryFailure(f"{type(exc).__name__}: {exc}")


@dataclass
class Outgoing:
    """A composed digest, flattened for SMTP; `msg` is kept only for the outbox (no SMTP configured)."""

    sender: str
    recipients: list[str]
    data: bytes
    utf8: bool
    msg: EmailMessage | None = None


def prepare(
    settings: Settings, sub: Subscriber, period: Period, papers: list[DigestPaper], message_id: str
) -> Outgoing:
    """Compose `sub`'s digest under `message_id` and flatten it as `SMTP.send_message` would (7-bit clean).
    PermanentFailure for an address no digest may go to (stored before addresses were validated)."""
    try:
        msg = compose(settings, sub, period, papers)
    except mail.BadAddress as exc:
        raise PermanentFailure(str(exc)) from None
    msg.replace_header("Message-ID", message_id)
    sender, recipients = extract_sender(msg), extract_recipients(msg)
    assert sender and recipients, "a digest names its sender and recipient"
    if not settings.smtp_url:
        return Outgoing(sender, recipients, b"", False, msg)
    utf8 = not (sender + "".join(recipients)).isascii()
    return Outgoing(sender, recipients, mail.flatten(msg, utf8), utf8)


class Mailer:
    """Sends digests over one SMTP connection, reconnecting after a failure; `.eml` files without SMTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def send(self, out: Outgoing) -> None:
        """Send `out` once; raises `PermanentFailure` or `TemporaryFailure`."""
        if not self.settings.smtp_url:
            assert out.msg is not None
            await mail.send(self.settings, out.msg)
            return
        if self._smtp is None or not self._smtp.is_connected:
            smtp = aiosmtplib.SMTP(**mail.smtp_params(self.settings.smtp_url))  # type: ignore[arg-type]
            try:
                await smtp.connect()
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise ServerUnavailable(f"cannot reach the mail server: {exc}") from exc
            self._smtp = smtp
        try:
            options = ["SMTPUTF8"] if out.utf8 else []
            await self._smtp.sendmail(out.sender, out.recipients, out.data, mail_options=options)
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
