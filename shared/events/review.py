"""Events published by review."""
from marshmallow import Schema, fields, validate

from .common import CATEGORIES, LANGUAGES
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


@contract("juror.invited", 1)
class JurorInvitedV1(Schema):
    """A juror was invited: notify sends the invitation with its one-time sign-in link."""
    juror_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    expires_at = fields.AwareDateTime(required=True)


class AssignedApplication(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))


@contract("review.assigned", 1)
class ReviewAssignedV1(Schema):
    """One juror's new assignments in a round: one digest, not one email per application."""
    juror_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    round = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    due_at = fields.AwareDateTime(load_default=None, allow_none=True)
    applications = fields.List(fields.Nested(AssignedApplication), required=True,
                               validate=validate.Length(min=1))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})


@contract("review.submitted", 1)
class ReviewSubmittedV1(Schema):
    """A juror submitted their scores of one application (the scores stay in review)."""
    assignment_id = fields.UUID(required=True)
    application_id = fields.UUID(required=True)
    juror_id = fields.UUID(required=True)
    round = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))
    submitted_at = fields.AwareDateTime(required=True)


@contract("review.reminder", 1)
class ReviewReminderV1(Schema):
    """A juror still has reviews pending as the round's due date nears: one event per juror, round
    and reminder (``reminder`` names which one, e.g. "3d" for three days before the due date),
    listing every application they have yet to score."""
    juror_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    round = fields.String(required=True, validate=validate.OneOf(("finalist", "award")))
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    due_at = fields.AwareDateTime(required=True)
    reminder = fields.String(required=True, validate=validate.Length(min=1, max=20))
    pending = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    applications = fields.List(fields.Nested(AssignedApplication), required=True,
                               validate=validate.Length(min=1))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
