"""Sessions: a browser's cookie or an API bearer token, stored as the hash of its secret (see docs/signin.md)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession

from .common import (LAST_SEEN_EVERY, MAX_SECRET_LENGTH, PURPOSES, SESSION_LIFETIME, as_utc, hash_secret,
                     is_expired, new_secret)
from .tables import SignInTables


@dataclass(frozen=True)
class SessionInfo:
    """The session behind the current request, detached from the database."""
    id_hash: str
    subject: str
    kind: str
    csrf_token: str
    expires_at: datetime


def open_session(s: DbSession, tables: SignInTables, subject_id: str, kind: str, now: datetime,
                 lifetime: timedelta | None = None) -> tuple[str, datetime]:
    """A new session (always a new id); return its secret (shown once, to the caller) and expiry."""
    if kind not in PURPOSES:
        raise ValueError(f"unknown session kind {kind!r}")
    secret = new_secret()
    expires_at = now + (lifetime or SESSION_LIFETIME[kind])
    s.execute(insert(tables.sessions).values({
        "id_hash": hash_secret(secret), tables.subject_column: subject_id, "kind": kind,
        "csrf_token": new_secret(), "created_at": now, "expires_at": expires_at, "last_seen_at": now}))
    return secret, expires_at


def find_session(s: DbSession, tables: SignInTables, secret: str, kind: str, now: datetime) -> Row | None:
    """The live session of this secret and kind (not revoked, not expired), else None."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    sessions = tables.sessions
    row = s.execute(select(sessions).where(sessions.c.id_hash == hash_secret(secret))).first()
    if row is None or row.kind != kind or row.revoked_at is not None or is_expired(row.expires_at, now):
        return None
    return row


def touch_session(s: DbSession, tables: SignInTables, row: Row, now: datetime,
                  every: timedelta = LAST_SEEN_EVERY) -> bool:
    """Record that the session was used, at most once per ``every``; return whether it wrote."""
    if now - as_utc(row.last_seen_at) <= every:
        return False
    sessions = tables.sessions
    s.execute(update(sessions).where(sessions.c.id_hash == row.id_hash).values(last_seen_at=now))
    return True


def revoke_session(s: DbSession, tables: SignInTables, id_hash: str, now: datetime) -> bool:
    """Revoke a session (by the hash of its secret); return whether it was live until now."""
    sessions = tables.sessions
    done = s.execute(update(sessions).where(sessions.c.id_hash == id_hash, sessions.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    return done.rowcount == 1
