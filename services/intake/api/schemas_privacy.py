"""intake's API schemas of the privacy notices: an edition's notice as the API gives it (with the
calls, and alone), the secretariat's change of it, and its versions."""
from flask import current_app
from marshmallow import Schema, fields, validate

from ..ops.privacy import MAX_LENGTH, Notice, NoticeTerms


class PrivacyNoticeOut(Schema):
    call_id = fields.String(allow_none=True, metadata={"description": "the edition; null: the default notice, "
                                                                      "before any edition is published"})
    year = fields.Integer(allow_none=True)
    version = fields.Integer(metadata={"description": "goes up with every change; send it as privacy_consent"})
    default = fields.Boolean(metadata={"description": "true while the secretariat has not written its own notice"})
    text = fields.String(metadata={"description": "plain text: paragraphs separated by blank lines (English)"})
    sha256 = fields.String(metadata={"description": "of the text: kept with every consent to this version"})
    url = fields.String(metadata={"description": "the page where applicants read it, in their language"})
    changed_by = fields.String(allow_none=True)
    changed_at = fields.AwareDateTime(allow_none=True)


class PrivacyNoticeIn(Schema):
    text = fields.String(required=True, validate=validate.Length(max=MAX_LENGTH), metadata={
        "description": "plain text, paragraphs separated by blank lines; empty: back to the default notice"})
    version = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={
        "description": "the version this change replaces; another one is refused (409)"})


class PrivacyNoticeVersionOut(Schema):
    version = fields.Integer()
    text = fields.String(metadata={"description": "empty: the default notice"})
    changed_by = fields.String()
    changed_at = fields.AwareDateTime()


def notice_out(notice: Notice) -> dict:
    """The notice as PrivacyNoticeOut gives it: the text in English, the page's address."""
    settings = current_app.extensions["prize"]["settings"]
    terms = NoticeTerms.of(settings)
    page = f"{settings.public_url}/privacy" + (f"/{notice.year}" if notice.year else "")
    return {"call_id": notice.call_id, "year": notice.year, "version": notice.version, "default": notice.is_default,
            "text": notice.english(terms), "sha256": notice.digest(terms), "url": page,
            "changed_by": notice.changed_by, "changed_at": notice.changed_at}
