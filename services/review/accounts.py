"""Jurors' passwordless sign-in: shared.signin configured for jurors.

The secretariat invites a juror (services/review/ops/jurors.py); the invitation carries a one-time
link valid for a week. Afterwards a juror asks for a new link at /signin (or a code for the
API at POST /api/signin) with the address they were invited with; notify mails it. A juror
the secretariat deactivated cannot sign in, and their open sessions stop working.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from shared.i18n import _l
from shared.signin import IssuedLink, SignIn

from .models import Juror, outbox, signin_tables

PRODUCER = "review"
INVITATION_VALID = timedelta(days=7)
# Lazy: the sign-in page says them in the visitor's language; the API (always English) says the same.
ACCEPTED = _l("If this address belongs to an invited juror, a sign-in message is on its way to it. "
              "Its link or code works once, within 15 minutes.")
ADDRESS_ERROR = _l("Enter the email address you were invited with.")


def _find_juror(s, email: str) -> Juror | None:
    return s.scalar(select(Juror).where(Juror.email == email, Juror.active.is_(True)))


def _signin_event(juror: Juror, link: IssuedLink) -> dict:
    return {"juror_id": juror.id, "audience": "juror", "email": juror.email, "contact_name": juror.name,
            "language": juror.language, **link.event_fields()}


jury_signin = SignIn(
    role="juror", tables=signin_tables, outbox=outbox, producer=PRODUCER,
    find_subject=_find_juror, event_data=_signin_event, import_name=__name__,
    accepted_message=ACCEPTED, address_error=ADDRESS_ERROR,
    after_signin="/jury", after_logout="/signin", public_url_setting="review_public_url",
    cookie_name="prize_jury_session")

blueprints = [jury_signin.api]  # POST /api/signin, POST /api/signin/token, DELETE /api/session
page_blueprints = [jury_signin.pages]  # /signin, /signin/<token>, /logout
init_app = jury_signin.init_app


def invitation_link(session, juror: Juror, now: datetime) -> tuple[str, datetime]:
    """A one-time sign-in link for the invitation (a week to use it), stored in the caller's
    transaction; the invitation email itself carries it (no separate sign-in email)."""
    link = jury_signin.issue_link(session, juror, juror.email, "browser", "invitation",
                                  lifetime=INVITATION_VALID, announce=False)
    return link.url, link.expires_at
