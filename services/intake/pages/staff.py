"""intake's staff pages: signing in by a one-time link (or single sign-on), the way to the other
services' staff pages, signing out everywhere, the staff list (admins) and personal API tokens.
The rules and events are ops/staff.py's; shared.staff.web keeps the sessions."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for

from shared.refusals import Refused
from shared.signin import client_address, csrf_token, form_csrf_ok
from shared.signin.links import LinkRefused, RateLimited, RateLimits
from shared.staff.handoff import make_handoff, read_signout
from shared.staff.roles import ROLE_DESCRIPTIONS, ROLE_LABELS, STAFF_ROLES
from shared.staff.web import SERVICES, safe_next, staff_web
from shared.events.common import LANGUAGES

from ..ops import staff as ops
from ..web import _db

staff_pages = Blueprint("intake_staff", __name__, template_folder="../templates")
LANGUAGE_NAMES = {"en": "English", "ko": "한국어"}


def _page(template: str, status: int = 200, **context):
    web = staff_web()
    response = current_app.make_response((render_template(
        template, page_csrf=web.csrf_token(), anon_csrf=csrf_token(), signed_in=web.principal(), applicant=None,
        lang="en", roles=STAFF_ROLES, role_labels=ROLE_LABELS, role_descriptions=ROLE_DESCRIPTIONS,
        languages=[(code, LANGUAGE_NAMES.get(code, code)) for code in LANGUAGES], **context), status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # sign-in links must not leak onwards
    return response


def _base_url() -> str:
    return current_app.extensions["prize"]["settings"].public_url


def _target(service: str, next_path: str) -> str:
    """Where to go once signed in here: a page of intake, or another service's through a hand-off."""
    web = staff_web()
    if service in SERVICES and service != "intake":
        return web.handoff_url(service, safe_next(next_path, "/secretariat"))
    return safe_next(next_path, "/secretariat", ("/secretariat",))


def _remember(service: str, next_path: str) -> None:
    session["staff_next"] = {"service": service if service in SERVICES else "intake",
                             "next": safe_next(next_path, "/secretariat")}


# --- signing in ---

@staff_pages.get("/staff/go")
def go():
    """The way to another service's staff pages: straight there when signed in here, else sign in first."""
    service, next_path = request.args.get("service", "intake"), request.args.get("next", "/secretariat")
    if staff_web().current() is not None:
        return redirect(_target(service, next_path), 303)
    _remember(service, next_path)
    return redirect(url_for("intake_staff.signin"), 303)


@staff_pages.route("/staff/signin", methods=["GET", "POST"])
def signin():
    if request.method == "GET":
        if request.args.get("next"):
            _remember("intake", request.args["next"])
        if staff_web().current() is not None:
            wanted = session.get("staff_next") or {}
            return redirect(_target(wanted.get("service", "intake"), wanted.get("next", "/secretariat")), 303)
        return _page("secretariat/staff_signin.html", email="", oidc=_oidc_label())
    email = (request.form.get("email") or "").strip()
    if not form_csrf_ok():
        return _page("secretariat/staff_signin.html", 403, email=email, oidc=_oidc_label(),
                     error="This form has expired. Please send it again.")
    if "@" not in email or len(email) > 320:
        return _page("secretariat/staff_signin.html", 422, email=email, oidc=_oidc_label(),
                     error="Enter the email address of your staff account.")
    try:
        ops.request_link(_db(), email, client_address(), _base_url(), RateLimits.from_config(current_app.config))
    except RateLimited as exc:
        response = _page("secretariat/staff_signin.html", 429, email=email, oidc=_oidc_label(),
                         error=exc.message[0].upper() + exc.message[1:] + ".")
        response.headers["Retry-After"] = "900"
        return response
    return _page("secretariat/staff_message.html", 202, title="Check your inbox",
                 message="If this address belongs to an active staff account, a sign-in link is on its way "
                         "to it. It works once, within 15 minutes.")


@staff_pages.get("/staff/signin/<token>")
def signin_link(token):
    """Opening the link only shows a button: mail scanners that fetch links do not spend it."""
    return _page("secretariat/staff_link.html", token=token)


@staff_pages.post("/staff/signin/<token>")
def signin_link_post(token):
    if not form_csrf_ok():
        return _page("secretariat/staff_link.html", 403, token=token,
                     error="This page has expired. Press the button again.")
    try:
        staff_id = ops.redeem_link(_db(), token)
    except LinkRefused as exc:
        return _page("secretariat/staff_message.html", exc.status, title="This link cannot sign you in",
                     message=exc.message, link=url_for("intake_staff.signin"), link_text="Ask for a new link")
    return _signed_in_as(staff_id)


def _signed_in_as(staff_id: str):
    """Open a session (a new sign-in: a new family) and go where the person was heading."""
    wanted = session.pop("staff_next", None) or {}
    response = redirect("/secretariat", 303)
    family = staff_web().open_session(response, staff_id)
    service, next_path = wanted.get("service", "intake"), wanted.get("next") or "/secretariat"
    if service in SERVICES and service != "intake":
        token = make_handoff(current_app.config["SECRET_KEY"], staff_id, family, service,
                             safe_next(next_path, "/secretariat"))
        location = current_app.extensions["prize"]["settings"].service_url(service) + "/staff/handoff?" + \
            urlencode({"t": token})
    else:
        location = safe_next(next_path, "/secretariat", ("/secretariat",))
    response.headers["Location"] = location
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@staff_pages.get("/staff/signed-out")
def signed_out():
    """Another service's sign-out ends the sign-in here and, by an event, everywhere."""
    family = read_signout(current_app.config["SECRET_KEY"], request.args.get("t", ""))
    if family:
        ops.signed_out(_db(), family, ops.family_subject(_db(), family) or "unknown")
    response = _page("secretariat/staff_message.html", title="Signed out",
                     message="You are signed out of the staff pages of every service.",
                     link=url_for("intake_staff.signin"), link_text="Sign in again")
    response.delete_cookie(staff_web().cookie_name, path="/")
    return response


def signed_out_here(family: str | None) -> str:
    """intake's own sign-out (shared.staff.web calls it): end the sign-in everywhere."""
    if family:
        ops.signed_out(_db(), family, ops.family_subject(_db(), family) or "unknown")
    return url_for("intake_staff.signin", out=1)


def _oidc_label() -> str:
    oidc = getattr(current_app.extensions["prize"]["settings"], "oidc", None)
    return oidc.label if oidc else ""


# --- the staff list (admins) ---

@staff_pages.route("/secretariat/staff", methods=["GET", "POST"])
def staff_list():
    principal = staff_web().require("manage_staff")
    form = {k: (request.form.get(k) or "").strip() for k in ("email", "name", "role", "language")}
    if request.method == "POST":
        try:
            added = ops.invite(_db(), form["email"], form["name"], form["role"], form["language"] or "en",
                               principal.who, _base_url(), client_address())
        except Refused as exc:
            return _page("secretariat/staff.html", exc.status, members=ops.members(_db()), form=form,
                         errors=exc.errors or {}, error=exc.message[0].upper() + exc.message[1:] + ". Nobody was added.")
        flash(f"{added['name']} is invited as {ROLE_LABELS[added['role']]}: a sign-in link valid for 7 days is on "
              f"its way to {added['email']}.", "ok")
        return redirect(url_for("intake_staff.staff_list"), 303)
    return _page("secretariat/staff.html", members=ops.members(_db()), form=form, errors={})


@staff_pages.post("/secretariat/staff/<staff_id>")
def staff_change(staff_id):
    principal = staff_web().require("manage_staff")
    changes = {}
    if request.form.get("role"):
        changes["role"] = request.form["role"]
    if request.form.get("active") in ("0", "1"):
        changes["active"] = request.form["active"] == "1"
    try:
        done = ops.change_member(_db(), staff_id, changes, principal.subject, principal.who)
    except Refused as exc:
        flash(exc.message[0].upper() + exc.message[1:] + ". Nothing was changed.", "error")
        return redirect(url_for("intake_staff.staff_list"), 303)
    state = "active" if done["active"] else "deactivated: their sessions and API tokens end on every service"
    flash(f"{done['name']} is {ROLE_LABELS[done['role']]}, {state}.", "ok")
    return redirect(url_for("intake_staff.staff_list"), 303)


# --- personal API tokens ---

@staff_pages.route("/secretariat/tokens", methods=["GET", "POST"])
def my_tokens():
    principal = staff_web().require("read")  # one's own tokens: every role, observers included
    shown = None
    errors = {}
    if request.method == "POST":
        name = (request.form.get("name") or "").strip()
        try:
            days = int(request.form.get("days") or "0")
        except ValueError:
            days = 0
        if not name or len(name) > 100:
            errors["name"] = ["Name the token (up to 100 characters), e.g. after the script that uses it."]
        else:
            try:
                shown, _ = ops.create_token(_db(), principal.subject, name, days)
            except Refused as exc:
                errors = exc.errors or {"days": [exc.message]}
    status = 422 if errors else (201 if shown else 200)
    return _page("secretariat/tokens.html", status, tokens=ops.tokens(_db(), principal.subject), shown=shown,
                 errors=errors, days=ops.TOKEN_DAYS)


@staff_pages.post("/secretariat/tokens/<token_id>/revoke")
def revoke_token(token_id):
    web = staff_web()
    principal = web.require("read")  # CSRF checked by require, as for every POST
    try:
        done = ops.revoke_token(_db(), principal.subject, token_id)
    except Refused as exc:
        return web.refuse(exc.status, exc.message[0].upper() + exc.message[1:] + ".")
    flash(f"The token {done['name']} is revoked on every service.", "ok")
    return redirect(url_for("intake_staff.my_tokens"), 303)


# --- single sign-on (optional: the PRIZE_OIDC_ISSUER settings) ---

def _oidc_client():
    from shared.oidc import OidcClient
    settings = current_app.extensions["prize"]["settings"].oidc
    if settings is None:
        abort(404)
    return OidcClient(settings, _base_url() + "/staff/oidc/callback")


@staff_pages.get("/staff/oidc/start")
def oidc_start():
    """Sign in through the organisation's OpenID Connect provider (roles stay ours)."""
    return redirect(_oidc_client().begin(session), 303)


@staff_pages.get("/staff/oidc/callback")
def oidc_callback():
    """The provider sends the person back here: a verified address of an active member signs in."""
    from shared.oidc import OidcRefused
    client = _oidc_client()
    try:
        who = client.finish(request.args, session)
    except OidcRefused as exc:
        return _page("secretariat/staff_message.html", exc.status, title="Single sign-on did not sign you in",
                     message=exc.message, link=url_for("intake_staff.signin"), link_text="Back to staff sign-in")
    staff_id = ops.member_by_email(_db(), who.email)
    if staff_id is None:
        return _page("secretariat/staff_message.html", 403, title="No staff account for this address",
                     message=f"No active staff account has the address {who.email}. Ask an administrator of the "
                             "prize to invite you.", link=url_for("intake_staff.signin"),
                     link_text="Back to staff sign-in")
    return _signed_in_as(staff_id)
