"""Passwordless sign-in for the people of a service: one-time links, sessions, API tokens.

Nobody gets a credential by being registered or invited: only the person who reads the
address's mailbox can sign in. Sign-in mails a one-time link (browser) or code (API); only
SHA-256 hashes of links and sessions are stored, so a copy of the database opens nothing.
Links work once, within 15 minutes; a sign-in always opens a new session (new id), which can
be revoked (logout, ``DELETE /api/session``) and expires after 12 hours. Requests for links are
rate-limited per address and per client, counted from the links table (so every process and
replica sees the same counts). Cookie requests that change something need the session's CSRF
token; forms before sign-in use a double-submit cookie (``prize_csrf``).

Three layers, each usable alone:

* tables: :func:`define_signin_tables` adds ``signin_links`` and ``sessions`` to a service's
  metadata, with the subject's id column named after the service's people;
* the database steps, plain functions of an SQLAlchemy session, the tables and the time (so
  they are tested without Flask): :func:`issue_link`, :func:`consume_link`,
  :func:`check_rate`, :func:`open_session`, :func:`find_session`, :func:`revoke_session`,
  :func:`hash_secret`, :func:`is_expired`;
* the web part, :class:`SignIn`: one per service, configured with the role, how to find a
  subject by email and what its ``signin.requested`` event says. It builds the JSON API
  blueprint (``POST /api/signin``, ``POST /api/signin/token``, ``DELETE /api/session``), the
  page blueprint (``GET/POST /signin``, ``GET /signin/<token>``, ``POST /logout``) and the
  principal loader that :func:`shared.web.current_principal` calls; :meth:`SignIn.init_app`
  plugs it in. :func:`csrf_token`, :func:`form_csrf_ok` and :func:`current_session` serve the
  pages of any service that uses it.

intake uses it for applicants (``services/intake/accounts.py``). How review plugs it in for
jurors (the secretariat invites them; they sign in like applicants):

1. Tables, in ``services/review/models.py`` (review's own database), after ``Juror``::

       from shared.signin import define_signin_tables
       signin_tables = define_signin_tables(metadata, subject_column="juror_id",
                                            subject_table="jurors")

       class JurorSignInLink(Base):
           __table__ = signin_tables.links      # "signin_links": token_hash, juror_id (NULL
                                                # for unknown addresses), email, client,
                                                # purpose, created_at, expires_at, used_at
       class JurorSession(Base):
           __table__ = signin_tables.sessions   # "sessions": id_hash, juror_id, kind,
                                                # csrf_token, created_at, expires_at,
                                                # last_seen_at, revoked_at

   (mapped classes are optional: the functions here only need the Tables), plus an Alembic
   migration creating both tables as ``define_signin_tables`` describes them, with intake's
   0002/0003 migrations as the model (``juror_id`` nullable in ``signin_links``, indexes on
   ``juror_id``, ``email``, ``client``, ``created_at``; ``sessions.juror_id`` indexed, not
   null).

2. The flow, e.g. in ``services/review/jurors.py``::

       from shared.signin import SignIn

       def find_juror(s, email):        # email arrives stripped and lower-cased
           return s.scalar(select(Juror).where(Juror.email == email, Juror.active.is_(True)))

       def juror_event(juror, link):    # link: IssuedLink (purpose, url, code, expires_at)
           return {"juror_id": juror.id, "audience": "juror", "email": juror.email,
                   "contact_name": juror.name, "language": juror.language,
                   **link.event_fields()}

       jury_signin = SignIn(
           role="juror", tables=signin_tables, outbox=outbox, producer="review",
           find_subject=find_juror, event_data=juror_event, import_name=__name__,
           accepted_message="If this address belongs to an invited juror, a sign-in message "
                            "is on its way to it. Its link or code works once, within 15 minutes.",
           address_error="Enter the email address you were invited with.",
           after_signin="/jury", public_url_setting="review_public_url",
           cookie_name="prize_jury_session")

   The subject returned by ``find_subject`` needs an ``id``. An invitation can carry a
   first one-time link, issued in the invitation's transaction without a signin.requested
   event (the invitation's own email carries it)::

       link = jury_signin.issue_link(s, juror, juror.email, "browser", "invitation",
                                     lifetime=timedelta(days=7), announce=False)
       link.url, link.expires_at   # -> the invitation email

   (intake's registration issues its first link the same way, announced.) A spent or
   expired link shows ``signin/refused.html`` with a form asking for a new one.
   ``cookie_name``: browsers share cookies between ports of one host, so two services on
   one host must not both use ``prize_session`` (each would clear the other's cookie).

3. Wiring, in ``services/review/app.py``: pass ``jury_signin.api`` among the API blueprints
   of ``create_service_app``, register ``jury_signin.pages`` with ``app.register_blueprint``,
   put ``SIGNIN_LIMIT_PER_ADDRESS`` / ``SIGNIN_LIMIT_PER_CLIENT`` (from
   ``settings.signin_limit_per_*``) in the app config as intake does, and call
   ``jury_signin.init_app(app)``. The page blueprint renders ``signin/request.html``,
   ``signin/sent.html`` and ``signin/refused.html`` from ``templates/`` beside the module
   named by ``import_name`` (context: ``email``, ``error``, ``message``, ``page_csrf``,
   ``lang``; the ``csrf_token()`` and ``current_session()`` globals).

4. Then :func:`shared.web.current_principal` (and ``require_role("juror")``) returns
   ``Principal(role="juror", subject=<the juror's id>)`` for a juror's bearer token or
   session cookie; signed tokens (the secretariat's) keep working beside it, since an opaque
   session secret never contains a dot. ``current_session()`` gives the session (its
   ``subject``, ``kind``, ``csrf_token``).

5. The ``signin.requested`` contract (shared/events/intake.py) carries either
   ``applicant_id`` or ``juror_id``, and ``audience`` ("applicant" unless said otherwise).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from flask import Blueprint as PageBlueprint
from flask import current_app, g, redirect, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import Column, ForeignKey, MetaData, String, Table, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session as DbSession
from werkzeug.exceptions import HTTPException

from .auth import Principal
from .db import UTCDateTime
from .events import make_event
from .outbox import record
from .web import SESSION_COOKIE, current_principal

LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = {"browser": timedelta(hours=12), "api": timedelta(hours=12)}
LAST_SEEN_EVERY = timedelta(minutes=5)  # writing on every request would make each read a write
RATE_WINDOW = timedelta(minutes=15)
DEFAULT_LIMITS = {"SIGNIN_LIMIT_PER_ADDRESS": 5, "SIGNIN_LIMIT_PER_CLIENT": 20}
PURPOSES = ("browser", "api")  # also the kinds of session: a browser cookie or an API token
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_SECRET_LENGTH = 200
ANONYMOUS_CSRF_COOKIE = "prize_csrf"


# --- tables -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInTables:
    """A service's two sign-in tables and the name of the column naming their subject."""
    links: Table
    sessions: Table
    subject_column: str

    def link_subject(self):
        return self.links.c[self.subject_column]

    def session_subject(self):
        return self.sessions.c[self.subject_column]


def define_signin_tables(metadata: MetaData, subject_column: str = "applicant_id",
                         subject_table: str = "applicants", *, links_name: str = "signin_links",
                         sessions_name: str = "sessions") -> SignInTables:
    """Add the one-time links and the sessions tables to ``metadata``.

    ``subject_column`` references ``<subject_table>.id`` (a 36-character id). A request for an
    address nobody has is kept too (subject NULL, a hash nobody holds the token of), so the
    rate limits count it and the answer cannot tell who is registered.
    """
    links = Table(
        links_name, metadata,
        Column("token_hash", String(64), primary_key=True),
        Column(subject_column, String(36), ForeignKey(f"{subject_table}.id"), index=True, nullable=True),
        Column("email", String(320), index=True, nullable=False),
        Column("client", String(100), index=True, nullable=False),
        Column("purpose", String(20), nullable=False, default="browser"),  # browser | api
        Column("created_at", UTCDateTime, index=True, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("used_at", UTCDateTime, nullable=True),
    )
    sessions = Table(
        sessions_name, metadata,
        Column("id_hash", String(64), primary_key=True),
        Column(subject_column, String(36), ForeignKey(f"{subject_table}.id"), index=True, nullable=False),
        Column("kind", String(20), nullable=False, default="browser"),  # browser | api
        Column("csrf_token", String(64), nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("expires_at", UTCDateTime, nullable=False),
        Column("last_seen_at", UTCDateTime, nullable=False),
        Column("revoked_at", UTCDateTime, nullable=True),
    )
    return SignInTables(links=links, sessions=sessions, subject_column=subject_column)


# --- secrets, time ----------------------------------------------------------------------------

def new_secret() -> str:
    """A random secret for a link, a code, a session or a CSRF token (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """What is stored instead of the secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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


# --- the database steps -----------------------------------------------------------------------

class RateLimited(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LinkRefused(Exception):
    """A link or code that cannot sign anyone in; ``status`` 400 (not valid) or 410 (spent)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


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
            raise RateLimited(f"too many sign-in requests for this address; try again in {wait} minutes")
    sent = s.scalar(select(func.count()).select_from(links)
                    .where(links.c.client == client, links.c.created_at > since))
    if not limits.allows(sent, limits.per_client):
        raise RateLimited(f"too many sign-in requests from your network; try again in {wait} minutes")


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
        raise LinkRefused(400, f"This {noun} is not valid.")
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
    if link is None or link._mapping[subject] is None or link.purpose != purpose:
        raise LinkRefused(400, f"This {noun} is not valid.")
    if link.used_at is not None:
        raise LinkRefused(410, f"This {noun} has already been used: it works only once.")
    issued_for = as_utc(link.expires_at) - as_utc(link.created_at)
    raise LinkRefused(410, f"This {noun} has expired: it works for {describe_lifetime(max(issued_for, lifetime))}.")


def open_session(s: DbSession, tables: SignInTables, subject_id: str, kind: str, now: datetime,
                 lifetime: timedelta | None = None) -> tuple[str, datetime]:
    """A new session (always a new id); return its secret (shown once, to the caller) and expiry."""
    if kind not in PURPOSES:
        raise ValueError(f"unknown session kind {kind!r}")
    secret = new_secret()
    expires_at = now + (lifetime or SESSION_LIFETIME[kind])
    s.execute(insert(tables.sessions).values({
        "id_hash": hash_secret(secret), tables.subject_column: subject_id, "kind": kind,
        "csrf_token": new_secret(), "created_at": now, "expires_at": expires_at, "last_seen_at": now}))
    return secret, expires_at


def find_session(s: DbSession, tables: SignInTables, secret: str, kind: str, now: datetime) -> Row | None:
    """The live session of this secret and kind (not revoked, not expired), else None."""
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    sessions = tables.sessions
    row = s.execute(select(sessions).where(sessions.c.id_hash == hash_secret(secret))).first()
    if row is None or row.kind != kind or row.revoked_at is not None or is_expired(row.expires_at, now):
        return None
    return row


def touch_session(s: DbSession, tables: SignInTables, row: Row, now: datetime,
                  every: timedelta = LAST_SEEN_EVERY) -> bool:
    """Record that the session was used, at most once per ``every``; return whether it wrote."""
    if now - as_utc(row.last_seen_at) <= every:
        return False
    sessions = tables.sessions
    s.execute(update(sessions).where(sessions.c.id_hash == row.id_hash).values(last_seen_at=now))
    return True


def revoke_session(s: DbSession, tables: SignInTables, id_hash: str, now: datetime) -> bool:
    """Revoke a session (by the hash of its secret); return whether it was live until now."""
    sessions = tables.sessions
    done = s.execute(update(sessions).where(sessions.c.id_hash == id_hash, sessions.c.revoked_at.is_(None))
                     .values(revoked_at=now))
    return done.rowcount == 1


# --- requests: sessions and CSRF --------------------------------------------------------------

@dataclass(frozen=True)
class SessionInfo:
    """The session behind the current request, detached from the database."""
    id_hash: str
    subject: str
    kind: str
    csrf_token: str
    expires_at: datetime


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


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


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


# --- API schemas ------------------------------------------------------------------------------

class SignInRequest(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    purpose = fields.String(load_default="browser", validate=validate.OneOf(PURPOSES),
                            metadata={"description": "browser: a link that opens a portal session; "
                                                     "api: a one-time code to exchange at /api/signin/token"})


class SignInAccepted(Schema):
    message = fields.String()


class TokenExchange(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "the one-time code from the sign-in email"})


class BearerToken(Schema):
    token = fields.String(metadata={"description": "send as Authorization: Bearer <token>; "
                                                   "DELETE /api/session revokes it"})
    expires_at = fields.AwareDateTime()


# --- one service's sign-in --------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedLink:
    """What the ``signin.requested`` event of a new link says about it."""
    purpose: str
    url: str
    code: str | None
    expires_at: datetime

    def event_fields(self) -> dict:
        return {"purpose": self.purpose, "url": self.url, "code": self.code, "expires_at": self.expires_at}


def _db():
    return current_app.extensions["prize"]["db"]


@dataclass(eq=False)
class SignIn:
    """Passwordless sign-in for one kind of person of one service (see the module docstring).

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
        self.api = self._make_api()
        self.pages = self._make_pages()

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

    def redeem(self, token: str, purpose: str, noun: str = "sign-in link") -> tuple[str, datetime]:
        """Spend a link or code and open a session of its kind; return the session's secret and expiry."""
        with _db().session() as s, s.begin():
            now = utcnow()
            subject_id = consume_link(s, self.tables, token, purpose, now, noun, self.link_lifetime)
            return open_session(s, self.tables, subject_id, purpose, now, self.session_lifetime[purpose])

    def revoke(self, id_hash: str) -> None:
        with _db().session() as s, s.begin():
            revoke_session(s, self.tables, id_hash, utcnow())

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
        cookie_name = self.cookie_name

        @app.after_request
        def _anonymous_csrf_cookie(response):
            if g.get("_prize_new_csrf"):
                response.set_cookie(ANONYMOUS_CSRF_COOKIE, g._prize_new_csrf, httponly=True, samesite="Lax",
                                    secure=request.is_secure, path="/")
            return response

        @app.after_request
        def _clear_stale_cookie(response):
            if g.get("_prize_clear_cookie") and not any(
                    c.startswith(cookie_name + "=") for c in response.headers.getlist("Set-Cookie")):
                response.delete_cookie(cookie_name, path="/")
            return response

    # --- the JSON API ---

    def _make_api(self) -> Blueprint:
        flow = self
        retry_after = str(int(RATE_WINDOW.total_seconds()))
        blp = Blueprint(self.api_name, self.import_name, url_prefix=self.api_prefix,
                        description=self.api_description or f"Sign-in for {self.role}s: one-time links, "
                                                            "sessions and bearer tokens")

        @blp.route("/signin")
        class SignInView(MethodView):
            @blp.arguments(SignInRequest)
            @blp.response(202, SignInAccepted)
            @blp.alt_response(429, description="too many sign-in requests for this address or from this client")
            def post(self, data):
                """Ask for a one-time sign-in link (browser) or code (api), mailed to a registered address.

                The answer is the same whether or not the address is registered.
                """
                try:
                    flow.request_link(data["email"], data["purpose"])
                except RateLimited as exc:
                    abort(429, message=exc.message, headers={"Retry-After": retry_after})
                return {"message": flow.accepted_message}

        @blp.route("/signin/token")
        class TokenView(MethodView):
            @blp.arguments(TokenExchange)
            @blp.response(201, BearerToken)
            @blp.alt_response(400, description="the code is not valid")
            @blp.alt_response(410, description="the code was used already or has expired")
            def post(self, data):
                """Exchange the one-time code of an API sign-in for a bearer token (valid 12 hours)."""
                try:
                    secret, expires_at = flow.redeem(data["token"], "api", noun="sign-in code")
                except LinkRefused as exc:
                    abort(exc.status, message=exc.message)
                return {"token": secret, "expires_at": expires_at}

        @blp.route("/session")
        class SessionView(MethodView):
            @blp.doc(security=[{"bearer": []}])
            @blp.response(204)
            def delete(self):
                """Sign out: revoke this bearer token, or this browser session (and clear its cookie)."""
                if current_principal() is None:
                    abort(401, message="sign-in required: send Authorization: Bearer <token>")
                session = g.get("prize_session")
                if session is None:
                    abort(409, message="signed tokens cannot be revoked; they expire on their own")
                flow.revoke(session.id_hash)
                if session.kind == "browser":
                    g._prize_clear_cookie = True

        return blp

    # --- pages ---

    def _page(self, template: str, status: int = 200, **context):
        response = current_app.make_response((render_template(template, page_csrf="", lang="en", **context),
                                              status))
        response.headers["Referrer-Policy"] = "no-referrer"  # the link's token must not leak onwards
        response.headers["Cache-Control"] = "no-store"
        return response

    def _make_pages(self) -> PageBlueprint:
        flow = self
        retry_after = str(int(RATE_WINDOW.total_seconds()))
        bp = PageBlueprint(self.pages_name, self.import_name, template_folder=self.template_folder,
                           url_prefix=self.page_prefix or None)

        @bp.get("/signin")
        def signin_form():
            return flow._page("signin/request.html", email="")

        @bp.post("/signin")
        def signin_form_post():
            email = (request.form.get("email") or "").strip()
            if not form_csrf_ok():
                return flow._page("signin/request.html", 403, email=email,
                                  error="This form has expired. Please send it again.")
            if "@" not in email or len(email) > 320:
                return flow._page("signin/request.html", 422, email=email, error=flow.address_error)
            try:
                flow.request_link(email, "browser")
            except RateLimited as exc:
                response = flow._page("signin/request.html", 429, email=email,
                                      error=exc.message[0].upper() + exc.message[1:] + ".")
                response.headers["Retry-After"] = retry_after
                return response
            return flow._page("signin/sent.html", 202, message=flow.accepted_message)

        @bp.get("/signin/<token>")
        def signin_link(token):
            """Open a one-time link: a fresh session (new id at every sign-in), then the portal."""
            try:
                secret, _ = flow.redeem(token, "browser")
            except LinkRefused as exc:
                return flow._page("signin/refused.html", exc.status, message=exc.message)
            previous = request.cookies.get(flow.cookie_name)
            if previous and len(previous) <= MAX_SECRET_LENGTH:
                flow.revoke(hash_secret(previous))  # whoever held the old cookie loses it
            response = redirect(flow.after_signin, 303)
            response.headers["Referrer-Policy"] = "no-referrer"
            flow.set_session_cookie(response, secret)
            return response

        @bp.post("/logout")
        def logout():
            current_principal()  # a cookie session must show its CSRF token (403 otherwise)
            session = g.get("prize_session")
            if session is not None and session.kind == "browser":
                flow.revoke(session.id_hash)
            response = redirect(flow.after_logout, 303)
            response.delete_cookie(flow.cookie_name, path="/")
            return response

        return bp
