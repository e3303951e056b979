"""The sign-in JSON API's schemas (see docs/signin.md)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .common import PURPOSES


class SignInRequest(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    purpose = fields.String(load_default="browser", validate=validate.OneOf(PURPOSES),
                            metadata={"description": "browser: a link that opens a portal session; "
                                                     "api: a one-time code to exchange at /api/signin/token"})


class SignInAccepted(Schema):
    message = fields.String()


class TokenExchange(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200),
                          metadata={"description": "the one-time code from the sign-in email"})


class BearerToken(Schema):
    token = fields.String(metadata={"description": "send as Authorization: Bearer <token>; "
                                                   "DELETE /api/session revokes it"})
    expires_at = fields.AwareDateTime()

