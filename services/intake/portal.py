"""The applicant portal: server-rendered pages that work without JavaScript.

JavaScript only adds autosave and the upload progress bar; every form also posts normally.
Pages read intake's own tables and use the same domain rules as the JSON API.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from sqlalchemy import select

from shared.web import current_principal

from . import domain
from .models import Applicant, Application, Call

portal = Blueprint("portal", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static/portal")


def _db():
    return current_app.extensions["prize"]["db"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


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
                           lang=getattr(applicant, "language", "en"), **context)


def _local(moment: datetime, zone: str) -> str:
    return domain.as_utc(moment).astimezone(ZoneInfo(zone)).strftime("%d %B %Y, %H:%M")


def _own_application(session, applicant, application_id: str) -> Application:
    row = session.get(Application, application_id)
    if row is None or row.applicant_id != applicant.id:
        abort(404)  # someone else's application looks exactly like a missing one
    return row


@portal.get("/")
def home():
    with _db().session() as s:
        applicant = _signed_in_applicant(s, required=False)
        calls = s.scalars(select(Call).where(Call.status == "open").order_by(Call.year.desc())).all()
        views = [{"year": c.year, "theme": c.theme, "time_zone": c.time_zone,
                  "closes_local": _local(c.closes_at, c.time_zone), "categories": c.categories}
                 for c in calls if domain.call_is_open(c, _now())]
        return _render("portal/home.html", applicant, calls=views)


REGISTER_FIELDS = ("type", "organisation", "country", "city", "contact_name", "contact_email",
                   "secondary_name", "secondary_email", "language")


@portal.route("/register", methods=["GET", "POST"])
def register():
    """Registration as a plain form: the same schema and rules as POST /api/applicants."""
    from marshmallow import ValidationError

    from .accounts import AlreadyRegistered, RateLimited, form_csrf_ok, register_applicant
    from .schemas import ApplicantCreate

    form, errors = {}, {}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in REGISTER_FIELDS}
        if not form_csrf_ok():
            flash("This form has expired. Please send it again.", "error")
            return _render("portal/register.html", None, form=form, errors={}), 403
        data = {k: v for k, v in form.items() if v != "" or k not in ("secondary_name", "secondary_email")}
        if "country" in data:
            data["country"] = data["country"].upper()
        try:
            applicant = register_applicant(ApplicantCreate().load(data))
        except ValidationError as exc:
            errors = {k: v if isinstance(v, list) else [str(v)] for k, v in exc.messages.items()}
        except (AlreadyRegistered, RateLimited) as exc:
            flash(getattr(exc, "message", None) or str(exc), "error")
        else:
            message = (f"Registered. We have sent a sign-in link to {applicant.contact_email}; "
                       "it works once, within 15 minutes.")
            return _render("signin/sent.html", None, message=message)
    return _render("portal/register.html", None, form=form, errors=errors), (422 if errors else 200)


@portal.get("/portal")
def dashboard():
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        rows = s.scalars(select(Application).where(Application.applicant_id == applicant.id)
                         .order_by(Application.created_at)).all()
        calls = {c.id: c for c in s.scalars(select(Call)).all()}
        open_calls = [c for c in calls.values() if domain.call_is_open(c, _now())]
        taken = {(r.call_id, r.category) for r in rows}
        choices = [(c, t) for c in open_calls for t in c.categories
                   if applicant.type in t["applicant_types"] and (c.id, t["key"]) not in taken]
        return _render("portal/dashboard.html", applicant, applications=rows, calls=calls,
                       choices=choices, titles=_category_titles(calls.values()))


def _category_titles(calls) -> dict:
    return {t["key"]: t["title"] for c in calls for t in c.categories}


@portal.post("/portal/applications")
def start_application():
    with _db().session() as s, s.begin():
        applicant = _signed_in_applicant(s)
        call_id, _, category = request.form.get("choice", "").partition(":")
        call = s.get(Call, call_id)
        if call is None:
            flash("Choose a category to apply in.", "error")
            return redirect(url_for("portal.dashboard"))
        try:
            domain.check_may_enter(call, applicant, category, _now())
        except domain.RuleViolation as exc:
            flash(exc.message, "error")
            return redirect(url_for("portal.dashboard"))
        existing = s.scalar(select(Application).where(
            Application.applicant_id == applicant.id, Application.call_id == call.id,
            Application.category == category))
        if existing is not None:
            return redirect(url_for("portal.edit", application_id=existing.id))
        now = _now()
        row = Application(id=str(uuid.uuid4()), reference=domain.new_reference(call.year),
                          call_id=call.id, applicant_id=applicant.id, category=category,
                          title="", summary="", status="draft", created_at=now, updated_at=now,
                          answers={}, location="", start_date="", budget="", partners="", revision=1)
        s.add(row)
    return redirect(url_for("portal.edit", application_id=row.id))


FACT_FIELDS = ("title", "summary", "location", "start_date", "budget", "partners")


def _criteria(call, category: str) -> list[dict]:
    return domain.category_terms(call, category)["criteria"]


def _word_count(text: str) -> int:
    return len((text or "").split())


@portal.route("/portal/applications/<application_id>", methods=["GET", "POST"])
def edit(application_id):
    with _db().session() as s, s.begin():
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        criteria = _criteria(call, row.category)
        if request.method == "POST":
            if row.status != "draft":
                flash("This application has been submitted; its content is frozen.", "error")
                return redirect(url_for("portal.status", application_id=row.id))
            for name in FACT_FIELDS:
                if name in request.form:
                    setattr(row, name, request.form[name].strip())
            answers = dict(row.answers or {})
            for criterion in criteria:
                field = f"answer-{criterion['key']}"
                if field in request.form:
                    answers[criterion["key"]] = request.form[field].strip()
            row.answers = answers
            row.revision = (row.revision or 0) + 1
            row.updated_at = _now()
            flash("Draft saved.", "ok")
            if request.form.get("next") == "preview":
                return redirect(url_for("portal.preview", application_id=row.id))
            return redirect(url_for("portal.edit", application_id=row.id))
        if row.status != "draft":
            return redirect(url_for("portal.status", application_id=row.id))
        from . import documents as docs
        from .models import Document
        files = s.scalars(select(Document).where(Document.application_id == row.id)
                          .order_by(Document.created_at)).all()
        return _render("portal/edit.html", applicant, application=row, call=call,
                       documents=files, doc_titles={d["key"]: d["title"] for d in (call.documents or [])},
                       missing_docs=docs.missing_documents(s, row, call),
                       criteria=criteria, category=domain.category_terms(call, row.category),
                       counts={c["key"]: _word_count((row.answers or {}).get(c["key"], ""))
                               for c in criteria},
                       closes_local=_local(call.closes_at, call.time_zone))


@portal.get("/portal/applications/<application_id>/preview")
def preview(application_id):
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        return _render("portal/preview.html", applicant, application=row, call=call,
                       criteria=_criteria(call, row.category),
                       category=domain.category_terms(call, row.category),
                       missing=domain.missing_for_submission(row))


@portal.post("/portal/applications/<application_id>/submit")
def submit(application_id):
    # The JSON API holds the one submission path (outbox event, idempotency); the page
    # calls the same view so the rules cannot drift apart.
    from .api import submit_application
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        _own_application(s, applicant, application_id)
    try:
        submit_application(application_id)
    except domain.RuleViolation as exc:
        flash(exc.message, "error")
        return redirect(url_for("portal.preview", application_id=application_id))
    flash("Submitted. We have sent an acknowledgement to your contact email.", "ok")
    return redirect(url_for("portal.status", application_id=application_id))


@portal.get("/portal/applications/<application_id>/status")
def status(application_id):
    with _db().session() as s:
        applicant = _signed_in_applicant(s)
        row = _own_application(s, applicant, application_id)
        call = s.get(Call, row.call_id)
        from .models import StatusUpdate
        updates = s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == row.id)).all()
        stages = domain.timeline(row, updates)  # unreleased decisions are already left out
        reached = {st["stage"] for st in stages}
        upcoming = [] if reached & {"withdrawn", "ineligible", "not_advanced", "winner",
                                    "special_mention", "not_awarded"} else [
            label for stage, label in UPCOMING if not reached & stage]
        return _render("portal/status.html", applicant, application=row, call=call,
                       category=domain.category_terms(call, row.category), stages=stages,
                       upcoming=upcoming if row.status != "draft" else [])


STAGE_LABELS = {"draft": "Draft started", "submitted": "Submitted", "eligible": "Eligible",
                "ineligible": "Not eligible", "finalist": "Finalist", "not_advanced": "Not advanced",
                "winner": "Winner", "special_mention": "Special mention", "not_awarded": "Not awarded",
                "withdrawn": "Withdrawn"}
UPCOMING = [({"eligible", "ineligible"}, "Eligibility screening"),
            ({"finalist", "not_advanced"}, "Selection of finalists"),
            ({"winner", "special_mention", "not_awarded"}, "Selection of the winners"),
            (set(), "Award ceremony")]

blueprints = [portal]
