"""Managing jurors through the API (api/jurors.py): bodies and answers, the OpenAPI description."""
from marshmallow import Schema, fields, validate

from shared.events.common import CATEGORIES, LANGUAGES
from shared.web import NOT_BLANK_PATTERN, NotBlank

from .schemas_secretariat import ConflictOut, JurorOut, JurorProgress

MAX_CSV = 100_000
STATUSES = ("invited", "accepted", "declined", "deactivated")


class JurorUpdate(Schema):
    """Any of a juror's fields; those left out stay as they are."""
    name = fields.String(validate=[validate.Length(min=1, max=200), NotBlank()])
    email = fields.Email(validate=validate.Length(max=320))
    country = fields.String(validate=validate.Regexp(r"^[A-Za-z]{2}$", error="an ISO 3166 alpha-2 code, e.g. KR"))
    organisation = fields.String(validate=validate.Length(max=300))
    expertise = fields.List(fields.String(validate=[validate.Length(min=1, max=100), NotBlank()]),
                            validate=validate.Length(max=30),
                            metadata={"description": f"category keys ({', '.join(CATEGORIES)}) and topics"})
    languages = fields.List(fields.String(validate=validate.Regexp(r"^[a-z]{2,3}$")), validate=validate.Length(max=20))
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    max_load = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10_000))
    version = fields.Integer(strict=True, validate=validate.Range(min=1),
                             metadata={"description": "optional: refuse (409) if the juror changed since this version"})


class DeactivateIn(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class ReleasedOut(Schema):
    id = fields.String()
    application_id = fields.String()
    round_id = fields.String()


class DeactivateOut(Schema):
    juror = fields.Nested(JurorOut)
    released = fields.List(fields.Nested(ReleasedOut),
                           metadata={"description": "the open assignments released: they need another juror"})


class LoadOut(Schema):
    round_id = fields.String()
    kind = fields.String()
    round_status = fields.String()
    year = fields.Integer(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    assigned = fields.Integer()
    submitted = fields.Integer()
    in_progress = fields.Integer(metadata={"description": "something saved, not submitted"})
    not_started = fields.Integer()


class TotalOut(Schema):
    assigned = fields.Integer()
    submitted = fields.Integer()
    in_progress = fields.Integer()
    not_started = fields.Integer()


class JurorConflictOut(ConflictOut):
    reference = fields.String()
    title = fields.String()


class JurorOverview(Schema):
    juror = fields.Nested(JurorOut)
    status = fields.String(metadata={"description": " | ".join(STATUSES)})
    load = fields.List(fields.Nested(LoadOut), metadata={"description": "per round"})
    total = fields.Nested(TotalOut)
    conflicts = fields.List(fields.Nested(JurorConflictOut), metadata={"description": "with the reason of each"})
    progress = fields.List(fields.Nested(JurorProgress))


class ImportIn(Schema):
    csv = fields.String(required=True, validate=validate.Length(min=1, max=MAX_CSV), metadata={
        "description": "columns name, email, language, categories (country and organisation may follow); "
                       "categories separated by ; or |"})


class ImportConfirmIn(ImportIn):
    token = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"),
                          metadata={"description": "the preview's token"})


class ImportRowOut(Schema):
    line = fields.Integer()
    name = fields.String()
    email = fields.String()
    language = fields.String()
    categories = fields.List(fields.String())
    country = fields.String()
    organisation = fields.String()
    status = fields.String(metadata={"description": "new | existing | error"})
    errors = fields.List(fields.String())
    juror_id = fields.String(allow_none=True)


class ImportCounts(Schema):
    new = fields.Integer()
    existing = fields.Integer()
    error = fields.Integer()


class ImportPreviewOut(Schema):
    rows = fields.List(fields.Nested(ImportRowOut))
    counts = fields.Nested(ImportCounts)
    token = fields.String(metadata={"description": "send it with the same CSV to confirm"})


class ImportConfirmOut(Schema):
    created = fields.List(fields.Nested(JurorOut))
    skipped = fields.Integer(metadata={"description": "lines that were already jurors"})
    counts = fields.Nested(ImportCounts)


class InvitationAnswer(Schema):
    answer = fields.String(required=True, validate=validate.OneOf(("accept", "decline")))
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "required to decline"})

    OPENAPI_RULES = {"anyOf": [{"properties": {"answer": {"enum": ["accept"]}}},
                               {"required": ["reason"], "properties": {"reason": {"pattern": NOT_BLANK_PATTERN}}}]}


class InvitationOut(Schema):
    status = fields.String(metadata={"description": "accepted | declined"})
    declined_reason = fields.String()
    answered_at = fields.AwareDateTime(allow_none=True)
    released = fields.Integer(metadata={"description": "open assignments given back (on declining)"})
