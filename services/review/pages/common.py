"""review's server-rendered pages, what both audiences share: the page blueprint (templates, static,
sign-out), who is signing in, CSRF, the page frame and the not-found page. jury.py holds the
jurors' desk, secretariat.py the secretariat's dashboard.

Every rule lives in the operations these pages call: desk (what a juror may see and do) and
jury (what the secretariat does to rounds). The pages read the request, call one operation,
and show its answer or its refusal; they work without JavaScript (review.js only autosaves
the scoring form sooner). Forms carry a CSRF token. Charts are SVG drawn on the server
(charts.py), with the same numbers in a table beside them.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template,
                   request, session, url_for)

from shared.i18n import _, _l
from shared.signin import pagesession
from shared.auth import Principal
from shared.signin.pagesession import configure_page_cookie
from shared.signin import current_session
from shared.staff.web import staff_web
from shared.web import current_principal


pages = Blueprint("review_pages", __name__, template_folder="templates", static_folder="static",
                  static_url_path="/static/review", root_path=str(Path(__file__).resolve().parent.parent))
jury_pages = Blueprint("review_jury_pages", __name__, url_prefix="/jury")
secretariat_pages = Blueprint("review_secretariat_pages", __name__, url_prefix="/secretariat")
blueprints = [pages, jury_pages, secretariat_pages]

PAGE_COOKIE = "prize_review_pages"  # not Flask's "session": intake's pages on another port use that


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pages.record_once
def _cookie_settings(state) -> None:
    settings = state.app.extensions.get("prize", {}).get("settings")
    configure_page_cookie(state.app, PAGE_COOKIE,
                          secure=settings is not None and settings.review_public_url.startswith("https://"))


# --- who is signing in ------------------------------------------------------------------------

def _principal() -> Principal | None:
    """Who is calling: shared.web's principal (bearer token, or a juror's sign-in session), else
    this browser's staff session (shared.staff)."""
    return current_principal() or staff_web().principal()


def _csrf() -> str:
    """The token of this browser's forms: the staff session's on the secretariat's pages, else
    the juror's sign-in session's, else the page session's."""
    if request.blueprint == secretariat_pages.name and staff_web().current() is not None:
        return staff_web().csrf_token()
    return pagesession.page_csrf(current_session())


def _check_csrf() -> None:
    if not pagesession.page_csrf_ok(_csrf()):
        abort(_page("review/message.html", 403, title=_("This form has expired"),
                    message=_("This form has expired or did not come from this site. Go back, reload the page "
                              "and send it again.")))


def _juror_signin_url() -> str:
    """The passwordless sign-in page when review has it, else the page that explains the link."""
    if any(rule.rule == "/signin" for rule in current_app.url_map.iter_rules()):
        return "/signin"
    return url_for("review_jury_pages.signin_help")


def _require(role: str) -> Principal:
    if role == "secretariat" and not request.headers.get("Authorization") and (
            staff_web().current() is not None or _principal() is None):
        # staff (shared.staff): their role is checked, and a form's CSRF token
        return staff_web().require()
    principal = _principal()
    if principal is None:
        target = _juror_signin_url() if role == "juror" else url_for("review_secretariat_pages.signin")
        abort(redirect(target, 302))
    if principal.role != role:
        abort(_page("review/message.html", 403, title=_("Not for this account"),
                    message=_("This page is for the jury. Sign out and sign in with the right account.")
                    if role == "juror" else
                    _("This page is for the secretariat. Sign out and sign in with the right account.")))
    g.principal = principal
    return principal


def _page(template: str, status: int = 200, *, frames_notify: bool = False, **context):
    """A page in review's frame; ``frames_notify``: it embeds notify's email preview."""
    response = current_app.make_response((render_template(template, page_csrf=_csrf(), **context), status))
    response.headers["Cache-Control"] = "no-store"  # jurors' pages hold confidential content
    response.headers["Content-Security-Policy"] = page_policy(frames_notify)
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# Only this service's own script and stylesheet run here; inline styles are the progress meters'.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "frame-ancestors 'none'; form-action 'self' {intake}; base-uri 'none'")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def page_policy(frames_notify: bool = False) -> str:
    """PAGE_POLICY with intake's origin as a form target: signing out here ends at intake (a
    redirect after the form, which browsers hold to form-action too). A page that shows an email
    as notify will send it (shared.email_preview) may frame notify's origin, and nothing else."""
    settings = current_app.extensions["prize"]["settings"]
    policy = PAGE_POLICY.format(intake=_origin(settings.public_url))
    if frames_notify:
        policy += f"; frame-src {_origin(settings.notify_public_url)}"
    return policy


def staff_refusal(status: int, message: str):
    """A secretariat page's refusal (shared.staff.web calls it): the role, or the form's CSRF token."""
    return _page("review/message.html", status, title="Not allowed" if status == 403 else "Refused",
                 message=message, area="Secretariat", home_url="/secretariat")


def _not_found(_exc=None):
    """The same page for a missing application, one the juror is not assigned to and one they are
    conflicted on: it says nothing about which (no id, no title)."""
    return _page("review/message.html", 404, title=_("Not found"),
                 message=_("There is nothing at this address for you."), area=_area())


def _area() -> str:
    return "Secretariat" if request.blueprint == secretariat_pages.name else "Jury"


jury_pages.register_error_handler(404, _not_found)
secretariat_pages.register_error_handler(404, _not_found)


@pages.post("/signout")
def signout():
    _check_csrf()
    if staff_web().current() is not None:
        return redirect("/staff/signout", 307)  # the staff session ends there, on every service
    area = "secretariat" if (_principal() or Principal("", "")).role == "secretariat" else "jury"
    session.clear()
    if current_session() is not None and any(r.rule == "/logout" for r in current_app.url_map.iter_rules()):
        return redirect("/logout", 307)  # the passwordless session ends there (same form, same token)
    flash(_("Signed out."), "ok")
    return redirect(url_for("review_secretariat_pages.signin") if area == "secretariat" else _juror_signin_url(), 303)


# Lazy: a juror's page reads them in the juror's language, a secretariat page in English.
ROUND_NAMES = {"finalist": _l("Selection of finalists"), "award": _l("Selection of the winners")}
CATEGORY_NAMES = {"tech_innovacity": _l("Tech-InnovaCity"), "human_centricity": _l("Human-CentriCity"),
                  "leadership": _l("Leadership")}


def _sentence(message: str) -> str:
    message = str(message)
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
