"""The applicant portal's status page and the ceremony invitation's answer (RSVP) form, on the
portal's blueprint (pages/applicant.py). The form asks consent to the edition's privacy notice
with visa and passport details and says when they are deleted (pages/privacy.py); its refusals
are the page's sentences in the applicant's language (the API's stay English)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import get_locale

from shared.i18n import _, _l, local_number
from shared.refusals import Refused
from shared.signin import client_address

from .. import rules
from ..models import Application, Call, Rsvp
from ..ops import applications as ops_applications
from ..ops import ceremony, consents, retention
from ..ops import portal as portal_reads
from ..ops.privacy import notice_of
from ..web import _db, _now, notice_terms
from . import privacy as privacy_pages
from . import rsvp_form
from .applicant import _local, _own_application, _render, _signed_in_applicant, portal

UPCOMING = [({"eligible", "ineligible"}, _l("Eligibility screening")),
            ({"finalist", "not_advanced"}, _l("Selection of finalists")),
            ({"winner", "special_mention", "not_awarded"}, _l("Selection of the winners")),
            (set(), _l("Award ceremony"))]
ENDED = {"withdrawn", "ineligible", "not_advanced", "winner", "special_mention", "not_awarded"}
REASON_LIMIT = 2000  # as the API's Withdrawal schema


def _may_withdraw(row, updates) -> bool:
    """The rule of ops.applications.withdraw, to show the button only where it works: submitted,
    not withdrawn, and no decision of a round recorded yet."""
    return row.status not in ("draft", "withdrawn") and not any(u.stage in rules.ROUND_OF_STAGE for u in updates)


@portal.get("/portal/applications/<application_id>/status")
def status(application_id):
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        updates = portal_reads.status_updates(s, row.id)
        stages = rules.timeline(row, updates)  # unreleased decisions are already left out
        reached = {st["stage"] for st in stages}
        upcoming = [] if reached & ENDED else [label for stage, label in UPCOMING if not reached & stage]
        return _render("portal/status.html", applicant, application=row, call=call,
                       category=rules.category_terms(call, row.category), stages=stages,
                       upcoming=upcoming if row.status != "draft" else [],
                       invitation=_invitation_view(s, row), may_withdraw=_may_withdraw(row, updates))


@portal.route("/portal/applications/<application_id>/withdraw", methods=["GET", "POST"])
def withdraw(application_id):
    """Withdraw a submitted application: a page that says what will happen and asks for the
    reason, then the API's rule (ops.applications.withdraw) and its event."""
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        allowed = _may_withdraw(row, portal_reads.status_updates(s, row.id))
    if row.status == "draft":
        return _withdraw_draft(applicant, row, call)
    if not allowed:
        if row.status != "withdrawn":
            flash(_("A decision has been made on this application; it can no longer be withdrawn."), "error")
        return redirect(url_for("portal.status", application_id=row.id), 303)
    reason, error = request.form.get("reason", "").strip(), None
    if request.method == "POST":
        if len(reason) > REASON_LIMIT or "\x00" in reason:
            error = _("Please keep the reason to at most %(limit)s characters.", limit=local_number(REASON_LIMIT))
        else:
            return _withdraw(row, reason)
    return _render("portal/withdraw.html", applicant, application=row, call=call,
                   category=rules.category_terms(call, row.category), reason=reason, error=error,
                   limit=REASON_LIMIT), (422 if error else 200)


def _withdraw_draft(applicant, row, call):
    """A draft is withdrawn after a look at what that means: it is deleted with its documents."""
    if request.method == "POST":
        from ..web import storage
        try:
            ops_applications.withdraw_draft(_db(), storage(), row.id, applicant.id)
        except Refused as exc:
            if exc.status == 404:
                abort(404)
            return redirect(url_for("portal.status", application_id=row.id), 303)
        flash(_("Your draft %(reference)s is withdrawn and deleted, with its documents. You may start another "
                "application in its category while the call is open.", reference=row.reference), "ok")
        return redirect(url_for("portal.dashboard"), 303)
    return _render("portal/withdraw_draft.html", applicant, application=row, call=call,
                   category=rules.category_terms(call, row.category))


def _withdraw(row, reason: str):
    try:
        ops_applications.withdraw(_db(), row.id, row.applicant_id, reason)
    except Refused as exc:
        if exc.status == 404:
            abort(404)
        flash(_("A decision has been made on this application; it can no longer be withdrawn."), "error")
    else:
        flash(_("Your application is withdrawn. The secretariat and the jury no longer review it."), "ok")
    return redirect(url_for("portal.status", application_id=row.id), 303)


def _when(moment, zone: str) -> str:
    """A moment in ``zone``, as the page's language writes a date and a time: "October 10, 2026, 6:00 PM"."""
    language = str(get_locale() or "en")
    local = rules.as_utc(moment).astimezone(ZoneInfo(zone))
    return (Locale.parse(language).datetime_formats["long"].replace("'", "")
            .replace("{0}", format_time(local, "short", locale=language))
            .replace("{1}", format_date(local.date(), "long", locale=language)))


def _invitation_view(s, row) -> dict | None:
    """The ceremony as the applicant sees it (None if not invited): local time, venue, answer, and
    the consent its visa and passport details need and when they are deleted."""
    try:
        _, cer = ceremony.invitation_for(s, row)
    except ceremony.NotInvited:
        return None
    rsvp = s.get(Rsvp, row.id)
    notice = notice_of(s.get(Call, row.call_id))
    consent = consents.on_record(s, row.applicant_id, notice, consents.TRAVEL_DATA)
    zone = cer.time_zone
    return {"starts_local": _local(cer.starts_at, zone), "time_zone": zone,
            "starts_utc": rules.as_utc(cer.starts_at).strftime("%d %B %Y, %H:%M UTC"),
            "venue": cer.venue, "address": cer.address, "details": cer.details,
            "rsvp_by": _local(cer.rsvp_by, zone), "max_delegates": cer.max_delegates,
            "open": _now() < rules.as_utc(cer.starts_at), "rsvp": ceremony.rsvp_view(rsvp),
            "starts_shown": _when(cer.starts_at, zone), "starts_utc_shown": _when(cer.starts_at, "UTC"),
            "rsvp_by_shown": _when(cer.rsvp_by, zone),
            "updated_shown": _when(rsvp.updated_at, zone) if rsvp is not None else "",
            "delete_on": _when(retention.deleted_on(cer, notice_terms().travel_data_days), zone),
            "deleted_on": _when(rsvp.travel_data_deleted_at, zone) if rsvp and rsvp.travel_data_deleted_at else "",
            "privacy": privacy_pages.consent_box(notice),
            "consent_on": _when(consent.given_at, zone) if consent is not None else ""}


_rsvp_form, _check_people, _refusal = rsvp_form.read, rsvp_form.check_people, rsvp_form.refusal


@portal.route("/portal/applications/<application_id>/ceremony", methods=["GET", "POST"])
def rsvp(application_id):
    """Answer the invitation to the award ceremony (or change the answer) without JavaScript."""
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        invitation = _invitation_view(s, row)
        if invitation is None:
            abort(404)
        errors, form = {}, None
        if request.method == "POST":
            data = _rsvp_form(request.form)
            errors = _check_people(data)
            if not data.pop("answered"):
                errors["attending"] = _("Tell us whether you will attend.")
            if not errors:
                s.rollback()  # end the read (on SQLite it holds the write lock) and write in a transaction
                try:
                    with s.begin():
                        locked = s.get(Application, application_id, with_for_update=True)
                        ceremony.save_rsvp(s, locked, data, _now(), current_app.extensions["prize"]["settings"].public_url,
                                           terms=notice_terms(), client=client_address())
                except rules.RuleViolation as exc:
                    errors[exc.field or "form"] = _refusal(exc, invitation)
                    if exc.field == "visa_details" and data["privacy_consent"] is None and not invitation["consent_on"]:
                        errors["privacy_consent"] = str(privacy_pages.TRAVEL_CONSENT_MISSING)  # both at once
                else:
                    flash(_("Thank you: your answer is recorded. We have sent a confirmation to your contact email."),
                          "ok")
                    return redirect(url_for("portal.rsvp", application_id=application_id))
                invitation = _invitation_view(s, row)
            form = request.form
        status = 409 if "form" in errors else (422 if errors else 200)
        values = _rsvp_values(invitation, form)
        if "privacy_consent" in errors:
            values["privacy_consent"] = False  # ticked for another version: to be read and ticked again
        return _render("portal/ceremony.html", applicant, application=row, invitation=invitation,
                       errors=errors, values=values), status


_rsvp_values = rsvp_form.values
