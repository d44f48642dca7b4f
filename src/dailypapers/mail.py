"""Send one message: SMTP (aiosmtplib) when configured, otherwise a `.eml` file under `data/outbox`."""

from __future__ import annotations

import datetime as dt
import io
import secrets
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from dailypapers.config import Settings

# Long headers (List-Unsubscribe's URL) stay one plain line: the default 78-column folding would turn a
# URL without spaces into RFC 2047 encoded words, which mail clients do not read as a link.
POLICY = policy.default.clone(max_line_length=998)


def outbox_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbox"


def smtp_params(url: str) -> dict[str, object]:
    """aiosmtplib arguments from `smtp://user:pass@host:port?starttls=1` (or `smtps://` for TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"DAILYPAPERS_SMTP_URL must start with smtp:// or smtps://, got {parts.scheme!r}")
    query = parse_qs(parts.query)
    params: dict[str, object] = {
        "hostname": parts.hostname or "localhost",
        "port": parts.port or (465 if parts.scheme == "smtps" else 25),
        "use_tls": parts.scheme == "smtps",
        "start_tls": query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        "timeout": 30,
    }
    if parts.username:
        params["username"] = unquote(parts.username)
        params["password"] = unquote(parts.password or "")
    return params


def sender(settings: Settings) -> str:
    host = urlsplit(settings.base_url).hostname or "localhost"
    return settings.mail_from or f"Daily Papers <noreply@{host}>"


def message(
    settings: Settings, to: str, subject: str, text: str, html: str | None = None, cte: str | None = None
) -> EmailMessage:
    """A plain-text mail, with an HTML alternative if given. `cte` forces the parts' transfer encoding:
    base64 is encoded in C, several times faster than the quoted-printable the library picks for long
    lines, which counts when mailing digests by the hundred thousand."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender(settings)
    msg["To"] = to  # email.message refuses CR/LF in headers, so no header injection through addresses
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    msg.set_content(text, cte=cte)
    if html:
        msg.add_alternative(html, subtype="html", cte=cte)
    return msg


async def send(settings: Settings, msg: EmailMessage) -> None:
    """Deliver one message now."""
    if settings.smtp_url:
        await aiosmtplib.send(msg, **smtp_params(settings.smtp_url))  # type: ignore[arg-type]
        return
    folder = outbox_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(msg))


def flatten(msg: EmailMessage, utf8: bool) -> bytes:
    """The message as SMTP sends it (CRLF, 7-bit clean), with our policy's long header lines kept whole:
    aiosmtplib's own flattening folds List-Unsubscribe's URL into RFC 2047 words no client follows."""
    wire = POLICY.clone(linesep="\r\n", cte_type="7bit", utf8=utf8)
    with io.BytesIO() as out:
        BytesGenerator(out, policy=wire).flatten(msg)
        return out.getvalue()
