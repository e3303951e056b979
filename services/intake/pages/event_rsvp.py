"""The answer page of an invitation to an edition's event (issue 17): /events/rsvp/<token>, no
account needed (the link's token is the key; a wrong one is 404). The event as the invitee reads
it (its time in the venue's time zone and in UTC), then the ceremony's form (portal/_rsvp_fields.html,
read by pages/rsvp_form.py): who comes, a substitute, accessibility needs, a visa letter. Answers
are changed until the event starts (then 410, and the page says it is closed); an answer built
from an older revision is refused (409). The address carries the token: no Referer leaves it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import refresh

from shared.i18n import LANGUAGE_COOKIE, _, is_offered
from shared.refusals import Refused
from shared.signin import form_csrf_ok

from .. import rules
from ..ops import event_rsvp as ops
from ..ops.event_retention import deleted_on
from ..web import _db, _now, _public_url, notice_terms
from . import privacy as privacy_pages
from . import rsvp_form
from .applicant import _csrf
from .applicant_status import _when

event_rsvp = Blueprint("event_rsvp", __name__, template_folder="../templates")


def _view(token: str) -> dict:
    with _db().session() as s:
        try:
            found = ops.invitation(s, token, _now())
        except Refused:
            abort(404)
    ev, zone = found["event"], found["event"]["time_zone"]
    rsvp = found["rsvp"]
    agreed = bool(rsvp and rsvp["consent_version"] == found["notice"].version)
    return {**found, "time_zone": zone, "venue": ev["venue"], "address": ev["address"], "details": ev["details"],
            "starts_shown": _when(ev["starts_at"], zone), "starts_utc_shown": _when(ev["starts_at"], "UTC"),
            "rsvp_by_shown": _when(ev["rsvp_by"], zone),
            "updated_shown": _when(rsvp["updated_at"], zone) if rsvp else "",
            "privacy": privacy_pages.consent_box(found["notice"]), "consent_on": "", "agreed": agreed,
            "delete_on": _when(deleted_on(ev["starts_at"], notice_terms().travel_data_days), zone),
            "deleted_on": _when(rsvp["travel_data_deleted_at"], zone) if rsvp and rsvp["travel_data_deleted_at"] else ""}


def _in_their_language(invitation: dict) -> None:
    """The page in the invitee's language (the invitation's) unless the switch chose another."""
    if not request.cookies.get(LANGUAGE_COOKIE) and is_offered(invitation["language"]):
        g.prize_language = invitation["language"]
        refresh()


def _render(invitation: dict, values: dict, errors: dict, status: int):
    _in_their_language(invitation)
    response = render_template("portal/event_rsvp.html", applicant=None, page_csrf=_csrf(), invitation=invitation,
                               values=values, errors=errors)
    return response, status, {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


@event_rsvp.route("/events/rsvp/<token>", methods=["GET", "POST"])
def rsvp(token):
    """Answer the invitation (or change the answer) without JavaScript."""
    invitation = _view(token)
    if not invitation["open"]:
        return _render(invitation, {}, {}, 410)
    errors, form = {}, None
    if request.method == "POST":
        if not form_csrf_ok():
            abort(403)
        data = rsvp_form.read(request.form)
        errors = rsvp_form.check_people(data)
        if not data.pop("answered"):
            errors["attending"] = _("Tell us whether you will attend.")
        if not errors:
            try:
                ops.answer(_db(), token, data, _now(), _public_url())
            except rules.RuleViolation as exc:
                errors[exc.field or "form"] = rsvp_form.refusal(exc, invitation)
                if exc.status == 410:
                    return _render(_view(token), {}, {}, 410)
            else:
                flash(_("Thank you: your answer is recorded. We have sent a confirmation by email."), "ok")
                return redirect(url_for("event_rsvp.rsvp", token=token), 303)
            invitation = _view(token)
        form = request.form
    status = 409 if "form" in errors else (422 if errors else 200)
    values = rsvp_form.values(invitation, form)
    if form is None:
        values["privacy_consent"] = invitation["agreed"]
    if "privacy_consent" in errors:
        values["privacy_consent"] = False
    return _render(invitation, values, errors, status)
