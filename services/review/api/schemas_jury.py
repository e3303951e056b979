"""The jury API's bodies and answers (marshmallow: the OpenAPI description is generated from these)."""
from marshmallow import Schema, fields, validate

from shared.web import NotBlank

CRITERION_KEY = fields.String(validate=validate.Length(min=1, max=50))


class StrictNumber(fields.Float):
    """A JSON number: "7" (a string) is refused, not read as 7."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


# ---- what jurors send ----

class ScoresSave(Schema):
    """An autosave: any subset of the criteria; null (or an empty comment) clears a field."""
    scores = fields.Dict(keys=CRITERION_KEY, values=StrictNumber(allow_none=True, allow_nan=False),
                         load_default=dict, metadata={"description": "criterion key → score on the call's scale"})
    comments = fields.Dict(keys=CRITERION_KEY, values=fields.String(allow_none=True,
                                                                     validate=validate.Length(max=10_000)),
                           load_default=dict, metadata={"description": "criterion key → comment"})
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1),
                              metadata={"description": "the revision these changes are based on"})


class ScoresSubmit(Schema):
    revision = fields.Integer(strict=True, validate=validate.Range(min=1),
                              metadata={"description": "optional: refuse (409) if the scores changed since"})


class ConflictDeclare(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=2000), NotBlank()])


class DocumentQuery(Schema):
    format = fields.String(load_default="redirect", validate=validate.OneOf(("redirect", "json")))


# ---- what jurors get ----

class Progress(Schema):
    scored = fields.Integer()
    total = fields.Integer()
    text = fields.String(metadata={"description": 'e.g. "3 of 8 scored"'})


class AssignmentSummary(Schema):
    id = fields.String()
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    category = fields.String()
    status = fields.String(metadata={"description": "pending | submitted"})
    revision = fields.Integer()
    criteria = fields.Integer()
    criteria_scored = fields.Integer()
    updated_at = fields.AwareDateTime(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)


class RoundAssignments(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "finalist | award"})
    status = fields.String(metadata={"description": "open | closed (scores locked)"})
    call_id = fields.String()
    year = fields.Integer(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    peer_scores = fields.String(metadata={"description": "after_own | never"})
    progress = fields.Nested(Progress)
    assignments = fields.List(fields.Nested(AssignmentSummary))


class JurorRef(Schema):
    id = fields.String()
    name = fields.String()


class MyAssignments(Schema):
    juror = fields.Nested(JurorRef)
    rounds = fields.List(fields.Nested(RoundAssignments))


class RoundRef(Schema):
    id = fields.String()
    kind = fields.String()
    status = fields.String()
    peer_scores = fields.String()


class AssignmentState(Schema):
    id = fields.String()
    application_id = fields.String()
    round = fields.Nested(RoundRef)
    status = fields.String()
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    revision = fields.Integer()
    criteria = fields.Integer()
    criteria_scored = fields.Integer()
    total = fields.Float(allow_none=True, metadata={"description": "weighted total once every criterion is scored"})
    locked = fields.Boolean()
    updated_at = fields.AwareDateTime(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)


class Scale(Schema):
    min = fields.Float()
    max = fields.Float()


class CriterionWithAnswer(Schema):
    key = fields.String()
    title = fields.String()
    weight = fields.Float()
    guidance = fields.List(fields.String(), metadata={"description": "the rubric: what to look for"})
    answer = fields.String()


class ApplicantFacts(Schema):
    type = fields.String()
    organisation = fields.String()
    country = fields.String()
    city = fields.String()


class DocumentInfo(Schema):
    id = fields.String()
    kind = fields.String()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)


class JurorApplication(Schema):
    id = fields.String()
    reference = fields.String()
    call_id = fields.String()
    category = fields.String()
    title = fields.String()
    summary = fields.String()
    language = fields.String()
    applicant = fields.Nested(ApplicantFacts)
    submitted_at = fields.AwareDateTime()
    scale = fields.Nested(Scale)
    criteria = fields.List(fields.Nested(CriterionWithAnswer))
    project = fields.Dict(keys=fields.String(), values=fields.String())
    documents = fields.List(fields.Nested(DocumentInfo))
    assignments = fields.List(fields.Nested(AssignmentState), metadata={"description": "your own"})


class DocumentLink(Schema):
    url = fields.String()


class PeerReview(Schema):
    juror = fields.String(metadata={"description": "anonymised: juror 1, juror 2, … in order of submission"})
    scores = fields.Dict(keys=fields.String(), values=fields.Float())
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    total = fields.Float(allow_none=True)
    submitted_at = fields.AwareDateTime(allow_none=True)


class PeerScores(Schema):
    assignment_id = fields.String()
    application_id = fields.String()
    pending = fields.Integer(metadata={"description": "other jurors who have not submitted yet"})
    reviews = fields.List(fields.Nested(PeerReview))


class ConflictDeclared(Schema):
    application_id = fields.String()
    declared_at = fields.AwareDateTime()
    message = fields.String()
