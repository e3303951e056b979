"""The schemas of the prospects API (api/prospects.py): outreach's organisations, and the CSV import."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events.common import APPLICANT_TYPES, LANGUAGES
from shared.web import NotBlank

from ..ops import prospects
from ..ops.regions import country_codes
from .schemas import _iso_date


def _text(name: str, **kwargs):
    return fields.String(validate=validate.Length(max=prospects.LIMITS[name]), **kwargs)


class ProspectFields(Schema):
    organisation = fields.String(validate=[validate.Length(min=1, max=300), NotBlank()])
    applicant_type = fields.String(validate=validate.OneOf(APPLICANT_TYPES))
    city = _text("city")
    country = fields.String(validate=validate.OneOf(sorted(country_codes())),
                            metadata={"description": "ISO 3166 alpha-2; the region follows from it"})
    contact_name = _text("contact_name")
    email = fields.Email(validate=validate.Length(max=320), metadata={"description": "lower-cased; one prospect "
                                                                                  "an address (409 otherwise)"})
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    met_at = _text("met_at", metadata={"description": "the event where they were met"})
    met_on = fields.String(validate=lambda v: v == "" or _iso_date(v),
                           metadata={"description": "ISO date, YYYY-MM-DD, or empty",
                                     "anyOf": [{"format": "date"}, {"maxLength": 0}]})
    notes = _text("notes")
    owner = fields.Email(validate=validate.Length(max=320), metadata={
        "description": "the staff member who follows up; by default the caller"})
    call_id = fields.UUID(allow_none=True, metadata={"description": "the edition the outreach is for"})


class ProspectCreate(ProspectFields):
    organisation = fields.String(required=True, validate=[validate.Length(min=1, max=300), NotBlank()])
    country = fields.String(required=True, validate=validate.OneOf(sorted(country_codes())),
                            metadata={"description": "ISO 3166 alpha-2; the region follows from it"})
    email = fields.Email(required=True, validate=validate.Length(max=320),
                         metadata={"description": "lower-cased; one prospect an address (409 otherwise)"})


class ProspectChange(ProspectFields):
    version = fields.Integer(required=True, strict=True, metadata={
        "description": "the version read; a stale one is refused with 409 naming the version now"})


class OutreachInvitationOut(Schema):
    id = fields.String()
    year = fields.Integer()
    call_id = fields.String()
    sent_at = fields.AwareDateTime()
    sent_by = fields.String()
    expires_at = fields.AwareDateTime()
    used_at = fields.AwareDateTime(allow_none=True)
    applicant_id = fields.String(allow_none=True)


class ProspectOut(Schema):
    id = fields.String()
    organisation = fields.String()
    applicant_type = fields.String()
    city = fields.String()
    country = fields.String()
    region = fields.String()
    contact_name = fields.String()
    email = fields.String()
    language = fields.String()
    met_at = fields.String()
    met_on = fields.String()
    notes = fields.String()
    owner = fields.String()
    call_id = fields.String(allow_none=True)
    year = fields.Integer(allow_none=True, metadata={"description": "the edition's year"})
    status = fields.String(metadata={"description": "met, invited, registered or opted_out"})
    applicant_id = fields.String(allow_none=True)
    opted_out_at = fields.AwareDateTime(allow_none=True)
    version = fields.Integer()
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    updated_at = fields.AwareDateTime()
    updated_by = fields.String()


class ProspectDetailOut(ProspectOut):
    invitations = fields.List(fields.Nested(OutreachInvitationOut))
    applicant = fields.Dict(allow_none=True, metadata={"description": "the applicant it became: id, "
                                                                      "organisation, contact_email"})


class ProspectArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=prospects.MAX_TEXT), metadata={
        "description": "part of the organisation, contact name, email or city (any case)"})
    call_id = fields.String(load_default="", validate=validate.Length(max=36), metadata={"description": "edition"})
    region = fields.String(load_default="", validate=validate.OneOf(prospects.REGIONS))
    country = fields.String(load_default="", validate=validate.Regexp(r"^[A-Z]{2}$"))
    owner = fields.String(load_default="", validate=validate.Length(max=prospects.MAX_TEXT))
    met_at = fields.String(load_default="", validate=validate.Length(max=prospects.MAX_TEXT),
                           metadata={"description": "the event where they were met, exactly"})
    status = fields.String(load_default="", validate=validate.OneOf(prospects.STATUSES))
    sort = fields.String(load_default="updated", validate=validate.OneOf(prospects.SORTS))
    direction = fields.String(load_default="desc", validate=validate.OneOf(prospects.DIRECTIONS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=prospects.MAX_PAGE),
                          metadata={"description": f"{prospects.PAGE_SIZE} a page; past the last, the last"})


class ProspectPageOut(Schema):
    items = fields.List(fields.Nested(ProspectOut))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
    page_size = fields.Integer()


class ImportArgs(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "1: the preview only (nothing stored); else store the new lines of the preview whose "
                       "fingerprint is sent"})


class ImportIn(Schema):
    csv = fields.String(validate=validate.Length(max=900_000), metadata={"description": "the CSV as text"})
    content_base64 = fields.String(validate=validate.Length(max=1_000_000), metadata={
        "description": "or the file's bytes in base64 (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1252)"})
    call_id = fields.UUID(allow_none=True, metadata={"description": "the edition the outreach is for"})
    fingerprint = fields.String(validate=validate.Length(max=100), metadata={
        "description": "the preview's fingerprint; required to store"})


class ImportProblemOut(Schema):
    line = fields.Integer()
    status = fields.String(metadata={"description": "existing, duplicate or error"})
    organisation = fields.String()
    email = fields.String()
    reasons = fields.List(fields.String())
    prospect_id = fields.String(metadata={"description": "existing: the prospect with this address"})
    duplicate_of = fields.Integer(metadata={"description": "duplicate: the earlier line"})


class ImportNewOut(Schema):
    line = fields.Integer()
    organisation = fields.String()
    email = fields.String()
    country = fields.String()


class ImportOut(Schema):
    encoding = fields.String()
    encoding_label = fields.String()
    columns = fields.List(fields.String())
    ignored_columns = fields.List(fields.String())
    call_id = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    fingerprint = fields.String()
    problems = fields.List(fields.Nested(ImportProblemOut), metadata={"description": "every line not stored"})
    new = fields.List(fields.Nested(ImportNewOut), metadata={"description": "the new lines"})
    created = fields.Integer(metadata={"description": "when storing: how many prospects were created"})
