"""Staff: intake keeps the list of the secretariat's people (adding, inviting, changing roles,
deactivating), signs them in by a one-time link, and keeps their personal API tokens. Every
change is an event that review and notify apply to their copies (shared.staff.handlers)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from shared.events import make_event
from shared.outbox import record
from shared.refusals import Refused
from shared.signin.common import hash_secret
from shared.signin.links import IssuedLink, RateLimits, check_rate, consume_link, issue_link
from shared.staff import store
from shared.staff.roles import STAFF_ROLES

from ..models import outbox, staff_tables as T

PRODUCER = "intake"
INVITATION_LIFETIME = timedelta(days=7)
LINK_LIFETIME = timedelta(minutes=15)
TOKEN_DAYS = (1, 7, 30, 90, 365)
CHANGEABLE = ("name", "language", "role", "active")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _member_dict(row) -> dict:
    return {"id": row.id, "email": row.email, "name": row.name, "language": row.language, "role": row.role,
            "active": row.active, "version": row.version, "created_at": row.created_at,
            "updated_at": row.updated_at, "changed_by": row.changed_by}


def _announce(s, row, by: str) -> None:
    record(s, outbox, make_event("staff.changed", {
        "staff_id": row.id, "email": row.email, "name": row.name, "language": row.language, "role": row.role,
        "active": row.active, "version": row.version, "changed_by": by}, producer=PRODUCER, correlation_id=row.id))


def _get(s, staff_id: str):
    row = s.execute(select(T.members).where(T.members.c.id == str(staff_id))).first()
    if row is None:
        raise Refused(404, "no such staff member")
    return row


# --- the list ---

def members(db) -> list[dict]:
    with db.session() as s:
        rows = s.execute(select(T.members).order_by(T.members.c.active.desc(), T.members.c.name)).all()
        return [_member_dict(r) for r in rows]


def member(db, staff_id: str) -> dict:
    with db.session() as s:
        return _member_dict(_get(s, staff_id))


def add_member(db, email: str, name: str, role: str, language: str, by: str) -> dict:
    """Add a member (the first admin from the command line; afterwards admins invite)."""
    email = email.strip().lower()
    if role not in STAFF_ROLES:
        raise Refused(422, f"role must be one of {', '.join(STAFF_ROLES)}", {"role": ["unknown role"]})
    now = _now()
    try:
        with db.session() as s, s.begin():
            if s.execute(select(T.members.c.id).where(T.members.c.email == email)).first():
                raise Refused(409, f"{email} is a staff member already", {"email": ["already a staff member"]})
            staff_id = str(uuid.uuid4())
            s.execute(insert(T.members).values(id=staff_id, email=email, name=name.strip(), language=language,
                                               role=role, active=True, version=1, created_at=now, updated_at=now,
                                               changed_by=by))
            row = _get(s, staff_id)
            _announce(s, row, by)
            return _member_dict(row)
    except IntegrityError:
        raise Refused(409, f"{email} is a staff member already", {"email": ["already a staff member"]})


def invite(db, email: str, name: str, role: str, language: str, by: str, base_url: str, client: str) -> dict:
    """Add a member and mail them a sign-in link that works for 7 days."""
    added = add_member(db, email, name, role, language, by)
    with db.session() as s, s.begin():
        row = _get(s, added["id"])
        _mail_link(s, row, client, base_url, INVITATION_LIFETIME, reason="staff_invited", invited_by=by)
    return added


def change_member(db, staff_id: str, changes: dict, by_subject: str, by: str) -> dict:
    """Change a member's name, language, role or active flag. Deactivation ends their sessions
    and API tokens here at once, and on the other services when they receive the event. No admin
    can demote or deactivate themselves, so there is always an active admin."""
    changes = {k: v for k, v in changes.items() if k in CHANGEABLE and v is not None}
    if "role" in changes and changes["role"] not in STAFF_ROLES:
        raise Refused(422, f"role must be one of {', '.join(STAFF_ROLES)}", {"role": ["unknown role"]})
    now = _now()
    with db.session() as s, s.begin():
        row = _get(s, staff_id)
        if str(staff_id) == by_subject and (changes.get("active") is False or changes.get("role", row.role) != row.role):
            raise Refused(409, "you cannot deactivate yourself or change your own role: ask another administrator")
        if all(getattr(row, k) == v for k, v in changes.items()):
            return _member_dict(row)
        s.execute(update(T.members).where(T.members.c.id == row.id)
                  .values(**changes, version=row.version + 1, updated_at=now, changed_by=by))
        if changes.get("active") is False:
            store.revoke_member(s, T, row.id, now)
        row = _get(s, staff_id)
        _announce(s, row, by)
        return _member_dict(row)


# --- signing in ---

def _issue(s, row, client: str, base_url: str, lifetime: timedelta) -> IssuedLink:
    token, expires_at = issue_link(s, T.signin_tables(), row.id, row.email, "browser", client, _now(), lifetime)
    return IssuedLink(purpose="browser", url=f"{base_url}/staff/signin/{token}", code=None, expires_at=expires_at)


def _mail_link(s, row, client: str, base_url: str, lifetime: timedelta, reason: str | None = None,
               invited_by: str | None = None) -> None:
    link = _issue(s, row, client, base_url, lifetime)
    data = {"staff_id": row.id, "audience": "staff", "email": row.email, "contact_name": row.name,
            "language": row.language, **link.event_fields()}
    if reason:
        data["reason"] = reason
    if invited_by:
        data.update(invited_by=invited_by, role=row.role)
    record(s, outbox, make_event("signin.requested", data, producer=PRODUCER, correlation_id=row.id))


def request_link(db, email: str, client: str, base_url: str, limits: RateLimits) -> None:
    """Mail a sign-in link to an active member; the answer is the same for any address."""
    email = email.strip().lower()
    with db.session() as s, s.begin():
        check_rate(s, T.signin_tables(), email, client, limits, _now())
        row = s.execute(select(T.members).where(T.members.c.email == email, T.members.c.active.is_(True))).first()
        if row is None:  # counted for the limits, opens nothing
            issue_link(s, T.signin_tables(), None, email, "browser", client, _now(), LINK_LIFETIME)
            return
        _mail_link(s, row, client, base_url, LINK_LIFETIME)


def printed_link(db, email: str, client: str, base_url: str) -> IssuedLink | None:
    """A sign-in link for an active member, made as a request makes it (one use, 15 minutes) but
    given to the caller instead of mailed (``prize demo``); None for no such member."""
    with db.session() as s, s.begin():
        row = s.execute(select(T.members).where(T.members.c.email == email.strip().lower(),
                                                T.members.c.active.is_(True))).first()
        return _issue(s, row, client, base_url, LINK_LIFETIME) if row is not None else None


def redeem_link(db, token: str) -> str:
    """Spend a staff sign-in link; return the member's id (LinkRefused if it cannot be spent)."""
    from shared.signin.links import LinkRefused
    with db.session() as s, s.begin():
        staff_id = consume_link(s, T.signin_tables(), token, "browser", _now(), "sign-in link", LINK_LIFETIME)
        if store.identity(s, T, staff_id) is None:
            raise LinkRefused(403, "This staff account is deactivated.")
        return staff_id


def member_by_email(db, email: str) -> str | None:
    """The id of the active member with this address (single sign-on matches staff by it)."""
    with db.session() as s:
        return s.scalar(select(T.members.c.id).where(T.members.c.email == email.strip().lower(),
                                                     T.members.c.active.is_(True)))


def signed_out(db, family: str | None, subject: str) -> None:
    """End a sign-in here and tell the other services to end theirs."""
    if not family:
        return
    with db.session() as s, s.begin():
        store.revoke_family(s, T, family, _now())
        record(s, outbox, make_event("staff.signed_out", {"staff_id": subject[:100], "family": family},
                                     producer=PRODUCER, correlation_id=family))


def family_subject(db, family: str) -> str | None:
    with db.session() as s:
        return s.scalar(select(T.sessions.c.staff_id).where(T.sessions.c.family == family).limit(1))


# --- personal API tokens ---

def _token_dict(row) -> dict:
    return {"id": row.id, "name": row.name, "created_at": row.created_at, "expires_at": row.expires_at,
            "revoked_at": row.revoked_at, "last_used_at": row.last_used_at}


def tokens(db, staff_id: str) -> list[dict]:
    with db.session() as s:
        rows = s.execute(select(T.tokens).where(T.tokens.c.staff_id == staff_id)
                         .order_by(T.tokens.c.created_at.desc())).all()
        return [_token_dict(r) for r in rows]


def create_token(db, staff_id: str, name: str, days: int) -> tuple[str, dict]:
    """A new personal API token; return its secret (shown once; only its hash is kept) and it."""
    if days not in TOKEN_DAYS:
        raise Refused(422, f"a token lasts {', '.join(map(str, TOKEN_DAYS))} days", {"days": ["not offered"]})
    if staff_id.startswith(store.OPERATOR):
        raise Refused(409, "operators use `prize token secretariat`; personal tokens are for staff members")
    now = _now()
    secret = store.new_token_secret()
    token_id = str(uuid.uuid4())
    with db.session() as s, s.begin():
        s.execute(insert(T.tokens).values(id=token_id, staff_id=staff_id, name=name.strip(),
                                          token_hash=hash_secret(secret), created_at=now,
                                          expires_at=now + timedelta(days=days)))
        row = s.execute(select(T.tokens).where(T.tokens.c.id == token_id)).one()
        _announce_token(s, row)
        return secret, _token_dict(row)


def revoke_token(db, staff_id: str, token_id: str) -> dict:
    """Revoke one of this member's tokens (another member's is a 404, like a missing one)."""
    now = _now()
    with db.session() as s, s.begin():
        row = s.execute(select(T.tokens).where(T.tokens.c.id == str(token_id), T.tokens.c.staff_id == staff_id)).first()
        if row is None:
            raise Refused(404, "no such token")
        if row.revoked_at is None:
            s.execute(update(T.tokens).where(T.tokens.c.id == row.id).values(revoked_at=now))
            row = s.execute(select(T.tokens).where(T.tokens.c.id == row.id)).one()
            _announce_token(s, row)
        return _token_dict(row)


def _announce_token(s, row) -> None:
    record(s, outbox, make_event("staff.token_changed", {
        "token_id": row.id, "staff_id": row.staff_id, "name": row.name, "token_hash": row.token_hash,
        "expires_at": row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=timezone.utc),
        "revoked": row.revoked_at is not None}, producer=PRODUCER, correlation_id=row.staff_id))
