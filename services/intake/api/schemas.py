"""intake's API schemas: marshmallow, the single source of the OpenAPI description."""
from datetime import datetime, timezone
from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, pre_dump, pre_load, validate, validates_schema

from shared.events.common import APPLICANT_TYPES, CATEGORIES
from shared.events.intake import CategoryTerms
from shared.i18n import is_offered, language_name, offered_languages

from ..ops.regions import country_codes, is_country
from ..ops.consents import MISSING_AT_REGISTRATION
from ..ops.privacy import notice_of
from ..rules import SAME_ADDRESS
from .schemas_privacy import PrivacyNoticeOut, notice_out


# Far-off dates would overflow when converted to UTC (a 500); editions live in 2000-2100.
CALL_DATES = validate.Range(min=datetime(1999, 1, 1, tzinfo=timezone.utc),
                            max=datetime(2101, 12, 31, tzinfo=timezone.utc))
# The scale must fit the database's integers (SQLite raises OverflowError past 2**63).
SCORE = validate.Range(min=0, max=1000)
# The document lists the zones that ZoneInfo knows on this machine, the ones the checks below
# accept (no list at all where it knows none).
_ZONES = sorted(available_timezones())
TIME_ZONE_DOC = {"description": "an IANA time zone", **({"enum": _ZONES} if _ZONES else {})}


class CallCreate(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    theme = fields.String(required=True, validate=validate.Length(min=1, max=300))
    opens_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    closes_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    time_zone = fields.String(load_default="Asia/Seoul", validate=validate.Length(min=1, max=64),
                              metadata=TIME_ZONE_DOC)
    score_min = fields.Integer(load_default=1, strict=True, validate=SCORE)
    score_max = fields.Integer(load_default=10, strict=True, validate=SCORE)
    categories = fields.List(fields.Nested(CategoryTerms), validate=validate.Length(min=1))
    documents = fields.List(fields.Nested("DocumentTerms"))
    max_upload_bytes = fields.Integer(load_default=50 * 1024 * 1024, strict=True,
                                      validate=validate.Range(min=1, max=5 * 1024 ** 3))

    @validates_schema
    def _unique_keys(self, data, **kwargs):
        _check_call_terms({k: v for k, v in data.items() if k != "time_zone"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data["closes_at"] <= data["opens_at"]:
            raise ValidationError("must be after opens_at", "closes_at")
        if data["score_max"] <= data["score_min"]:
            raise ValidationError("must be greater than score_min", "score_max")
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(data["time_zone"])
        except Exception:
            raise ValidationError("is not a known IANA time zone", "time_zone")


class DocumentTerms(Schema):
    key = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$"))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    required = fields.Boolean(load_default=False)


def _check_call_terms(data):
    """Rules shared by creating a call and changing its terms (fields may be absent in a change)."""
    categories = data.get("categories") or []
    keys = [c["key"] for c in categories]
    if len(set(keys)) != len(keys):
        raise ValidationError("each category may appear only once", "categories")
    for c in categories:
        criteria = [x["key"] for x in c["criteria"]]
        if len(set(criteria)) != len(criteria):
            raise ValidationError(f"criterion keys must be unique within {c['key']}", "categories")
    docs = [d["key"] for d in data.get("documents") or []]
    if len(set(docs)) != len(docs):
        raise ValidationError("document keys must be unique", "documents")
    if "time_zone" in data:
        try:
            from zoneinfo import ZoneInfo
            ZoneInfo(data["time_zone"])
        except Exception:
            raise ValidationError("is not a known IANA time zone", "time_zone")


class CallChange(Schema):
    """New terms for a call; after opening a reason is required and the change is versioned."""
    theme = fields.String(validate=validate.Length(min=1, max=300))
    opens_at = fields.AwareDateTime(validate=CALL_DATES)
    closes_at = fields.AwareDateTime(validate=CALL_DATES)
    time_zone = fields.String(validate=validate.Length(min=1, max=64), metadata=TIME_ZONE_DOC)
    score_min = fields.Integer(strict=True, validate=SCORE)
    score_max = fields.Integer(strict=True, validate=SCORE)
    categories = fields.List(fields.Nested(CategoryTerms), validate=validate.Length(min=1))
    documents = fields.List(fields.Nested(DocumentTerms))
    max_upload_bytes = fields.Integer(strict=True, validate=validate.Range(min=1, max=5 * 1024 ** 3))
    reason = fields.String(validate=validate.Length(min=1, max=2000))

    @validates_schema
    def _terms(self, data, **kwargs):
        _check_call_terms(data)


class CallClose(Schema):
    """Close an opened edition now, before its closing time: the reason is kept with the version."""
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CallVersionOut(Schema):
    version = fields.Integer()
    changed_by = fields.String()
    changed_at = fields.AwareDateTime()
    reason = fields.String()
    terms = fields.Dict()


class ExceptionCreate(Schema):
    applicant_id = fields.UUID(required=True)
    closes_at = fields.AwareDateTime(required=True, validate=CALL_DATES)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ExceptionOut(Schema):
    id = fields.String()
    call_id = fields.String()
    applicant_id = fields.String()
    closes_at = fields.AwareDateTime()
    reason = fields.String()
    granted_by = fields.String()
    granted_at = fields.AwareDateTime()
    revoked_at = fields.AwareDateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class CallOut(Schema):
    id = fields.String()
    year = fields.Integer()
    theme = fields.String()
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    time_zone = fields.String()
    score_min = fields.Integer()
    score_max = fields.Integer()
    status = fields.String()
    categories = fields.List(fields.Nested(CategoryTerms))
    documents = fields.List(fields.Nested("DocumentTerms"))
    max_upload_bytes = fields.Integer()
    version = fields.Integer()
    privacy_notice = fields.Nested(PrivacyNoticeOut, metadata={"description": "the edition's privacy notice"})

    @pre_dump
    def _with_privacy_notice(self, call, **kwargs):
        return _WithNotice(call)


class _WithNotice:
    """A call as CallOut dumps it: its columns, and its privacy notice as the API gives it."""

    def __init__(self, call):
        self._call, self.privacy_notice = call, notice_out(notice_of(call))

    def __getattr__(self, name):
        return getattr(self._call, name)


class Country(validate.Validator):
    """An ISO 3166-1 alpha-2 country code (the pages offer them by name)."""
    error = "must be an ISO 3166 alpha-2 country code such as KR"

    @property
    def choices(self) -> list[str]:  # the OpenAPI document lists them
        return sorted(country_codes())

    def __call__(self, value):
        if not is_country(value):
            raise ValidationError(self.error)
        return value


class OfferedLanguage(validate.Validator):
    """A language the pages are translated into (shared.i18n.offered_languages, read at each
    call): emails and pages in any other would silently be English."""

    @property
    def choices(self) -> list[str]:
        return list(offered_languages())

    def __call__(self, value):
        if not is_offered(value):
            offered = ", ".join(f"{code} ({language_name(code)})" for code in offered_languages())
            raise ValidationError(f"{value[:20]} is not offered: the portal has no complete translation into it; "
                                  f"the languages offered are {offered}")
        return value


class ApplicantCreate(Schema):
    type = fields.String(required=True, validate=validate.OneOf(APPLICANT_TYPES))
    organisation = fields.String(required=True, validate=validate.Length(min=1, max=300))
    country = fields.String(required=True, validate=Country())
    city = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_email = fields.Email(required=True, validate=validate.Length(max=320))
    secondary_email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=320))
    secondary_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=200))
    language = fields.String(load_default="en", validate=OfferedLanguage())
    privacy_consent = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1),
        error_messages={"required": MISSING_AT_REGISTRATION},
        metadata={"description": "the version of the privacy notice (GET /api/privacy-notice) the person read and "
                                 "agrees to; another version than the current one is refused (422)"})

    @validates_schema
    def _two_contacts(self, data, **kwargs):
        second, first = data.get("secondary_email"), data.get("contact_email")
        if second and first and second.strip().lower() == first.strip().lower():
            raise ValidationError(SAME_ADDRESS, "secondary_email")


# What an applicant may not change of their own record, and why (each is a 422 naming the field).
FIXED_APPLICANT_FIELDS = {
    "type": "cannot be changed: it decides the categories you may apply in; write to the secretariat",
    "country": "cannot be changed after registration; write to the secretariat",
    "contact_email": "cannot be changed here: it is the address you sign in with; write to the secretariat",
}


class ApplicantUpdate(ApplicantCreate):
    """An applicant's changes to their own record: any of these fields, each validated as at
    registration; ``null`` clears the second contact."""
    class Meta:
        exclude = tuple(FIXED_APPLICANT_FIELDS) + ("privacy_consent",)  # given once, at registration

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)  # only what is sent changes (and no defaults fill in)
        super().__init__(*args, **kwargs)

    @pre_load
    def _refuse_fixed_fields(self, data, **kwargs):
        if isinstance(data, dict):
            errors = {name: [message] for name, message in FIXED_APPLICANT_FIELDS.items() if name in data}
            if errors:
                raise ValidationError(errors)
        return data


class ContactEmailChange(Schema):
    """The secretariat moves an applicant's sign-in address (the officer left, the mailbox is
    gone): the reason is required, since it hands the account to whoever reads the new one."""
    contact_email = fields.Email(required=True, validate=validate.Length(max=320))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ContactChangeOut(Schema):
    id = fields.String()
    applicant_id = fields.String()
    old_email = fields.String()
    new_email = fields.String()
    reason = fields.String()
    changed_by = fields.String()
    changed_at = fields.AwareDateTime()


class ApplicantOut(Schema):
    id = fields.String()
    type = fields.String()
    organisation = fields.String()
    country = fields.String()
    city = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    secondary_email = fields.String(allow_none=True)
    secondary_name = fields.String(allow_none=True)
    language = fields.String()
    region = fields.String(metadata={"description": "the WeGO region of the country (asia_pacific, europe, "
                                                    "latin_america, ...; other)"})


class ApplicationCreate(Schema):
    call_id = fields.UUID(required=True)
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    title = fields.String(load_default="", validate=validate.Length(max=300))
    summary = fields.String(load_default="", validate=validate.Length(max=5000))


def _iso_date(value: str) -> bool:
    from datetime import date
    try:
        if len(value) != 10:  # fromisoformat also takes 20260301, which the form never means
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValidationError("must be a date as YYYY-MM-DD")
    return True


class ApplicationUpdate(Schema):
    title = fields.String(validate=validate.Length(max=300))
    summary = fields.String(validate=validate.Length(max=5000))
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=50)),
                          values=fields.String(validate=validate.Length(max=100_000)),
                          metadata={"description": "criterion key → answer; keys given replace, others stay"})
    location = fields.String(validate=validate.Length(max=300))
    # An autosave sends the field as it stands, so empty (not yet filled) must be accepted.
    start_date = fields.String(validate=lambda v: v == "" or _iso_date(v),
                               metadata={"description": "ISO date, YYYY-MM-DD, or empty",
                                         "anyOf": [{"format": "date"}, {"maxLength": 0}]})
    budget = fields.String(validate=validate.Length(max=100))
    partners = fields.String(validate=validate.Length(max=5000))
    revision = fields.Integer(strict=True, metadata={
        "description": "the revision this save was based on; a stale one is refused with 409"})


class Withdrawal(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=2000))


class AnswerCount(Schema):
    key = fields.String()
    title = fields.String()
    guidance = fields.List(fields.String())
    words = fields.Integer()
    word_limit = fields.Integer(allow_none=True)
    required = fields.Boolean()


class Stage(Schema):
    stage = fields.String()
    at = fields.AwareDateTime()
    detail = fields.String()


class StatusOut(Schema):
    application_id = fields.String()
    reference = fields.String()
    status = fields.String()
    stages = fields.List(fields.Nested(Stage))


class ApplicationOut(Schema):
    id = fields.String()
    reference = fields.String()
    call_id = fields.String()
    applicant_id = fields.String()
    category = fields.String()
    title = fields.String()
    summary = fields.String()
    status = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    missing = fields.List(fields.String(), metadata={"description": "what is still needed to submit"})
    answers = fields.Dict(keys=fields.String(), values=fields.String())
    location = fields.String()
    start_date = fields.String()
    budget = fields.String()
    partners = fields.String()
    revision = fields.Integer()
    withdrawn_at = fields.AwareDateTime(allow_none=True)
    withdrawal_reason = fields.String()
    completeness = fields.Integer(metadata={"description": "percentage of the required parts filled"})
    criteria = fields.List(fields.Nested(AnswerCount), metadata={
        "description": "each criterion's guidance, word count and limit"})
