"""The secretariat's page session: what every service's secretariat pages share.

Interim sign-in until the secretariat gets the passwordless one (the rest of shared.signin, see
docs/signin.md): the secretariat pastes a token of ``prize token secretariat`` once, and this
browser keeps a page session in Flask's signed cookie (who and since when, not the token, which
would also open the API). It lasts as long as a signed token lives. Each service names its own cookie: the services run on
one host on different ports, and browsers share cookies across ports.

Forms carry a CSRF token kept in the same session (or the passwordless session's, where the
service has one, as review has for jurors).
"""
from __future__ import annotations

import hmac
import secrets
import time

from flask import request, session

from ..auth import Principal, TokenError, read_token

PAGE_SESSION = 12 * 3600  # seconds, as long as a signed token lives


def configure_page_cookie(app, cookie_name: str, secure: bool = False) -> None:
    """The page session is a signed cookie of this service's own name, HttpOnly, SameSite=Lax,
    and Secure when the service is reached over https."""
    config = app.config
    if config.get("SESSION_COOKIE_NAME") in (None, "session"):
        config["SESSION_COOKIE_NAME"] = cookie_name
    config["SESSION_COOKIE_HTTPONLY"] = True
    if config.get("SESSION_COOKIE_SAMESITE") is None:
        config["SESSION_COOKIE_SAMESITE"] = "Lax"
    if secure:
        config["SESSION_COOKIE_SECURE"] = True


def adopt_signed_token(secret_key: str, token: str, role: str) -> Principal | None:
    """A valid signed token of ``role`` opens a page session in this browser; None otherwise."""
    try:
        principal = read_token(secret_key, token.strip())
    except TokenError:
        return None
    if principal.role != role:
        return None
    session.clear()  # a new identity never inherits the old one's CSRF token or messages
    session["who"] = {"role": principal.role, "subject": principal.subject, "since": int(time.time())}
    session["csrf"] = secrets.token_urlsafe(32)
    return principal


def page_principal() -> Principal | None:
    """Who this browser's page session is, if it has a live one."""
    who = session.get("who")
    if not isinstance(who, dict):
        return None
    if not 0 <= time.time() - who.get("since", 0) <= PAGE_SESSION:
        session.clear()
        return None
    return Principal(role=who["role"], subject=who["subject"])


def page_csrf(shared_session=None) -> str:
    """The token of this browser's forms: the passwordless session's when there is one, else the
    page session's. A bearer-token caller has no cookie to protect and gets none."""
    if request.headers.get("Authorization"):
        return ""
    if shared_session is not None and shared_session.kind == "browser":
        return shared_session.csrf_token
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def page_csrf_ok(expected: str) -> bool:
    """The form field (or X-CSRF-Token header) matches ``expected``."""
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    return bool(sent and expected) and hmac.compare_digest(sent.encode(), expected.encode())
