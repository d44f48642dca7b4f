"""Send one message: SMTP (aiosmtplib) when configured, otherwise a `.eml` file under `data/outbox`.

Every message is marked automatic (`Auto-Submitted`, RFC 3834; `X-Auto-Response-Suppress` for Exchange), so
vacation responders and the like do not answer it, and names exactly its one recipient (`BadAddress`).
"""

from __future__ import annotations

import datetime as dt
import io
import secrets
from email import policy
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from dailypapers.config import Settings

# Long headers (List-Unsubscribe's URL) stay one plain line: the default 78-column folding would turn a
# URL without spaces into RFC 2047 encoded words, which mail clients do not read as a link.
POLICY = policy.default.clone(max_line_length=998)


class BadAddress(ValueError):
    """An address the To header would not carry as exactly itself (it names another mailbox, or several)."""


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
    # The SMTP envelope's recipients are read back from To: it must name `to` itself, nothing else (an address
    # accepted before addresses were validated, such as `x<postmaster>@example.org`, would mail postmaster).
    found = msg["To"].addresses
    if len(found) != 1 or found[0].addr_spec != to or found[0].display_name:
        raise BadAddress(f"{to!r} is not a plain email address")
    msg["Subject"] = subject
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))  # "+0000": the time is known to be UTC
    msg["Message-ID"] = make_msgid(domain=urlsplit(settings.base_url).hostname or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
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
    partial = path.with_suffix(".partial")
    partial.write_bytes(bytes(msg))
    partial.replace(path)  # whoever reads the outbox sees whole messages only


def is_permanent(exc: BaseException) -> bool:
    """Whether a failure to send is for good: the server refused the address or message (5xx), or the address
    is not one to send to. Anything else (4xx, a server out of reach) may work later."""
    if isinstance(exc, BadAddress):
        return True
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        exc = exc.recipients[0]
    code = getattr(exc, "code", None)
    return isinstance(code, int) and 500 <= code < 600


def flatten(msg: EmailMessage, utf8: bool) -> bytes:
    """The message as SMTP sends it (CRLF, 7-bit clean), with our policy's long header lines kept whole:
    aiosmtplib's own flattening folds List-Unsubscribe's URL into RFC 2047 words no client follows."""
    wire = POLICY.clone(linesep="\r\n", cte_type="7bit", utf8=utf8)
    with io.BytesIO() as out:
        BytesGenerator(out, policy=wire).flatten(msg)
        return out.getvalue()
