"""Operations on the staff tables of one service: Flask-free, each in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession

from ..signin.common import MAX_SECRET_LENGTH, as_utc, hash_secret, is_expired, new_secret
from .tables import StaffTables

SESSION_LIFETIME = timedelta(hours=12)
LAST_SEEN_EVERY = timedelta(minutes=5)
OPERATOR = "operator:"  # the subject of a session opened with an operator's signed token
TOKEN_PREFIX = "staff-"  # personal API tokens: told apart from applicants' and jurors' by it


@dataclass(frozen=True)
class StaffIdentity:
    """Who a staff session or token belongs to, as every check and audit record needs it."""
    subject: str  # the member's id, or "operator:<name>"
    name: str
    email: str
    role: str
    language: str = "en"

    @property
    def operator(self) -> bool:
        return self.subject.startswith(OPERATOR)

    @property
    def actor(self) -> str:
        """What audit records keep: a person's name and address, or the operator's name."""
        return f"operator {self.name}" if self.operator else f"{self.name} <{self.email}>"


def operator_identity(name: str) -> StaffIdentity:
    """An operator (someone with a shell and ``prize token secretariat``) may do everything."""
    return StaffIdentity(subject=OPERATOR + name, name=name, email="", role="admin")


def identity(s: DbSession, t: StaffTables, subject: str) -> StaffIdentity | None:
    """The active member (or operator) behind ``subject``; None for an unknown or deactivated one."""
    if subject.startswith(OPERATOR):
        return operator_identity(subject[len(OPERATOR):])
    row = s.execute(select(t.members).where(t.members.c.id == subject)).first()
    if row is None or not row.active:
        return None
    return StaffIdentity(subject=row.id, name=row.name, email=row.email, role=row.role, language=row.language)


# --- sessions ---

def open_session(s: DbSession, t: StaffTables, subject: str, family: str, now: datetime,
                 lifetime: timedelta = SESSION_LIFETIME) -> str:
    """A new page session (always a new id); return its secret, which only the cookie holds."""
    secret = new_secret()
    s.execute(insert(t.sessions).values(
        id_hash=hash_secret(secret), staff_id=subject, family=family, csrf_token=new_secret(),
        created_at=now, expires_at=now + lifetime, last_seen_at=now))
    return secret


def live_session(s: DbSession, t: StaffTables, secret: str, now: datetime) -> Row | None:
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = s.execute(select(t.sessions).where(t.sessions.c.id_hash == hash_secret(secret))).first()
    if row is None or row.revoked_at is not None or is_expired(row.expires_at, now):
        return None
    if now - as_utc(row.last_seen_at) > LAST_SEEN_EVERY:
        s.execute(update(t.sessions).where(t.sessions.c.id_hash == row.id_hash).values(last_seen_at=now))
    return row


def revoke_session(s: DbSession, t: StaffTables, id_hash: str, now: datetime) -> Row | None:
    """End one session; return it (for its family), or None if there was none."""
    row = s.execute(select(t.sessions).where(t.sessions.c.id_hash == id_hash)).first()
    if row is not None and row.revoked_at is None:
        s.execute(update(t.sessions).where(t.sessions.c.id_hash == id_hash).values(revoked_at=now))
    return row


def drop_session(s: DbSession, t: StaffTables, id_hash: str) -> None:
    """Forget a session this browser replaces by a new one (its copies stop working). Deleted,
    not revoked: a revoked session marks its whole sign-in as ended (see ``family_ended``)."""
    s.execute(delete(t.sessions).where(t.sessions.c.id_hash == id_hash))


def family_ended(s: DbSession, t: StaffTables, family: str) -> bool:
    """Whether that sign-in was ended here (signed out, or its member deactivated)."""
    return s.execute(select(t.sessions.c.id_hash).where(t.sessions.c.family == family,
                                                         t.sessions.c.revoked_at.is_not(None)).limit(1)).first() is not None


def revoke_family(s: DbSession, t: StaffTables, family: str, now: datetime) -> int:
    done = s.execute(update(t.sessions).where(t.sessions.c.family == family, t.sessions.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    return done.rowcount


def revoke_member(s: DbSession, t: StaffTables, staff_id: str, now: datetime) -> tuple[int, int]:
    """End every session and API token of a member; return how many of each were live."""
    sessions = s.execute(update(t.sessions).where(t.sessions.c.staff_id == staff_id,
                                                  t.sessions.c.revoked_at.is_(None)).values(revoked_at=now))
    tokens = s.execute(update(t.tokens).where(t.tokens.c.staff_id == staff_id,
                                              t.tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    return sessions.rowcount, tokens.rowcount


# --- hand-offs ---

def spend_handoff(s: DbSession, t: StaffTables, nonce: str, expires_at: datetime, now: datetime) -> bool:
    """Record a hand-off's nonce; False if it was used already (a replay). Old nonces are
    dropped here: once past their expiry the signature check refuses them anyway."""
    s.execute(delete(t.handoffs).where(t.handoffs.c.expires_at < now - timedelta(minutes=5)))
    if s.execute(select(t.handoffs.c.nonce).where(t.handoffs.c.nonce == nonce)).first() is not None:
        return False
    s.execute(insert(t.handoffs).values(nonce=nonce, expires_at=expires_at))
    return True


# --- personal API tokens ---

def new_token_secret() -> str:
    return TOKEN_PREFIX + new_secret()


def live_token(s: DbSession, t: StaffTables, secret: str, now: datetime) -> Row | None:
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = s.execute(select(t.tokens).where(t.tokens.c.token_hash == hash_secret(secret))).first()
    if row is None or row.revoked_at is not None or is_expired(row.expires_at, now):
        return None
    last = row.last_used_at
    if last is None or now - as_utc(last) > LAST_SEEN_EVERY:
        s.execute(update(t.tokens).where(t.tokens.c.id == row.id).values(last_used_at=now))
    return row


# --- the copies review and notify keep ---

def apply_member(s: DbSession, t: StaffTables, data: dict, now: datetime) -> bool:
    """Store a member's state from a ``staff.changed`` event unless a newer one is here already;
    a deactivation ends their sessions and tokens. Return whether it changed anything."""
    m = t.members
    staff_id = str(data["staff_id"])
    values = {"email": data["email"], "name": data["name"], "language": data["language"], "role": data["role"],
              "active": data["active"], "version": data["version"], "updated_at": now,
              "changed_by": data.get("changed_by") or ""}
    row = s.execute(select(m.c.version).where(m.c.id == staff_id)).first()
    if row is not None and row.version >= data["version"]:
        return False
    if row is None:
        s.execute(insert(m).values(id=staff_id, created_at=now, **values))
    else:
        s.execute(update(m).where(m.c.id == staff_id).values(**values))
    if not data["active"]:
        revoke_member(s, t, staff_id, now)
    return True


def apply_token(s: DbSession, t: StaffTables, data: dict, now: datetime) -> None:
    """Store a token (its hash only) from a ``staff.token_changed`` event; a revocation sticks
    even if the creation arrives after it."""
    tk = t.tokens
    token_id = str(data["token_id"])
    row = s.execute(select(tk).where(tk.c.id == token_id)).first()
    revoked_at = now if data.get("revoked") else None
    if row is None:
        s.execute(insert(tk).values(id=token_id, staff_id=str(data["staff_id"]), name=data["name"],
                                    token_hash=data["token_hash"], created_at=now,
                                    expires_at=data["expires_at"], revoked_at=revoked_at))
    elif revoked_at is not None and row.revoked_at is None:
        s.execute(update(tk).where(tk.c.id == token_id).values(revoked_at=revoked_at))
