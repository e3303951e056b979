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


# Decisions and their release are separate events. Review publishes a decision when the jury
# makes it and results.released when the secretariat releases a round; intake keeps both and
# shows a decided stage only once its round is released. A `released` flag on each decision
# would need review to republish every decision at release time and would leave intake unable
# to tell a late decision from a release; one release event per application and round says
# exactly what was released. One event per application (not a list) keeps each inbox effect small.
ROUNDS = ("finalist", "award")


@contract("application.advanced", 1)
class ApplicationAdvancedV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    round = fields.String(load_default="finalist", validate=validate.OneOf(ROUNDS[:1]))
    decided_at = fields.AwareDateTime(required=True)


@contract("application.eliminated", 1)
class ApplicationEliminatedV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    round = fields.String(load_default="finalist", validate=validate.OneOf(ROUNDS[:1]))
    decided_at = fields.AwareDateTime(required=True)


@contract("award.decided", 1)
class AwardDecidedV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("winner", "special_mention", "not_awarded")))
    award = fields.String(load_default="", validate=validate.Length(max=300))
    decided_at = fields.AwareDateTime(required=True)


@contract("results.released", 1)
class ResultsReleasedV1(Schema):
    application_id = fields.UUID(required=True)
    round = fields.String(required=True, validate=validate.OneOf(ROUNDS))
    released_at = fields.AwareDateTime(required=True)
