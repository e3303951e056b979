"""Applicant accounts: passwordless sign-in, configured for applicants (registration and the
applicant's own record are ops/applicants.py, their views api/applicant.py and api/secretariat.py).

Nobody gets a credential by registering: whoever registers an address, only the person who
reads its mailbox can sign in. Nor does registration tell who is registered: a new address and
a registered one get the same answer (the registered one's mailbox gets a sign-in link). The
sign-in machinery (one-time links and codes, server-side sessions, API tokens, rate limits,
CSRF) is shared.signin's; here it is configured for applicants: how to find one by email and
what the signin.requested event says about them. An applicant reads and changes only their own
record (``/api/applicants/me``, or its id; any other id is a 404 like a missing one), but not
the address they sign in with: only the secretariat moves that (``PUT
/api/applicants/{id}/contact-email``), with a reason, and each move is kept.
"""
from __future__ import annotations

from shared.i18n import _l
from shared.signin import (LinkRefused, RateLimited, SessionInfo, SignIn, client_address, csrf_token,
                           current_session, form_csrf_ok)

from .models import outbox, signin_tables
from .ops.applicants import PRODUCER, signin_event, signin_subject

__all__ = ["applicant_signin", "blueprints", "client_address", "csrf_token", "current_session",
           "form_csrf_ok", "init_app", "LinkRefused", "load_principal", "page_blueprints", "RateLimited",
           "request_link", "SessionInfo"]

ACCEPTED = ("If this address belongs to a registered applicant, a sign-in message is on its way to it. "
            "Its link or code works once, within 15 minutes.")

applicant_signin = SignIn(
    role="applicant", tables=signin_tables, outbox=outbox, producer=PRODUCER,
    find_subject=signin_subject, event_data=signin_event, import_name=__name__,
    accepted_message=ACCEPTED, address_error="Enter the email address you registered with.",
    # the same two on the sign-in pages, in the applicant's language (the API keeps English)
    accepted_page_message=_l("If this address belongs to a registered applicant, a sign-in message is on "
                             "its way to it. Its link works once, within 15 minutes."),
    address_page_error=_l("Please give the email address you registered with, like name@city.gov."),
    after_signin="/portal", after_logout="/")

signin = applicant_signin.api  # POST /api/signin, POST /api/signin/token, DELETE /api/session
pages = applicant_signin.pages  # /signin, /signin/<token>, /logout
load_principal = applicant_signin.load_principal
request_link = applicant_signin.request_link
init_app = applicant_signin.init_app

blueprints = [signin]
page_blueprints = [pages]
