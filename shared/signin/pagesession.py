"""The pages' Flask session: its cookie settings (each service names its own: the services run on
one host on different ports, and browsers share cookies across ports), and the CSRF token of
forms posted before anyone signed in (an operator's token form) or by a juror's page session.

Who is signed in is no longer kept here: staff sessions are server-side (shared.staff), jurors'
and applicants' too (the rest of shared.signin).
"""
from __future__ import annotations

import hmac
import secrets

from flask import request, session




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
