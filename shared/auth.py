"""Signed, expiring bearer tokens (itsdangerous, which Flask already ships).

A token names a role and a subject: ``secretariat`` for the prize office, ``applicant`` with
the applicant's id. Issue 3 adds the passwordless sign-in that hands these out; the tokens
themselves and their checks live here so every service reads them the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

ROLES = ("secretariat", "applicant", "juror")
SALT = "prize.bearer"


@dataclass(frozen=True)
class Principal:
    role: str
    subject: str


class TokenError(Exception):
    pass


def issue_token(secret_key: str, role: str, subject: str) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return URLSafeTimedSerializer(secret_key, salt=SALT).dumps({"r": role, "s": subject})


def read_token(secret_key: str, token: str, max_age: int = 12 * 3600) -> Principal:
    try:
        data = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("token expired")
    except BadSignature:
        raise TokenError("token invalid")
    if not isinstance(data, dict) or data.get("r") not in ROLES or not data.get("s"):
        raise TokenError("token invalid")
    return Principal(role=data["r"], subject=str(data["s"]))
