"""The secretariat's pages of the edition's events (issue 17): the events of an edition (list and
create), one event (its details, changed with a version guard; its guest list with counts and a
filter by answer; the CSV, one line per person), and inviting a group to it: choose the group, look
at who would be invited, per language, and who is skipped (opted out, already invited, no email),
then confirm (the look's fingerprint: stale 409; a double click invites once). Observers and jury
chairs read; who may change editions changes. The rules are ops/edition_events.py's and
ops/event_invites.py's."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for

from shared.refusals import Refused

from ..models_events import EVENT_KINDS
from ..ops import edition_events as ops
from ..ops import event_invites as invites
from ..ops.regions import REGION_LABELS
from ..web import _db, _now, _public_url
from . import edition_forms as forms
from .editions import INVALID, may_change
from .secretariat import _page, _require

events_pages = Blueprint("intake_events", __name__, url_prefix="/secretariat", template_folder="../templates")
ANSWERS = (("", "everyone invited"), ("attending", "attending"), ("declined", "declined"),
           ("no answer", "no answer yet"))


def show(template: str, status: int = 200, **context):
    principal = _require("read") if request.method == "GET" else _require("write")
    return _page(f"secretariat/events/{template}", status, may_change=may_change(principal), zones=forms.ZONES,
                 shown=forms.shown, kinds=ops.KIND_LABELS, **context)


def _missing(what: str, link: str, link_text: str):
    # who may not see these pages learns nothing of which ids exist: the sign-in, or the role's refusal
    _require("read") if request.method == "GET" else _require("write")
    abort(_page("secretariat/staff_message.html", 404, title="Not found", message=what, link=link,
                link_text=link_text))


def _call(call_id: str):
    try:
        return ops.events_of(_db(), call_id)
    except Refused:
        _missing(f"There is no edition {call_id}.", url_for("intake_editions.index"), "Every edition")


def _event(event_id: str):
    try:
        return ops.read(_db(), event_id)
    except Refused:
        _missing(f"There is no event {event_id}.", url_for("intake_editions.index"), "Every edition")


def blank_values(call) -> dict:
    return {"kind": "general_assembly", "name": "", "starts_at": "", "time_zone": call.time_zone, "venue": "",
            "address": "", "details": "", "rsvp_by": "", "max_delegates": "3"}


def event_values(ev: dict) -> dict:
    zone = ev["time_zone"]
    return {"kind": ev["kind"], "name": ev["name"], "starts_at": forms.local_input(ev["starts_at"], zone),
            "time_zone": zone, "venue": ev["venue"], "address": ev["address"], "details": ev["details"],
            "rsvp_by": forms.local_input(ev["rsvp_by"], zone), "max_delegates": str(ev["max_delegates"])}


def parse_event(values: dict, now) -> tuple[dict, forms.Form]:
    """The typed event as ops.edition_events takes it, or the form's errors by field."""
    form = forms.Form(values)
    if values.get("kind") not in EVENT_KINDS:
        form.error("kind", "Choose what kind of event this is.")
    zone = form.zone()
    data = {"kind": values.get("kind"), "name": form.text("name", "The name", max_length=300),
            "starts_at": form.moment("starts_at", "The start", zone), "time_zone": zone,
            "venue": form.text("venue", "The venue", max_length=300),
            "address": form.text("address", "The address", max_length=1000, required=False),
            "details": form.text("details", "The programme notes", max_length=5000, required=False),
            "rsvp_by": form.moment("rsvp_by", "The date answers are asked by", zone),
            "max_delegates": form.integer("max_delegates", "The largest delegation", 1, 20)}
    if data["starts_at"] and data["rsvp_by"] and data["rsvp_by"] >= data["starts_at"]:
        form.error("rsvp_by", "Answers must be asked for before the event starts.")
    if data["starts_at"] and data["starts_at"] <= now:
        form.error("starts_at", "The event must be in the future.")
    return data, form


def _typed() -> dict:
    return {k: request.form.get(k, "") for k in ("kind", "name", "starts_at", "time_zone", "venue", "address",
                                                  "details", "rsvp_by", "max_delegates")}


@events_pages.route("/editions/<call_id>/events", methods=["GET", "POST"])
def index(call_id):
    call, events = _call(call_id)
    if request.method == "GET":
        return show("index.html", call=call, events=events, form=blank_values(call), errors={})
    principal = _require("write")
    values = _typed()
    data, form = parse_event(values, _now())
    if not form.ok:
        return show("index.html", 422, call=call, events=events, form=values, errors=form.errors, error=INVALID)
    try:
        created = ops.create(_db(), call.id, data, principal.who, _now())
    except Refused as exc:
        return show("index.html", exc.status, call=call, events=events, form=values,
                    errors=forms.schema_errors(exc.errors or {}), error=exc.message + ". Nothing was saved.")
    flash(f"{created['name']} is created: invite its guests below.", "ok")
    return redirect(url_for("intake_events.event", event_id=created["id"]), 303)


def _event_page(event_id: str, status: int = 200, **context):
    answer = request.args.get("answer", "")
    if answer not in dict(ANSWERS):
        answer = ""
    listed = ops.guests(_db(), event_id, answer)
    context.setdefault("form", event_values(listed["event"]))
    context.setdefault("version", listed["event"]["version"])
    return show("event.html", status, call=listed["call"], event=listed["event"], guests=listed["guests"],
                summary=listed["summary"], answer=answer, answers=ANSWERS, groups=invites.GROUPS,
                regions=REGION_LABELS, **{"errors": {}, **context})


@events_pages.route("/events/<event_id>", methods=["GET", "POST"])
def event(event_id):
    call, ev = _event(event_id)
    if request.method == "GET":
        return _event_page(ev["id"])
    principal = _require("write")
    values = _typed()
    version = request.form.get("version", "")
    data, form = parse_event(values, _now())
    if not form.ok:
        return _event_page(ev["id"], 422, form=values, version=version, errors=form.errors, error=INVALID)
    try:
        ops.change(_db(), ev["id"], data, principal.who, _now(), int(version) if version.isdigit() else None)
    except Refused as exc:
        stale = exc.status == 409
        return _event_page(ev["id"], exc.status, form=values, version=exc.details.get("version", version),
                           errors={} if stale else forms.schema_errors(exc.errors or {}),
                           error=("Someone else changed this event since you opened this page. Nothing was saved: "
                                  "your values are kept below; send them again to replace theirs." if stale
                                  else exc.message + ". Nothing was saved."))
    flash("The event's details are saved.", "ok")
    return redirect(url_for("intake_events.event", event_id=ev["id"]), 303)


@events_pages.get("/events/<event_id>/guests.csv")
def guests_csv(event_id):
    _require("read")
    _, ev = _event(event_id)
    listed = ops.guests(_db(), ev["id"])
    name = f"event-guests-{listed['call'].year}-{ev['kind'].replace('_', '-')}-{ev['id'][:8]}.csv"
    return Response("\ufeff" + ops.guests_csv(listed["guests"]), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def _selection(source) -> dict:
    region = source.get("region", "")
    return {"group": source.get("group", ""), "region": region if region in REGION_LABELS else "",
            "picked": [p for p in source.getlist("prospect") if p][:10_000]}


@events_pages.route("/events/<event_id>/invite", methods=["GET", "POST"])
def invite(event_id):
    """GET: the look (who would be invited, who is skipped); POST: the confirmation."""
    _, ev = _event(event_id)
    chosen = _selection(request.values)
    if request.method == "POST":
        return _confirm(ev, chosen)
    if not chosen["group"]:
        return show("invite.html", event=ev, chosen=chosen, look=None, groups=invites.GROUPS, regions=REGION_LABELS,
                    call=_event_call(ev))
    try:
        call, _, seen = invites.preview(_db(), ev["id"], chosen["group"], chosen["region"], chosen["picked"])
    except Refused as exc:
        return show("invite.html", exc.status, event=ev, chosen=chosen, look=None, groups=invites.GROUPS,
                    regions=REGION_LABELS, call=_event_call(ev), error=exc.message + ".")
    return show("invite.html", event=ev, chosen=chosen, look=seen, groups=invites.GROUPS, regions=REGION_LABELS,
                call=call, skips=invites.SKIPS)


def _event_call(ev: dict):
    return ops.read(_db(), ev["id"])[0]


def _confirm(ev: dict, chosen: dict):
    principal = _require("write")
    try:
        count, seen = invites.invite(_db(), ev["id"], chosen["group"], request.form.get("fingerprint", ""),
                                     principal.who, _now(), _public_url(), region=chosen["region"],
                                     picked=chosen["picked"])
    except Refused as exc:
        if exc.status != 409:
            return show("invite.html", exc.status, event=ev, chosen=chosen, look=None, groups=invites.GROUPS,
                        regions=REGION_LABELS, call=_event_call(ev), error=exc.message + ".")
        call, _, seen = invites.preview(_db(), ev["id"], chosen["group"], chosen["region"], chosen["picked"])
        return show("invite.html", 409, event=ev, chosen=chosen, look=seen, groups=invites.GROUPS,
                    regions=REGION_LABELS, call=call, skips=invites.SKIPS,
                    error=exc.message[:1].upper() + exc.message[1:] + ". Nobody was invited.")
    if count:
        flash(f"{count} invitation{'s' if count != 1 else ''} to {ev['name']} will be emailed, each in its "
              "reader's language, with a personal link to answer.", "ok")
    else:
        flash("Nobody new to invite: everyone in this group is invited already or skipped. Nothing was sent.", "ok")
    return redirect(url_for("intake_events.event", event_id=ev["id"]), 303)
