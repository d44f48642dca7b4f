"""The mails and links of a subscription: confirmation, manage and unsubscribe."""

from __future__ import annotations

import logging

from dailypapers.config import Settings
from dailypapers.digest import tokens
from dailypapers.digest.prefs import Preferences
from dailypapers.mail import outbox
from dailypapers.store import subscriptions
from dailypapers.store.db import write_tx

log = logging.getLogger(__name__)


def manage_url(settings: Settings, pk: int, email: str) -> str:
    token = tokens.subscriber_token(settings.ensure_secret_key(), "manage", pk, email)
    return f"{settings.base_url}/subscribe/manage?token={token}"


def unsubscribe_url(settings: Settings, pk: int, email: str) -> str:
    token = tokens.subscriber_token(settings.ensure_secret_key(), "unsubscribe", pk, email)
    return f"{settings.base_url}/unsubscribe?token={token}"


async def request_subscription(settings: Settings, engine: object, prefs: Preferences) -> None:
    """Record the address (unconfirmed if new) and mail it a confirmation link; nothing else is sent.

    Known and new addresses get the same treatment, so callers can answer the same either way.
    """
    with write_tx(engine) as conn:  # type: ignore[arg-type]
        sub = subscriptions.get_or_create(conn, prefs.email, prefs.frequency)
    confirmation = tokens.Confirmation(sub.pk, sub.email, prefs.frequency, prefs.categories, prefs.keywords)
    token = tokens.confirm_token(settings.ensure_secret_key(), confirmation)
    link = f"{settings.base_url}/subscribe/confirm?token={token}"
    text = (
        f"Someone (hopefully you) asked for the {prefs.frequency} Daily Papers digest at this address.\n\n"
        f"Confirm with this link (it works for 7 days):\n{link}\n\n"
        "If it was not you, ignore this message and nothing more will be sent.\n"
    )
    msg = outbox.message(settings, sub.email, "Confirm your Daily Papers digest", text)
    try:
        await outbox.send(settings, msg)
    except Exception:  # the answer must not depend on the mail server
        log.exception("could not send a digest confirmation")
