"""intake's API schemas: marshmallow, the single source of the OpenAPI description."""
from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared.events.common import APPLICANT_TYPES, CATEGORIES, LANGUAGES
from shared.events.intake import CategoryTerms


# Far-off dates would overflow when converted to UTC (a 500); editions live in 2000-2100.
CALL_DATES = validate.Range(min=datetime(1999, 1, 1, tzinfo=timezone.utc),
                            max=datetime(2101, 12, 31, tzinfo=timezone.utc))
# The scale must fit the database's integers (SQLite raises OverflowError past 2**63).
SCORE = validate.Range(min=0, max=1000)


class CallCreate(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    theme = fields.String(required=True, validate=validate.Length(min=1, max=300))
    opens_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    closes_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    time_zone = fields.String(load_default="Asia/Seoul", validate=validate.Length(min=1, max=64))
    score_min = fields.Integer(load_default=1, strict=True, validate=SCORE)
    score_max = fields.Integer(load_default=10, strict=True, validate=SCORE)
    categories = fields.List(fields.Nested(CategoryTerms), validate=validate.Length(min=1))

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        categories = data.get("categories") or []
        keys = [c["key"] for c in categories]
        if len(set(keys)) != len(keys):
            raise ValidationError("each category may appear only once", "categories")
        for c in categories:
            criteria = [x["key"] for x in c["criteria"]]
            if len(set(criteria)) != len(criteria):
                raise ValidationError(f"criterion keys must be unique within {c['key']}", "categories")

    @validates_schema
    def _order(self, data, **kwargs):
        if data["closes_at"] <= data["opens_at"]:
            raise ValidationError("must be after opens_at", "closes_at")
        if data["score_max"] <= data["score_min"]:
            raise ValidationError("must be greater than score_min", "score_max")
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(data["time_zone"])
        except Exception:
            raise ValidationError("is not a known IANA time zone", "time_zone")


class CallOut(Schema):
    id = fields.String()
    year = fields.Integer()
    theme = fields.String()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    time_zone = fields.String()
    score_min = fields.Integer()
    score_max = fields.Integer()
    status = fields.String()
    categories = fields.List(fields.Nested(CategoryTerms))


class ApplicantCreate(Schema):
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=300))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$", error="must be an ISO 3166 alpha-2 code such as KR"))
    city = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_email = fields.Email(required=True, validate=validate.Length(max=320))
    secondary_email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    secondary_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


class ApplicantOut(Schema):
    id = fields.String()
    type = fields.String()
    organisation = fields.String()
    country = fields.String()
    city = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    secondary_email = fields.String(allow_none=True)
    secondary_name = fields.String(allow_none=True)
    language = fields.String()


class SignInRequest(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    purpose = fields.String(load_default="browser", validate=validate.OneOf(("browser", "api")),
                            metadata={"description": "browser: a link that opens a portal session; "
                                                     "api: a one-time code to exchange at /api/signin/token"})


class SignInAccepted(Schema):
    message = fields.String()


class TokenExchange(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "the one-time code from the sign-in email"})


class BearerToken(Schema):
    token = fields.String(metadata={"description": "send as Authorization: Bearer <token>; "
                                                   "DELETE /api/session revokes it"})
    expires_at = fields.AwareDateTime()


class ApplicationCreate(Schema):
    call_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(load_default="", validate=validate.Length(max=300))
    summary = fields.String(load_default="", validate=validate.Length(max=5000))


class ApplicationUpdate(Schema):
    title = fields.String(validate=validate.Length(max=300))
    summary = fields.String(validate=validate.Length(max=5000))


class ApplicationOut(Schema):
    id = fields.String()
    reference = fields.String()
    call_id = fields.String()
    applicant_id = fields.String()
    category = fields.String()
    title = fields.String()
    summary = fields.String()
    status = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    missing = fields.List(fields.String(), metadata={"description": "what is still needed to submit"})
