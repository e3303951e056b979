from marshmallow import Schema, fields, validate

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    recipient = fields.Email()
    template = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class DeliveryOut(Schema):
    id = fields.String()
    key = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    template = fields.String()
    language = fields.String()
    recipient = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    provider_message_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


class DeliveryPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(DeliveryOut))


SUPPRESSION_REASONS = ("bounce", "complaint", "failed")


class SuppressionQuery(Schema):
    reason = fields.String(validate=validate.OneOf(SUPPRESSION_REASONS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class SuppressionOut(Schema):
    email = fields.String()
    reason = fields.String()
    detail = fields.String(allow_none=True)
    source_message_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class SuppressionPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(SuppressionOut))
