"""The Flask side of staff sign-in, the same on every service: the staff session cookie, its CSRF
token, the checks every staff page makes, the hand-off and sign-out routes, personal API tokens
on the API, and the bar across the three services' staff pages (see docs/staff.md).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, g, redirect, render_template_string, request
from markupsafe import Markup

from ..auth import Principal
from ..signin.common import _same, hash_secret
from ..web import SAFE_METHODS, current_db
from . import store
from .handoff import HandoffRefused, make_handoff, make_signout, read_handoff
from .roles import ROLE_LABELS, can, refusal
from .tables import StaffTables

SERVICES = ("intake", "review", "notify")
# Each service's staff pages, in the bar's order: (service, path, label).
NAV = (("intake", "/secretariat", "Editions and guests"), ("review", "/secretariat", "Review"),
       ("notify", "/secretariat/outbox", "Emails"))

MESSAGE_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{{ title }}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}</style>
</head><body>{{ bar }}<main><h1>{{ title }}</h1><p role="alert">{{ message }}</p>
{% if link %}<p><a href="{{ link }}">{{ link_text }}</a></p>{% endif %}</main></body></html>"""

# Styled by each service's stylesheet (.staff-bar): their pages allow no inline styles.
BAR = """<nav class="staff-bar" aria-label="Staff pages">
{% for label, url, here in links %}<a href="{{ url }}"{% if here %} aria-current="page"{% endif %}>{{ label }}</a>{% endfor %}
<span class="staff-who">Signed in as <strong class="staff-name">{{ who.name }}</strong> ({{ role }})</span>
<form method="post" action="/staff/signout" class="staff-signout">
<input type="hidden" name="csrf_token" value="{{ csrf }}"><button type="submit">Sign out</button></form></nav>"""


def safe_next(target: str | None, default: str, prefixes: tuple[str, ...] = ("/",)) -> str:
    """A path on this site to go to after signing in: relative, no scheme or host, no control
    characters (a CR/LF would split the Location header), under one of ``prefixes``."""
    target = target or ""
    if (not target.startswith(prefixes) or target.startswith(("//", "/\\")) or len(target) > 2000
            or any(ord(ch) < 32 or ch in "\\\x7f" for ch in target)):
        return default
    return target


def _now() -> datetime:
    return datetime.now(timezone.utc)


class StaffWeb:
    """Staff sessions on one service. ``signin_path`` is this service's page that offers to sign
    in (it links to intake's staff sign-in and takes an operator's token); ``refuse(status,
    message)`` renders a refusal in the service's page frame (a plain page if not given)."""

    def __init__(self, service: str, tables: StaffTables, *, signin_path: str = "/secretariat/signin",
                 home: str = "/secretariat", refuse: Callable | None = None):
        # signin_path: this service's page for operators' tokens (staff sign in at intake)
        if service not in SERVICES:
            raise ValueError(f"unknown service {service!r}")
        self.service, self.tables, self.signin_path, self.home = service, tables, signin_path, home
        self.cookie_name = f"prize_staff_{service}"
        self.refuse = refuse or self._plain_refusal

    # --- wiring ---

    def init_app(self, app) -> None:
        app.extensions["prize"]["staff_web"] = self
        app.extensions["prize"]["staff_loader"] = self.load_token
        app.jinja_env.globals["staff_bar"] = self.bar
        app.register_blueprint(self._blueprint())

        @app.after_request
        def _clear_stale_staff_cookie(response):
            if g.get("_staff_clear_cookie") and not any(
                    c.startswith(self.cookie_name + "=") for c in response.headers.getlist("Set-Cookie")):
                response.delete_cookie(self.cookie_name, path="/")
            return response

    def _settings(self):
        return current_app.extensions["prize"]["settings"]

    def url_of(self, service: str, path: str) -> str:
        """A path on one of the services, absolute when it is another service."""
        return path if service == self.service else self._settings().service_url(service) + path

    # --- who is signed in ---

    def current(self) -> store.StaffIdentity | None:
        """The staff member of this browser's live session here (cached for the request)."""
        if "_staff_who" in g:
            return g._staff_who
        who = None
        secret = request.cookies.get(self.cookie_name, "")
        if secret:
            with current_db().session() as s, s.begin():
                row = store.live_session(s, self.tables, secret, _now())
                who = store.identity(s, self.tables, row.staff_id) if row is not None else None
                if who is not None:
                    g._staff_session = row
            if who is None:
                g._staff_clear_cookie = True
        g._staff_who = who
        return who

    def principal(self) -> Principal | None:
        who = self.current()
        return principal_of(who) if who is not None else None

    def load_token(self, secret: str) -> Principal | None:
        """shared.web's staff_loader: a personal API token (``staff-...``) of an active member."""
        with current_db().session() as s, s.begin():
            row = store.live_token(s, self.tables, secret, _now())
            who = store.identity(s, self.tables, row.staff_id) if row is not None else None
        return principal_of(who) if who is not None else None

    def signin_url(self, next_path: str) -> str:
        """Where an anonymous visitor of a staff page goes: intake's staff sign-in, which comes
        straight back (by a hand-off) when this browser is signed in there already."""
        if self.service == "intake":
            return "/staff/signin?" + urlencode({"next": next_path})
        return self.url_of("intake", "/staff/go?" + urlencode({"service": self.service, "next": next_path}))

    def csrf_token(self) -> str:
        return g._staff_session.csrf_token if self.current() is not None else ""

    def csrf_ok(self) -> bool:
        sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
        expected = self.csrf_token()
        return bool(sent and expected) and _same(sent, expected)

    def require(self, need: str | None = None) -> Principal:
        """For staff pages: the signed-in member, whose role allows ``need`` (reading for GET, else
        changing); otherwise abort with the sign-in page (none), a refusal (role) or a 403 (CSRF)."""
        who = self.current()
        if who is None:
            abort(redirect(self.signin_url(safe_next(request.full_path.rstrip("?"), self.home)), 302))
        need = need or ("read" if request.method in SAFE_METHODS else "write")
        if request.method not in SAFE_METHODS and not self.csrf_ok():
            abort(self.refuse(403, "This form has expired or did not come from this site. Go back, "
                                   "reload the page and send it again."))
        if not can(who.role, need):
            message = refusal(who.role, need)
            abort(self.refuse(403, message[0].upper() + message[1:] + "."))
        g.principal = principal_of(who)
        return g.principal

    # --- opening and ending sessions ---

    def open_session(self, response, subject: str, family: str | None = None) -> str:
        """Open a session for ``subject`` (new id; any session this browser had here ends) and set
        its cookie on ``response``; return the family."""
        family = family or str(uuid.uuid4())
        now = _now()
        with current_db().session() as s, s.begin():
            previous = request.cookies.get(self.cookie_name, "")
            if previous:
                store.drop_session(s, self.tables, hash_secret(previous))
            secret = store.open_session(s, self.tables, subject, family, now)
        secure = request.is_secure or self._settings().service_url(self.service).startswith("https://")
        response.set_cookie(self.cookie_name, secret, httponly=True, samesite="Lax", secure=secure, path="/",
                            max_age=int(store.SESSION_LIFETIME.total_seconds()))
        return family

    def adopt_operator_token(self, response, token: str) -> bool:
        """An operator's signed secretariat token opens a staff session here (named for them)."""
        from ..auth import TokenError, read_token
        try:
            principal = read_token(current_app.config["SECRET_KEY"], token.strip())
        except TokenError:
            return False
        if principal.role != "secretariat":
            return False
        self.open_session(response, store.OPERATOR + principal.subject)
        return True

    def end_session(self) -> str | None:
        """End this browser's session here; return its family (None if it had none)."""
        secret = request.cookies.get(self.cookie_name, "")
        if not secret:
            return None
        with current_db().session() as s, s.begin():
            row = store.revoke_session(s, self.tables, hash_secret(secret), _now())
        return row.family if row is not None else None

    def handoff_url(self, service: str, next_path: str) -> str:
        """Where to send this browser so that ``service`` opens a session of the same sign-in."""
        who, row = self.current(), g.get("_staff_session")
        token = make_handoff(current_app.config["SECRET_KEY"], who.subject, row.family, service, next_path)
        return self._settings().service_url(service) + "/staff/handoff?" + urlencode({"t": token})

    # --- the bar across the staff pages ---

    def bar(self) -> Markup:
        who = self.current()
        if who is None:
            return Markup("")
        links = [(label, self.url_of(svc, path), svc == self.service and request.path.startswith(path))
                 for svc, path, label in NAV]
        links.append(("My API tokens", self.url_of("intake", "/secretariat/tokens"), False))
        if can(who.role, "manage_staff"):
            links.append(("Staff", self.url_of("intake", "/secretariat/staff"), False))
        return Markup(render_template_string(BAR, links=links, who=who, csrf=self.csrf_token(),
                                             role=ROLE_LABELS.get(who.role, who.role)))

    def _plain_refusal(self, status: int, message: str, title: str = "Not allowed"):
        body = render_template_string(MESSAGE_PAGE, title=title, message=message, bar=self.bar(), link="",
                                      link_text="")
        response = current_app.make_response((body, status))
        response.headers["Cache-Control"] = "no-store"
        return response

    # --- routes ---

    def _blueprint(self) -> Blueprint:
        bp = Blueprint(f"{self.service}_staff_session", __name__)

        @bp.get("/staff/handoff")
        def handoff():
            """Exchange a hand-off from another service's staff pages for a session here."""
            now = _now()
            try:
                passed = read_handoff(current_app.config["SECRET_KEY"], request.args.get("t", ""), self.service)
            except HandoffRefused as exc:
                return self._plain_refusal(400, exc.message, "Cannot sign you in here")
            with current_db().session() as s, s.begin():
                fresh = store.spend_handoff(s, self.tables, passed.nonce, now, now)
                who = store.identity(s, self.tables, passed.subject) if fresh else None
                ended = fresh and store.family_ended(s, self.tables, passed.family)
            if not fresh:
                return self._plain_refusal(400, "This sign-in hand-off was used already. Open the page again.",
                                           "Cannot sign you in here")
            if who is None or ended:
                return self._plain_refusal(403, "This staff account is not active here, or that sign-in "
                                                "has ended. Sign in again.", "Cannot sign you in here")
            response = redirect(safe_next(passed.next_path, self.home), 303)
            response.headers["Referrer-Policy"] = "no-referrer"
            self.open_session(response, who.subject, passed.family)
            return response

        @bp.post("/staff/signout")
        def signout():
            """Sign out here and, through intake, on every service."""
            if self.current() is not None and not self.csrf_ok():
                return self._plain_refusal(403, "This form has expired. Reload the page and sign out again.")
            family = self.end_session()
            if self.service == "intake":
                target = current_app.extensions["prize"]["staff_signed_out"](family)
            elif family:
                target = self.url_of("intake", "/staff/signed-out?" + urlencode(
                    {"t": make_signout(current_app.config["SECRET_KEY"], family)}))
            else:
                target = self.signin_path
            response = redirect(target, 303)
            response.delete_cookie(self.cookie_name, path="/")
            return response

        return bp


def principal_of(who: store.StaffIdentity) -> Principal:
    return Principal(role="secretariat", subject=who.subject, staff_role=who.role, actor=who.actor)


def staff_web() -> StaffWeb:
    """The running service's StaffWeb, as its app.py wired it."""
    return current_app.extensions["prize"]["staff_web"]
