"""The secretariat's Prospects pages (outreach, issue 17): the list (filters as a GET form, search,
sort links, 50 a page, checkboxes to invite the chosen prospects to apply), a new prospect, and
one prospect to read and edit (a 422 beside each field keeping what was typed; a 409 when
someone changed it meanwhile) with its invitations and the applicant it became. The CSV import
is pages/prospects_import.py. Every staff role reads; the secretariat and admins change
(observers and jury chairs see the forms disabled and are refused a POST). The rules are
ops/prospects.py's, as for the API."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from shared.refusals import Refused

from ..ops import prospects
from ..ops.regions import REGION_LABELS, country_choices
from ..web import _db, _now
from .applicant import TYPE_LABELS
from .editions import may_change
from .secretariat import _page, _require

prospect_pages = Blueprint("intake_prospects", __name__, url_prefix="/secretariat/prospects",
                           template_folder="../templates")

COLUMNS = (("organisation", "Organisation"), ("contact", "Contact"), ("country", "Country"), ("region", "Region"),
           ("met_at", "Met at"), ("met_on", "Met on"), ("owner", "Owner"), ("status", "Status"),
           ("updated", "Changed"))
INVITE_PATH = "/secretariat/outreach/invite"  # the invite lane's page: this list only builds its GET form
LANGUAGE_NAMES = {"en": "English", "ko": "Korean", "es": "Spanish", "fr": "French", "zh": "Chinese",
                  "ar": "Arabic", "ru": "Russian", "pt": "Portuguese", "tr": "Turkish"}


def _labels() -> dict:
    return {"regions": REGION_LABELS, "statuses": prospects.STATUS_LABELS, "types": TYPE_LABELS,
            "languages": LANGUAGE_NAMES}


@prospect_pages.get("")
def index():
    """The list: filters and search from the query string; the short URL is the one to share."""
    principal = _require("read")
    query = prospects.lenient_query(request.args)
    canonical = {k: str(v) for k, v in query.args().items()}
    if request.args.to_dict(flat=False) != {k: [v] for k, v in canonical.items()}:
        return redirect(url_for("intake_prospects.index", **canonical), 302)
    found = prospects.search(_db(), query)
    return _page("secretariat/prospects/list.html", found=found, query=query, columns=COLUMNS,
                 choices=prospects.choices(_db()), labels=_labels(), invite_path=INVITE_PATH,
                 may_change=may_change(principal),
                 first=(found.page - 1) * found.page_size + 1 if found.total else 0,
                 last=(found.page - 1) * found.page_size + len(found.items))


def _form_of(values) -> dict:
    return {f: str(values.get(f) or "") for f in prospects.FIELDS}


def _form_page(template: str, status: int, principal, form: dict, errors: dict | None = None, error: str = "",
               **context):
    choices = prospects.choices(_db())
    editions = [("", "No edition yet")] + [(e["id"], f"{e['year']}: {e['theme']}") for e in choices["editions"]]
    return _page(f"secretariat/prospects/{template}", status, form=form, errors=errors or {}, error=error,
                 choices=choices, editions=editions, countries=country_choices("en"), labels=_labels(),
                 may_change=may_change(principal), **context)


@prospect_pages.route("/new", methods=["GET", "POST"])
def new():
    """Record one prospect; the owner is the signed-in member unless another is named."""
    principal = _require("read" if request.method == "GET" else "write")
    if request.method == "GET":
        form = _form_of({"language": "en", "applicant_type": "city_government",
                         "owner": prospects.email_of(principal.who), "call_id": request.args.get("call_id", "")})
        return _form_page("new.html", 200, principal, form)
    form = _form_of(request.form)
    try:
        created = prospects.create(_db(), form, principal.who, _now())
    except prospects.ProspectInvalid as exc:
        return _form_page("new.html", 422, principal, form, exc.problems, "Please correct the fields marked "
                                                                          "below. Nothing was stored.")
    except Refused as exc:  # the address is a prospect already
        return _form_page("new.html", exc.status, principal, form, (exc.errors or {}).get("json"),
                          exc.message[:1].upper() + exc.message[1:] + ". Nothing was stored.",
                          existing=exc.details.get("prospect_id"))
    flash(f"{created['organisation']} is recorded as a prospect.", "ok")
    return redirect(url_for("intake_prospects.detail", prospect_id=created["id"]), 303)


def _read(prospect_id: str) -> dict:
    try:
        return prospects.read(_db(), prospect_id)
    except Refused:
        abort(_page("secretariat/staff_message.html", 404, title="Not found", message="There is no such prospect."))


@prospect_pages.route("/<prospect_id>", methods=["GET", "POST"])
def detail(prospect_id):
    """One prospect: its fields as a form (the version read goes along), invitations, applicant."""
    principal = _require("read" if request.method == "GET" else "write")
    prospect = _read(prospect_id)
    if request.method == "GET":
        return _form_page("detail.html", 200, principal, _form_of(prospect), prospect=prospect,
                          version=prospect["version"])
    form = _form_of(request.form)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = -1
    try:
        changed = prospects.edit(_db(), prospect_id, form, version, principal.who, _now())
    except prospects.ProspectInvalid as exc:
        return _form_page("detail.html", 422, principal, form, exc.problems,
                          "Please correct the fields marked below. Nothing was changed.", prospect=prospect,
                          version=version)
    except Refused as exc:
        stale = "version" in exc.details
        message = exc.message[:1].upper() + exc.message[1:] + "."
        if stale:
            message = (f"{prospect['updated_by']} changed this prospect while you were editing it (it is at version "
                       f"{prospect['version']}, you read version {version}). What you typed is kept below; the "
                       "stored values are listed under \"Stored now\". Save again to replace them.")
        return _form_page("detail.html", exc.status, principal, form, (exc.errors or {}).get("json"),
                          message + ("" if stale else " Nothing was changed."), prospect=prospect,
                          version=prospect["version"], stale=stale)
    flash("Saved." if changed["version"] != version else "Nothing changed.", "ok")
    return redirect(url_for("intake_prospects.detail", prospect_id=prospect_id), 303)


blueprints = [prospect_pages]
