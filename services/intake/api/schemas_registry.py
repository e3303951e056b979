"""The schemas of the secretariat's registry API (api/registry.py): its query arguments and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from shared.events.common import APPLICANT_TYPES, CATEGORIES

from ..ops import registry


class RegistryArgs(Schema):
    """Search, filters, sort and page, as the Applications page takes them (all optional)."""
    q = fields.String(load_default="", validate=validate.Length(max=registry.MAX_TEXT), metadata={
        "description": "part of the organisation, contact name, contact email, reference or title (any case)"})
    year = fields.Integer(load_default=None, validate=validate.Range(min=2000, max=2100),
                          metadata={"description": "the edition; applicants without an application in it show "
                                                   "as registered"})
    category = fields.String(load_default="", validate=validate.OneOf(CATEGORIES))
    country = fields.String(load_default="", validate=validate.Regexp(r"^[A-Z]{2}$"),
                            metadata={"description": "ISO 3166 alpha-2"})
    region = fields.String(load_default="", validate=validate.OneOf(registry.REGIONS))
    type = fields.String(load_default="", validate=validate.OneOf(APPLICANT_TYPES))
    status = fields.String(load_default="", validate=validate.OneOf(registry.STATUSES), metadata={
        "description": "registered (no application), draft, submitted (any review stage), withdrawn, or a "
                       "review stage intake heard of"})
    sort = fields.String(load_default="activity", validate=validate.OneOf(registry.SORTS))
    direction = fields.String(load_default="desc", validate=validate.OneOf(registry.DIRECTIONS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=registry.MAX_PAGE),
                          metadata={"description": f"{registry.PAGE_SIZE} rows a page; past the last, the last"})


class RegistryRowOut(Schema):
    applicant_id = fields.String()
    application_id = fields.String(allow_none=True)
    reference = fields.String(allow_none=True)
    year = fields.Integer(allow_none=True)
    title = fields.String(allow_none=True)
    organisation = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    city = fields.String()
    country = fields.String()
    region = fields.String()
    type = fields.String()
    category = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "registered, draft, submitted or withdrawn"})
    stage = fields.String(allow_none=True, metadata={"description": "the latest review stage intake heard of"})
    completeness = fields.Integer(allow_none=True, metadata={"description": "percentage of the required parts "
                                                                            "filled (none without an application)"})
    submitted_at = fields.AwareDateTime(allow_none=True)
    last_activity = fields.AwareDateTime(allow_none=True)


class RegistryPageOut(Schema):
    items = fields.List(fields.Nested(RegistryRowOut))
    total = fields.Integer(metadata={"description": "rows matching, on every page"})
    page = fields.Integer()
    pages = fields.Integer()
    page_size = fields.Integer()


class RecordApplicant(Schema):
    id = fields.String()
    type = fields.String()
    organisation = fields.String()
    country = fields.String()
    city = fields.String()
    contact_name = fields.String()
    contact_email = fields.String()
    secondary_email = fields.String(allow_none=True)
    language = fields.String()


class RecordAnswer(Schema):
    key = fields.String()
    title = fields.String()
    text = fields.String()
    words = fields.Integer()
    word_limit = fields.Integer(allow_none=True)
    required = fields.Boolean()


class RecordDocument(Schema):
    id = fields.String()
    kind = fields.String()
    kind_title = fields.String()
    filename = fields.String()
    download_name = fields.String()
    content_type = fields.String()
    size = fields.Integer(allow_none=True)
    sha256 = fields.String(allow_none=True)
    status = fields.String()


class RecordStage(Schema):
    stage = fields.String()
    at = fields.AwareDateTime()
    detail = fields.String()
    released = fields.Boolean(metadata={"description": "shown to the applicant yet"})


class RecordOut(Schema):
    id = fields.String()
    reference = fields.String()
    status = fields.String()
    stage = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "submission: the application.submitted content; draft: the "
                                                   "live draft; frozen: the stored row"})
    call_id = fields.String()
    year = fields.Integer()
    theme = fields.String()
    category = fields.String()
    category_title = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    submitted_at = fields.AwareDateTime(allow_none=True)
    withdrawn_at = fields.AwareDateTime(allow_none=True)
    withdrawal_reason = fields.String()
    title = fields.String()
    summary = fields.String()
    project = fields.Dict(keys=fields.String(), values=fields.String())
    answers = fields.List(fields.Nested(RecordAnswer))
    applicant = fields.Nested(RecordApplicant, metadata={"description": "as submitted (a draft: as now)"})
    applicant_now = fields.Nested(RecordApplicant)
    applicant_changed = fields.List(fields.String())
    documents = fields.List(fields.Nested(RecordDocument))
    completeness = fields.Integer()
    missing = fields.List(fields.String())
    timeline = fields.List(fields.Nested(RecordStage))
