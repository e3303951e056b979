"""intake's JSON API of an edition's dashboard (ops/dashboard.py), for integrators: the figures
of the secretariat's landing page. Its route is on secretariat.py's ``calls`` blueprint."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from marshmallow import Schema, fields

from shared.refusals import Refused
from shared.web import require_role

from ..ops import dashboard as ops
from ..web import _db
from .secretariat import calls


class FunnelStep(Schema):
    step = fields.String(metadata={"description": "registered, drafts (started), submitted, eligible, finalists, winners"})
    title = fields.String()
    count = fields.Integer()


class Breakdown(Schema):
    key = fields.String()
    title = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "per funnel step"})


class Deadline(Schema):
    what = fields.String()
    at = fields.AwareDateTime()
    time_zone = fields.String()
    local = fields.String()


class EmailsFailed(Schema):
    days = fields.Integer()
    count = fields.Integer(metadata={"description": "emails notify gave up on in these days (all editions)"})


class DashboardOut(Schema):
    call_id = fields.String()
    year = fields.Integer()
    status = fields.String()
    funnel = fields.List(fields.Nested(FunnelStep))
    withdrawn = fields.Integer()
    by_category = fields.List(fields.Nested(Breakdown))
    by_country = fields.List(fields.Nested(Breakdown))
    by_type = fields.List(fields.Nested(Breakdown))
    deadlines = fields.List(fields.Nested(Deadline))
    emails_failed = fields.Nested(EmailsFailed)
    dead_letters = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True,
                               metadata={"description": "waiting per service; null when the broker did not answer"})


@calls.route("/<uuid:call_id>/dashboard")
class DashboardView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, DashboardOut)
    def get(self, call_id):
        """The edition at a glance: the funnel overall and by category, country and applicant type
        (decisions count as soon as they are made, before their release), the deadlines coming,
        the emails that failed for good lately, and the dead letters waiting."""
        found = ops.edition(_db(), str(call_id))
        if found is None:
            raise Refused(404, f"no call {call_id}")
        waiting, _ = ops.dead_letters(current_app.extensions["prize"]["settings"])
        return {**ops.as_json(found), "dead_letters": waiting}
