"""notify's JSON API for group emails (ops/messages.py), for integrators: the same steps as the
pages (write, find who is in the group, look, send with the look's fingerprint)."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shared.events.common import LANGUAGES
from shared.web import require_role

from ..ops import messages as ops
from ..web import _db

group_messages = Blueprint("group_messages", __name__, url_prefix="/api/messages",
                           description="Group emails: one edition's group, in its members' languages (secretariat)")


ONE_LINE = validate.Regexp(r"^[^\r\n\x00]*$", error="one line, without NUL")


class Wording(Schema):
    """A language's wording: both or neither (the English one is required)."""
    subject = fields.String(required=True, validate=[validate.Length(max=ops.MAX_SUBJECT), ONE_LINE])
    body = fields.String(required=True, validate=validate.Length(max=ops.MAX_BODY))


class EnglishWording(Schema):
    subject = fields.String(required=True, validate=[validate.Length(min=1, max=ops.MAX_SUBJECT), ONE_LINE])
    body = fields.String(required=True, validate=validate.Length(min=1, max=ops.MAX_BODY))


Texts = Schema.from_dict({lang: fields.Nested(EnglishWording, required=True) if lang == ops.DEFAULT_LANGUAGE
                          else fields.Nested(Wording) for lang in LANGUAGES}, name="GroupMessageTexts")


class MessageIn(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    audience = fields.String(required=True, validate=validate.OneOf(ops.MESSAGE_AUDIENCES))
    texts = fields.Nested(Texts, required=True,
                          metadata={"description": "per language; a member reads theirs, else the English one"})


class MessageChange(Schema):
    revision = fields.Integer(required=True, strict=True,
                              metadata={"description": "the revision the change was made on (409 if it moved)"})
    texts = fields.Nested(Texts, required=True)


class SendIn(Schema):
    fingerprint = fields.String(required=True, validate=validate.Length(min=1, max=64))


class MessageOut(Schema):
    id = fields.String()
    year = fields.Integer()
    audience = fields.String()
    texts = fields.Dict()
    status = fields.String(metadata={"description": "draft, addressing, addressed, refused or sent"})
    revision = fields.Integer()
    created_by = fields.String()
    created_at = fields.DateTime()
    requested_by = fields.String(allow_none=True)
    sent_by = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    refused = fields.String(allow_none=True)


class SampleOut(Schema):
    subject = fields.String()
    text = fields.String()
    readers = fields.Integer()
    example = fields.String(allow_none=True)


class OverviewOut(Schema):
    message = fields.Nested(MessageOut)
    members = fields.Integer(metadata={"description": "how many addresses the group has"})
    by_language = fields.Dict(keys=fields.String(), values=fields.Integer())
    unwritten = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "members by language the email has no wording in: they read the English one"})
    samples = fields.Dict(keys=fields.String(), values=fields.Nested(SampleOut),
                          metadata={"description": "per wording: the email as one member will read it"})
    suppressed = fields.List(fields.String())
    listed = fields.List(fields.Dict(), metadata={"description": "the first 50 members"})
    fingerprint = fields.String(metadata={"description": "what sending now would do: give it to send"})
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer())


class SentOut(Schema):
    message = fields.Nested(MessageOut)
    queued = fields.Integer(metadata={"description": "deliveries written now (0 when it was sent before)"})


def _who() -> str:
    return f"secretariat:{g.principal.who}"


@group_messages.route("")
class MessagesView(MethodView):
    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.response(200, MessageOut(many=True))
    def get(self):
        """Every group email, newest first."""
        return [row["message"] for row in ops.listing(_db())]

    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.arguments(MessageIn)
    @group_messages.response(201, MessageOut)
    def post(self, data):
        """Write a group email (a draft: nothing is sent)."""
        return ops.create(_db(), data["year"], data["audience"], data["texts"], by=_who())


@group_messages.route("/<uuid:message_id>")
class MessageView(MethodView):
    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.response(200, OverviewOut)
    def get(self, message_id):
        """The email with what sending it would cause, and its fingerprint."""
        return ops.overview(_db(), message_id)

    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.arguments(MessageChange)
    @group_messages.response(200, MessageOut)
    def patch(self, data, message_id):
        """New wording; 409 when it changed since ``revision``, or was sent."""
        return ops.change(_db(), message_id, data["revision"], data["texts"], by=_who())


@group_messages.route("/<uuid:message_id>/members")
class MembersView(MethodView):
    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.response(202, MessageOut)
    def post(self, message_id):
        """Ask the service that knows the group who is in it; the answer arrives by an event."""
        return ops.find_members(_db(), message_id, by=_who())


@group_messages.route("/<uuid:message_id>/send")
class SendView(MethodView):
    @require_role("secretariat")
    @group_messages.doc(security=[{"bearer": []}])
    @group_messages.arguments(SendIn)
    @group_messages.response(200, SentOut)
    def post(self, data, message_id):
        """Send once to every member; 409 when the fingerprint is not what sending now would do."""
        message, queued = ops.send(_db(), message_id, data["fingerprint"], by=_who())
        return {"message": message, "queued": queued}


blueprints = [group_messages]
