"""One service's sign-in, :class:`SignIn`: its configuration, its steps in the current app and the
principal loader shared.web calls (see docs/signin.md). Its blueprints are built by .web."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable

from flask import current_app, g, request
from flask_smorest import abort
from sqlalchemy import Table
from sqlalchemy.orm import Session as DbSession

from ..auth import Principal
from ..events import make_event
from ..outbox import record
from ..web import SESSION_COOKIE
from .common import LINK_LIFETIME, MAX_SECRET_LENGTH, SESSION_LIFETIME, UNSAFE_METHODS, _same, as_utc, utcnow
from .csrf import client_address, csrf_token, current_session
from .links import IssuedLink, RateLimits, check_link, check_rate, consume_link, issue_link
from .sessions import SessionInfo, find_session, open_session, revoke_session, touch_session
from .tables import SignInTables
from .web import install_cookie_hooks, make_api, make_pages
from ..web import current_db


_db = current_db


@dataclass(eq=False)
class SignIn:
    """Passwordless sign-in for one kind of person of one service (see docs/signin.md).

    ``find_subject(session, email)`` returns the person with that (stripped, lower-cased)
    address, an object with an ``id``, or None. ``event_data(subject, link)`` returns the data
    of the ``signin.requested`` event that mails ``link`` (an :class:`IssuedLink`) to them.
    """
    role: str
    tables: SignInTables
    outbox: Table
    producer: str
    find_subject: Callable[[DbSession, str], Any]
    event_data: Callable[[Any, IssuedLink], dict]
    import_name: str  # the page blueprint finds its templates beside this module
    template_folder: str = "templates"
    accepted_message: str = ("If this address is known here, a sign-in message is on its way to it. "
                             "Its link or code works once, within 15 minutes.")
    address_error: str = "Enter the email address you registered with."
    # The two sentences as the sign-in pages say them, in the reader's language (lazy gettext
    # strings, shared.i18n._l); None: the English ones above.
    accepted_page_message: Any = None
    address_page_error: Any = None
    api_prefix: str = "/api"
    page_prefix: str = ""
    after_signin: str = "/portal"
    after_logout: str = "/"
    public_url_setting: str = "public_url"  # the Settings attribute links start with
    cookie_name: str = SESSION_COOKIE
    link_lifetime: timedelta = LINK_LIFETIME
    session_lifetime: dict = field(default_factory=lambda: dict(SESSION_LIFETIME))
    api_name: str = "signin"
    pages_name: str = "signin_pages"
    api_description: str | None = None

    def __post_init__(self):
        self.api = make_api(self)
        self.pages = make_pages(self)

    # --- the steps, in the current app ---

    def base_url(self) -> str:
        return getattr(current_app.extensions["prize"]["settings"], self.public_url_setting).rstrip("/")

    def limits(self) -> RateLimits:
        return RateLimits.from_config(current_app.config)

    def check_rate(self, s: DbSession, email: str | None, client: str) -> None:
        check_rate(s, self.tables, email, client, self.limits(), utcnow())

    def issue_link(self, s: DbSession, subject, email: str, purpose: str, client: str, *,
                   lifetime: timedelta | None = None, announce: bool = True) -> IssuedLink | None:
        """Store a one-time link in the caller's transaction; for a known subject, return it.

        ``announce`` (the default) also records the ``signin.requested`` event that mails it;
        without it the caller delivers the link itself (e.g. in an invitation, with a longer
        ``lifetime`` than the default 15 minutes).
        """
        token, expires_at = issue_link(s, self.tables, subject.id if subject is not None else None,
                                       email, purpose, client, utcnow(), lifetime or self.link_lifetime)
        if subject is None:
            return None  # counted for the limits; the token is thrown away, so the row opens nothing
        base = self.base_url()
        link = IssuedLink(purpose=purpose,
                          url=(f"{base}{self.page_prefix}/signin/{token}" if purpose == "browser"
                               else f"{base}{self.api_prefix}/signin/token"),
                          code=token if purpose == "api" else None, expires_at=expires_at)
        if announce:
            record(s, self.outbox, make_event("signin.requested", self.event_data(subject, link),
                                              producer=self.producer, correlation_id=subject.id))
        return link

    def request_link(self, email: str, purpose: str) -> None:
        """Send a sign-in link if the address is known; the caller cannot tell whether it is."""
        email = email.strip().lower()
        client = client_address()
        with _db().session() as s, s.begin():
            self.check_rate(s, email, client)
            subject = self.find_subject(s, email)
            self.issue_link(s, subject, email, purpose, client)

    def check(self, token: str, purpose: str, noun: str = "sign-in link") -> None:
        """Raise LinkRefused if the link or code could not sign in now; spend nothing."""
        with _db().session() as s:
            check_link(s, self.tables, token, purpose, utcnow(), noun, self.link_lifetime)

    def redeem(self, token: str, purpose: str, noun: str = "sign-in link") -> tuple[str, datetime]:
        """Spend a link or code and open a session of its kind; return the session's secret and expiry."""
        with _db().session() as s, s.begin():
            now = utcnow()
            subject_id = consume_link(s, self.tables, token, purpose, now, noun, self.link_lifetime)
            return open_session(s, self.tables, subject_id, purpose, now, self.session_lifetime[purpose])

    def revoke(self, id_hash: str) -> None:
        with _db().session() as s, s.begin():
            revoke_session(s, self.tables, id_hash, utcnow())

    # --- sessions of requests ---

    def load_principal(self, secret: str, source: str) -> Principal | None:
        """shared.web's principal_loader: an API token ("bearer") or a browser session ("cookie")."""
        if len(secret) > MAX_SECRET_LENGTH:
            return None
        now = utcnow()
        with _db().session() as s, s.begin():
            row = find_session(s, self.tables, secret, "api" if source == "bearer" else "browser", now)
            if row is None:
                if source == "cookie":
                    g._prize_clear_cookie = True
                return None
            if source == "cookie" and request.method in UNSAFE_METHODS:
                # SameSite=Lax already keeps the cookie off most cross-site posts; the token also
                # covers old browsers and same-site attackers (another app on a sibling subdomain).
                sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
                if not _same(sent, row.csrf_token):
                    abort(403, message="missing or wrong CSRF token: send the X-CSRF-Token header "
                                       "(or the csrf_token form field) of this session")
            touch_session(s, self.tables, row, now)
            subject = row._mapping[self.tables.session_subject()]
            g.prize_session = SessionInfo(row.id_hash, subject, row.kind, row.csrf_token, as_utc(row.expires_at))
            return Principal(role=self.role, subject=subject)

    def set_session_cookie(self, response, secret: str) -> None:
        secure = request.is_secure or self.base_url().startswith("https://")  # TLS may end at a proxy
        response.set_cookie(self.cookie_name, secret, httponly=True, samesite="Lax", secure=secure, path="/")

    def init_app(self, app) -> None:
        """Hook sessions into shared.web's current_principal and the page templates."""
        app.extensions["prize"]["principal_loader"] = self.load_principal
        app.extensions["prize"]["session_cookie"] = self.cookie_name
        app.jinja_env.globals["csrf_token"] = csrf_token
        app.jinja_env.globals["current_session"] = current_session
        install_cookie_hooks(app, self.cookie_name)
