"""Users, sessions, API tokens and the moderation audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from dailypapers.store.convert import utc_now
from dailypapers.store.schema import ApiToken, AuditEntry, Session, User

users = User.__table__
sessions = Session.__table__
tokens = ApiToken.__table__
audit = AuditEntry.__table__


@dataclass(frozen=True, slots=True)
class Account:
    pk: int
    name: str
    fullname: str
    email: str | None
    role: str
    active: bool
    suspended: bool
    created_at: dt.datetime | None

    @property
    def is_curator(self) -> bool:
        return self.role in ("curator", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


_COLS = (
    users.c.pk,
    users.c.name,
    users.c.fullname,
    users.c.email,
    users.c.role,
    users.c.active,
    users.c.suspended,
    users.c.created_at,
)


def _account(row: Any) -> Account:
    return Account(
        row.pk,
        row.name,
        row.fullname or "",
        row.email,
        row.role,
        bool(row.active),
        bool(row.suspended),
        row.created_at,
    )


def digest(secret: str) -> str:
    """How session and API tokens are stored: their SHA-256, never the token itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


class NameTaken(Exception):
    """The username (or email) belongs to someone else."""


def create_user(
    conn: Connection, name: str, email: str | None, password_hash: str | None, *, role: str = "user", active: bool
) -> Account:
    """A new account; raises NameTaken when the name or email is in use (case-insensitively)."""
    clash = conn.execute(
        select(users.c.pk).where(
            (func.lower(users.c.name) == name.lower())
            | ((func.lower(users.c.email) == email.lower()) if email else False)
        )
    ).first()
    if clash:
        raise NameTaken(name)
    try:
        with conn.begin_nested():
            pk = conn.execute(
                insert(users)
                .values(
                    name=name,
                    fullname=name,
                    avatar_url="",
                    external=False,
                    created_at=utc_now(),
                    email=email.lower() if email else None,
                    password_hash=password_hash,
                    role=role,
                    active=active,
                    suspended=False,
                )
                .returning(users.c.pk)
            ).scalar_one()
    except IntegrityError as exc:
        raise NameTaken(name) from exc
    account = account_by_pk(conn, pk)
    assert account is not None
    return account


def account_by_pk(conn: Connection, pk: int) -> Account | None:
    row = conn.execute(select(*_COLS).where(users.c.pk == pk)).first()
    return _account(row) if row else None


def account_by_name(conn: Connection, name: str) -> Account | None:
    row = conn.execute(select(*_COLS).where(func.lower(users.c.name) == name.lower())).first()
    return _account(row) if row else None


def account_by_email(conn: Connection, email: str) -> Account | None:
    row = conn.execute(select(*_COLS).where(users.c.email == email.lower())).first()
    return _account(row) if row else None


def account_by_login(conn: Connection, login: str) -> Account | None:
    """The account a sign-in's `login` names: an address when it holds an @, else a username."""
    return account_by_email(conn, login) if "@" in login else account_by_name(conn, login)


def password_hash_of(conn: Connection, pk: int) -> str | None:
    return conn.execute(select(users.c.password_hash).where(users.c.pk == pk)).scalar()


def set_password_hash(conn: Connection, pk: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.pk == pk).values(password_hash=password_hash))


def replace_password_hash(conn: Connection, pk: int, old: str | None, new: str) -> bool:
    """Set the password hash if it still is `old` (a reset link is used once, even by two requests at once)."""
    same = users.c.password_hash.is_(None) if old is None else users.c.password_hash == old
    result = conn.execute(update(users).where(users.c.pk == pk, same).values(password_hash=new))
    return bool(result.rowcount)


def activate(conn: Connection, pk: int) -> None:
    conn.execute(update(users).where(users.c.pk == pk).values(active=True))


def is_member(conn: Connection, pk: int) -> bool:
    """False for people known only from imported listings (they have no account here)."""
    return not conn.execute(select(users.c.external).where(users.c.pk == pk)).scalar()


def set_role(conn: Connection, pk: int, role: str) -> None:
    conn.execute(update(users).where(users.c.pk == pk).values(role=role))


def set_suspended(conn: Connection, pk: int, suspended: bool) -> None:
    """Suspend (or reinstate) an account: it cannot sign in, its sessions end, its comments hide."""
    conn.execute(update(users).where(users.c.pk == pk).values(suspended=suspended))
    if suspended:
        conn.execute(sessions.delete().where(sessions.c.user_pk == pk))
    # No data_version bump here: the caller recounts the user's comments (comments.recount_comments),
    # which locks the papers first and bumps last, the same lock order as every other writer.


def list_accounts(conn: Connection, limit: int = 200, offset: int = 0) -> list[Account]:
    q = select(*_COLS).where(users.c.external.is_(False)).order_by(users.c.pk).limit(limit).offset(offset)
    return [_account(r) for r in conn.execute(q)]


# Sessions


def create_session(conn: Connection, user_pk: int, token: str, lifetime: dt.timedelta) -> None:
    t = utc_now()
    conn.execute(
        insert(sessions).values(token_hash=digest(token), user_pk=user_pk, created_at=t, expires_at=t + lifetime)
    )


def account_for_session(conn: Connection, token: str) -> Account | None:
    """The active, unsuspended account a session token signs in, if it has not expired."""
    row = conn.execute(
        select(*_COLS, sessions.c.expires_at)
        .join(sessions, sessions.c.user_pk == users.c.pk)
        .where(sessions.c.token_hash == digest(token))
    ).first()
    if row is None:
        return None
    account = _account(row)
    if row.expires_at < utc_now() or account.suspended or not account.active:
        return None
    return account


def delete_session(conn: Connection, token: str) -> None:
    conn.execute(sessions.delete().where(sessions.c.token_hash == digest(token)))


def delete_expired_sessions(conn: Connection) -> int:
    """Forget sessions that have expired; returns how many."""
    return int(conn.execute(sessions.delete().where(sessions.c.expires_at < utc_now())).rowcount or 0)


def delete_sessions_of(conn: Connection, user_pk: int, keep: str | None = None) -> None:
    q = sessions.delete().where(sessions.c.user_pk == user_pk)
    if keep:
        q = q.where(sessions.c.token_hash != digest(keep))
    conn.execute(q)


# API tokens


@dataclass(frozen=True, slots=True)
class TokenInfo:
    pk: int
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def create_token(conn: Connection, user_pk: int, name: str, token: str) -> int:
    return int(
        conn.execute(
            insert(tokens)
            .values(user_pk=user_pk, name=name, token_hash=digest(token), created_at=utc_now())
            .returning(tokens.c.pk)
        ).scalar_one()
    )


def tokens_of(conn: Connection, user_pk: int) -> list[TokenInfo]:
    q = (
        select(tokens.c.pk, tokens.c.name, tokens.c.created_at, tokens.c.last_used_at)
        .where(tokens.c.user_pk == user_pk, tokens.c.revoked_at.is_(None))
        .order_by(tokens.c.pk)
    )
    return [TokenInfo(r.pk, r.name, r.created_at, r.last_used_at) for r in conn.execute(q)]


def revoke_token(conn: Connection, user_pk: int, token_pk: int) -> bool:
    result = conn.execute(
        update(tokens)
        .where(tokens.c.pk == token_pk, tokens.c.user_pk == user_pk, tokens.c.revoked_at.is_(None))
        .values(revoked_at=utc_now())
    )
    return bool(result.rowcount)


def account_for_token(conn: Connection, token: str) -> Account | None:
    row = conn.execute(
        select(*_COLS, tokens.c.pk.label("token_pk"))
        .join(tokens, tokens.c.user_pk == users.c.pk)
        .where(tokens.c.token_hash == digest(token), tokens.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    account = _account(row)
    return None if account.suspended or not account.active else account


# Audit log


@dataclass(frozen=True, slots=True)
class AuditItem:
    actor: str | None
    action: str
    target: str
    detail: dict[str, Any]
    created_at: dt.datetime


def log_action(conn: Connection, actor_pk: int | None, action: str, target: str, **detail: Any) -> None:
    conn.execute(
        insert(audit).values(actor_pk=actor_pk, action=action, target=target, detail=detail, created_at=utc_now())
    )


def audit_entries(conn: Connection, limit: int = 200) -> list[AuditItem]:
    q = (
        select(users.c.name, audit.c.action, audit.c.target, audit.c.detail, audit.c.created_at)
        .select_from(audit.outerjoin(users, users.c.pk == audit.c.actor_pk))
        .order_by(audit.c.pk.desc())
        .limit(limit)
    )
    return [AuditItem(r.name, r.action, r.target, r.detail, r.created_at) for r in conn.execute(q)]
