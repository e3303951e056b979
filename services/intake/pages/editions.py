"""intake's Editions pages for the secretariat: the list of editions, creating one, and each
edition's page with its terms (theme, dates, time zone, scale), categories with their criteria,
required documents and upload limit, and the history of its versions. Opening and closing early,
deadline exceptions and the ceremony are in editions_actions.py, the privacy notice in
editions_privacy.py, on the same blueprint.

The rules are ops.calls' and the API schemas' (as for PATCH /api/calls/{id}); the forms are read
by edition_forms.py. Every form carries the marker of the edition it was built from: when someone
else changed the edition meanwhile, the change is refused (409) with what was typed kept."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from marshmallow import ValidationError

from shared.events.common import CATEGORIES
from shared.refusals import Refused
from shared.staff.roles import can

from .. import rules
from ..api.schemas import CallChange, CallCreate
from ..ops import calls as ops
from ..ops import guests as guest_ops
from ..web import _db
from . import edition_forms as forms
from .secretariat import _page, _require

editions = Blueprint("intake_editions", __name__, url_prefix="/secretariat/editions",
                     template_folder="../templates")
STALE = ("Someone else changed this edition since you opened this page. Nothing was saved: your values are "
         "kept below. Check the edition's page for their change, then send the form again to replace it with yours.")
INVALID = "Please correct the fields marked below. Nothing was saved."


def may_change(principal) -> bool:
    """Observers and jury chairs read these pages; their forms are shown disabled."""
    return principal.staff_role is None or can(principal.staff_role, "write")


def show(template: str, status: int = 200, **context):
    principal = _require("read") if request.method == "GET" else _require("write")
    return _page(f"secretariat/editions/{template}", status, may_change=may_change(principal), zones=forms.ZONES,
                 shown=forms.shown, type_labels=forms.TYPE_LABELS, **context)


def not_found(call_id: str):
    abort(_page("secretariat/staff_message.html", 404, title="No such edition",
                message=f"There is no edition {call_id}.", link=url_for("intake_editions.index"),
                link_text="Every edition"))


def load(call_id: str):
    try:
        return ops.read_call(_db(), call_id)
    except Refused:
        not_found(call_id)


def first_upper(message: str) -> str:
    return message[:1].upper() + message[1:]


@editions.get("")
def index():
    _require("read")
    rows = [{"call": call, "ceremony": cer, "invited": invited, "closed": ops.is_closed(call)}
            for call, cer, invited in guest_ops.editions(_db())]
    return show("index.html", rows=rows)


@editions.route("/new", methods=["GET", "POST"])
def create():
    principal = _require()
    if request.method == "GET":
        return show("new.html", form=forms.create_values(), errors={})
    values = {k: request.form.get(k, "") for k in forms.create_values()}
    data, form = forms.parse_create(values)
    if not form.ok:
        return show("new.html", 422, form=values, errors=form.errors, error=INVALID)
    try:
        call = ops.create_call(_db(), CallCreate().load({**data, "opens_at": data["opens_at"].isoformat(),
                                                         "closes_at": data["closes_at"].isoformat()}), principal.who)
    except ValidationError as exc:
        return show("new.html", 422, form=values, errors=forms.schema_errors(exc.messages), error=INVALID)
    except Refused as exc:
        return show("new.html", exc.status, form=values, errors={"year": [first_upper(exc.message) + "."]},
                    error=first_upper(exc.message) + ". Nothing was saved.")
    flash(f"The {call.year} edition is created as a draft, with the prize's three categories and their "
          "criteria. Check its terms, then open it.", "ok")
    return redirect(url_for("intake_editions.edition", call_id=call.id), 303)


@editions.get("/<call_id>")
def edition(call_id):
    _require("read")
    call = load(call_id)
    versions = ops.call_versions(_db(), call.id)
    granted = ops.exceptions_with_applicants(_db(), call.id)
    ceremony = next((cer for c, cer, _ in guest_ops.editions(_db()) if c.id == call.id), None)
    offered = {c["key"] for c in call.categories}
    return show("edition.html", call=call, versions=versions, granted=granted, ceremony=ceremony,
                closed=ops.is_closed(call), missing=[k for k in CATEGORIES if k not in offered])


def _change(call, data: dict, marker: str, template: str, values: dict, **context):
    """Save a change of terms through ops.change_call (the API's rules); None when saved, else
    the page again with what went wrong next to the fields and the typed values kept."""
    payload = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    fields = context.pop("fields", None)
    try:
        ops.change_call(_db(), call.id, CallChange().load(payload), _require().who, expected=marker)
    except ValidationError as exc:
        return show(template, 422, call=call, form=values, marker=marker,
                    errors=forms.schema_errors(exc.messages, fields), error=INVALID, **context)
    except ops.Stale as exc:
        return show(template, 409, call=load(call.id), form=values, marker=exc.details["marker"], errors={},
                    error=STALE, **context)
    except Refused as exc:
        errors = forms.schema_errors(exc.errors or {}, fields)
        return show(template, exc.status, call=call, form=values, marker=marker, errors=errors,
                    error=first_upper(exc.message) + ". Nothing was saved.", **context)
    return None


def _saved(call, what: str):
    after = ops.read_call(_db(), call.id)
    if after.status == "draft":
        flash(f"{what} of the {call.year} draft saved.", "ok")
    else:
        flash(f"{what} of the {call.year} edition saved as version {after.version}; review learns the change "
              "(call.opened is sent again).", "ok")
    return redirect(url_for("intake_editions.edition", call_id=call.id), 303)


@editions.route("/<call_id>/terms", methods=["GET", "POST"])
def terms(call_id):
    _require()
    call = load(call_id)
    if request.method == "GET":
        return show("terms.html", call=call, form=forms.terms_values(call), marker=ops.marker(call), errors={})
    values = {k: request.form.get(k, "") for k in forms.terms_values(call)}
    marker = request.form.get("marker", "")
    data, form = forms.parse_terms(values, call)
    if not form.ok:
        return show("terms.html", 422, call=call, form=values, marker=marker, errors=form.errors, error=INVALID)
    return _change(call, data, marker, "terms.html", values) or _saved(call, "The terms")


def _category(call, key: str) -> tuple[dict, bool]:
    if key not in CATEGORIES:
        not_found(call.id)
    for category in call.categories:
        if category["key"] == key:
            return category, True
    return next(c for c in rules.default_categories() if c["key"] == key), False


@editions.route("/<call_id>/categories/<key>", methods=["GET", "POST"])
def category(call_id, key):
    _require()
    call = load(call_id)
    current, offered = _category(call, key)
    others = [c for c in call.categories if c["key"] != key]
    context = {"key": key, "offered": offered, "fields": {"categories": "criteria"}}
    if request.method == "GET":
        context.pop("fields")
        return show("category.html", call=call, form=forms.category_values(current, offered), marker=ops.marker(call),
                    errors={}, **context)
    rows = forms.BLANK_ROWS
    try:
        rows = min(int(request.form.get("rows", "")), 200)
    except ValueError:
        pass
    values = forms.category_form_values(request.form, rows)
    marker = request.form.get("marker", "")
    changed, form = forms.parse_category(values, key, call, [c["title"] for c in others])
    if changed is None and not others:
        form.error("offered", "An edition offers at least one category: keep this one, or offer another first.")
    if not form.ok:
        context.pop("fields")
        return show("category.html", 422, call=call, form=values, marker=marker, errors=form.errors, error=INVALID,
                    **context)
    order = {k: i for i, k in enumerate(CATEGORIES)}
    categories = sorted(others + ([changed] if changed else []), key=lambda c: order[c["key"]])
    data = {"categories": categories}
    if call.status != "draft":
        data["reason"] = values["reason"].strip()
    return _change(call, data, marker, "category.html", values, **context) or \
        _saved(call, f"The category {changed['title'] if changed else current['title']}")


@editions.route("/<call_id>/documents", methods=["GET", "POST"])
def documents(call_id):
    _require()
    call = load(call_id)
    if request.method == "GET":
        return show("documents.html", call=call, form=forms.documents_values(call), marker=ops.marker(call),
                    errors={})
    rows = forms.BLANK_ROWS
    try:
        rows = min(int(request.form.get("rows", "")), 100)
    except ValueError:
        pass
    values = forms.documents_form_values(request.form, rows)
    marker = request.form.get("marker", "")
    data, form = forms.parse_documents(values, call)
    if not form.ok:
        return show("documents.html", 422, call=call, form=values, marker=marker, errors=form.errors, error=INVALID)
    return _change(call, data, marker, "documents.html", values,
                   fields={"max_upload_bytes": "max_upload_mb"}) or _saved(call, "The documents")


from . import editions_actions, editions_privacy  # noqa: E402,F401  (their routes are on this blueprint)
