"""The applicant portal: server-rendered pages that work without JavaScript.

JavaScript only adds autosave and the upload progress bar; every form also posts normally.
Pages read intake's own tables and use the same domain rules as the JSON API.
"""
from __future__ import annotations


from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)

from shared.i18n import _, _l
from shared.web import current_principal

from .. import rules
from ..ops import drafts
from ..ops import portal as portal_reads
from ..models import Applicant, Application, Call
from ..web import _db, _now
from .applicant_texts import STATUS_NAMES

portal = Blueprint("portal", __name__, template_folder="../templates", static_folder="../static",
                   static_url_path="/static/portal")


def _csrf() -> str:
    make = current_app.jinja_env.globals.get("csrf_token")
    return make() if make else ""


def _signed_in_applicant(session, required: bool = True):
    """The applicant of this browser session, or a redirect to the sign-in page."""
    principal = current_principal()
    if principal is None or principal.role != "applicant":
        if required:
            abort(redirect(f"/signin?next={request.path}"))
        return None
    g.principal = principal
    applicant = session.get(Applicant, principal.subject)
    if applicant is None and required:
        abort(redirect("/signin"))
    return applicant


def _render(template: str, applicant=None, **context):
    return render_template(template, applicant=applicant, page_csrf=_csrf(), stage_labels=STAGE_LABELS,
                           **context)


_local = rules.local_time


def _own_application(session, applicant, application_id: str) -> Application:
    row = session.get(Application, application_id)
    if row is None or row.applicant_id != applicant.id:
        abort(404)  # someone else's application looks exactly like a missing one
    return row


@portal.get("/")
def home():
    with _db().session() as s:
        applicant = _signed_in_applicant(s, required=False)
        views = [{"year": c.year, "theme": c.theme, "time_zone": c.time_zone,
                  "closes_at": c.closes_at, "categories": c.categories}
                 for c in portal_reads.open_calls(s, _now())]
        return _render("portal/home.html", applicant, calls=views)


# The applicant types as the secretariat's pages name them (the portal's own, translated, are in
# applicant_texts.py).
TYPE_LABELS = {"city_government": "City or regional government",
               "institution": "Institution (public agency, NGO, university, association)",
               "corporation": "Corporation", "individual": "Individual (Leadership category only)"}


@portal.get("/portal")
def dashboard():
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        rows, calls = portal_reads.applications_and_calls(s, applicant.id)
        open_calls = [c for c in calls.values() if rules.call_is_open(c, _now())]
        taken = {(r.call_id, r.category) for r in rows}
        choices = [(c, t) for c in open_calls for t in c.categories
                   if applicant.type in t["applicant_types"] and (c.id, t["key"]) not in taken]
        return _render("portal/dashboard.html", applicant, applications=rows, calls=calls,
                       choices=choices, titles=_category_titles(calls.values()), status_names=STATUS_NAMES)


def _category_titles(calls) -> dict:
    return {t["key"]: t["title"] for c in calls for t in c.categories}


@portal.post("/portal/applications")
def start_application():
    with _db().session() as s, s.begin():
        applicant = _signed_in_applicant(s)
        call_id, _colon, category = request.form.get("choice", "").partition(":")
        if not call_id or not category:
            flash(_("Choose a category to apply in."), "error")
            return redirect(url_for("portal.dashboard"))
        try:
            row = drafts.start_draft(s, applicant.id, call_id, category, "", "", _now())
        except drafts.AlreadyStarted as exc:  # a second click, or a second tab: continue that draft
            return redirect(url_for("portal.edit", application_id=exc.application_id))
        except rules.RuleViolation as exc:
            flash(_sentence(exc.message), "error")
            return redirect(url_for("portal.dashboard"))
        application_id = row.id
    return redirect(url_for("portal.edit", application_id=application_id))


FACT_FIELDS = ("title", "summary", "location", "start_date", "budget", "partners")


def _criteria(call, category: str) -> list[dict]:
    return rules.category_terms(call, category)["criteria"]


def _word_count(text: str) -> int:
    return len((text or "").split())


ANSWER_PREFIX = "answer-"
STALE_MESSAGE = _l("Not saved: this draft was saved elsewhere (in another tab or on another device) since you "
                   "opened this page. Reload the page to continue from the saved version; copy anything you "
                   "want to keep from the text below first, as it has not been saved.")


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _form_changes(form) -> dict:
    """What the posted form asks to save, in the shape PATCH /api/applications/<id> takes."""
    changes = {name: form[name].strip() for name in FACT_FIELDS if name in form}
    # Every answer field is passed on, so a criterion the category lacks is refused, not dropped.
    answers = {name[len(ANSWER_PREFIX):]: value.strip() for name, value in form.items()
               if name.startswith(ANSWER_PREFIX)}
    if answers:
        changes["answers"] = answers
    if "revision" in form:  # the revision the page was rendered from (a hidden field)
        try:
            changes["revision"] = int(form["revision"])
        except ValueError:
            changes["revision"] = form["revision"]  # the schema refuses it
    return changes


def _messages(messages) -> str:
    """marshmallow's error messages as one line for the page."""
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_messages(value)}" for key, value in messages.items())
    if isinstance(messages, (list, tuple)):
        return " ".join(_messages(m) for m in messages)
    return str(messages)


class _Unsaved:
    """The draft as the applicant typed it, to show a refused save back without storing anything."""

    def __init__(self, row, changes: dict):
        self._row, self._changes = row, changes

    def __getattr__(self, name):
        if name == "answers":
            return {**(self._row.answers or {}), **(self._changes.get("answers") or {})}
        if name in self._changes:
            return self._changes[name]
        return getattr(self._row, name)


@portal.route("/portal/applications/<application_id>", methods=["GET", "POST"])
def edit(application_id):
    with _db().session() as s, s.begin():
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        if request.method == "POST":
            return _save(s, applicant, row, call)
        if row.status != "draft":
            return redirect(url_for("portal.status", application_id=row.id))
        return _edit_page(s, applicant, row, call)


def _save(s, applicant, row, call):
    """The form's save buttons (without JavaScript, every save): the rules of drafts.save_draft,
    the same as PATCH /api/applications/<id>. A refused save shows the typed text back, unsaved."""
    from marshmallow import ValidationError

    from ..api.schemas import ApplicationUpdate

    changes = _form_changes(request.form)
    try:
        drafts.save_draft(s, row, applicant.id, ApplicationUpdate().load(changes), _now())
    except (ValidationError, rules.RuleViolation) as exc:
        if row.status != "draft":
            flash(_("This application has been submitted; its content can no longer change."), "error")
            return redirect(url_for("portal.status", application_id=row.id))
        if isinstance(exc, ValidationError):
            message, status = _("Not saved: %(reason)s", reason=_messages(exc.messages)), 422
        elif isinstance(exc, drafts.StaleRevision):
            message, status = str(STALE_MESSAGE), exc.status
        else:
            message, status = _("Not saved: %(reason)s", reason=exc.message), exc.status
        flash(message, "error")
        return _edit_page(s, applicant, row, call, shown=_Unsaved(row, changes), status=status)
    flash(_("Draft saved."), "ok")
    if request.form.get("next") == "preview":
        return redirect(url_for("portal.preview", application_id=row.id))
    return redirect(url_for("portal.edit", application_id=row.id))


def _doc_titles(call) -> dict:
    return {d["key"]: d["title"] for d in (call.documents or [])}


def _edit_page(s, applicant, row, call, shown=None, status: int = 200):
    from ..ops import documents as docs
    shown = shown or row
    criteria = _criteria(call, row.category)
    titles = _doc_titles(call)
    missing = docs.missing_documents(s, row, call)
    return _render("portal/edit.html", applicant, application=shown, call=call,
                   documents=portal_reads.documents_of(s, row.id), doc_titles=titles,
                   missing_docs=missing, missing_titles=[titles.get(k, k) for k in missing],
                   criteria=criteria, category=rules.category_terms(call, row.category),
                   counts={c["key"]: _word_count((shown.answers or {}).get(c["key"], ""))
                           for c in criteria}), status


STAGE_LABELS = {"draft": _l("Draft started"), "submitted": _l("Submitted"), "eligible": _l("Eligible"),
                "ineligible": _l("Not eligible"), "finalist": _l("Finalist"), "not_advanced": _l("Not advanced"),
                "winner": _l("Winner"), "special_mention": _l("Special mention"), "not_awarded": _l("Not awarded"),
                "withdrawn": _l("Withdrawn")}
blueprints = [portal]
