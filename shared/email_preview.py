"""Signed links to notify's preview of an email that is about to be caused.

A service that is about to cause an email (review screening an application, releasing a round)
shows the secretariat that email as notify will send it: to whom, in which language, in the
edition's own wording. The services never call each other, so the page that asks for the
confirmation embeds notify's preview page in an iframe, and the browser fetches it. The link
carries what notify needs (the template, the application, the variables the event will carry),
signed with the shared secret key so that nobody can make notify render anything else, and it
expires: a preview is for the minutes before a click.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "prize.email-preview"
MAX_AGE = 30 * 60  # seconds: a preview page left open for a while still shows its emails


@dataclass(frozen=True)
class Preview:
    """One email to show: ``template`` to the applicant of ``application_id`` with ``variables``
    (what the event will add to the recipient's own details, e.g. eligible and reason)."""
    template: str
    application_id: str
    variables: dict = field(default_factory=dict)


class PreviewRefused(Exception):
    """The link is not ours, has been changed, or is too old."""


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=SALT)


def make_token(secret_key: str, preview: Preview) -> str:
    return _serializer(secret_key).dumps({"t": preview.template, "a": str(preview.application_id),
                                          "v": dict(preview.variables)})


def read_token(secret_key: str, token: str, max_age: int = MAX_AGE) -> Preview:
    try:
        data = _serializer(secret_key).loads(token, max_age=max_age)
    except BadData as exc:
        raise PreviewRefused("this preview link is not valid or has expired: reload the page that showed it") from exc
    if not (isinstance(data, dict) and isinstance(data.get("t"), str) and isinstance(data.get("a"), str)
            and isinstance(data.get("v"), dict)):
        raise PreviewRefused("this preview link is not valid")
    return Preview(data["t"], data["a"], data["v"])


def preview_url(settings, preview: Preview) -> str:
    """notify's page showing ``preview``, for an iframe on another service's page."""
    return f"{settings.notify_public_url.rstrip('/')}/preview/{make_token(settings.secret_key, preview)}"
