from marshmallow import Schema, ValidationError, fields, validate

APPLICANT_TYPES = ("city_government", "institution", "corporation", "individual")
CATEGORIES = ("tech_innovacity", "human_centricity", "leadership")
LANGUAGES = ("en", "ko", "es", "fr", "zh", "ar", "ru", "pt", "tr")


class ApplicantSnapshot(Schema):
    """What consumers need to know about the applicant at the time of the event."""
    id = fields.UUID(required=True)
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=300))
    country = fields.String(required=True, validate=validate.Length(equal=2))
    city = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_email = fields.Email(required=True)
    secondary_email = fields.Email(load_default=None, allow_none=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))


_EMAIL = validate.Email()


def is_email(text: str) -> bool:
    """Whether ``text`` is an address the events' Email fields accept: for the operations that check
    input without a schema (a CSV's lines), by the same rule."""
    try:
        _EMAIL(text)
    except ValidationError:
        return False
    return True
