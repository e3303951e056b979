from marshmallow import Schema, fields, validate

from shared.events.common import CATEGORIES

STAGES = ("submitted", "eligible", "ineligible", "finalist", "not_advanced", "winner", "special_mention",
          "not_awarded", "withdrawn")


class ApplicationQuery(Schema):
    call_id = fields.UUID()
    category = fields.String(validate=validate.OneOf(CATEGORIES))
    stage = fields.String(validate=validate.OneOf(STAGES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class ApplicationOut(Schema):
    id = fields.String()
    reference = fields.String()
    call_id = fields.String()
    category = fields.String()
    title = fields.String()
    summary = fields.String()
    applicant_type = fields.String()
    organisation = fields.String()
    country = fields.String()
    city = fields.String()
    stage = fields.String()
    submitted_at = fields.AwareDateTime()


class ApplicationPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ApplicationOut))


class CallOut(Schema):
    id = fields.String()
    year = fields.Integer()
    theme = fields.String()
    closes_at = fields.AwareDateTime()
    score_min = fields.Integer()
    score_max = fields.Integer()
    categories = fields.List(fields.Dict())
