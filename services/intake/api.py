"""intake's JSON API: calls (secretariat) and applications."""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select

from shared.events import json_safe, make_event
from shared.outbox import record
from shared.web import require_role

from . import domain, drafts, submission
from .documents import missing_documents
from .models import (Applicant, Application, Call, CallVersion, DeadlineException, StatusUpdate,
                     outbox)
from .schemas import (ApplicationCreate, ApplicationOut, ApplicationUpdate, CallChange, CallCreate,
                      CallOut, CallVersionOut, ExceptionCreate, ExceptionOut, StatusOut, Withdrawal)

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
        "categories": call.categories, "version": call.version or 1,
    }, producer=PRODUCER, correlation_id=call.id)


def _with_missing(s, app_row: Application, call: Call | None = None) -> Application:
    """Attach what the form shows beside the stored fields: counts, completeness, what is missing."""
    call = call or s.get(Call, app_row.call_id)
    docs = missing_documents(s, app_row, call)
    app_row.criteria, app_row.missing, app_row.completeness = domain.assess(app_row, call, docs)
    return app_row


def _terms(call: Call) -> dict:
    utc = timezone.utc
    return {"theme": call.theme, "opens_at": domain.as_utc(call.opens_at).astimezone(utc).isoformat(),
            "closes_at": domain.as_utc(call.closes_at).astimezone(utc).isoformat(), "time_zone": call.time_zone,
            "score_min": call.score_min, "score_max": call.score_max, "categories": call.categories,
            "documents": call.documents, "max_upload_bytes": call.max_upload_bytes}


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
        call = Call(id=str(uuid.uuid4()), status="draft", created_at=_now(), version=1,
                    categories=data.pop("categories", None) or domain.default_categories(),
                    documents=data.pop("documents", None) or domain.DEFAULT_DOCUMENTS, **data)
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

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(CallChange)
    @calls.response(200, CallOut)
    def patch(self, data, call_id):
        """Change the terms. A draft is simply edited; an opened call gets a new version, with who
        changed it, when and why, and call.opened is published again so review learns the change."""
        reason = data.pop("reason", None)
        with _db().session() as s, s.begin():
            call = s.get(Call, str(call_id), with_for_update=True)
            if call is None:
                abort(404, message=f"no call {call_id}")
            if call.status != "draft" and not reason:
                abort(422, message="the call is open: a change needs a reason",
                      errors={"json": {"reason": ["required once the call is open"]}})
            for key, value in data.items():
                # we only store UTC; the call's time zone says how to show it
                setattr(call, key, value.astimezone(timezone.utc) if isinstance(value, datetime) else value)
            errors = {}
            if domain.as_utc(call.closes_at) <= domain.as_utc(call.opens_at):
                errors["closes_at"] = ["must be after opens_at"]
            if call.score_max <= call.score_min:
                errors["score_max"] = ["must be greater than score_min"]
            if errors:
                abort(422, message="the changed terms are inconsistent", errors={"json": errors})
            if call.status != "draft":
                call.version = (call.version or 1) + 1
                s.add(CallVersion(id=str(uuid.uuid4()), call_id=call.id, version=call.version,
                                  terms=_terms(call), changed_by=g.principal.subject,
                                  reason=reason, changed_at=_now()))
                record(s, outbox, _call_event(call))
        return call


@calls.route("/<uuid:call_id>/versions")
class CallVersionsView(MethodView):
    @calls.response(200, CallVersionOut(many=True))
    def get(self, call_id):
        """The changes made to an opened call, oldest first (public, like the terms themselves)."""
        with _db().session() as s:
            if s.get(Call, str(call_id)) is None:
                abort(404, message=f"no call {call_id}")
            return s.scalars(select(CallVersion).where(CallVersion.call_id == str(call_id))
                             .order_by(CallVersion.version)).all()


@calls.route("/<uuid:call_id>/exceptions")
class ExceptionsView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, ExceptionOut(many=True))
    def get(self, call_id):
        """Every exception granted for this call, revoked ones included (the audit trail)."""
        with _db().session() as s:
            return s.scalars(select(DeadlineException).where(DeadlineException.call_id == str(call_id))
                             .order_by(DeadlineException.granted_at)).all()

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(ExceptionCreate)
    @calls.response(201, ExceptionOut)
    def post(self, data, call_id):
        """Let one applicant submit until a later time; who granted it and why is kept."""
        with _db().session() as s, s.begin():
            call = s.get(Call, str(call_id))
            if call is None:
                abort(404, message=f"no call {call_id}")
            if s.get(Applicant, str(data["applicant_id"])) is None:
                abort(422, message="no such applicant", errors={"json": {"applicant_id": ["no such applicant"]}})
            if data["closes_at"] <= domain.as_utc(call.closes_at):
                abort(422, message="an exception must extend the closing time",
                      errors={"json": {"closes_at": ["must be after the call's closing time"]}})
            row = DeadlineException(id=str(uuid.uuid4()), call_id=call.id,
                                    applicant_id=str(data["applicant_id"]), closes_at=data["closes_at"],
                                    reason=data["reason"], granted_by=g.principal.subject, granted_at=_now())
            s.add(row)
        return row


@calls.route("/<uuid:call_id>/exceptions/<uuid:exception_id>")
class ExceptionView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, ExceptionOut)
    def delete(self, call_id, exception_id):
        """Revoke: the row stays, marked revoked, so the audit trail keeps it."""
        with _db().session() as s, s.begin():
            row = s.get(DeadlineException, str(exception_id), with_for_update=True)
            if row is None or row.call_id != str(call_id):
                abort(404, message=f"no exception {exception_id}")
            if row.revoked_at is None:
                row.revoked_at = _now()
        return row


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
            return [_with_missing(s, a) for a in s.scalars(q).all()]

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationCreate)
    @applications.response(201, ApplicationOut)
    def post(self, data):
        """Start a draft: one per applicant, category and edition."""
        with _db().session() as s, s.begin():
            try:
                row = drafts.start_draft(s, g.principal.subject, str(data["call_id"]), data["category"],
                                         data["title"], data["summary"], _now())
            except domain.RuleViolation as exc:
                if getattr(exc, "errors", None):
                    abort(exc.status, message=exc.message, errors={"json": exc.errors})
                _rule(exc)
            return _with_missing(s, row)


@applications.route("/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def get(self, application_id):
        """One application (its owner or the secretariat)."""
        with _db().session() as s:
            return _with_missing(s, _load_own(s, application_id))

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationUpdate)
    @applications.response(200, ApplicationOut)
    def patch(self, data, application_id):
        """Save the draft (only while it is a draft)."""
        with _db().session() as s, s.begin():
            try:  # 404 for another applicant's application, as for a missing one
                row = drafts.save_draft(s, application_id, g.principal.subject, data, _now())
            except domain.RuleViolation as exc:
                if getattr(exc, "errors", None):
                    abort(exc.status, message=exc.message, errors={"json": exc.errors})
                _rule(exc)
            return _with_missing(s, row)


@applications.route("/<uuid:application_id>/submit")
class SubmitView(MethodView):
    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def post(self, application_id):
        """Submit: freezes the content and publishes application.submitted. Safe to repeat."""
        try:
            answer = submission.submit_application(_db(), application_id, g.principal.subject)
        except domain.RuleViolation as exc:
            _rule(exc)
        # Already in ApplicationOut's shape (the same keys, checked by the tests): written out
        # directly instead of through a second marshmallow pass, on the deadline's hottest path.
        return current_app.json.response(json_safe(answer))


@applications.route("/<uuid:application_id>/withdraw")
class WithdrawView(MethodView):
    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(Withdrawal)
    @applications.response(200, ApplicationOut)
    def post(self, data, application_id):
        """Withdraw a submitted application before a decision; application.withdrawn. Safe to repeat."""
        now = _now()
        with _db().session() as s, s.begin():
            row = _load_own(s, application_id, lock=True)
            if row.status == "withdrawn":
                return _with_missing(s, row)
            try:
                domain.check_may_withdraw(row)
            except domain.RuleViolation as exc:
                _rule(exc)
            decided = s.scalar(select(StatusUpdate.event_id).where(
                StatusUpdate.application_id == row.id,
                StatusUpdate.stage.in_(list(domain.ROUND_OF_STAGE))))
            if decided:
                abort(409, message="a decision has been made on this application; it can no longer be withdrawn")
            row.status, row.withdrawn_at, row.withdrawal_reason, row.updated_at = \
                "withdrawn", now, data["reason"], now
            record(s, outbox, make_event("application.withdrawn", {
                "application_id": row.id, "reference": row.reference, "reason": data["reason"],
                "withdrawn_at": now}, producer=PRODUCER, correlation_id=row.id))
            return _with_missing(s, row)


@applications.route("/<uuid:application_id>/status")
class StatusView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, StatusOut)
    def get(self, application_id):
        """The application's stages; a round's decisions appear only once the secretariat released them."""
        with _db().session() as s:
            row = _load_own(s, application_id)
            updates = s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == row.id)).all()
            return {"application_id": row.id, "reference": row.reference, "status": row.status,
                    "stages": domain.timeline(row, updates)}


blueprints = [calls, applications]
