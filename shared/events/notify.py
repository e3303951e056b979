"""Events published by notify."""
from marshmallow import Schema, fields, validate

from .registry import contract


class _Delivery(Schema):
    delivery_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    event_id = fields.UUID(required=True)
    template = fields.String(required=True)
    recipient = fields.Email(required=True)


@contract("email.sent", 1)
class EmailSentV1(_Delivery):
    provider_message_id = fields.String(load_default=None, allow_none=True)
    sent_at = fields.AwareDateTime(required=True)


@contract("email.failed", 1)
class EmailFailedV1(_Delivery):
    error = fields.String(required=True, validate=validate.Length(max=2000))
    permanent = fields.Boolean(required=True)
    failed_at = fields.AwareDateTime(required=True)
