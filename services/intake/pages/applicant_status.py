"""The applicant portal's status page and the ceremony invitation's answer (RSVP) form, on the
portal's blueprint (pages/applicant.py)."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for

from .. import rules
from ..models import Application, Call, Rsvp
from ..ops import ceremony
from ..ops import portal as portal_reads
from ..web import _db, _now
from .applicant import _local, _own_application, _render, _signed_in_applicant, portal

UPCOMING = [({"eligible", "ineligible"}, "Eligibility screening"),
            ({"finalist", "not_advanced"}, "Selection of finalists"),
            ({"winner", "special_mention", "not_awarded"}, "Selection of the winners"),
            (set(), "Award ceremony")]


@portal.get("/portal/applications/<application_id>/status")
def status(application_id):
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        updates = portal_reads.status_updates(s, row.id)
        stages = rules.timeline(row, updates)  # unreleased decisions are already left out
        reached = {st["stage"] for st in stages}
        upcoming = [] if reached & {"withdrawn", "ineligible", "not_advanced", "winner",
                                    "special_mention", "not_awarded"} else [
            label for stage, label in UPCOMING if not reached & stage]
        return _render("portal/status.html", applicant, application=row, call=call,
                       category=rules.category_terms(call, row.category), stages=stages,
                       upcoming=upcoming if row.status != "draft" else [],
                       invitation=_invitation_view(s, row))


def _invitation_view(s, row) -> dict | None:
    """The ceremony as the applicant sees it (None if not invited): local time, venue, answer."""
    try:
        _, cer = ceremony.invitation_for(s, row)
    except ceremony.NotInvited:
        return None
    rsvp = s.get(Rsvp, row.id)
    return {"starts_local": _local(cer.starts_at, cer.time_zone), "time_zone": cer.time_zone,
            "starts_utc": rules.as_utc(cer.starts_at).strftime("%d %B %Y, %H:%M UTC"),
            "venue": cer.venue, "address": cer.address, "details": cer.details,
            "rsvp_by": _local(cer.rsvp_by, cer.time_zone), "max_delegates": cer.max_delegates,
            "open": _now() < rules.as_utc(cer.starts_at), "rsvp": ceremony.rsvp_view(rsvp)}


def _rsvp_form(form) -> dict:
    """The answer as ceremony.save_rsvp takes it, from the page's form fields."""
    def person(prefix: str) -> dict:
        return {k: form.get(f"{prefix}_{k}", "").strip() for k in ("name", "role", "email")}

    delegates, i = [], 0
    while f"delegate{i}_name" in form and i < 20:
        delegates.append(person(f"delegate{i}"))
        i += 1
    revision = form.get("revision", "")
    return {"attending": form.get("attending") == "yes", "answered": form.get("attending") in ("yes", "no"),
            "delegates": [d for d in delegates if any(d.values())], "substitute": person("substitute"),
            "accessibility": form.get("accessibility", "")[:2000], "visa_letter": form.get("visa_letter") == "yes",
            "visa_details": form.get("visa_details", "")[:2000], "comments": form.get("comments", "")[:2000],
            "revision": int(revision) if revision.isdigit() else None}


def _check_people(data: dict) -> dict:
    """What the API's schema checks of names and addresses, for the page: field -> message."""
    from marshmallow import ValidationError as SchemaError

    from ..api.schemas_ceremony import Attendee
    errors = {}
    people = [(f"delegate{i}", d) for i, d in enumerate(data["delegates"])]
    if data["substitute"] and any(data["substitute"].values()):
        people.append(("substitute", data["substitute"]))
    for prefix, p in people:
        try:
            Attendee().load({**p, "email": p.get("email") or None})
        except SchemaError as exc:
            for key, messages in exc.messages.items():
                errors[f"{prefix}_{key}"] = " ".join(messages)
    return errors


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
                errors["attending"] = "Tell us whether you will attend."
            if not errors:
                s.rollback()  # end the read (on SQLite it holds the write lock) and write in a transaction
                try:
                    with s.begin():
                        locked = s.get(Application, application_id, with_for_update=True)
                        ceremony.save_rsvp(s, locked, data, _now(), current_app.extensions["prize"]["settings"].public_url)
                except rules.RuleViolation as exc:
                    errors[exc.field or "form"] = exc.message
                else:
                    flash("Thank you: your answer is recorded. We have sent a confirmation to your contact email.", "ok")
                    return redirect(url_for("portal.rsvp", application_id=application_id))
                invitation = _invitation_view(s, row)
            form = request.form
        status = 409 if "form" in errors else (422 if errors else 200)
        return _render("portal/ceremony.html", applicant, application=row, invitation=invitation,
                       errors=errors, values=_rsvp_values(invitation, form)), status


def _rsvp_values(invitation: dict, form) -> dict:
    """What the form shows: what was just posted (when refused), else the answer on record."""
    size = invitation["max_delegates"]
    if form is not None:
        data = {"attending": form.get("attending", ""), "revision": form.get("revision", ""),
                "delegates": [{k: form.get(f"delegate{i}_{k}", "") for k in ("name", "role", "email")}
                              for i in range(size)],
                "substitute": {k: form.get(f"substitute_{k}", "") for k in ("name", "role", "email")},
                **{k: form.get(k, "") for k in ("accessibility", "visa_details", "comments")},
                "visa_letter": form.get("visa_letter") == "yes"}
        return data
    rsvp = invitation["rsvp"] or {}
    blank = {"name": "", "role": "", "email": ""}
    delegates = [{**blank, **{k: v or "" for k, v in d.items()}} for d in rsvp.get("delegates", [])][:size]
    return {"attending": "" if not rsvp else ("yes" if rsvp["attending"] else "no"),
            "revision": rsvp.get("revision", ""),
            "delegates": delegates + [dict(blank) for _ in range(size - len(delegates))],
            "substitute": {**blank, **{k: v or "" for k, v in (rsvp.get("substitute") or {}).items()}},
            "accessibility": rsvp.get("accessibility", ""), "visa_details": rsvp.get("visa_details", ""),
            "comments": rsvp.get("comments", ""), "visa_letter": rsvp.get("visa_letter", False)}
