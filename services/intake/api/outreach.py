"""intake's JSON API of invitations to apply (ops/outreach.py), for integrators: invite prospects
of an edition in one call, as the secretariat's page does after its look. Its route is on
secretariat.py's ``calls`` blueprint."""
from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from shared.web import require_role

from ..ops import outreach as ops
from ..web import _db
from .secretariat import calls


class InvitationsIn(Schema):
    prospect_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(min=1, max=ops.MAX_PROSPECTS),
                               metadata={"description": "the prospects to invite (each once)"})


class InvitedOut(Schema):
    prospect_id = fields.String()
    invitation_id = fields.String()
    email = fields.String()
    language = fields.String()
    expires_at = fields.AwareDateTime(metadata={"description": "when the registration link stops working"})


class SkippedOut(Schema):
    prospect_id = fields.String()
    reason = fields.String(metadata={"description": "opted_out, registered, not_open or closed"})
    detail = fields.String()


class InvitationsOut(Schema):
    call_id = fields.String()
    invited = fields.List(fields.Nested(InvitedOut))
    skipped = fields.List(fields.Nested(SkippedOut))


@calls.route("/<uuid:call_id>/outreach/invitations")
class OutreachInvitationsView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(InvitationsIn)
    @calls.response(201, InvitationsOut)
    @calls.alt_response(404, description="no such edition, or no such prospect")
    def post(self, data, call_id):
        """Invite prospects to apply: a personal email each (in their language, with a single-use
        registration link expiring after 30 days or at the edition's closing time, whichever is
        first); those opted out, registered already, or of an edition not open or closed are
        skipped, with the reason."""
        public_url = current_app.extensions["prize"]["settings"].public_url
        look, made, _ = ops.send(_db(), str(call_id), [str(i) for i in data["prospect_ids"]], None,
                                 g.principal.who, public_url)
        by_prospect = {p.id: p for p in look.invited}
        return {"call_id": look.call.id,
                "invited": [{"prospect_id": i.prospect_id, "invitation_id": i.id, "expires_at": i.expires_at,
                             "email": by_prospect[i.prospect_id].email,
                             "language": by_prospect[i.prospect_id].language} for i in made],
                "skipped": [{"prospect_id": p.id, "reason": r, "detail": ops.SKIP_REASONS[r]} for p, r in look.skipped]}, 201
