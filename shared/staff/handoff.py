"""The hand-off: a signed, short-lived, single-use pass in a redirect from one service's staff
pages to another's, which the receiving service exchanges for a session of its own.

It names the person, the sign-in it comes from (its family, so signing out ends both), the one
service it is for, where to go and a nonce; the receiver checks the signature, the audience,
the age (60 seconds) and that the nonce is new (shared.staff.store.spend_handoff).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "prize.staff.handoff"
SIGNOUT_SALT = "prize.staff.signout"
MAX_AGE = 60  # seconds: a redirect takes less


class HandoffRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Handoff:
    subject: str
    family: str
    audience: str
    next_path: str
    nonce: str


def make_handoff(secret_key: str, subject: str, family: str, audience: str, next_path: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps(
        {"s": subject, "f": family, "a": audience, "p": next_path, "n": secrets.token_urlsafe(16)})


def read_handoff(secret_key: str, token: str, audience: str, max_age: int = MAX_AGE) -> Handoff:
    if not token or len(token) > 2000:
        raise HandoffRefused("This sign-in hand-off is not valid.")
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise HandoffRefused("This sign-in hand-off has expired: it works for a minute. Open the page again.")
    except BadSignature:
        raise HandoffRefused("This sign-in hand-off is not valid.")
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in "sfan"):
        raise HandoffRefused("This sign-in hand-off is not valid.")
    if data["a"] != audience:
        raise HandoffRefused("This sign-in hand-off is for another service.")
    return Handoff(subject=data["s"], family=data["f"], audience=data["a"], next_path=data.get("p") or "",
                   nonce=data["n"])


def make_signout(secret_key: str, family: str) -> str:
    """What a service's sign-out sends to intake, which ends the sign-in everywhere."""
    return URLSafeTimedSerializer(secret_key, salt=SIGNOUT_SALT).dumps({"f": family})


def read_signout(secret_key: str, token: str, max_age: int = 300) -> str | None:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SIGNOUT_SALT).loads(token or "", max_age=max_age)
    except BadSignature:  # SignatureExpired included
        return None
    return data.get("f") if isinstance(data, dict) and isinstance(data.get("f"), str) else None
