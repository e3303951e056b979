"""The jury's JSON API: a juror's assignments, the applications they score, scoring, peers'
scores and declared conflicts. Thin views over ops/desk.py and ops/desk_queries.py, which decide;
their refusals (desk.Refusal) become the JSON error in shared.web.

Every route needs a juror token of an active juror. An application or assignment the juror may
not see (not theirs, conflicted, withdrawn, nonexistent) answers 404 with the same body in every
case; a locked (closed round) or stale save answers 409.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import current_app, g, jsonify, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.web import require_role

from ..current import db as _db, settings as _settings, storage as _storage
from ..ops import desk, desk_queries, juror_admin
from ..ops.common import in_transaction
from .schemas_jurors import InvitationAnswer, InvitationOut
from .schemas_jury import (AssignmentState, ConflictDeclare, ConflictDeclared, DocumentLink, DocumentQuery,
                           JurorApplication, MyAssignments, PeerScores, ScoresSave, ScoresSubmit)

jury = Blueprint("review_jury", __name__, url_prefix="/api/jury",
                 description="Jurors: assignments, applications, scoring, conflicts of interest")

SECURITY = [{"bearer": []}]


def _json_default(value):
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _juror_id() -> str:
    return g.principal.subject


def _correlation() -> str | None:
    return g.get("correlation_id")


@jury.route("/assignments")
class AssignmentsView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.response(200, MyAssignments)
    def get(self):
        """My assignments per round, with progress ("3 of 8 scored")."""
        with _db().session() as s:
            mine = desk_queries.my_assignments(s, _juror_id())
        # The page jurors open most: desk already builds exactly MyAssignments' shape (a test
        # holds them equal), so it is written straight to JSON instead of dumped field by field.
        return current_app.response_class(json.dumps(mine, default=_json_default, ensure_ascii=False),
                                          mimetype="application/json")


@jury.route("/assignments/<uuid:assignment_id>")
class AssignmentView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.response(200, AssignmentState)
    def get(self, assignment_id):
        """One of my assignments: my scores, comments and their revision."""
        with _db().session() as s:
            return desk_queries.assignment_state(s, _juror_id(), str(assignment_id), request.path)

    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.arguments(ScoresSave)
    @jury.response(200, AssignmentState)
    def patch(self, data, assignment_id):
        """Autosave scores and comments (partial; send the revision they are based on)."""
        with _db().session() as s:
            return desk.save_scores(s, _juror_id(), str(assignment_id), data["scores"], data["comments"],
                                    data["revision"], path=request.path)


@jury.route("/assignments/<uuid:assignment_id>/submit")
class SubmitView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.arguments(ScoresSubmit)
    @jury.response(200, AssignmentState)
    def post(self, data, assignment_id):
        """Submit my review: every criterion needs a score and a comment."""
        with _db().session() as s:
            return desk.submit_scores(s, _juror_id(), str(assignment_id), data.get("revision"),
                                      path=request.path, correlation_id=_correlation())


@jury.route("/assignments/<uuid:assignment_id>/peers")
class PeersView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.response(200, PeerScores)
    def get(self, assignment_id):
        """Other jurors' submitted scores of the same application, once I submitted mine."""
        with _db().session() as s:
            return desk.peer_scores(s, _juror_id(), str(assignment_id), path=request.path)


@jury.route("/applications/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.response(200, JurorApplication)
    def get(self, application_id):
        """An application I am assigned: its answers with the rubric beside each, project facts,
        documents."""
        with _db().session() as s:
            return desk_queries.open_application(s, _juror_id(), str(application_id), request.path)


@jury.route("/applications/<uuid:application_id>/documents/<uuid:document_id>")
class DocumentView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.arguments(DocumentQuery, location="query")
    @jury.response(302)
    @jury.alt_response(200, schema=DocumentLink, description="with ?format=json")
    def get(self, query, application_id, document_id):
        """A short-lived link to one of the application's documents: a redirect, or ``{url}``
        with ``?format=json``."""
        with _db().session() as s:
            url = desk_queries.document_link(s, _juror_id(), str(application_id), str(document_id), request.path,
                                     _storage())
        if query["format"] == "json":
            response = jsonify({"url": url})
        else:
            response = redirect(url, 302)
        response.headers["Cache-Control"] = "no-store"
        return response


@jury.route("/applications/<uuid:application_id>/conflict")
class ConflictView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.arguments(ConflictDeclare)
    @jury.response(201, ConflictDeclared)
    def post(self, data, application_id):
        """Declare a conflict of interest: the application leaves my assignments at once and
        another juror takes my place."""
        settings = _settings()
        with _db().session() as s:
            result = desk.declare_conflict(s, _juror_id(), str(application_id), data["reason"],
                                           path=request.path, review_url=settings.review_public_url,
                                           correlation_id=_correlation())
        # The juror learns nothing about who takes over (or that nobody could): the
        # secretariat reads that in the ledger.
        return {"application_id": result.application_id, "declared_at": result.declared_at,
                "message": "recorded: this application has left your assignments"}


@jury.route("/invitation")
class InvitationView(MethodView):
    @require_role("juror")
    @jury.doc(security=SECURITY)
    @jury.arguments(InvitationAnswer)
    @jury.response(200, InvitationOut)
    def post(self, data):
        """Accept or decline my invitation (declining needs a reason and gives back my open
        assignments). I may change my answer later."""
        result = in_transaction(_db(), lambda s: juror_admin.answer_invitation(
            s, _juror_id(), data["answer"], data["reason"], _now()))
        juror = result["juror"]
        return {"status": result["status"], "declined_reason": juror.declined_reason,
                "answered_at": juror.answered_at, "released": len(result["released"])}


blueprints = [jury]
