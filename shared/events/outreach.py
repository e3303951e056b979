"""Events of outreach (issue 17), published by intake: invitations to apply, their reminders,
and the secretariat's record that a prospect opted out. (Their own module so that intake.py stays
readable; ``producer="intake"`` names who publishes them. notify's answer, address.opted_out, is in
notify.py.)"""
from marshmallow import Schema, fields, validate

from .common import LANGUAGES
from .registry import contract

OUTREACH_REMINDER_STAGES = ("not_registered", "not_submitted")


class OutreachAddressee(Schema):
    """Who an outreach email is for: a prospect of the secretariat's, for an edition."""
    prospect_id = fields.UUID(required=True)
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    email = fields.Email(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))  # the contact; may be unknown
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=300))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    closes_at = fields.AwareDateTime(required=True)
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})


@contract("outreach.invited", 1, producer="intake")
class OutreachInvitedV1(OutreachAddressee):
    """The secretariat invited a prospect to apply: notify mails the personal invitation with
    ``url``, the single-use registration link (its token travels only here and to the mailbox;
    intake keeps its hash), valid until ``expires_at``."""
    invitation_id = fields.UUID(required=True)
    expires_at = fields.AwareDateTime(required=True)
    invited_by = fields.String(required=True, validate=validate.Length(min=1, max=300))


@contract("outreach.reminder", 1, producer="intake")
class OutreachReminderV1(OutreachAddressee):
    """A reminder before the edition closes to an invited prospect: ``stage`` "not_registered"
    (``url``: the registration page) or "not_submitted" (registered, nothing submitted yet;
    ``url``: the portal). ``reminder`` names the offset, e.g. "14d"."""
    reminder = fields.String(required=True, validate=validate.Length(min=1, max=20))
    stage = fields.String(required=True, validate=validate.OneOf(OUTREACH_REMINDER_STAGES))


@contract("outreach.opted_out", 1, producer="intake")
class OutreachOptedOutV1(Schema):
    """The secretariat marked a prospect as opted out of outreach email (they asked by phone, in
    person...): notify puts the address on its opt-out list."""
    prospect_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    opted_out_at = fields.AwareDateTime(required=True)
    by = fields.String(required=True, validate=validate.Length(min=1, max=300))
