"""Signed, expiring bearer tokens (itsdangerous, which Flask already ships).

A token names a role and a subject: ``secretariat`` for the prize office, ``applicant`` with
the applicant's id. Issue 3 adds the passwordless sign-in that hands these out; the tokens
themselves and their checks live here so every service reads them the same way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ROLES = ("secretariat", "applicant", "juror")
SALT = "prize.bearer"


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str
    # Staff only (role "secretariat"): the staff role (shared.staff.roles) and what audit
    # records keep, a person's name and address or an operator's name.
    staff_role: str | None = None
    actor: str = ""

    @property
    def who(self) -> str:
        """Who did it, for audit records: the staff member or operator, else the subject."""
        return self.actor or self.subject


class TokenError(Exception):
    pass


def issue_token(secret_key: str, role: str, subject: str, hours: float | None = None) -> str:
    """A signed token of ``role`` for ``subject``; it expires after 12 hours, or ``hours`` if fewer."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    data = {"r": role, "s": subject}
    if hours is not None:
        data["x"] = int(time.time() + hours * 3600)
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps(data)


def read_token(secret_key: str, token: str, max_age: int = 12 * 3600) -> Principal:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("token expired")
    except BadSignature:
        raise TokenError("token invalid")
    if not isinstance(data, dict) or data.get("r") not in ROLES or not data.get("s"):
        raise TokenError("token invalid")
    if isinstance(data.get("x"), int) and time.time() >= data["x"]:
        raise TokenError("token expired")
    return Principal(role=data["r"], subject=str(data["s"]))
