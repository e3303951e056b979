"""Events published by notify."""
from marshmallow import Schema, fields, validate

from .registry import contract


class _Delivery(Schema):
    delivery_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    event_id = fields.UUID(required=True)
    template = fields.String(required=True)
    recipient = fields.Email(required=True)


@contract("email.sent", 1)
class EmailSentV1(_Delivery):
    provider_message_id = fields.String(load_default=None, allow_none=True)
    sent_at = fields.AwareDateTime(required=True)


@contract("email.failed", 1)
class EmailFailedV1(_Delivery):
    error = fields.String(required=True, validate=validate.Length(max=2000))
    permanent = fields.Boolean(required=True)
    failed_at = fields.AwareDateTime(required=True)


# Group emails: the secretariat writes to a group of one edition. The group's members are found
# where their data lives (MESSAGE_AUDIENCES: audience -> the service that knows it), and notify
# sends to the list it is given, once per address.
MESSAGE_AUDIENCES = {
    "drafts": "intake",             # applicants with a draft of the edition not yet submitted
    "submitted": "intake",          # every application submitted to the edition (not withdrawn)
    "guests_unanswered": "intake",  # applications invited to the ceremony without an answer yet
    "eligible": "review",           # applications screened eligible (finalists and those not advanced too)
    "finalists": "review",          # the finalists, once the finalist round is released
    "winners": "review",            # winners and special mentions, once the award round is released
    "jurors_pending": "review",     # active jurors with reviews outstanding in an open round
}
MESSAGE_PART_SIZE = 200  # recipients per message.addressed event (an SQS message stays under 256 KB)


@contract("message.requested", 1)
class MessageRequestedV1(Schema):
    """The secretariat asked who belongs to a group; the service that knows it answers with
    message.addressed."""
    message_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    audience = fields.String(required=True, validate=validate.OneOf(MESSAGE_AUDIENCES))
    requested_by = fields.String(required=True, validate=validate.Length(min=1, max=300))


@contract("address.opted_out", 1)
class AddressOptedOutV1(Schema):
    """Someone used an unsubscribe link (or its one-click POST, RFC 8058): notify keeps the address
    on its opt-out list; intake marks the prospect with that address opted out."""
    email = fields.Email(required=True)
    opted_out_at = fields.AwareDateTime(required=True)
    template = fields.String(load_default="", validate=validate.Length(max=100))  # the email it came from
