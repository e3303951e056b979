"""Applicant accounts: registration, and passwordless sign-in for applicants.

Nobody gets a credential by registering: whoever registers an address, only the person who
reads its mailbox can sign in. The sign-in machinery (one-time links and codes, server-side
sessions, API tokens, rate limits, CSRF) is shared.signin's; here it is configured for
applicants: how to find one by email and what the signin.requested event says about them.
"""
from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.events import make_event
from shared.outbox import record
from shared.signin import (IssuedLink, LinkRefused, RateLimited, SessionInfo, SignIn, client_address,
                           csrf_token, current_session, form_csrf_ok, utcnow)

from . import domain
from .models import Applicant, outbox, signin_tables
from .schemas import ApplicantCreate, ApplicantOut

__all__ = ["AlreadyRegistered", "LinkRefused", "RateLimited", "SessionInfo", "blueprints", "csrf_token",
           "current_session", "form_csrf_ok", "init_app", "load_principal", "page_blueprints",
           "register_applicant", "request_link"]

PRODUCER = "intake"
ACCEPTED = ("If this address belongs to a registered applicant, a sign-in message is on its way to it. "
            "Its link or code works once, within 15 minutes.")


def _db():
    return current_app.extensions["prize"]["db"]


def _find_applicant(s, email: str) -> Applicant | None:
    return s.scalar(select(Applicant).where(Applicant.contact_email == email))


def _signin_event(applicant: Applicant, link: IssuedLink) -> dict:
    return {"applicant_id": applicant.id, "email": applicant.contact_email,
            "contact_name": applicant.contact_name, "language": applicant.language, **link.event_fields()}


applicant_signin = SignIn(
    role="applicant", tables=signin_tables, outbox=outbox, producer=PRODUCER,
    find_subject=_find_applicant, event_data=_signin_event, import_name=__name__,
    accepted_message=ACCEPTED, address_error="Enter the email address you registered with.",
    after_signin="/portal", after_logout="/")

signin = applicant_signin.api  # POST /api/signin, POST /api/signin/token, DELETE /api/session
pages = applicant_signin.pages  # /signin, /signin/<token>, /logout
load_principal = applicant_signin.load_principal
request_link = applicant_signin.request_link
init_app = applicant_signin.init_app

applicants = Blueprint("applicants", __name__, url_prefix="/api/applicants", description="Applicant accounts")


class AlreadyRegistered(Exception):
    pass


def register_applicant(data: dict) -> Applicant:
    """Register an applicant and mail a sign-in link to its contact (the API and the page)."""
    applicant = Applicant(id=str(uuid.uuid4()), created_at=utcnow(), **data)
    applicant.contact_email = applicant.contact_email.lower()
    client = client_address()
    try:
        with _db().session() as s, s.begin():
            applicant_signin.check_rate(s, None, client)
            if s.scalar(select(Applicant.id).where(Applicant.contact_email == applicant.contact_email)):
                raise AlreadyRegistered("an applicant with this contact email is already registered")
            s.add(applicant)
            s.flush()
            record(s, outbox, make_event("applicant.registered", {
                **domain.applicant_snapshot(applicant), "registered_at": applicant.created_at,
            }, producer=PRODUCER, correlation_id=applicant.id))
            applicant_signin.issue_link(s, applicant, applicant.contact_email, "browser", client)
    except IntegrityError:
        raise AlreadyRegistered("an applicant with this contact email is already registered")
    return applicant


# --- JSON API ---------------------------------------------------------------------------------

@applicants.route("")
class ApplicantsView(MethodView):
    @applicants.arguments(ApplicantCreate)
    @applicants.response(201, ApplicantOut)
    @applicants.alt_response(429, description="too many sign-in links requested from this client")
    def post(self, data):
        """Register an applicant; a sign-in link goes to the contact email (no token is returned).

        Anyone could register someone else's address, so only its mailbox gets a way in.
        """
        try:
            return register_applicant(data)
        except RateLimited as exc:
            abort(429, message=exc.message, headers={"Retry-After": "900"})
        except AlreadyRegistered as exc:
            abort(409, message=str(exc))


blueprints = [applicants, signin]
page_blueprints = [pages]
