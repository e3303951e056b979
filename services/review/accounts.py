"""Jurors' passwordless sign-in (the links in their invitations).

Interface used by the rest of review: ``invitation_link(session, juror, now) -> (url, expires_at)``.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from shared.auth import issue_token

INVITATION_VALID = timedelta(days=7)


def invitation_link(session, juror, now: datetime) -> tuple[str, datetime]:
    """A link that signs the juror in (first version: a signed juror token; the one-time link of
    shared.signin replaces it)."""
    settings = current_app.extensions["prize"]["settings"]
    token = issue_token(settings.secret_key, "juror", juror.id)
    return f"{settings.review_public_url}/jury?token={token}", now + INVITATION_VALID
