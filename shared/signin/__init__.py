"""Passwordless sign-in for the people of a service: one-time links, sessions, API tokens.

Only the person who reads an address's mailbox can sign in: sign-in mails a one-time link
(browser) or code (API), only hashes of links and sessions are stored, links work once within
15 minutes, sessions are revocable and expire after 12 hours, requests for links are
rate-limited, and cookie requests that change something need the session's CSRF token. The
modules: ``tables`` (the two tables), ``links`` (links, codes, rate limits), ``sessions``,
``csrf`` (the request's session and CSRF token), ``schemas``, ``flow`` (:class:`SignIn`, one
service's sign-in), ``web`` (its blueprints and cookies) and ``pagesession`` (the secretariat's
interim page session). How a service plugs it in, step by step: docs/signin.md. Every name
callers use is importable from here.
"""
from __future__ import annotations

from .common import (ANONYMOUS_CSRF_COOKIE, DEFAULT_LIMITS, LAST_SEEN_EVERY, LINK_LIFETIME, MAX_SECRET_LENGTH,
                     PURPOSES, RATE_WINDOW, SESSION_LIFETIME, UNSAFE_METHODS, as_utc,
                     describe_lifetime, hash_secret, is_expired, new_secret, utcnow)
from .csrf import client_address, csrf_token, current_session, form_csrf_ok
from .flow import SignIn
from .links import IssuedLink, LinkRefused, RateLimited, RateLimits, check_rate, consume_link, issue_link
from .schemas import BearerToken, SignInAccepted, SignInRequest, TokenExchange
from .sessions import SessionInfo, find_session, open_session, revoke_session, touch_session
from .tables import SignInTables, define_signin_tables

__all__ = [
    "ANONYMOUS_CSRF_COOKIE", "DEFAULT_LIMITS", "LAST_SEEN_EVERY", "LINK_LIFETIME", "MAX_SECRET_LENGTH", "PURPOSES",
    "RATE_WINDOW", "SESSION_LIFETIME", "UNSAFE_METHODS", "BearerToken", "IssuedLink", "LinkRefused",
    "RateLimited", "RateLimits", "SessionInfo", "SignIn", "SignInAccepted", "SignInRequest", "SignInTables",
    "TokenExchange", "as_utc", "check_rate", "client_address", "consume_link", "csrf_token", "current_session",
    "define_signin_tables", "describe_lifetime", "find_session", "form_csrf_ok", "hash_secret", "is_expired",
    "issue_link", "new_secret", "open_session", "revoke_session", "touch_session", "utcnow",
]
