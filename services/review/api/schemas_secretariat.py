"""The secretariat API's request and response schemas (its OpenAPI documentation)."""
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from shared.events.common import CATEGORIES, LANGUAGES
from shared.web import NOT_BLANK_PATTERN

from .schemas import ApplicationOut
from .schemas_previews import FINGERPRINT

SOURCES = ("country", "organisation", "email_domain", "declared")


class Page(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class JurorCreate(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=320))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z]{2}$",
                                                                    error="an ISO 3166 alpha-2 code, e.g. KR"))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    expertise = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                            validate=validate.Length(max=30),
                            metadata={"description": f"category keys ({', '.join(CATEGORIES)}) and topics"})
    languages = fields.List(fields.String(validate=validate.Regexp(r"^[a-z]{2,3}$")), load_default=list,
                            validate=validate.Length(max=20), metadata={"description": "languages the juror reads"})
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES),
                             metadata={"description": "the language of the juror's emails"})
    max_load = fields.Integer(load_default=None, allow_none=True, strict=True,
                              validate=validate.Range(min=0, max=10_000),
                              metadata={"description": "most applications per round"})


class JurorOut(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    country = fields.String()
    organisation = fields.String()
    expertise = fields.List(fields.String())
    languages = fields.List(fields.String())
    language = fields.String()
    max_load = fields.Integer(allow_none=True)
    active = fields.Boolean()
    invited_by = fields.String()
    invited_at = fields.AwareDateTime()
    invitation = fields.String(metadata={"description": "the juror's answer: invited | accepted | declined"})
    declined_reason = fields.String()
    answered_at = fields.AwareDateTime(allow_none=True)
    deactivated_by = fields.String(allow_none=True)
    deactivated_at = fields.AwareDateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "counts changes; send it back with PATCH to refuse a stale edit"})


class ConflictOut(Schema):
    id = fields.String()
    juror_id = fields.String()
    application_id = fields.String()
    source = fields.String()
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()


class ConflictQuery(Page):
    juror_id = fields.UUID()
    application_id = fields.UUID()
    source = fields.String(validate=validate.OneOf(SOURCES))


class ConflictPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(ConflictOut))


class JurorProgress(Schema):
    round_id = fields.String()
    assigned = fields.Integer()
    submitted = fields.Integer()


class ScreeningIn(Schema):
    eligible = fields.Boolean(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "required when ineligible"})
    send_now = fields.Boolean(load_default=False, metadata={
        "description": "publish the decision (and its email) at once instead of after the undo window "
                       "(PRIZE_SCREENING_UNDO_SECONDS)"})

    # screen() refuses an ineligible application without a reason (blank counts as none)
    OPENAPI_RULES = {"anyOf": [{"properties": {"eligible": {"enum": [True]}}},
                               {"required": ["reason"], "properties": {"reason": {"pattern": NOT_BLANK_PATTERN}}}]}


class ScreeningDecisionOut(Schema):
    id = fields.String()
    application_id = fields.String()
    eligible = fields.Boolean()
    reason = fields.String()
    status = fields.String(metadata={"description": "held (its email waits for the undo window), published, "
                                                    "undone, superseded (replaced while held) or dropped "
                                                    "(withdrawn while held)"})
    decided_by = fields.String()
    decided_at = fields.AwareDateTime()
    send_after = fields.AwareDateTime(metadata={"description": "when its event and email go"})
    published_at = fields.AwareDateTime(allow_none=True)
    undone_by = fields.String(allow_none=True)
    undone_at = fields.AwareDateTime(allow_none=True)
    previous_stage = fields.String(metadata={"description": "what undoing it restores"})


class ScreeningHistoryOut(Schema):
    application_id = fields.String()
    stage = fields.String()
    decisions = fields.List(fields.Nested(ScreeningDecisionOut), metadata={"description": "oldest first"})


class ReviewedApplicationOut(ApplicationOut):
    screening_reason = fields.String()
    screened_by = fields.String(allow_none=True)
    screened_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    award = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)


class ScreenedApplicationOut(ReviewedApplicationOut):
    screening = fields.Nested(ScreeningDecisionOut, allow_none=True, metadata={
        "description": "the decision this request recorded (null: the same answer again, nothing changed)"})


class RoundCreate(Schema):
    call_id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))
    jurors_per_application = fields.Integer(load_default=3, strict=True, validate=validate.Range(min=1, max=50))
    advance_per_category = fields.Integer(load_default=10, strict=True, validate=validate.Range(min=0, max=10_000))
    min_reviews = fields.Integer(load_default=None, allow_none=True, strict=True,
                                 validate=validate.Range(min=1, max=50),
                                 metadata={"description": "default: 2, or k when k < 2"})
    peer_scores = fields.String(load_default="after_own", validate=validate.OneOf(("after_own", "never")))
    disagreement_threshold = fields.Float(load_default=None, allow_none=True,
                                          validate=validate.Range(min=0, max=1000),
                                          metadata={"description": "default: 25 % of the scale"})
    due_at = fields.AwareDateTime(load_default=None, allow_none=True)


class RoundQuery(Schema):
    call_id = fields.UUID()


class RoundOut(Schema):
    id = fields.String()
    call_id = fields.String()
    kind = fields.String()
    status = fields.String()
    jurors_per_application = fields.Integer()
    advance_per_category = fields.Integer()
    min_reviews = fields.Integer()
    peer_scores = fields.String()
    disagreement_threshold = fields.Float(allow_none=True)
    due_at = fields.AwareDateTime(allow_none=True)
    opened_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    released_at = fields.AwareDateTime(allow_none=True)
    ties = fields.List(fields.String())


class AssignmentCounts(Schema):
    pending = fields.Integer()
    submitted = fields.Integer()
    removed = fields.Integer()


class RoundDetail(Schema):
    round = fields.Nested(RoundOut)
    applications = fields.Integer()
    assignments = fields.Nested(AssignmentCounts)


class AssignOut(Schema):
    round_id = fields.String()
    added = fields.Integer()
    applications = fields.Integer()
    jurors_notified = fields.Integer()
    loads = fields.Dict(keys=fields.String(), values=fields.Integer())
    pairs = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    already = fields.Boolean(metadata={"description": "this preview was confirmed before: nothing changed"})


class AdjustIn(Schema):
    application_id = fields.UUID(required=True)
    add = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=50))
    remove = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=50))
    reason = fields.String(load_default="", validate=validate.Length(max=2000),
                           metadata={"description": "required to remove a juror who submitted scores"})

    OPENAPI_RULES = {"anyOf": [{"required": ["add"], "properties": {"add": {"minItems": 1}}},
                               {"required": ["remove"], "properties": {"remove": {"minItems": 1}}}]}

    @validates_schema
    def _needs_a_change(self, data, **kwargs):
        if not data.get("add") and not data.get("remove"):
            raise ValidationError("give jurors to add or remove", "add")


class AssignmentOut(Schema):
    id = fields.String()
    round_id = fields.String()
    application_id = fields.String()
    juror_id = fields.String()
    assigned_by = fields.String()
    assigned_at = fields.AwareDateTime()
    status = fields.String()
    submitted_at = fields.AwareDateTime(allow_none=True)


class StandingsQuery(Schema):
    normalise = fields.Boolean(load_default=False)


class StandingRow(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    category = fields.String()
    stage = fields.String()
    rank = fields.Integer(allow_none=True)
    outcome = fields.String(metadata={"description": "advance | tie | eliminate | unranked"})
    n_reviews = fields.Integer()
    mean = fields.Float(allow_none=True)
    median = fields.Float(allow_none=True)
    spread = fields.Float(allow_none=True)
    sd = fields.Float(allow_none=True)
    disagreement = fields.Boolean()
    ranked = fields.Boolean()
    raw_rank = fields.Integer(allow_none=True)
    score = fields.Float(allow_none=True)
    normalised_mean = fields.Float(allow_none=True)
    normalised_rank = fields.Integer(allow_none=True)
    moved = fields.Integer(allow_none=True)
    explanation = fields.String()
    totals = fields.Dict(keys=fields.String(), values=fields.Float())


class Agreement(Schema):
    alpha = fields.Float(allow_none=True, metadata={"description": "Krippendorff's alpha, interval metric"})
    n_units = fields.Integer()
    n_pairable = fields.Integer()
    n_applications = fields.Integer()
    metric = fields.String()


class CategoryStandings(Schema):
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    scale = fields.List(fields.Float())
    agreement = fields.Nested(Agreement)
    leaderboard = fields.List(fields.Nested(StandingRow))


class StandingsOut(Schema):
    round_id = fields.String()
    kind = fields.String()
    status = fields.String()
    normalise = fields.Boolean()
    min_reviews = fields.Integer()
    advance_per_category = fields.Integer()
    agreement = fields.Nested(Agreement)
    categories = fields.Dict(keys=fields.String(), values=fields.Nested(CategoryStandings))
    ties = fields.List(fields.String())


class CloseIn(Schema):
    decisions = fields.Dict(keys=fields.UUID(), values=fields.String(validate=validate.OneOf(("advance", "eliminate"))),
                            load_default=dict,
                            metadata={"description": "application id -> advance | eliminate, for ties at the cut "
                                                     "and applications short of reviews"})
    normalise = fields.Boolean(load_default=False, metadata={"description": "cut by the normalised ranking"})
    fingerprint = FINGERPRINT


class CloseOut(Schema):
    round = fields.Nested(RoundOut)
    advanced = fields.Integer()
    eliminated = fields.Integer()
    already = fields.Boolean(metadata={"description": "this preview was confirmed before: nothing changed"})


class AwardIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("winner", "special_mention", "not_awarded")))
    award = fields.String(load_default="", validate=validate.Length(max=300))


class ReleaseIn(Schema):
    round = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))
    fingerprint = FINGERPRINT


class ReleaseOut(Schema):
    round = fields.String()
    released_at = fields.AwareDateTime()
    released = fields.Integer()
    already = fields.Boolean()


class LedgerProblem(Schema):
    seq = fields.Raw()
    position = fields.Integer()
    reason = fields.String()


class LedgerVerifyOut(Schema):
    ok = fields.Boolean()
    entries = fields.Integer()
    head = fields.String(allow_none=True)
    problems = fields.List(fields.Nested(LedgerProblem))


class AccessDenialQuery(Page):
    juror_id = fields.UUID()


class AccessDenialOut(Schema):
    seq = fields.Integer()
    at = fields.AwareDateTime()
    juror_id = fields.String()
    application_id = fields.String(allow_none=True)
    path = fields.String()
    reason = fields.String()


class AccessDenialPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(AccessDenialOut))
