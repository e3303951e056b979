"""What the secretariat does to an edition beyond its terms, on the Editions blueprint: opening it
and closing it early (each after a confirmation page that says what it causes), deadline
exceptions for one applicant, and the award ceremony. A confirmation carries the marker of what
it showed: replayed after the edition changed, it is refused as stale; a second click on Open or
Close finds the edition opened or closed already and changes nothing."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from marshmallow import ValidationError

from shared.refusals import Refused

from ..api.schemas_ceremony import CeremonyIn
from ..ops import calls as ops
from ..ops import guests as guest_ops
from ..web import _db, _now, _public_url
from . import edition_forms as forms
from .editions import INVALID, editions, first_upper, load, show
from .secretariat import _require

STALE_CONFIRMATION = ("The edition changed since this confirmation was shown (someone else edited it). "
                      "Nothing was done: read the terms below as they are now, then confirm again.")


def _back(call):
    return redirect(url_for("intake_editions.edition", call_id=call.id), 303)


# --- opening ---

@editions.route("/<call_id>/open", methods=["GET", "POST"])
def open_edition(call_id):
    principal = _require()
    call = load(call_id)
    if request.method == "GET":
        return show("open.html", call=call, marker=ops.marker(call))
    if call.status != "draft":
        flash(f"The {call.year} edition is open already: nothing was changed.", "ok")
        return _back(call)
    try:
        opened = ops.open_call(_db(), call.id, expected=request.form.get("marker", ""), who=principal.who)
    except ops.Stale:
        fresh = load(call.id)
        return show("open.html", 409, call=fresh, marker=ops.marker(fresh), error=STALE_CONFIRMATION)
    flash(f"The {opened.year} edition is open: applicants can register and apply from "
          f"{forms.shown(opened.opens_at, opened.time_zone)}; review learns its terms.", "ok")
    return _back(opened)


# --- closing early ---

@editions.route("/<call_id>/close", methods=["GET", "POST"])
def close_edition(call_id):
    _require()
    call = load(call_id)
    closed = ops.is_closed(call)
    if request.method == "GET":
        return show("close.html", call=call, marker=ops.marker(call), closed=closed, reason="", errors={})
    if call.status == "draft" or closed:
        flash(f"The {call.year} edition is " + ("a draft: there is nothing to close." if call.status == "draft"
                                                 else "closed already: nothing was changed."), "ok")
        return _back(call)
    reason = request.form.get("reason", "").strip()
    marker = request.form.get("marker", "")
    error = ("Give the reason for closing early (it is kept with the change)." if not reason else
             "The reason may not contain NUL characters." if "\x00" in reason else
             f"The reason may have at most 2000 characters (this has {len(reason)})." if len(reason) > 2000 else "")
    if error:
        return show("close.html", 422, call=call, marker=marker, closed=False, reason=reason,
                    errors={"reason": [error]}, error=INVALID.replace("saved", "changed"))
    try:
        after, changed = ops.close_call(_db(), call.id, reason, _require().who, expected=marker)
    except ops.Stale:
        fresh = load(call.id)
        return show("close.html", 409, call=fresh, marker=ops.marker(fresh), closed=ops.is_closed(fresh),
                    reason=reason, errors={}, error=STALE_CONFIRMATION)
    except Refused as exc:
        return show("close.html", exc.status, call=call, marker=marker, closed=False, reason=reason, errors={},
                    error=first_upper(exc.message) + ". Nothing was changed.")
    flash(f"The {after.year} edition closed at {forms.shown(after.closes_at, after.time_zone)} (version "
          f"{after.version}); review learns it. Exceptions already granted still apply." if changed else
          f"The {after.year} edition is closed already: nothing was changed.", "ok")
    return _back(after)


# --- deadline exceptions ---

def _exceptions_page(call, status=200, form=None, errors=None, error=""):
    return show("exceptions.html", status, call=call, granted=ops.exceptions_with_applicants(_db(), call.id),
                form=form or {"applicant": "", "closes_at": "", "reason": ""}, errors=errors or {}, error=error)


@editions.route("/<call_id>/exceptions", methods=["GET", "POST"])
def exceptions(call_id):
    principal = _require()
    call = load(call_id)
    if request.method == "GET":
        return _exceptions_page(call)
    values = {k: request.form.get(k, "") for k in ("applicant", "closes_at", "reason")}
    data, form = forms.parse_exception(values, call.time_zone)
    applicant = None
    if form.ok:
        applicant = ops.find_applicant(_db(), data["applicant"])
        if applicant is None:
            form.error("applicant", "No applicant signs in with this address or has an application with this "
                                    "reference.")
    if not form.ok:
        return _exceptions_page(call, 422, values, form.errors, INVALID)
    try:
        row = ops.grant_exception(_db(), call.id, {"applicant_id": applicant.id, "closes_at": data["closes_at"],
                                                   "reason": data["reason"]}, principal.who)
    except Refused as exc:
        errors = forms.schema_errors(exc.errors or {}, {"applicant_id": "applicant"})
        if errors.get("closes_at"):
            errors["closes_at"] = [f"It must be after the edition's closing time, "
                                   f"{forms.shown(call.closes_at, call.time_zone)}."]
        return _exceptions_page(call, exc.status, values, errors, first_upper(exc.message) + ". Nothing was saved.")
    flash(f"{applicant.organisation} may submit until {forms.shown(row.closes_at, call.time_zone)}.", "ok")
    return redirect(url_for("intake_editions.exceptions", call_id=call.id), 303)


@editions.post("/<call_id>/exceptions/<exception_id>/revoke")
def revoke_exception(call_id, exception_id):
    principal = _require()
    call = load(call_id)
    before = {e.id: e for e, _ in ops.exceptions_with_applicants(_db(), call.id)}.get(exception_id)
    try:
        row = ops.revoke_exception(_db(), call.id, exception_id, principal.who)
    except Refused:
        return _exceptions_page(call, 404, error="There is no such exception for this edition.")
    if before is not None and before.revoked_at is not None:
        flash(f"This exception was revoked already, by {row.revoked_by or 'someone not recorded'} on "
              f"{forms.shown(row.revoked_at, call.time_zone)}: nothing was changed.", "ok")
    else:
        flash("The exception is revoked: the applicant's closing time is the edition's again. It stays listed, "
              "marked revoked.", "ok")
    return redirect(url_for("intake_editions.exceptions", call_id=call.id), 303)


# --- the ceremony ---

def _ceremony_row(call):
    return next((cer for c, cer, _ in guest_ops.editions(_db()) if c.id == call.id), None)


@editions.route("/<call_id>/ceremony", methods=["GET", "POST"])
def ceremony(call_id):
    principal = _require()
    call = load(call_id)
    row = _ceremony_row(call)
    if request.method == "GET":
        return show("ceremony.html", call=call, ceremony=row, form=forms.ceremony_values(row, call),
                    marker=guest_ops.ceremony_marker(row), errors={})
    values = {k: request.form.get(k, "") for k in forms.ceremony_values(None, call)}
    marker = request.form.get("marker", "")
    data, form = forms.parse_ceremony(values)
    if not form.ok:
        return show("ceremony.html", 422, call=call, ceremony=row, form=values, marker=marker,
                    errors=form.errors, error=INVALID)
    try:
        payload = CeremonyIn().load({**data, "starts_at": data["starts_at"].isoformat(),
                                     "rsvp_by": data["rsvp_by"].isoformat()})
        saved = guest_ops.configure(_db(), call.id, payload, principal.who, _now(), _public_url(), expected=marker)
    except ValidationError as exc:
        return show("ceremony.html", 422, call=call, ceremony=row, form=values, marker=marker,
                    errors=forms.schema_errors(exc.messages), error=INVALID)
    except Refused as exc:
        stale = exc.status == 409
        return show("ceremony.html", exc.status, call=call, ceremony=_ceremony_row(call), form=values,
                    marker=guest_ops.ceremony_marker(_ceremony_row(call)) if stale else marker,
                    errors={} if stale else forms.schema_errors(exc.errors or {}),
                    error=("Someone else changed this ceremony since you opened this page. Nothing was saved: your "
                           "values are kept below; send them again to replace theirs." if stale
                           else first_upper(exc.message) + ". Nothing was saved."))
    flash(f"The ceremony is set for {forms.shown(saved['starts_at'], saved['time_zone'])} at {saved['venue']}; "
          f"{saved['invited']} invited so far.", "ok")
    return redirect(url_for("intake_editions.edition", call_id=call.id), 303)

