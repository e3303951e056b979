"""notify's secretariat pages: the outbox (every email, filtered, each one's rendered content and
a Resend button) and the email templates (preview, and the wording per edition).

Server-rendered, without JavaScript. Sign-in is the same interim one as review's secretariat pages
(paste a token of `prize token secretariat` once: the browser keeps a signed session cookie of its
own, not the token). Every form carries a CSRF token. An email's HTML is shown in a sandboxed
iframe from its own route whose Content-Security-Policy allows nothing but inline styles. What is
shown of an email has its sign-in links and codes masked (ops/masking.py: they still work).
"""
from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from shared.signin import pagesession
from shared.auth import Principal
from shared.refusals import Refused
from shared.staff.web import safe_next, staff_web
from shared.web import current_principal

from ..ops import deliveries, editions, languages, template_catalogue, templates
from ..ops.deliveries import STATUSES as DELIVERY_STATUSES
from ..ops.deliveries import ResendRefused
from ..ops.masking import mask_signin_secrets
from ..samples import SAMPLES
from ..web import _db, web_sender
from . import template_editor

pages = Blueprint("notify_pages", __name__, url_prefix="/secretariat", template_folder="../templates",
                  static_folder="../static", static_url_path="/static")

# "한국어 Korean": how the templates pages name a template's language
pages.add_app_template_filter(languages.label, "language_label")

PAGE_COOKIE = "prize_notify_pages"  # not "session": the other services' pages on other ports use theirs
PER_PAGE = 50
PAGE_POLICY = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
               "frame-src 'self'; frame-ancestors 'none'; form-action 'self' {intake}; base-uri 'none'")


def _intake_origin() -> str:
    """Signing out here ends at intake (a redirect after the form: browsers hold it to form-action)."""
    url = urlsplit(current_app.extensions["prize"]["settings"].public_url)
    return f"{url.scheme}://{url.netloc}"
# An email's HTML: inline styles only, no scripts, no network, sandboxed even when opened directly.
EMAIL_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'self'"


@pages.record_once
def _cookie_settings(state) -> None:
    pagesession.configure_page_cookie(state.app, PAGE_COOKIE)


@pages.app_template_filter("masked")
def _masked(text: str | None) -> str:
    """For whatever the pages show of an email (subject, text, error): its sign-in secrets masked."""
    return mask_signin_secrets(text or "")


# --- who is signed in ---------------------------------------------------------------------------

def _page_principal() -> Principal | None:
    """This browser's staff session (shared.staff: signed in at intake, handed over to here)."""
    return staff_web().principal()


def _csrf() -> str:
    """The staff session's CSRF token; before sign-in (the operators' form) the page session's."""
    return staff_web().csrf_token() or pagesession.page_csrf()


def _check_csrf() -> None:
    if not pagesession.page_csrf_ok(_csrf()):
        abort(_page("pages/message.html", 403, title="This form has expired",
                    message="This form has expired or did not come from this site. Go back, reload the page "
                            "and send it again."))


def _require_secretariat() -> Principal:
    """A bearer token of the secretariat, or a staff session whose role allows the request
    (reading for GET, changing otherwise; a form's CSRF token is checked too)."""
    if not request.headers.get("Authorization"):
        return staff_web().require()
    principal = current_principal()
    if principal is None or principal.role != "secretariat":
        abort(_page("pages/message.html", 403, title="Not for this account",
                    message="These pages are for the secretariat. Sign out and sign in with a secretariat token."))
    g.principal = principal
    return principal


def staff_refusal(status: int, message: str):
    """A page's refusal for staff (shared.staff.web calls it): the role, or the form's CSRF token."""
    return _page("pages/message.html", status, title="Not allowed" if status == 403 else "Refused", message=message)


def _page(template: str, status: int = 200, **context):
    signed_in = (current_principal() if request.headers.get("Authorization") else None) or _page_principal()
    response = current_app.make_response((render_template(template, page_csrf=_csrf(), signed_in=signed_in,
                                                          **context), status))
    response.headers["Cache-Control"] = "no-store"  # emails hold personal data
    response.headers["Content-Security-Policy"] = PAGE_POLICY.format(intake=_intake_origin())
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@pages.errorhandler(404)
def _not_found(_exc=None):
    return _page("pages/message.html", 404, title="Not found", message="There is nothing at this address.")


@pages.errorhandler(Refused)
def _refused(exc: Refused):
    """An operation said no: the page's error, once for every page (a form shown again with its
    problems beside the fields catches its own)."""
    if exc.status == 404:
        return _not_found()
    return _page("pages/message.html", exc.status, title="Not done", message=exc.message)


@pages.route("/signin", methods=["GET", "POST"])
def signin():
    """Operators: paste the token of `prize token secretariat` once; this browser keeps a staff
    session (named for the operator). Staff sign in at intake and come here by a hand-off."""
    error = ""
    target = safe_next(request.values.get("next"), url_for("notify_pages.outbox"), ("/secretariat/",))
    if request.method == "POST":
        _check_csrf()
        response = redirect(target, 303)
        if staff_web().adopt_operator_token(response, request.form.get("token", "")):
            return response
        error = "This is not a valid secretariat token, or it has expired. Print a new one with: prize token secretariat"
    return _page("pages/signin.html", 401 if error else 200, error=error, next=target,
                 staff_signin_url=staff_web().signin_url(target))


@pages.post("/signout")
def signout():
    _check_csrf()
    if staff_web().current() is not None:
        return redirect("/staff/signout", 307)  # the staff session ends there, on every service
    session.clear()
    flash("Signed out.", "ok")
    return redirect(url_for("notify_pages.signin"), 303)


# --- the outbox ---------------------------------------------------------------------------------

FILTERS = ("status", "template", "recipient", "event_type")


@pages.get("")
@pages.get("/outbox")
def outbox():
    """Every delivery, newest first, filtered by status, template, event type and part of the address."""
    _require_secretariat()
    given = {k: request.args.get(k, "").strip()[:320] for k in FILTERS}
    try:
        page = max(1, min(int(request.args.get("page", "1")), 10**6))
    except ValueError:
        page = 1
    total, rows, template_names, event_types = deliveries.browse(_db(), given, page, PER_PAGE)
    pages_count = max(1, math.ceil(total / PER_PAGE))
    kept = {k: v for k, v in given.items() if v}
    return _page("pages/outbox.html", rows=rows, total=total, page=page, pages_count=pages_count, given=given,
                 statuses=DELIVERY_STATUSES, template_names=template_names, event_types=event_types,
                 prev_url=url_for("notify_pages.outbox", page=page - 1, **kept) if page > 1 else None,
                 next_url=url_for("notify_pages.outbox", page=page + 1, **kept) if page < pages_count else None)


def _delivery(delivery_id: str):
    row = deliveries.with_resends(_db(), delivery_id[:36])
    if row is None:
        abort(404)
    return row


@pages.get("/outbox/<delivery_id>")
def delivery(delivery_id):
    """One email as it was rendered, what became of it, and Resend."""
    _require_secretariat()
    return _page("pages/delivery.html", row=_delivery(delivery_id))


@pages.get("/outbox/<delivery_id>/body.html")
def delivery_html(delivery_id):
    """The email's HTML alone, for the sandboxed iframe of the delivery page."""
    _require_secretariat()
    row = _delivery(delivery_id)
    response = current_app.make_response(mask_signin_secrets(row.body_html))
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = EMAIL_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@pages.post("/outbox/<delivery_id>/resend")
def resend_delivery(delivery_id):
    """The same email again as a new delivery, sent now; a suppressed address is refused, saying why."""
    principal = _require_secretariat()
    _check_csrf()
    _delivery(delivery_id)  # 404 first
    try:  # a refusal is said on the delivery's page, not as an error page
        row, status = deliveries.resend(web_sender(), delivery_id, principal.who)
    except ResendRefused as exc:
        flash(f"Not resent: {exc}.", "error")
        return redirect(url_for("notify_pages.delivery", delivery_id=delivery_id), 303)
    if status == "sent":
        flash(f"Resent to {row.recipient}.", "ok")
    elif status == "failed":
        flash(f"The resend to {row.recipient} failed: {_masked(row.last_error)}", "error")
    else:
        flash(f"The resend to {row.recipient} is {status}: {_masked(row.last_error) or 'it will be retried'}", "warn")
    return redirect(url_for("notify_pages.delivery", delivery_id=row.id), 303)


# --- the templates --------------------------------------------------------------------------------

@pages.get("/templates")
def template_list():
    """Every email template by audience: what it is for, the events that send it, its languages
    and the editions whose wording is overridden."""
    _require_secretariat()
    available = templates.available()
    return _page("pages/templates.html", available=available, stored=editions.overrides(_db()),
                 groups=template_catalogue.by_audience(available), audiences=template_catalogue.AUDIENCES,
                 catalogue=template_catalogue.CATALOGUE)


def _edition_arg() -> int | None:
    """The ``edition`` asked for; None when there is none; a 404 when it is not a year (int() would
    take "²" or "٢" for digits, and the database cannot compare a number past its integer range)."""
    value = request.values.get("edition", "").strip()
    if not value:
        return None
    if not (value.isascii() and value.isdigit() and templates.is_edition(int(value))):
        abort(404)
    return int(value)


@pages.route("/templates/<name>/<language>", methods=["GET", "POST"])
def template_edit(name, language):
    """Preview of the template for an edition, and the form to change its wording for that edition:
    the people's editor (subject and text), or the raw Jinja for administrators (template_editor.py)."""
    principal = _require_secretariat()
    if language not in templates.available().get(name, []):
        abort(404)
    edition, editor, outcome, status = _edition_arg(), template_editor.editor_for(principal), None, 200
    here = {"name": name, "language": language, "edition": edition}
    if editor == "people" and request.values.get("editor") == "people":
        here["editor"] = "people"
    if request.method == "POST":
        _check_csrf()
        if not template_editor.may_change(principal):
            abort(staff_refusal(403, "Your role can read but not change the wording of the emails."))
        if edition is None:
            flash("Choose the edition (a year) whose wording you change.", "error")
            return redirect(url_for("notify_pages.template_edit", name=name, language=language), 303)
        if request.form.get("action") == "delete":
            deleted = editions.remove_override(_db(), name, language, edition)
            flash(f"The {edition} wording is the file's again." if deleted else "There was no override to delete.", "ok")
            return redirect(url_for("notify_pages.template_edit", **here), 303)
        if any(f in request.form for f in template_editor.RAW_FIELDS):
            if not template_editor.may_edit_raw(principal):  # the server decides, not the page's look
                abort(staff_refusal(403, template_editor.raw_refusal(principal)))
            editor = "raw"
        else:
            editor = "people"
        outcome = template_editor.submit(_db(), name, language, edition, editor, by=f"secretariat:{principal.who}")
        if outcome.saved is not None:
            flash(f"Saved: {name} ({language}) emails of {edition} use this wording from now on.", "ok")
            return redirect(url_for("notify_pages.template_edit", **here), 303)
        status = 422 if outcome.problems else 200
    return _template_page(principal, name, language, edition, editor, outcome, status)


def _template_page(principal, name, language, edition, editor, outcome, status):
    """The template page: the preview (of the typed wording after a Preview), and the editor the
    principal gets, holding what was typed or the edition's wording."""
    found = editions.edition_page(_db(), name, language, edition)
    problems = {**found["problems"], **(outcome.problems if outcome else {})}
    row, wording = found["override"], editions.current_wording(_db(), name, language, edition)
    typed = dict(outcome.typed) if outcome else {}
    if editor == "raw" and not typed:
        text, html = (row.text_source, row.html_source) if row is not None else templates.file_sources(name, language)
        typed = {"text_source": text, "html_source": html}
    elif editor == "people" and not typed:
        typed = {"subject": wording.subject, "body": wording.body}
    entry = template_catalogue.CATALOGUE.get(name)
    return _page("pages/template.html", status, name=name, language=language, edition=edition,
                 languages=templates.available().get(name, []),
                 shown=(outcome.tried if outcome and outcome.tried else found["shown"]), override=row,
                 editions=found["editions"], typed=typed, problems=problems, editor=editor, entry=entry,
                 parts=wording.parts, variables=entry.variables if entry else dict.fromkeys(SAMPLES[name], ""),
                 may_raw=template_editor.may_edit_raw(principal), may_change=template_editor.may_change(principal))


@pages.get("/templates/<name>/<language>/preview.html")
def template_preview_html(name, language):
    """The preview's HTML alone, for the sandboxed iframe."""
    _require_secretariat()
    if language not in templates.available().get(name, []):
        abort(404)
    shown = editions.edition_page(_db(), name, language, _edition_arg(), details=False)["shown"]
    response = current_app.make_response(shown["html"])
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = EMAIL_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


blueprints = [pages]
