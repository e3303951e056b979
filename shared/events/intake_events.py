"""Events published by intake about the edition's events (issue 17): invitations to the General
Assembly, the Mayors Forum, the ceremony, for prospects (no account) and applicants, and their
answers; notify mails the invitation (an outreach email: with an unsubscribe link, never to an
opted-out address) and confirms each answer. Kept apart from intake.py (its size), which imports it."""
from marshmallow import Schema, fields, validate

from .common import LANGUAGES
from .intake import Attendee, CeremonyDetails  # defined before intake.py imports this module
from .registry import contract


# the registry names a contract's producer after its module: these are intake's, as intake.py's
PRODUCED_BY = "shared.events.intake"
EVENT_KINDS = ("general_assembly", "mayors_forum", "ceremony", "other")
INVITEE_KINDS = ("prospect", "applicant")


class EventGuest(Schema):
    """Who an event invitation or answer is for, and the event (``event``: when and where, as the
    ceremony's details). ``url`` is the RSVP page: its token is the invitee's key."""
    invitation_id = fields.UUID(required=True)
    edition_event_id = fields.UUID(required=True)
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    kind = fields.String(required=True, validate=validate.OneOf(EVENT_KINDS))
    event_name = fields.String(required=True, validate=validate.Length(min=1, max=300))
    invitee = fields.String(required=True, validate=validate.OneOf(INVITEE_KINDS))
    prospect_id = fields.UUID(load_default=None, allow_none=True)
    applicant_id = fields.UUID(load_default=None, allow_none=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))  # a prospect's may be unknown
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    event = fields.Nested(CeremonyDetails, required=True)
    max_delegates = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=20))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})


@contract("event.invited", 1)
class EventInvitedV1(EventGuest):
    """The secretariat invited this person to one of the edition's events (once per address)."""
    __module__ = PRODUCED_BY
    invited_at = fields.AwareDateTime(required=True)
    invited_by = fields.String(required=True, validate=validate.Length(min=1, max=200))


@contract("event.rsvp_received", 1)
class EventRsvpReceivedV1(EventGuest):
    """An invitee answered (or changed their answer: ``revision`` counts them)."""
    __module__ = PRODUCED_BY
    attending = fields.Boolean(required=True)
    delegates = fields.List(fields.Nested(Attendee), required=True)
    substitute = fields.Nested(Attendee, load_default=None, allow_none=True)
    accessibility = fields.String(load_default="", validate=validate.Length(max=2000))
    visa_letter = fields.Boolean(required=True)
    visa_details = fields.String(load_default="", validate=validate.Length(max=2000))
    comments = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    answered_at = fields.AwareDateTime(required=True)
