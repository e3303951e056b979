"""The previews' schemas (api/secretariat.py): what saving an assignment, closing a round and
releasing its results would do, each with the fingerprint that confirms exactly it."""
from marshmallow import Schema, fields, validate

FINGERPRINT = fields.String(validate=validate.Length(min=1, max=64), metadata={
    "description": "the fingerprint of the preview this confirms: 409 when the facts changed since "
                   "(without it, the request works as before, unchecked)"})


class AssignIn(Schema):
    fingerprint = FINGERPRINT


class PreviewJuror(Schema):
    juror_id = fields.String()
    name = fields.String()
    new = fields.Boolean()


class PreviewPairs(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    category = fields.String()
    jurors = fields.List(fields.Nested(PreviewJuror))


class PreviewLoad(Schema):
    juror_id = fields.String()
    name = fields.String()
    load = fields.Integer()
    new = fields.Integer()
    max_load = fields.Integer(allow_none=True)
    active = fields.Boolean()


class PreviewConflict(Schema):
    application_id = fields.String()
    reference = fields.String()
    juror_id = fields.String()
    juror = fields.String()
    reasons = fields.List(fields.String())


class PreviewEnding(Schema):
    application_id = fields.String()
    reference = fields.String()
    juror_id = fields.String()
    juror = fields.String()
    why = fields.String()


class PreviewShort(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()


class AssignmentPreviewOut(Schema):
    round_id = fields.String()
    kind = fields.String()
    call_id = fields.String()
    k = fields.Integer(metadata={"description": "jurors per application"})
    fingerprint = fields.String()
    applications = fields.List(fields.Nested(PreviewPairs))
    loads = fields.List(fields.Nested(PreviewLoad))
    conflicts = fields.List(fields.Nested(PreviewConflict), metadata={"description": "pairs never assigned"})
    ending = fields.List(fields.Nested(PreviewEnding), metadata={"description": "assignments that would end"})
    problem = fields.String(metadata={"description": "why no complete assignment exists (empty when one does)"})
    short = fields.List(fields.Nested(PreviewShort), metadata={"description": "applications short of jurors"})
    added = fields.Integer()
    jurors_notified = fields.Integer()
    pairs = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class ClosePreviewQuery(Schema):
    normalise = fields.Boolean(load_default=False)


class ClosePreviewRow(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    rank = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"description": "advance | tie | eliminate | unranked"})
    score = fields.Float(allow_none=True)
    n_reviews = fields.Integer()
    stage = fields.String()
    told = fields.List(fields.String(), metadata={"description": "the email after release (two: as decided)"})


class ClosePreviewCategory(Schema):
    category = fields.String()
    cut = fields.Integer()
    advance = fields.Integer()
    rows = fields.List(fields.Nested(ClosePreviewRow))
    ties = fields.List(fields.Nested(ClosePreviewRow))
    short = fields.List(fields.Nested(ClosePreviewRow))


class ClosePreviewAward(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    outcome = fields.String(allow_none=True)
    told = fields.List(fields.String())


class ClosePreviewOut(Schema):
    round_id = fields.String()
    kind = fields.String()
    call_id = fields.String()
    normalise = fields.Boolean()
    advance_per_category = fields.Integer()
    min_reviews = fields.Integer()
    categories = fields.List(fields.Nested(ClosePreviewCategory))
    awards = fields.List(fields.Nested(ClosePreviewAward))
    needs_decision = fields.List(fields.String(), metadata={"description": "ids that need a decision to close"})
    fingerprint = fields.String()


class ReleasePreviewQuery(Schema):
    round = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))


class ReleaseGroup(Schema):
    template = fields.String()
    language = fields.String()
    count = fields.Integer()
    sample_application_id = fields.String()
    sample_reference = fields.String()
    variables = fields.Dict()


class ReleaseRecipient(Schema):
    application_id = fields.String()
    reference = fields.String()
    organisation = fields.String()
    title = fields.String()
    template = fields.String()
    language = fields.String()


class ReleasePreviewOut(Schema):
    call_id = fields.String()
    year = fields.Integer()
    round = fields.String()
    round_id = fields.String()
    released_at = fields.AwareDateTime(allow_none=True)
    emails = fields.Integer()
    groups = fields.List(fields.Nested(ReleaseGroup))
    recipients = fields.List(fields.Nested(ReleaseRecipient))
    fingerprint = fields.String()
