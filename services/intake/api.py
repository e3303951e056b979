"""intake's JSON API: calls (secretariat) and applications."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from shared.logs import correlation
from shared.events import make_event
from shared.outbox import record
from shared.web import require_role

from . import domain
from .models import Applicant, Application, Call, outbox
from .schemas import (ApplicationCreate, ApplicationOut,
                      ApplicationUpdate, CallCreate, CallOut)

calls = Blueprint("calls", __name__, url_prefix="/api/calls", description="Editions of the prize (secretariat)")
applications = Blueprint("applications", __name__, url_prefix="/api/applications",
                         description="Applications: drafts, submission")

PRODUCER = "intake"
log = logging.getLogger("prize.intake")


def _db():
    return current_app.extensions["prize"]["db"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _rule(exc: domain.RuleViolation):
    if exc.field and exc.status == 422:
        abort(422, message=exc.message, errors={"json": {exc.field: [exc.message]}})
    abort(exc.status, message=exc.message)


def _call_event(call: Call):
    return make_event("call.opened", {
        "call_id": call.id, "year": call.year, "theme": call.theme,
        "opens_at": domain.as_utc(call.opens_at), "closes_at": domain.as_utc(call.closes_at),
        "time_zone": call.time_zone, "score_min": call.score_min, "score_max": call.score_max,
        "categories": call.categories,
    }, producer=PRODUCER, correlation_id=call.id)


def _with_missing(app_row: Application) -> Application:
    app_row.missing = domain.missing_for_submission(app_row)
    return app_row


@calls.route("")
class CallsView(MethodView):
    @calls.response(200, CallOut(many=True))
    def get(self):
        """List the editions (anyone may see the terms of a call)."""
        with _db().session() as s:
            return s.scalars(select(Call).order_by(Call.year.desc())).all()

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(CallCreate)
    @calls.response(201, CallOut)
    def post(self, data):
        """Create an edition as a draft; open it to publish it."""
        call = Call(id=str(uuid.uuid4()), status="draft", created_at=_now(),
                    categories=data.pop("categories", None) or domain.default_categories(), **data)
        with _db().session() as s, s.begin():
            if s.scalar(select(Call.id).where(Call.year == call.year)):
                abort(409, message=f"an edition for {call.year} already exists")
            s.add(call)
        return call


@calls.route("/<uuid:call_id>")
class CallView(MethodView):
    @calls.response(200, CallOut)
    def get(self, call_id):
        """One edition's terms."""
        with _db().session() as s:
            call = s.get(Call, str(call_id))
            if call is None:
                abort(404, message=f"no call {call_id}")
            return call


@calls.route("/<uuid:call_id>/open")
class OpenCallView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, CallOut)
    def post(self, call_id):
        """Open the edition: applicants may enter, review learns its terms (call.opened)."""
        with _db().session() as s, s.begin():
            call = s.get(Call, str(call_id), with_for_update=True)
            if call is None:
                abort(404, message=f"no call {call_id}")
            if call.status == "open":
                return call
            call.status, call.opened_at = "open", _now()
            record(s, outbox, _call_event(call))
        return call


def _load_own(s, application_id, *, lock=False) -> Application:
    """The application, if the caller may see it; 404 otherwise (no hint that it exists)."""
    row = s.get(Application, str(application_id), with_for_update=lock)
    principal = g.principal
    if row is None or (principal.role == "applicant" and row.applicant_id != principal.subject):
        abort(404, message=f"no application {application_id}")
    return row


@applications.route("")
class ApplicationsView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut(many=True))
    def get(self):
        """The caller's applications (the secretariat sees all)."""
        with _db().session() as s:
            q = select(Application).order_by(Application.created_at)
            if g.principal.role == "applicant":
                q = q.where(Application.applicant_id == g.principal.subject)
            return [_with_missing(a) for a in s.scalars(q).all()]

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationCreate)
    @applications.response(201, ApplicationOut)
    def post(self, data):
        """Start a draft: one per applicant, category and edition."""
        now = _now()
        with _db().session() as s, s.begin():
            applicant = s.get(Applicant, g.principal.subject)
            if applicant is None:
                abort(401, message="this token's applicant no longer exists")
            call = s.get(Call, str(data["call_id"]))
            if call is None or call.status == "draft":
                abort(422, message="no open call with this id", errors={"json": {"call_id": ["no such call"]}})
            try:
                domain.check_may_enter(call, applicant, data["category"], now)
            except domain.RuleViolation as exc:
                _rule(exc)
            exists = s.scalar(select(Application.id).where(
                Application.applicant_id == applicant.id, Application.call_id == call.id,
                Application.category == data["category"]))
            if exists:
                abort(409, message=f"you already have an application in this category: {exists}")
            row = Application(id=str(uuid.uuid4()), reference=domain.new_reference(call.year),
                              call_id=call.id, applicant_id=applicant.id, category=data["category"],
                              title=data["title"], summary=data["summary"], status="draft",
                              created_at=now, updated_at=now)
            s.add(row)
        return _with_missing(row)


@applications.route("/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def get(self, application_id):
        """One application (its owner or the secretariat)."""
        with _db().session() as s:
            return _with_missing(_load_own(s, application_id))

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationUpdate)
    @applications.response(200, ApplicationOut)
    def patch(self, data, application_id):
        """Save the draft (only while it is a draft)."""
        with _db().session() as s, s.begin():
            row = _load_own(s, application_id, lock=True)
            try:
                domain.check_may_edit(row)
            except domain.RuleViolation as exc:
                _rule(exc)
            for key, value in data.items():
                setattr(row, key, value)
            row.updated_at = _now()
        return _with_missing(row)


@applications.route("/<uuid:application_id>/submit")
class SubmitView(MethodView):
    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def post(self, application_id):
        """Submit: freezes the content and publishes application.submitted. Safe to repeat."""
        now = _now()
        with _db().session() as s, s.begin():
            row = _load_own(s, application_id, lock=True)
            if row.status == "submitted":
                return _with_missing(row)  # a double click or a retry submits once
            call = s.get(Call, row.call_id)
            try:
                domain.check_may_submit(row, call, now)
            except domain.RuleViolation as exc:
                _rule(exc)
            applicant = s.get(Applicant, row.applicant_id)
            row.status, row.submitted_at, row.updated_at = "submitted", now, now
            record(s, outbox, make_event("application.submitted", {
                "application_id": row.id, "reference": row.reference, "call_id": call.id,
                "year": call.year, "category": row.category, "title": row.title,
                "summary": row.summary, "submitted_at": now,
                "applicant": domain.applicant_snapshot(applicant),
            }, producer=PRODUCER, correlation_id=row.id))
        with correlation(row.id):  # the application's id follows it through every service
            log.info("application %s submitted by %s", row.reference, row.applicant_id)
        return _with_missing(row)


blueprints = [calls, applications]
