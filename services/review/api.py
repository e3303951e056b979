"""review's JSON API (secretariat): what review knows of calls and applications."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import func, select

from shared.web import require_role

from .models import Application, Call
from .schemas import ApplicationOut, ApplicationPage, ApplicationQuery, CallOut

applications = Blueprint("review_applications", __name__, url_prefix="/api/applications",
                         description="Applications in review (secretariat)")
calls = Blueprint("review_calls", __name__, url_prefix="/api/calls",
                  description="Editions review has been told about (secretariat)")


def _db():
    return current_app.extensions["prize"]["db"]


@applications.route("")
class ApplicationsView(MethodView):
    @require_role("secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationQuery, location="query", unknown=RAISE)
    @applications.response(200, ApplicationPage)
    def get(self, query):
        """Applications review has received, newest first, with filters."""
        q = select(Application)
        for key in ("category", "stage"):
            if key in query:
                q = q.where(getattr(Application, key) == query[key])
        if "call_id" in query:
            q = q.where(Application.call_id == str(query["call_id"]))
        with _db().session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            items = s.scalars(q.order_by(Application.submitted_at.desc(), Application.id)
                              .limit(query["limit"]).offset(query["offset"])).all()
        return {"total": total, "items": items}


@applications.route("/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def get(self, application_id):
        with _db().session() as s:
            row = s.get(Application, str(application_id))
        if row is None:
            abort(404, message=f"no application {application_id} in review")
        return row


@calls.route("")
class CallsView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, CallOut(many=True))
    def get(self):
        with _db().session() as s:
            return s.scalars(select(Call).order_by(Call.year.desc())).all()


blueprints = [applications, calls]
