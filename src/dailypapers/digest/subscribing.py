"""Subscribing to the digest: double opt-in by a mailed link, preferences and unsubscribing by signed
link, and members subscribing from their settings (their address was confirmed at activation).

Refusals are `problems.BadRequest` (an invalid or expired link, a bad request in `prefs`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from dailypapers import mail
from dailypapers.config import Settings
from dailypapers.digest import links
from dailypapers.digest.prefs import Preferences
from dailypapers.problems import BadRequest
from dailypapers.store import subscribers
from dailypapers.store.db import read_tx, write_tx
from dailypapers.store.subscribers import Subscriber

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)
BAD_LINK = "This link is invalid or has expired. Subscribe again to get a fresh one."


async def request(engine: Engine, settings: Settings, prefs: Preferences) -> None:
    """Record the address (unconfirmed if new) and mail it a confirmation link; nothing else is sent.

    Known and new addresses get the same treatment, so callers can answer the same either way; a mail
    server that fails is logged, never shown.
    """
    sub = await asyncio.to_thread(_subscriber, engine, prefs)
    link = links.confirm_url(
        settings, links.Confirmation(sub.pk, sub.email, prefs.frequency, prefs.categories, prefs.keywords)
    )
    text = (
        f"Someone (hopefully you) asked for the {prefs.frequency} Daily Papers digest at this address.\n\n"
        f"Confirm with this link (it works for 7 days):\n{link}\n\n"
        "If it was not you, ignore this message and nothing more will be sent.\n"
    )
    msg = mail.message(settings, sub.email, "Confirm your Daily Papers digest", text)
    try:
        await mail.send(settings, msg)
    except Exception:  # the answer must not depend on the mail server
        log.exception("could not send a digest confirmation")


def _subscriber(engine: Engine, prefs: Preferences) -> Subscriber:
    with write_tx(engine) as conn:
        return subscribers.get_or_create(conn, prefs.email, prefs.frequency)


def confirm(engine: Engine, settings: Settings, token: str) -> Subscriber:
    """Start (or restart) the digest a confirmation link asks for, with the preferences it carries."""
    try:
        c = links.read_confirm_token(settings.secret, token)
    except links.BadToken:
        raise BadRequest(BAD_LINK) from None
    with write_tx(engine) as conn:
        sub = subscribers.by_pk(conn, c.pk)
        if sub is None or sub.email != c.email:
            raise BadRequest(BAD_LINK)
        subscribers.confirm(conn, c.pk, c.frequency, c.categories, c.keywords)
        return subscribers.by_pk(conn, c.pk) or sub


def subscriber(engine: Engine, settings: Settings, kind: str, token: str) -> Subscriber:
    """The subscriber a `manage` or `unsubscribe` link names."""
    try:
        pk, email = links.read_subscriber_token(settings.secret, kind, token)
    except links.BadToken:
        raise BadRequest(BAD_LINK) from None
    with write_tx(engine) as conn:
        sub = subscribers.by_pk(conn, pk)
    if sub is None or sub.email != email:
        raise BadRequest(BAD_LINK)
    return sub


def save_preferences(engine: Engine, sub: Subscriber, prefs: Preferences) -> Subscriber:
    with write_tx(engine) as conn:
        subscribers.set_preferences(conn, sub.pk, prefs.frequency, prefs.categories, prefs.keywords)
        return subscribers.by_pk(conn, sub.pk) or sub


def unsubscribe(engine: Engine, sub: Subscriber) -> None:
    with write_tx(engine) as conn:
        subscribers.unsubscribe(conn, sub.pk)


def subscribe_member(engine: Engine, prefs: Preferences, user_pk: int | None = None, for_you: bool = False) -> None:
    """Mail the digest to a member's confirmed address at once, with these preferences; `for_you`: their
    own ranking (and new papers from what they follow) rather than the trending papers."""
    with write_tx(engine) as conn:
        sub = subscribers.get_or_create(conn, prefs.email, prefs.frequency)
        if sub.active:
            subscribers.set_preferences(conn, sub.pk, prefs.frequency, prefs.categories, prefs.keywords)
        else:
            subscribers.confirm(conn, sub.pk, prefs.frequency, prefs.categories, prefs.keywords)
        if user_pk is not None:
            subscribers.set_member(conn, sub.pk, user_pk, for_you)


def unsubscribe_member(engine: Engine, email: str) -> None:
    with write_tx(engine) as conn:
        if sub := subscribers.by_email(conn, email):
            subscribers.unsubscribe(conn, sub.pk)


def subscription_of(engine: Engine, email: str | None) -> Subscriber | None:
    """The subscription of a member's address, if any."""
    if not email:
        return None
    with read_tx(engine) as conn:
        return subscribers.by_email(conn, email)
