"""One-time sign-in links and codes, and the rate limits on asking for them (see docs/signin.md).

Plain functions of an SQLAlchemy session, the tables and the time, so they are tested without Flask.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session as DbSession

from .common import (DEFAULT_LIMITS, LINK_LIFETIME, MAX_SECRET_LENGTH, PURPOSES, RATE_WINDOW, _minutes, as_utc,
                     describe_lifetime, hash_secret, is_expired, new_secret)
from .tables import SignInTables


class RateLimited(Exception):
    """Too many links asked for: ``scope`` "address" or "network", ``minutes`` to wait. The
    message is the API's English; a page says it in the visitor's language from the fields."""

    def __init__(self, message: str, scope: str = "", minutes: int = 0):
        super().__init__(message)
        self.message, self.scope, self.minutes = message, scope, minutes


class LinkRefused(Exception):
    """A link or code that cannot sign anyone in; ``status`` 400 (not valid) or 410 (spent).
    ``reason`` is "invalid", "used" or "expired" (then ``lifetime`` is how long it worked), so a
    page can say it in the visitor's language; the message is the API's English."""

    def __init__(self, status: int, message: str, reason: str = "", lifetime: timedelta | None = None):
        super().__init__(message)
        self.status, self.message, self.reason, self.lifetime = status, message, reason, lifetime


@dataclass(frozen=True)
class RateLimits:
    """At most ``per_address`` links for one address and ``per_client`` from one client per window."""
    per_address: int = DEFAULT_LIMITS["SIGNIN_LIMIT_PER_ADDRESS"]
    per_client: int = DEFAULT_LIMITS["SIGNIN_LIMIT_PER_CLIENT"]
    window: timedelta = RATE_WINDOW

    @classmethod
    def from_config(cls, config) -> "RateLimits":
        """From an app config's ``SIGNIN_LIMIT_PER_ADDRESS`` / ``SIGNIN_LIMIT_PER_CLIENT``."""
        return cls(per_address=int(config.get("SIGNIN_LIMIT_PER_ADDRESS", DEFAULT_LIMITS["SIGNIN_LIMIT_PER_ADDRESS"])),
                   per_client=int(config.get("SIGNIN_LIMIT_PER_CLIENT", DEFAULT_LIMITS["SIGNIN_LIMIT_PER_CLIENT"])))

    def allows(self, sent: int, limit: int) -> bool:
        """Whether one more may go when ``sent`` went within the window already."""
        return sent < limit


def check_rate(s: DbSession, tables: SignInTables, email: str | None, client: str, limits: RateLimits,
               now: datetime) -> None:
    """Raise RateLimited if ``email`` (None: not counted) or ``client`` had their share of links.

    Counted from the links table, so every web process and replica sees the same counts. Two
    requests racing past the count may both get a link: the limits are a brake on abuse, not
    an exact quota.
    """
    links = tables.links
    since = now - limits.window
    wait = _minutes(limits.window)
    if email is not None:
        sent = s.scalar(select(func.count()).select_from(links)
                        .where(links.c.email == email, links.c.created_at > since))
        if not limits.allows(sent, limits.per_address):
            raise RateLimited(f"too many sign-in requests for this address; try again in {wait} minutes",
                              "address", wait)
    sent = s.scalar(select(func.count()).select_from(links)
                    .where(links.c.client == client, links.c.created_at > since))
    if not limits.allows(sent, limits.per_client):
        raise RateLimited(f"too many sign-in requests from your network; try again in {wait} minutes",
                          "network", wait)


def issue_link(s: DbSession, tables: SignInTables, subject_id: str | None, email: str, purpose: str,
               client: str, now: datetime, lifetime: timedelta = LINK_LIFETIME) -> tuple[str, datetime]:
    """Store a one-time link in the caller's transaction; return its token and expiry.

    With ``subject_id`` None (an address nobody has) the row only counts for the limits: the
    caller throws the token away, so it opens nothing.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown sign-in purpose {purpose!r}")
    token = new_secret()
    expires_at = now + lifetime
    s.execute(insert(tables.links).values({
        "token_hash": hash_secret(token), tables.subject_column: subject_id, "email": email,
        "client": client, "purpose": purpose, "created_at": now, "expires_at": expires_at}))
    return token, expires_at


def consume_link(s: DbSession, tables: SignInTables, token: str, purpose: str, now: datetime,
                 noun: str = "sign-in link", lifetime: timedelta = LINK_LIFETIME) -> str:
    """Spend a one-time link in the caller's transaction; return its subject's id.

    Raise LinkRefused: 400 for a token that is unknown, malformed, of an unknown address or of
    the other purpose; 410 for one used already or expired (the message names ``lifetime``,
    or the link's own if it was issued for longer, as an invitation's).
    """
    if not token or len(token) > MAX_SECRET_LENGTH:
        raise LinkRefused(400, f"This {noun} is not valid.", "invalid")
    links, subject = tables.links, tables.link_subject()
    token_hash = hash_secret(token)
    # One conditional UPDATE decides who wins when the link is opened twice at once, on
    # SQLite (no row locks) as on PostgreSQL.
    spent = s.execute(update(links).where(
        links.c.token_hash == token_hash, links.c.used_at.is_(None), subject.is_not(None),
        links.c.purpose == purpose, links.c.expires_at > now).values(used_at=now))
    link = s.execute(select(links).where(links.c.token_hash == token_hash)).first()
    if spent.rowcount == 1:
        return link._mapping[subject]
    # (no refusal: the row was spent by another request between the two statements)
    raise _refusal(tables, link, purpose, now, noun, lifetime) or LinkRefused(
        410, f"This {noun} has already been used: it works only once.", "used")


def check_link(s: DbSession, tables: SignInTables, token: str, purpose: str, now: datetime,
               noun: str = "sign-in link", lifetime: timedelta = LINK_LIFETIME) -> None:
    """Raise the LinkRefused that consume_link would, without spending the link (its page shows
    a Sign in button: mail scanners open every link of an email, and must not spend it)."""
    if not token or len(token) > MAX_SECRET_LENGTH:
        raise LinkRefused(400, f"This {noun} is not valid.", "invalid")
    link = s.execute(select(tables.links).where(tables.links.c.token_hash == hash_secret(token))).first()
    refusal = _refusal(tables, link, purpose, now, noun, lifetime)
    if refusal is not None:
        raise refusal


def _refusal(tables: SignInTables, link, purpose: str, now: datetime, noun: str,
             lifetime: timedelta) -> LinkRefused | None:
    """Why ``link`` (its row, or None) cannot sign in now; None if it can."""
    if link is None or link._mapping[tables.link_subject()] is None or link.purpose != purpose:
        return LinkRefused(400, f"This {noun} is not valid.", "invalid")
    if link.used_at is not None:
        return LinkRefused(410, f"This {noun} has already been used: it works only once.", "used")
    if is_expired(link.expires_at, now):
        worked = max(as_utc(link.expires_at) - as_utc(link.created_at), lifetime)
        return LinkRefused(410, f"This {noun} has expired: it works for {describe_lifetime(worked)}.", "expired",
                           worked)
    return None


@dataclass(frozen=True)
class IssuedLink:
    """What the ``signin.requested`` event of a new link says about it."""
    purpose: str
    url: str
    code: str | None
    expires_at: datetime

    def event_fields(self) -> dict:
        return {"purpose": self.purpose, "url": self.url, "code": self.code, "expires_at": self.expires_at}
