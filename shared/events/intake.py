"""Events published by intake."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .common import APPLICANT_TYPES, CATEGORIES, LANGUAGES, ApplicantSnapshot
from .notify import MESSAGE_AUDIENCES, MESSAGE_PART_SIZE
from .registry import contract
from ..staff.roles import STAFF_ROLES


class Criterion(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    weight = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    # Optional, so version-1 producers and consumers that predate them stay compatible.
    # No load_default: what a producer left out stays out of what consumers read.
    guidance = fields.List(fields.String(validate=validate.Length(max=500)))
    word_limit = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=100_000))
    required = fields.Boolean()


class CategoryTerms(Schema):
    key = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    applicant_types = fields.List(fields.String(validate=validate.OneOf(APPLICANT_TYPES)),
                                  required=True, validate=validate.Length(min=1))
    criteria = fields.List(fields.Nested(Criterion), required=True, validate=validate.Length(min=1))
    # A category may score on its own scale; absent means the call's.
    score_min = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=1000))
    score_max = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=1000))


@contract("call.opened", 1)
class CallOpenedV1(Schema):
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    theme = fields.String(required=True, validate=validate.Length(min=1, max=300))
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    time_zone = fields.String(required=True)
    score_min = fields.Integer(required=True, strict=True)
    score_max = fields.Integer(required=True, strict=True)
    categories = fields.List(fields.Nested(CategoryTerms), required=True, validate=validate.Length(min=1))
    # Terms changed after opening are published again with a higher version: the newest wins.
    version = fields.Integer(strict=True, validate=validate.Range(min=1))


@contract("applicant.registered", 1)
class ApplicantRegisteredV1(ApplicantSnapshot):
    registered_at = fields.AwareDateTime(required=True)


# What an applicant changes of their own record (intake's PATCH refuses the rest).
APPLICANT_CHANGEABLE = ("organisation", "city", "contact_name", "secondary_name", "secondary_email", "language")
# What applicant.updated may name: the above, and the sign-in address, which only the
# secretariat changes (an applicant who lost their mailbox cannot prove who they are by it).
APPLICANT_UPDATE_CHANGES = APPLICANT_CHANGEABLE + ("contact_email",)


@contract("applicant.updated", 1)
class ApplicantUpdatedV1(ApplicantSnapshot):
    """An applicant's record changed: the snapshot as it now stands, ``changes`` naming what
    changed, and the ids of their applications (drafts included), so a consumer that keeps
    applicant details per application (notify's recipients) updates them without an applicant
    id of its own. The applicant changes their own details; only the secretariat changes the
    sign-in address (``contact_email``), and then ``previous_contact_email`` is the address it
    replaced, so both mailboxes can be told. The type and the country never change this way."""
    updated_at = fields.AwareDateTime(required=True)
    changes = fields.List(fields.String(validate=validate.OneOf(APPLICANT_UPDATE_CHANGES)), required=True,
                          validate=validate.Length(min=1))
    application_ids = fields.List(fields.UUID(), required=True)
    # Optional and without a default: events without it (and consumers that predate it) still fit.
    previous_contact_email = fields.Email()

    @validates_schema
    def _previous_with_change(self, data, **kwargs):
        changed = "contact_email" in (data.get("changes") or [])
        if changed != ("previous_contact_email" in data):
            raise ValidationError("is required exactly when changes names contact_email",
                                  "previous_contact_email")


class ProjectFacts(Schema):
    location = fields.String(load_default="", validate=validate.Length(max=300))
    start_date = fields.String(load_default="", validate=validate.Length(max=10))
    budget = fields.String(load_default="", validate=validate.Length(max=100))
    partners = fields.String(load_default="", validate=validate.Length(max=5000))


class SubmittedDocument(Schema):
    """A checked document: where its bytes are in object storage and what they hash to."""
    id = fields.UUID(required=True)
    kind = fields.String(required=True, validate=validate.Length(min=1, max=50))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=255))
    content_type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    sha256 = fields.String(required=True, validate=validate.Length(equal=64))
    storage_key = fields.String(required=True, validate=validate.Length(min=1, max=500))


@contract("application.submitted", 1)
class ApplicationSubmittedV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    summary = fields.String(required=True, validate=validate.Length(max=5000))
    submitted_at = fields.AwareDateTime(required=True)
    applicant = fields.Nested(ApplicantSnapshot, required=True)
    # The frozen content, for the jurors (review keeps it; intake never changes it after this).
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                          values=fields.String(validate=validate.Length(max=100_000)), load_default=dict)
    project = fields.Nested(ProjectFacts, load_default=lambda: {"location": "", "start_date": "", "budget": "",
                                                                "partners": ""})
    documents = fields.List(fields.Nested(SubmittedDocument), load_default=list)
    # When the call closes for this applicant (a deadline exception moves it), and the call's
    # time zone: the acknowledgement says what happens next and when. Optional (no default).
    closes_at = fields.AwareDateTime()
    time_zone = fields.String(validate=validate.Length(min=1, max=64))
    # The application's status page, where its owner reads the stages and downloads the PDF of
    # the submission: the acknowledgement links to it. Optional (no default).
    status_url = fields.Url(require_tld=False, schemes={"http", "https"})


@contract("application.withdrawn", 1)
class ApplicationWithdrawnV1(Schema):
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True)
    reason = fields.String(load_default="", validate=validate.Length(max=2000))
    withdrawn_at = fields.AwareDateTime(required=True)


SIGNIN_AUDIENCES = ("applicant", "juror", "staff")
# Why a link is mailed, when it is not simply because someone asked to sign in: "already_registered"
# is a registration for an address that has an applicant already (the answer to the registration
# does not tell, so the email does: you are registered, here is a way in).
SIGNIN_REASONS = ("already_registered", "staff_invited")


@contract("signin.requested", 1, also_by=("review",))  # review: an invited juror's sign-in
class SignInRequestedV1(Schema):
    """Someone asked to sign in as this applicant or juror: notify mails the one-time link or code.

    ``url`` is the one-time link for purpose ``browser``; for ``api`` it is where to exchange
    ``code`` for a bearer token. Either way the secret travels only to the contact address.
    Exactly one of ``applicant_id`` (intake's applicants) and ``juror_id`` (review's jurors)
    names who; ``audience`` says which of the two it is, ``applicant`` when left out (as in the
    events from before jurors signed in). Despite this module's name, review produces the
    events of jurors (shared.signin sends both). ``staff_id`` (audience ``staff``) is a member of
    the secretariat signing in to the staff pages, or invited to (reason ``staff_invited``).
    """
    applicant_id = fields.UUID()
    juror_id = fields.UUID()
    staff_id = fields.UUID()
    audience = fields.String(load_default="applicant", validate=validate.OneOf(SIGNIN_AUDIENCES))
    email = fields.Email(required=True)
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    purpose = fields.String(required=True, validate=validate.OneOf(("browser", "api")))
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})
    code = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    expires_at = fields.AwareDateTime(required=True)
    # Optional and without a default: events without it (and consumers that predate it) still fit.
    reason = fields.String(validate=validate.OneOf(SIGNIN_REASONS))
    # a staff invitation's: who invited them, as what
    invited_by = fields.String(validate=validate.Length(min=1, max=300))
    role = fields.String(validate=validate.OneOf(STAFF_ROLES))

    @validates_schema
    def _one_subject(self, data, **kwargs):
        given = [name for name in ("applicant_id", "juror_id", "staff_id") if data.get(name) is not None]
        if len(given) != 1:
            raise ValidationError("exactly one of applicant_id, juror_id and staff_id is required", "_schema")
        expected = given[0][:-len("_id")]
        if data.get("audience", "applicant") != expected:
            raise ValidationError(f"must be {expected!r} for an event with {given[0]}", "audience")


class MissingItem(Schema):
    """One thing that still stops a draft's submission: ``key`` as the API names it (``title``,
    ``answers.<criterion>``, ``documents.<kind>``), ``title`` to show, ``over_limit`` when the
    answer is there but over its word limit."""
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    over_limit = fields.Boolean(load_default=False)


@contract("application.draft_reminder", 1)
class ApplicationDraftReminderV1(Schema):
    """An application is still a draft as the applicant's closing time nears: one event per
    application and reminder (``reminder`` names which one, e.g. "7d" for seven days before).
    ``closes_at`` is the applicant's own closing time (a deadline exception moves it), in UTC;
    ``time_zone`` is the call's, to show it as the call announced it."""
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(load_default="", validate=validate.Length(max=300))  # a draft may have none yet
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    closes_at = fields.AwareDateTime(required=True)
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reminder = fields.String(required=True, validate=validate.Length(min=1, max=20))
    missing = fields.List(fields.Nested(MissingItem), required=True)
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})


# The award ceremony. Intake invites (released finalists, winners and special mentions), takes the
# answers and reminds those who have not answered; notify mails each of these.

CEREMONY_BASES = ("finalist", "award")


class CeremonyDetails(Schema):
    """When and where, as the secretariat set it; ``time_zone`` is the venue's."""
    starts_at = fields.AwareDateTime(required=True)
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    venue = fields.String(required=True, validate=validate.Length(min=1, max=300))
    address = fields.String(load_default="", validate=validate.Length(max=1000))
    details = fields.String(load_default="", validate=validate.Length(max=5000))
    rsvp_by = fields.AwareDateTime(required=True)


class CeremonyGuest(Schema):
    """Who an invitation, an answer or a reminder is for."""
    application_id = fields.UUID(required=True)
    reference = fields.String(required=True, validate=validate.Length(min=1, max=40))
    call_id = fields.UUID(required=True)
    year = fields.Integer(required=True, strict=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=300))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    ceremony = fields.Nested(CeremonyDetails, required=True)
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"})  # the answer page


@contract("ceremony.invited", 1)
class CeremonyInvitedV1(CeremonyGuest):
    """An application is invited to the ceremony. ``basis`` is "finalist" for every released
    finalist (it says nothing of the award, which the award round's release tells), "award" for
    a released winner or special mention that was not invited as a finalist."""
    basis = fields.String(required=True, validate=validate.OneOf(CEREMONY_BASES))
    invited_at = fields.AwareDateTime(required=True)


class Attendee(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.String(load_default="", validate=validate.Length(max=200))
    email = fields.Email(load_default=None, allow_none=True)


@contract("ceremony.rsvp_received", 1)
class CeremonyRsvpReceivedV1(CeremonyGuest):
    """An invited applicant answered (or changed their answer: ``revision`` counts them)."""
    attending = fields.Boolean(required=True)
    delegates = fields.List(fields.Nested(Attendee), required=True)
    substitute = fields.Nested(Attendee, load_default=None, allow_none=True)
    accessibility = fields.String(load_default="", validate=validate.Length(max=2000))
    visa_letter = fields.Boolean(required=True)
    visa_details = fields.String(load_default="", validate=validate.Length(max=2000))
    comments = fields.String(load_default="", validate=validate.Length(max=2000))
    revision = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    answered_at = fields.AwareDateTime(required=True)


@contract("ceremony.rsvp_reminder", 1)
class CeremonyRsvpReminderV1(CeremonyGuest):
    """No answer yet: ``reminder`` is "1d" (the day before ``rsvp_by``) or "overdue" (it passed)."""
    reminder = fields.String(required=True, validate=validate.OneOf(("1d", "overdue")))


CEREMONY_CHANGES = ("starts_at", "time_zone", "venue", "address", "rsvp_by")


@contract("ceremony.changed", 1)
class CeremonyChangedV1(CeremonyGuest):
    """The secretariat changed the ceremony after this application was invited: ``changes`` names
    what changed (the new values are in ``ceremony``)."""
    changes = fields.List(fields.String(validate=validate.OneOf(CEREMONY_CHANGES)), required=True,
                          validate=validate.Length(min=1))


# --- staff: intake keeps the list; review and notify keep copies (shared.staff) ---

@contract("staff.changed", 1)
class StaffChangedV1(Schema):
    """A staff member was added or changed (name, language, role, deactivated or back): the
    whole state, with ``version`` counting the changes so a late copy never wins. Every service
    ends a deactivated member's sessions and API tokens on receipt."""
    staff_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))
    active = fields.Boolean(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    changed_by = fields.String(required=True, validate=validate.Length(min=1, max=300))


@contract("staff.token_changed", 1)
class StaffTokenChangedV1(Schema):
    """A member's personal API token was created or revoked. Only the token's SHA-256 travels:
    each service checks the tokens it is sent against it."""
    token_id = fields.UUID(required=True)
    staff_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    token_hash = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))
    expires_at = fields.AwareDateTime(required=True)
    revoked = fields.Boolean(required=True)


@contract("staff.signed_out", 1)
class StaffSignedOutV1(Schema):
    """Someone signed out of the staff pages: every service ends its sessions of that sign-in
    (``family``). ``staff_id`` is the member's id, or ``operator:<name>``."""
    staff_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family = fields.String(required=True, validate=validate.Length(min=1, max=36))


class MessageRecipient(Schema):
    email = fields.Email(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=200))
    organisation = fields.String(load_default="", validate=validate.Length(max=300))
    reference = fields.String(load_default="", validate=validate.Length(max=40))
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    # an application's contact: notify uses the address it holds now (it follows applicant.updated)
    application_id = fields.UUID(load_default=None, allow_none=True)


@contract("message.addressed", 1, also_by=("review",))  # review: the groups its decisions make
class MessageAddressedV1(Schema):
    """The members of a group email's audience, in parts of at most MESSAGE_PART_SIZE; or why there
    are none to give (``refused``: e.g. finalists before their round is released)."""
    message_id = fields.UUID(required=True)
    audience = fields.String(required=True, validate=validate.OneOf(MESSAGE_AUDIENCES))
    part = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    parts = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000))
    recipients = fields.List(fields.Nested(MessageRecipient), required=True,
                             validate=validate.Length(max=MESSAGE_PART_SIZE))
    refused = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ErasedContent(Schema):
    """A kept application's content as intake holds it after the erasure: the people taken out."""
    application_id = fields.UUID(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    summary = fields.String(required=True, validate=validate.Length(max=5000))
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                          values=fields.String(validate=validate.Length(max=100_000)), required=True)
    project = fields.Nested(ProjectFacts, required=True)


@contract("applicant.erased", 1)
class ApplicantErasedV1(Schema):
    """The secretariat approved an applicant's request to erase their personal data (GDPR
    Art. 17, PIPA Art. 36); intake has erased its part. No personal data travels: ids, and each
    submitted application's content as intake now holds it (``applications``: its people's names
    and addresses taken out, an individual's content blanked), which consumers put in place of
    their copies; each consumer finds the person's addresses in its own rows (by these
    applications) and takes them out, keeping scores and decisions. ``applicant_type`` tells
    whether the organisation is a person (``individual``: their name, erased too) or an
    organisation (kept, for statistics). ``application_ids`` lists every application the
    applicant had, drafts (deleted) included."""
    applicant_id = fields.UUID(required=True)
    applicant_type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    application_ids = fields.List(fields.UUID(), required=True)
    applications = fields.List(fields.Nested(ErasedContent), required=True)
    request_id = fields.UUID(required=True)
    erased_at = fields.AwareDateTime(required=True)
