"""intake's JSON API of an edition's outreach funnel (ops/funnel.py), for scripts: the figures of
the secretariat's funnel page. Its route is on secretariat.py's ``calls`` blueprint."""
from __future__ import annotations

from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.refusals import Refused
from shared.web import require_role

from ..ops import funnel as ops
from ..web import _db
from .secretariat import calls

_COUNTS = {"description": "per stage: " + ", ".join(ops.STAGES)}
_FROM_DRAFTING = {"description": "per stage from drafting on"}


class FunnelArgs(Schema):
    by = fields.String(load_default="region", validate=validate.OneOf(tuple(ops.BREAKDOWNS)),
                       metadata={"description": "the breakdown: region, country, event (where met) or owner"})


class FunnelStage(Schema):
    stage = fields.String(metadata={"description": ", ".join(ops.STAGES)})
    title = fields.String()
    count = fields.Integer(metadata={"description": "prospects that reached at least this stage"})
    conversion = fields.Float(allow_none=True, metadata={"description": "% of the stage before; null for the "
                                                                        "first stage or an empty stage before"})
    previous = fields.Integer(allow_none=True, metadata={"description": "the previous edition's count; null "
                                                                       "when there is none"})
    difference = fields.Integer(allow_none=True, metadata={"description": "count - previous"})


class FunnelGroup(Schema):
    key = fields.String(metadata={"description": "the region key, country code, event or owner as stored "
                                                 "(\"\" when not recorded)"})
    title = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=_COUNTS)


class FunnelApplicants(Schema):
    outreach = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=_FROM_DRAFTING)
    without_outreach = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=_FROM_DRAFTING)


class FunnelEdition(Schema):
    call_id = fields.String()
    year = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata=_COUNTS)
    groups = fields.List(fields.Nested(FunnelGroup))
    registered_uninvited = fields.Integer(metadata={"description": "prospects registered (or further) without "
                                                                   "an invitation for this edition"})
    applicants = fields.Nested(FunnelApplicants, metadata={
        "description": "the edition's applicants linked to a prospect (of any edition) and those linked to none"})


class FunnelOut(Schema):
    call_id = fields.String()
    year = fields.Integer()
    by = fields.String()
    funnel = fields.List(fields.Nested(FunnelStage))
    current = fields.Nested(FunnelEdition)
    previous = fields.Nested(FunnelEdition, allow_none=True,
                             metadata={"description": "the latest edition with a smaller year; null when none"})


@calls.route("/<uuid:call_id>/funnel")
class FunnelView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(FunnelArgs, location="query")
    @calls.response(200, FunnelOut)
    def get(self, args, call_id):
        """The edition's outreach funnel (met, invited, registered, drafting, submitted, eligible,
        finalist, winner), each stage counting the prospects that reached at least it, by region,
        country, event where met or owner, beside the previous edition's; decisions count as soon
        as they are made. Every staff role may read it."""
        found = ops.funnel(_db(), str(call_id), args["by"])
        if found is None:
            raise Refused(404, f"no call {call_id}")
        return ops.as_json(found)
