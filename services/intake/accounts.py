"""Applicant accounts: registration, passwordless sign-in, server-side sessions, API tokens.

Nobody gets a credential by registering: whoever registers an address, only the person who
reads its mailbox can sign in. Sign-in mails a one-time link (browser) or code (API); only
SHA-256 hashes of links and sessions are stored, so a copy of the database opens nothing.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Blueprint as PageBlueprint
from flask import current_app, g, redirect, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from shared.auth import Principal
from shared.events import make_event
from shared.outbox import record
from shared.web import SESSION_COOKIE, current_principal

from . import domain
from .models import Applicant, Session, SignInLink, outbox
from .schemas import (ApplicantCreate, ApplicantOut, BearerToken, SignInAccepted, SignInRequest,
                      TokenExchange)

applicants = Blueprint("applicants", __name__, url_prefix="/api/applicants", description="Applicant accounts")
signin = Blueprint("signin", __name__, url_prefix="/api", description="Sign-in for applicants: one-time links, "
                   "sessions and bearer tokens")
pages = PageBlueprint("signin_pages", __name__, template_folder="templates")

PRODUCER = "intake"
LINK_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = {"browser": timedelta(hours=12), "api": timedelta(hours=12)}
LAST_SEEN_EVERY = timedelta(minutes=5)  # writing on every request would make each read a write
RATE_WINDOW = timedelta(minutes=15)
DEFAULT_LIMITS = {"SIGNIN_LIMIT_PER_ADDRESS": 5, "SIGNIN_LIMIT_PER_CLIENT": 20}
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_SECRET_LENGTH = 200
ACCEPTED = ("If this address belongs to a registered applicant, a sign-in message is on its way to it. "
            "Its link or code works once, within 15 minutes.")


def _db():
    return current_app.extensions["prize"]["db"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _client() -> str:
    # remote_addr is the peer; behind a reverse proxy every applicant shares the proxy's limit
    return (request.remote_addr or "unknown")[:100]


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


def _limit(name: str) -> int:
    return int(current_app.config.get(name, DEFAULT_LIMITS[name]))


def _check_rate(s, email: str | None, client: str) -> None:
    """Counted from signin_links, so every web process and replica sees the same counts.

    Two requests racing past the count may both get a link: the limits are a brake on abuse,
    not an exact quota.
    """
    since = _now() - RATE_WINDOW
    if email is not None:
        sent = s.scalar(select(func.count()).select_from(SignInLink)
                        .where(SignInLink.email == email, SignInLink.created_at > since))
        if sent >= _limit("SIGNIN_LIMIT_PER_ADDRESS"):
            raise RateLimited("too many sign-in requests for this address; try again in 15 minutes")
    sent = s.scalar(select(func.count()).select_from(SignInLink)
                    .where(SignInLink.client == client, SignInLink.created_at > since))
    if sent >= _limit("SIGNIN_LIMIT_PER_CLIENT"):
        raise RateLimited("too many sign-in requests from your network; try again in 15 minutes")


def _issue_link(s, applicant: Applicant | None, email: str, purpose: str, client: str) -> None:
    """Store a one-time link and, for a registered applicant, the event that mails it."""
    token = secrets.token_urlsafe(32)
    now = _now()
    expires_at = now + LINK_LIFETIME
    s.add(SignInLink(token_hash=_hash(token), applicant_id=applicant.id if applicant else None,
                     email=email, client=client, purpose=purpose, created_at=now, expires_at=expires_at))
    if applicant is None:
        return  # counted for the limits; the token is thrown away, so the row opens nothing
    base = current_app.extensions["prize"]["settings"].public_url
    record(s, outbox, make_event("signin.requested", {
        "applicant_id": applicant.id, "email": applicant.contact_email,
        "contact_name": applicant.contact_name, "language": applicant.language, "purpose": purpose,
        "url": f"{base}/signin/{token}" if purpose == "browser" else f"{base}/api/signin/token",
        "code": token if purpose == "api" else None, "expires_at": expires_at,
    }, producer=PRODUCER, correlation_id=applicant.id))


def request_link(email: str, purpose: str) -> None:
    """Send a sign-in link if the address is registered; the caller cannot tell whether it is."""
    email = email.strip().lower()
    client = _client()
    with _db().session() as s, s.begin():
        _check_rate(s, email, client)
        applicant = s.scalar(select(Applicant).where(Applicant.contact_email == email))
        _issue_link(s, applicant, email, purpose, client)


def _consume(s, token: str, purpose: str, noun: str = "sign-in link") -> str:
    """Spend a one-time link in the caller's transaction; return its applicant's id."""
    now = _now()
    if not token or len(token) > MAX_SECRET_LENGTH:
        raise LinkRefused(400, f"This {noun} is not valid.")
    token_hash = _hash(token)
    # One conditional UPDATE decides who wins when the link is opened twice at once, on
    # SQLite (no row locks) as on PostgreSQL.
    spent = s.execute(update(SignInLink).where(
        SignInLink.token_hash == token_hash, SignInLink.used_at.is_(None),
        SignInLink.applicant_id.is_not(None), SignInLink.purpose == purpose,
        SignInLink.expires_at > now).values(used_at=now))
    link = s.get(SignInLink, token_hash)
    if spent.rowcount == 1:
        return link.applicant_id
    if link is None or link.applicant_id is None or link.purpose != purpose:
        raise LinkRefused(400, f"This {noun} is not valid.")
    if link.used_at is not None:
        raise LinkRefused(410, f"This {noun} has already been used: it works only once.")
    raise LinkRefused(410, f"This {noun} has expired: it works for 15 minutes.")


def _open_session(s, applicant_id: str, kind: str) -> tuple[str, datetime]:
    """A new session; return its secret (shown once, to the caller) and its expiry."""
    secret = secrets.token_urlsafe(32)
    now = _now()
    expires_at = now + SESSION_LIFETIME[kind]
    s.add(Session(id_hash=_hash(secret), applicant_id=applicant_id, kind=kind,
                  csrf_token=secrets.token_urlsafe(32), created_at=now, expires_at=expires_at,
                  last_seen_at=now))
    return secret, expires_at


@dataclass(frozen=True)
class SessionInfo:
    """The session behind the current request, detached from the database."""
    id_hash: str
    applicant_id: str
    kind: str
    csrf_token: str
    expires_at: datetime


def _revoke(id_hash: str) -> None:
    with _db().session() as s, s.begin():
        s.execute(update(Session).where(Session.id_hash == id_hash, Session.revoked_at.is_(None))
                  .values(revoked_at=_now()))


def load_principal(secret: str, source: str) -> Principal | None:
    """shared.web's principal_loader: an API token ("bearer") or a browser session ("cookie")."""
    if len(secret) > MAX_SECRET_LENGTH:
        return None
    now = _now()
    wanted = "api" if source == "bearer" else "browser"
    with _db().session() as s, s.begin():
        row = s.get(Session, _hash(secret))
        if (row is None or row.kind != wanted or row.revoked_at is not None
                or domain.as_utc(row.expires_at) <= now):
            if source == "cookie":
                g._prize_clear_cookie = True
            return None
        if source == "cookie" and request.method in UNSAFE_METHODS:
            # SameSite=Lax already keeps the cookie off most cross-site posts; the token also
            # covers old browsers and same-site attackers (another app on a sibling subdomain).
            sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
            if not hmac.compare_digest(sent.encode("utf-8"), row.csrf_token.encode("utf-8")):
                abort(403, message="missing or wrong CSRF token: send the X-CSRF-Token header "
                                   "(or the csrf_token form field) of this session")
        if now - domain.as_utc(row.last_seen_at) > LAST_SEEN_EVERY:
            row.last_seen_at = now
        g.prize_session = SessionInfo(row.id_hash, row.applicant_id, row.kind, row.csrf_token,
                                      domain.as_utc(row.expires_at))
        return Principal(role="applicant", subject=row.applicant_id)


def current_session() -> SessionInfo | None:
    """The server-side session (browser or API token) of this request, if it has a valid one."""
    if "prize_session" not in g:
        try:
            current_principal()
        except HTTPException:
            return None
    return g.get("prize_session")


ANONYMOUS_CSRF_COOKIE = "prize_csrf"


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
        token = g.get("_prize_new_csrf") or secrets.token_urlsafe(32)
        g._prize_new_csrf = token
    return token


def form_csrf_ok() -> bool:
    """For page forms anyone may post: the field matches the session's token or the cookie."""
    sent = (request.form.get("csrf_token") or "").encode("utf-8")
    session = current_session()
    if session is not None and session.kind == "browser":
        return hmac.compare_digest(sent, session.csrf_token.encode("utf-8"))
    cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "").encode("utf-8")
    return bool(cookie) and hmac.compare_digest(sent, cookie)


def _set_session_cookie(response, secret: str) -> None:
    settings = current_app.extensions["prize"]["settings"]
    secure = request.is_secure or settings.public_url.startswith("https://")  # TLS may end at a proxy
    response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="Lax", secure=secure, path="/")


class AlreadyRegistered(Exception):
    pass


def register_applicant(data: dict) -> Applicant:
    """Register an applicant and mail a sign-in link to its contact (the API and the page)."""
    applicant = Applicant(id=str(uuid.uuid4()), created_at=_now(), **data)
    applicant.contact_email = applicant.contact_email.lower()
    client = _client()
    try:
        with _db().session() as s, s.begin():
            _check_rate(s, None, client)
            if s.scalar(select(Applicant.id).where(Applicant.contact_email == applicant.contact_email)):
                raise AlreadyRegistered("an applicant with this contact email is already registered")
            s.add(applicant)
            s.flush()
            record(s, outbox, make_event("applicant.registered", {
                **domain.applicant_snapshot(applicant), "registered_at": applicant.created_at,
            }, producer=PRODUCER, correlation_id=applicant.id))
            _issue_link(s, applicant, applicant.contact_email, "browser", client)
    except IntegrityError:
        raise AlreadyRegistered("an applicant with this contact email is already registered")
    return applicant


# --- JSON API ---------------------------------------------------------------------------------

@applicants.route("")
class ApplicantsView(MethodView):
    @applicants.arguments(ApplicantCreate)
    @applicants.response(201, ApplicantOut)
    @applicants.alt_response(429, description="too many sign-in links requested from this client")
    def post(self, data):
        """Register an applicant; a sign-in link goes to the contact email (no token is returned).

        Anyone could register someone else's address, so only its mailbox gets a way in.
        """
        try:
            return register_applicant(data)
        except RateLimited as exc:
            abort(429, message=exc.message, headers={"Retry-After": "900"})
        except AlreadyRegistered as exc:
            abort(409, message=str(exc))


@signin.route("/signin")
class SignInView(MethodView):
    @signin.arguments(SignInRequest)
    @signin.response(202, SignInAccepted)
    @signin.alt_response(429, description="too many sign-in requests for this address or from this client")
    def post(self, data):
        """Ask for a one-time sign-in link (browser) or code (api), mailed to a registered address.

        The answer is the same whether or not the address is registered.
        """
        try:
            request_link(data["email"], data["purpose"])
        except RateLimited as exc:
            abort(429, message=exc.message, headers={"Retry-After": "900"})
        return {"message": ACCEPTED}


@signin.route("/signin/token")
class TokenView(MethodView):
    @signin.arguments(TokenExchange)
    @signin.response(201, BearerToken)
    @signin.alt_response(400, description="the code is not valid")
    @signin.alt_response(410, description="the code was used already or has expired")
    def post(self, data):
        """Exchange the one-time code of an API sign-in for a bearer token (valid 12 hours)."""
        try:
            with _db().session() as s, s.begin():
                applicant_id = _consume(s, data["token"], "api", noun="sign-in code")
                secret, expires_at = _open_session(s, applicant_id, "api")
        except LinkRefused as exc:
            abort(exc.status, message=exc.message)
        return {"token": secret, "expires_at": expires_at}


@signin.route("/session")
class SessionView(MethodView):
    @signin.doc(security=[{"bearer": []}])
    @signin.response(204)
    def delete(self):
        """Sign out: revoke this bearer token, or this browser session (and clear its cookie)."""
        if current_principal() is None:
            abort(401, message="sign-in required: send Authorization: Bearer <token>")
        session = g.get("prize_session")
        if session is None:
            abort(409, message="signed tokens cannot be revoked; they expire on their own")
        _revoke(session.id_hash)
        if session.kind == "browser":
            g._prize_clear_cookie = True


# --- pages ------------------------------------------------------------------------------------

def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(template, page_csrf="", lang="en", **context), status))
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token must not leak onwards
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/signin")
def signin_form():
    return _page("signin/request.html", email="")


@pages.post("/signin")
def signin_form_post():
    email = (request.form.get("email") or "").strip()
    if not form_csrf_ok():
        return _page("signin/request.html", 403, email=email,
                     error="This form has expired. Please send it again.")
    if "@" not in email or len(email) > 320:
        return _page("signin/request.html", 422, email=email, error="Enter the email address you registered with.")
    try:
        request_link(email, "browser")
    except RateLimited as exc:
        response = _page("signin/request.html", 429, email=email, error=exc.message[0].upper() + exc.message[1:] + ".")
        response.headers["Retry-After"] = "900"
        return response
    return _page("signin/sent.html", 202, message=ACCEPTED)


@pages.get("/signin/<token>")
def signin_link(token):
    """Open a one-time link: a fresh session (new id at every sign-in), then the portal."""
    try:
        with _db().session() as s, s.begin():
            applicant_id = _consume(s, token, "browser")
            secret, _ = _open_session(s, applicant_id, "browser")
    except LinkRefused as exc:
        return _page("signin/refused.html", exc.status, message=exc.message)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous and len(previous) <= MAX_SECRET_LENGTH:
        _revoke(_hash(previous))  # whoever held the old cookie loses it
    response = redirect("/portal", 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    _set_session_cookie(response, secret)
    return response


@pages.post("/logout")
def logout():
    current_principal()  # a cookie session must show its CSRF token (403 otherwise)
    session = g.get("prize_session")
    if session is not None and session.kind == "browser":
        _revoke(session.id_hash)
    response = redirect("/", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def init_app(app) -> None:
    """Hook sessions into shared.web's current_principal and the page templates."""
    app.extensions["prize"]["principal_loader"] = load_principal
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_session"] = current_session

    @app.after_request
    def _anonymous_csrf_cookie(response):
        if g.get("_prize_new_csrf"):
            response.set_cookie(ANONYMOUS_CSRF_COOKIE, g._prize_new_csrf, httponly=True, samesite="Lax",
                                secure=request.is_secure, path="/")
        return response

    @app.after_request
    def _clear_stale_cookie(response):
        if g.get("_prize_clear_cookie") and not any(
                c.startswith(SESSION_COOKIE + "=") for c in response.headers.getlist("Set-Cookie")):
            response.delete_cookie(SESSION_COOKIE, path="/")
        return response


blueprints = [applicants, signin]
page_blueprints = [pages]
