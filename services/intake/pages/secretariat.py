"""intake's pages for the secretariat: the editions and each ceremony's guest list (with its CSV),
and the form that moves an applicant's sign-in address (as the JSON API does, through accounts).

Staff sign in at /staff/signin (pages/staff.py; shared.staff keeps the session), operators with
a pasted token of `prize token secretariat`, scripts with a bearer token. The guest list reads ops/guests.py, as the JSON API does.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from shared.signin import csrf_token, form_csrf_ok, pagesession
from shared.auth import Principal
from shared.staff.web import safe_next, staff_web
from shared.web import current_principal

from .. import rules
from ..ops import applicants
from ..ops import calls as call_ops
from ..ops import guests as guest_ops
from ..models import Call, Ceremony
from ..api.schemas import ContactEmailChange
from ..web import _db, csv_download

secretariat = Blueprint("intake_secretariat", __name__, url_prefix="/secretariat", template_folder="../templates")
PAGE_COOKIE = "prize_intake_pages"  # Flask's session (page sign-in, flash messages), named for intake


@secretariat.record_once
def _cookie_settings(state) -> None:
    settings = state.app.extensions.get("prize", {}).get("settings")
    pagesession.configure_page_cookie(state.app, PAGE_COOKIE,
                                      secure=settings is not None and settings.public_url.startswith("https://"))


def _signed_in() -> Principal | None:
    """A bearer token's principal, else this browser's staff session (an applicant's portal
    session is not the secretariat's)."""
    principal = current_principal() if request.headers.get("Authorization") else None
    return principal or staff_web().principal()


def _page(template: str, status: int = 200, **context):
    response = current_app.make_response((render_template(
        template, page_csrf=context.pop("page_csrf", None) or staff_web().csrf_token(), signed_in=_signed_in(),
        applicant=None, lang="en", **context), status))
    response.headers["Cache-Control"] = "no-store"  # names, emails and passport details
    return response


def refusal(status: int, message: str):
    """A staff page's refusal (shared.staff.web calls it): the role or the form's CSRF token."""
    return _page("secretariat/staff_message.html", status, title="Not allowed" if status == 403 else "Refused",
                 message=message)


def _require(need: str | None = None) -> Principal:
    """The caller may use these pages: a bearer token of the secretariat, or a staff session
    (whose role allows ``need``: reading for GET, changing otherwise; CSRF checked for forms)."""
    if request.headers.get("Authorization"):
        principal = current_principal()
        if principal is None or principal.role != "secretariat":
            abort(_page("secretariat/signin.html", 403, next="",
                        error="These pages are for the secretariat: sign in with a secretariat token."))
        g.principal = principal
        return principal
    return staff_web().require(need)


@secretariat.route("/signin", methods=["GET", "POST"])
def signin():
    """Operators: paste the token of `prize token secretariat` once; this browser keeps a staff
    session of its own (named for the operator, revocable by signing out). Staff sign in at /staff/signin."""
    target = safe_next(request.values.get("next"), url_for("intake_secretariat.home"), ("/secretariat",))
    error = ""
    if request.method == "POST":
        if not form_csrf_ok():
            return _page("secretariat/signin.html", 403, next=target, page_csrf=csrf_token(),
                         error="This form has expired. Reload the page and paste the token again.")
        response = redirect(target, 303)
        if staff_web().adopt_operator_token(response, request.form.get("token", "")):
            return response
        error = "This is not a valid secretariat token, or it has expired. Print a new one with: prize token secretariat"
    return _page("secretariat/signin.html", 401 if error else 200, next=target, error=error, page_csrf=csrf_token())


_local = rules.local_time


@secretariat.get("")
def home():
    _require()
    editions = [{"id": call.id, "year": call.year, "theme": call.theme, "invited": invited,
                 "status": "closed" if call_ops.is_closed(call) else call.status,
                 "ceremony": f"{_local(cer.starts_at, cer.time_zone)} ({cer.time_zone}), {cer.venue}" if cer else ""}
                for call, cer, invited in guest_ops.editions(_db())]
    return _page("secretariat/home.html", editions=editions)


def _guests(s, call_id: str):
    call = s.get(Call, call_id)
    cer = s.get(Ceremony, call_id) if call else None
    if cer is None:
        abort(_page("secretariat/home.html", 404, editions=[]))
    return call, cer, guest_ops.guest_list(s, call_id)


@secretariat.get("/calls/<call_id>/guests")
def guests(call_id):
    _require()
    answer = request.args.get("answer", "")
    with _db().session() as s:
        call, cer, rows = _guests(s, call_id)
        shown = [r for r in rows if not answer or r["answer"] == answer]
        return _page("secretariat/guests.html", call=call, guests=shown, answer=answer,
                     summary=guest_ops.summary(rows),
                     ceremony={"starts_local": _local(cer.starts_at, cer.time_zone), "time_zone": cer.time_zone,
                               "venue": cer.venue, "rsvp_by": _local(cer.rsvp_by, cer.time_zone)})


@secretariat.get("/calls/<call_id>/guests.csv")
def guests_csv(call_id):
    _require()
    with _db().session() as s:
        call, _, rows = _guests(s, call_id)
        return csv_download(call.year, rows)


@secretariat.route("/contact-email", methods=["GET", "POST"])
def contact_email():
    """Move an applicant's sign-in address, found by the address it has now (what the city's
    letter names; the secretariat rarely knows an applicant id). The rules, the audit row and the
    event are ops.applicants.change_contact_email's, as for the API."""
    principal = _require()
    form = {k: request.form.get(k, "").strip() for k in ("current_email", "contact_email", "reason")}
    if request.method == "GET":
        return _page("secretariat/contact_email.html", form=form, errors={})
    try:
        data = ContactEmailChange().load({"contact_email": form["contact_email"], "reason": form["reason"]})
    except ValidationError as exc:
        return _page("secretariat/contact_email.html", 422, form=form, errors=exc.messages,
                     error="Please correct the fields marked below. Nothing was changed.")
    applicant_id = applicants.applicant_id_by_email(_db(), form["current_email"].lower())
    if applicant_id is None:
        message = "No applicant signs in with this address."
        return _page("secretariat/contact_email.html", 404, form=form, errors={"current_email": [message]},
                     error=message + " Nothing was changed.")
    try:
        done = applicants.change_contact_email(_db(), applicant_id, data["contact_email"], data["reason"],
                                               principal.who)
    except applicants.ChangeRefused as exc:
        return _page("secretariat/contact_email.html", 422, form=form, errors={"contact_email": [exc.problem]},
                     error="The new address " + exc.problem + ". Nothing was changed.")
    except applicants.ContactTaken:
        message = "Another applicant signs in with this address; one address signs in to one applicant."
        return _page("secretariat/contact_email.html", 409, form=form, errors={"contact_email": [message]},
                     error=message + " Nothing was changed.")
    except rules.RuleViolation as exc:  # the applicant was erased
        return _page("secretariat/contact_email.html", exc.status, form=form, errors={},
                     error=exc.message[:1].upper() + exc.message[1:] + ". Nothing was changed.")
    if done is None:  # gone in between
        abort(_page("secretariat/contact_email.html", 404, form=form, errors={}, error="No such applicant."))
    applicant, change = done
    if change is None:
        flash(f"{applicant.organisation} already signs in with {applicant.contact_email}: nothing was changed.", "ok")
    else:
        flash(f"{applicant.organisation} now signs in with {change.new_email} instead of {change.old_email}. "
              "Both addresses are told; the change is kept with your reason.", "ok")
    return redirect(url_for("intake_secretariat.contact_email"), 303)


blueprints = [secretariat]
