"""Events published by review."""
from marshmallow import Schema, fields, validate

from .registry import contract


@contract("application.screened", 1)
class ApplicationScreenedV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    eligible = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    screened_at = fields.AwareDateTime(required=True)
