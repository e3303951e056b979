from marshmallow import Schema, fields, post_dump, validate

from ..ops.deliveries import STATUSES as DELIVERY_STATUSES
from ..ops.masking import mask_signin_secrets
from ..ops.template_catalogue import AUDIENCES


class DeliveryQuery(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    recipient = fields.Email()
    template = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class DeliveryOut(Schema):
    id = fields.String()
    key = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    template = fields.String()
    language = fields.String()
    recipient = fields.String()
    subject = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    provider_message_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)
    requested_by = fields.String(allow_none=True, metadata={"description": "a resend's: who pressed Resend"})

    @post_dump
    def _mask_signin_secrets(self, data, **kwargs):
        """A sign-in link or code in what the secretariat reads still works: masked (the
        bodies are not in this API at all)."""
        for key in ("subject", "last_error"):
            if data.get(key):
                data[key] = mask_signin_secrets(data[key])
        return data


class DeliveryPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(DeliveryOut))


SUPPRESSION_REASONS = ("bounce", "complaint", "failed")


class SuppressionQuery(Schema):
    reason = fields.String(validate=validate.OneOf(SUPPRESSION_REASONS))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class SuppressionOut(Schema):
    email = fields.String()
    reason = fields.String()
    detail = fields.String(allow_none=True)
    source_message_id = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()


class SuppressionPage(Schema):
    total = fields.Integer()
    items = fields.List(fields.Nested(SuppressionOut))


class TemplateEditionOut(Schema):
    edition = fields.Integer()
    version = fields.Integer()
    updated_at = fields.AwareDateTime()
    updated_by = fields.String()


class TemplateLanguageOut(Schema):
    language = fields.String()
    overridden = fields.List(fields.Nested(TemplateEditionOut),
                             metadata={"description": "the editions with a stored override, latest first"})


class TemplateVariableOut(Schema):
    name = fields.String(metadata={"description": "as written in a wording: {{ name }}"})
    description = fields.String()


class TemplateOut(Schema):
    name = fields.String(metadata={"description": "the template's code name (its files' name)"})
    title = fields.String(metadata={"description": "what people call it, e.g. Finalist notice"})
    purpose = fields.String(metadata={"description": "what it is for and who gets it"})
    audience = fields.String(validate=validate.OneOf(tuple(AUDIENCES)))  # the catalogue's, in its order
    events = fields.List(fields.String(), metadata={"description": "the events that send it (none: notify's own alert)"})
    variables = fields.List(fields.Nested(TemplateVariableOut))
    languages = fields.List(fields.Nested(TemplateLanguageOut))


class TemplateList(Schema):
    items = fields.List(fields.Nested(TemplateOut))


class PreviewQuery(Schema):
    edition = fields.Integer(validate=validate.Range(min=2000, max=2999),
                             metadata={"description": "the call year; its override is used if there is one"})


class PreviewOut(Schema):
    template = fields.String()
    language = fields.String()
    edition = fields.Integer(allow_none=True)
    overridden = fields.Boolean(metadata={"description": "rendered from the stored override, not the file"})
    subject = fields.String()
    text = fields.String()
    html = fields.String()


class OverrideIn(Schema):
    text_source = fields.String(required=True, metadata={"description": "Jinja2 with blocks subject and text"})
    html_source = fields.String(required=True, metadata={"description": "Jinja2 of the HTML body (autoescaped)"})


class OverrideOut(Schema):
    template = fields.String()
    language = fields.String()
    edition = fields.Integer()
    overridden = fields.Boolean(metadata={"description": "false: these are the file's sources"})
    text_source = fields.String()
    html_source = fields.String()
    version = fields.Integer(allow_none=True)
    updated_at = fields.AwareDateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)


class ResendOut(Schema):
    status = fields.String(metadata={"description": "the new delivery's status after trying to send it"})
    delivery = fields.Nested(DeliveryOut)
