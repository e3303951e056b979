"""intake's API schemas of the award ceremony (the secretariat's settings, the applicant's answer,
the guest list)."""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


from .schemas import CALL_DATES, TIME_ZONE_DOC

class CeremonyIn(Schema):
    starts_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    time_zone = fields.String(load_default="Asia/Seoul", validate=validate.Length(min=1, max=64),
                              metadata=TIME_ZONE_DOC)
    venue = fields.String(required=True, validate=validate.Length(min=1, max=300))
    address = fields.String(load_default="", validate=validate.Length(max=1000))
    details = fields.String(load_default="", validate=validate.Length(max=5000))
    rsvp_by = fields.AwareDateTime(required=True, validate=CALL_DATES)
    max_delegates = fields.Integer(load_default=3, strict=True, validate=validate.Range(min=1, max=20))

    @validates_schema
    def _zone_and_order(self, data, **kwargs):
        try:
            ZoneInfo(data["time_zone"])
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Asia"
            raise ValidationError("is not a known IANA time zone", "time_zone") from None
        if data["rsvp_by"] >= data["starts_at"]:
            raise ValidationError("must be before starts_at", "rsvp_by")


class Attendee(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.Email(load_default=None, allow_none=True)


class RsvpIn(Schema):
    attending = fields.Boolean(required=True)
    delegates = fields.List(fields.Nested(Attendee), load_default=list, validate=validate.Length(max=20))
    substitute = fields.Nested(Attendee, load_default=None, allow_none=True)
    accessibility = fields.String(load_default="", validate=validate.Length(max=2000))
    visa_letter = fields.Boolean(load_default=False)
    visa_details = fields.String(load_default="", validate=validate.Length(max=2000))
    comments = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1),
                              metadata={"description": "the revision answered over; a stale one is refused (409)"})
    privacy_consent = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "with a visa letter: the version of the edition's privacy notice the person read and agrees "
                       "to for the visa and passport details (privacy_notice_version); required unless "
                       "travel_data_consent already holds that version"})


class RsvpOut(RsvpIn):
    """The answer on record: what was sent, and when."""
    class Meta:
        exclude = ("privacy_consent",)

    first_answered_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    travel_data_deleted_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "when the visa and passport details were deleted, after the ceremony"})


class ConsentOut(Schema):
    version = fields.Integer()
    given_at = fields.AwareDateTime()


class CeremonyDetailsOut(Schema):
    starts_at = fields.AwareDateTime()
    time_zone = fields.String()
    venue = fields.String()
    address = fields.String()
    details = fields.String()
    rsvp_by = fields.AwareDateTime()
    max_delegates = fields.Integer()


class CeremonyOut(CeremonyDetailsOut):
    call_id = fields.String()
    updated_at = fields.AwareDateTime()
    updated_by = fields.String()
    invited = fields.Integer()


class InvitationOut(Schema):
    application_id = fields.String()
    reference = fields.String()
    invited_at = fields.AwareDateTime()
    ceremony = fields.Nested(CeremonyDetailsOut)
    answers_open = fields.Boolean()
    rsvp = fields.Nested(RsvpOut, allow_none=True)
    privacy_notice_version = fields.Integer(metadata={"description": "the edition's privacy notice now"})
    travel_data_consent = fields.Nested(ConsentOut, allow_none=True, metadata={
        "description": "the consent on record to that version for the visa and passport details"})
    travel_data_deleted_on = fields.AwareDateTime(metadata={
        "description": "when the visa and passport details are deleted (PRIZE_TRAVEL_DATA_DAYS after the ceremony)"})


class GuestOut(Schema):
    application_id = fields.String()
    reference = fields.String()
    title = fields.String()
    category = fields.String()
    organisation = fields.String()
    city = fields.String()
    country = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    basis = fields.String()
    invited_at = fields.AwareDateTime()
    answer = fields.String()
    rsvp = fields.Nested(RsvpOut, allow_none=True)


class GuestSummary(Schema):
    invited = fields.Integer()
    attending = fields.Integer()
    declined = fields.Integer()
    no_answer = fields.Integer()
    people = fields.Integer()
    visa_letters = fields.Integer()


class GuestListOut(Schema):
    summary = fields.Nested(GuestSummary)
    guests = fields.List(fields.Nested(GuestOut))
