"""The Flask parts of sign-in: the JSON API and page blueprints a :class:`~.flow.SignIn` builds,
and its cookies (see docs/signin.md).

A one-time link's GET spends nothing: corporate mail scanners open every link of an email, and
would spend it before the person clicks. Its page has a Sign in button whose POST (with the
anonymous double-submit CSRF token, so that no other site can sign a visitor in as someone
else) spends the link and opens the session.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint as PageBlueprint
from flask import current_app, g, redirect, render_template, request
from flask.views import MethodView
from flask_babel import format_timedelta
from flask_smorest import Blueprint, abort

from ..i18n import _, ngettext
from ..web import current_principal
from .common import ANONYMOUS_CSRF_COOKIE, MAX_SECRET_LENGTH, RATE_WINDOW, hash_secret
from .csrf import form_csrf_ok
from .links import LinkRefused, RateLimited
from .schemas import BearerToken, SignInAccepted, SignInRequest, TokenExchange

if TYPE_CHECKING:
    from .flow import SignIn

RETRY_AFTER = str(int(RATE_WINDOW.total_seconds()))


def install_cookie_hooks(app, cookie_name: str) -> None:
    """Set the anonymous CSRF cookie a page asked for; clear a stale session cookie."""
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

def make_api(flow: SignIn) -> Blueprint:
    blp = Blueprint(flow.api_name, flow.import_name, url_prefix=flow.api_prefix,
                    description=flow.api_description or f"Sign-in for {flow.role}s: one-time links, "
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
                abort(429, message=exc.message, headers={"Retry-After": RETRY_AFTER})
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

def render_page(template: str, status: int = 200, **context):
    """A sign-in page, in the language the service's shared.i18n chose for this visitor."""
    response = current_app.make_response((render_template(template, page_csrf="", **context), status))
    _link_headers(response)
    return response


def _link_headers(response) -> None:
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token must not leak onwards
    response.headers["Cache-Control"] = "no-store"
    # a framed Sign in button could be clicked for the visitor (login CSRF by clickjacking)
    response.headers["X-Frame-Options"] = "DENY"


def refused_text(exc: LinkRefused) -> str:
    """Why a link cannot sign in, in the page's language (the exception's message is the API's)."""
    if exc.reason == "invalid":
        return _("This sign-in link is not valid.")
    if exc.reason == "used":
        return _("This sign-in link has already been used: it works only once.")
    if exc.reason == "expired" and exc.lifetime is not None:
        return _("This sign-in link has expired: it works for %(lifetime)s.",
                 lifetime=format_timedelta(exc.lifetime, threshold=1))
    return exc.message


def rate_limited_text(exc: RateLimited) -> str:
    """Too many links asked for, in the page's language (the exception's message is the API's)."""
    if exc.scope == "address":
        return ngettext("Too many sign-in requests for this address. Please try again in %(num)d minute.",
                        "Too many sign-in requests for this address. Please try again in %(num)d minutes.",
                        exc.minutes)
    if exc.scope == "network":
        return ngettext("Too many sign-in requests from your network. Please try again in %(num)d minute.",
                        "Too many sign-in requests from your network. Please try again in %(num)d minutes.",
                        exc.minutes)
    return exc.message[0].upper() + exc.message[1:] + "."


def ask_for_link(flow: SignIn):
    """POST /signin: mail a link to a known address (the answer does not tell whether it is)."""
    email = (request.form.get("email") or "").strip()
    if not form_csrf_ok():
        return render_page("signin/request.html", 403, email=email,
                           error=_("This form has expired. Please send it again."))
    if "@" not in email or len(email) > 320:
        return render_page("signin/request.html", 422, email=email, error=flow.address_error)
    try:
        flow.request_link(email, "browser")
    except RateLimited as exc:
        response = render_page("signin/request.html", 429, email=email, error=rate_limited_text(exc))
        response.headers["Retry-After"] = RETRY_AFTER
        return response
    return render_page("signin/sent.html", 202, message=flow.accepted_message)


def show_link(flow: SignIn, token: str):
    """GET of a one-time link: its Sign in button, or why it cannot sign in; spends nothing.

    Whether the link is spent or expired is told here already (a read, no write): it tells
    nothing the button's POST would not, to whoever holds the link, and saves a person who
    opens an old email a click on a button that cannot work. Guessing a token is hopeless.
    """
    try:
        flow.check(token, "browser")
    except LinkRefused as exc:
        return render_page("signin/refused.html", exc.status, message=refused_text(exc))
    return render_page("signin/link.html")


def open_link(flow: SignIn, token: str):
    """POST of a one-time link (its Sign in button): spend it, open a fresh session (new id at
    every sign-in), then the portal. Without the form's CSRF token: 403, the link unspent."""
    if not form_csrf_ok():
        return render_page("signin/link.html", 403,
                           error=_("This page has expired or did not come from this site. Press Sign in again."))
    try:
        secret, _expires = flow.redeem(token, "browser")
    except LinkRefused as exc:
        return render_page("signin/refused.html", exc.status, message=refused_text(exc))
    previous = request.cookies.get(flow.cookie_name)
    if previous and len(previous) <= MAX_SECRET_LENGTH:
        flow.revoke(hash_secret(previous))  # whoever held the old cookie loses it
    response = redirect(flow.after_signin, 303)
    _link_headers(response)
    flow.set_session_cookie(response, secret)
    return response


def log_out(flow: SignIn):
    current_principal()  # a cookie session must show its CSRF token (403 otherwise)
    session = g.get("prize_session")
    if session is not None and session.kind == "browser":
        flow.revoke(session.id_hash)
    response = redirect(flow.after_logout, 303)
    response.delete_cookie(flow.cookie_name, path="/")
    return response


def make_pages(flow: SignIn) -> PageBlueprint:
    bp = PageBlueprint(flow.pages_name, flow.import_name, template_folder=flow.template_folder,
                       url_prefix=flow.page_prefix or None)

    @bp.get("/signin")
    def signin_form():
        return render_page("signin/request.html", email="")

    @bp.post("/signin")
    def signin_form_post():
        return ask_for_link(flow)

    @bp.get("/signin/<token>")
    def signin_link(token):
        """A one-time link's page: a Sign in button (opening the link spends nothing)."""
        return show_link(flow, token)

    @bp.post("/signin/<token>")
    def signin_link_post(token):
        """The Sign in button: spend the link, open a session, then the portal."""
        return open_link(flow, token)

    @bp.post("/logout")
    def logout():
        return log_out(flow)

    return bp
