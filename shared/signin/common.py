"""Sign-in's constants, secrets and time (see docs/signin.md)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = {"browser": timedelta(hours=12), "api": timedelta(hours=12)}
LAST_SEEN_EVERY = timedelta(minutes=5)  # writing on every request would make each read a write
RATE_WINDOW = timedelta(minutes=15)
DEFAULT_LIMITS = {"SIGNIN_LIMIT_PER_ADDRESS": 5, "SIGNIN_LIMIT_PER_CLIENT": 20}
PURPOSES = ("browser", "api")  # also the kinds of session: a browser cookie or an API token
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_SECRET_LENGTH = 200
ANONYMOUS_CSRF_COOKIE = "prize_csrf"


def new_secret() -> str:
    """A random secret for a link, a code, a session or a CSRF token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """What is stored instead of the secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; we only ever store UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def is_expired(expires_at: datetime, now: datetime) -> bool:
    """A link or session is dead from its expiry on (the expiry itself included)."""
    return as_utc(expires_at) <= now


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def describe_lifetime(span: timedelta) -> str:
    """ "15 minutes", "12 hours", "7 days": for messages."""
    minutes = _minutes(span)
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size and minutes % size == 0 or size == 1:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")
