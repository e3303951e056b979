"""The current request's session and its CSRF token, for pages of any service (see docs/signin.md)."""
from __future__ import annotations

from flask import g, request
from werkzeug.exceptions import HTTPException

from ..web import current_principal
from .common import ANONYMOUS_CSRF_COOKIE, _same, new_secret
from .sessions import SessionInfo


def client_address() -> str:
    # remote_addr is the peer; behind a reverse proxy every caller shares the proxy's limit
    return (request.remote_addr or "unknown")[:100]


def current_session() -> SessionInfo | None:
    """The server-side session (browser or API token) of this request, if it has a valid one."""
    if "prize_session" not in g:
        try:
            current_principal()
        except HTTPException:
            return None
    return g.get("prize_session")


def csrf_token() -> str:
    """For page forms: ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``.

    Signed in, it is the session's token. Before sign-in (registration, asking for a link) it
    is a random value also set as a cookie: a cross-site form cannot read the cookie, so it
    cannot send the matching field (double submit).
    """
    session = current_session()
    if session is not None and session.kind == "browser":
        return session.csrf_token
    token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    if not (20 <= len(token) <= 100):
        token = g.get("_prize_new_csrf") or new_secret()
        g._prize_new_csrf = token
    return token


def form_csrf_ok() -> bool:
    """For page forms anyone may post: the field matches the session's token or the cookie."""
    sent = request.form.get("csrf_token") or ""
    session = current_session()
    if session is not None and session.kind == "browser":
        return _same(sent, session.csrf_token)
    cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    return bool(cookie) and _same(sent, cookie)
