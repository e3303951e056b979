"""Applicant accounts: registration, passwordless sign-in, and the applicant's own record.

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

import uuid

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shared.events import make_event
from shared.events.intake import APPLICANT_CHANGEABLE
from shared.outbox import record
from shared.signin import (IssuedLink, LinkRefused, RateLimited, SessionInfo, SignIn, SignInAccepted,
                           client_address, csrf_token, current_session, form_csrf_ok, utcnow)
from shared.web import require_role

from . import domain
from .models import Applicant, Application, ContactChange, outbox, signin_tables
from .schemas import (SAME_ADDRESS, ApplicantCreate, ApplicantOut, ApplicantUpdate, ContactChangeOut,
                      ContactEmailChange)

__all__ = ["blueprints", "change_contact_email", "ChangeRefused", "ContactTaken", "csrf_token",
           "current_session", "form_csrf_ok", "init_app", "LinkRefused", "load_principal", "page_blueprints",
           "RateLimited", "register_applicant", "registration_message", "request_link", "SessionInfo",
           "update_own_record"]

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


# --- registration -----------------------------------------------------------------------------

def registration_message(email: str) -> str:
    """The one answer to a registration, whether the address was new or registered already."""
    return (f"Check the inbox of {email}: a sign-in link is on its way to it. "
            "It works once, within 15 minutes.")


def register_applicant(data: dict) -> str:
    """Register an applicant and mail a sign-in link to its contact (the API and the page).

    For an address that has an applicant already nothing is stored; that applicant's mailbox
    gets a sign-in link saying they are registered. The caller gets the same message either way
    (return value), so the answer does not tell who is registered. Both go through the same
    limits: per client, and per address (else registering again would mail a registered address
    past the sign-in limit); the counts include requests for unknown addresses, so a 429 tells
    nothing either.
    """
    email = data["contact_email"].strip().lower()
    client = client_address()
    for attempt in (1, 2):
        try:
            with _db().session() as s, s.begin():
                applicant_signin.check_rate(s, email, client)
                existing = _find_applicant(s, email)
                if existing is None:
                    _create_applicant(s, {**data, "contact_email": email}, client)
                else:
                    _mail_registered_applicant(s, existing, client)
            break
        except IntegrityError:
            if attempt == 2:
                raise
            # Another registration of this address committed first: it is a registered one now.
    return registration_message(email)


def _create_applicant(s, data: dict, client: str) -> None:
    applicant = Applicant(id=str(uuid.uuid4()), created_at=utcnow(), **data)
    s.add(applicant)
    s.flush()
    record(s, outbox, make_event("applicant.registered", {
        **domain.applicant_snapshot(applicant), "registered_at": applicant.created_at,
    }, producer=PRODUCER, correlation_id=applicant.id))
    applicant_signin.issue_link(s, applicant, applicant.contact_email, "browser", client)


def _mail_registered_applicant(s, applicant: Applicant, client: str) -> None:
    """A registration for a registered address: a sign-in link to it, saying so in the email."""
    link = applicant_signin.issue_link(s, applicant, applicant.contact_email, "browser", client, announce=False)
    record(s, outbox, make_event("signin.requested", {**_signin_event(applicant, link), "reason": "already_registered"},
                                 producer=PRODUCER, correlation_id=applicant.id))


# --- the applicant's own record ---------------------------------------------------------------

class ChangeRefused(Exception):
    """A change of the record that the rules refuse; ``field`` names what to correct."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def apply_changes(s, applicant: Applicant, changes: dict, now) -> list[str]:
    """Apply ``changes`` (loaded by ApplicantUpdate) in the caller's transaction; return the
    names of the fields that changed. A change records applicant.updated in the outbox."""
    second = changes.get("secondary_email", applicant.secondary_email)
    if second and second.strip().lower() == applicant.contact_email.lower():
        raise ChangeRefused("secondary_email", SAME_ADDRESS)
    changed = [name for name in APPLICANT_CHANGEABLE if name in changes and getattr(applicant, name) != changes[name]]
    if not changed:
        return []
    for name in changed:
        setattr(applicant, name, changes[name])
    s.flush()
    _record_updated(s, applicant, changed, now)
    return changed


def _record_updated(s, applicant: Applicant, changed: list[str], now, **extra) -> None:
    """applicant.updated in the outbox, with the ids of every application of the applicant."""
    application_ids = s.scalars(select(Application.id).where(Application.applicant_id == applicant.id)
                                .order_by(Application.created_at)).all()
    record(s, outbox, make_event("applicant.updated", {
        **domain.applicant_snapshot(applicant), "updated_at": now, "changes": changed,
        "application_ids": list(application_ids), **extra,
    }, producer=PRODUCER, correlation_id=applicant.id))


def update_own_record(applicant_id: str, changes: dict) -> Applicant | None:
    """Change the applicant's record in one transaction (None: there is no such applicant)."""
    with _db().session() as s, s.begin():
        applicant = s.get(Applicant, applicant_id, with_for_update=True)
        if applicant is not None:
            apply_changes(s, applicant, changes, utcnow())
        return applicant


def _own_id(applicant_id) -> str:
    """The caller's own applicant id; any other (someone else's, or none) is a 404 like a missing one."""
    if str(applicant_id) != g.principal.subject:
        abort(404, message=f"no applicant {applicant_id}")
    return g.principal.subject


def _read(applicant_id) -> Applicant:
    with _db().session() as s:
        applicant = s.get(Applicant, _own_id(applicant_id))
    if applicant is None:  # a token of an applicant that is gone
        abort(404, message=f"no applicant {applicant_id}")
    return applicant


def _update(applicant_id, changes: dict) -> Applicant:
    try:
        applicant = update_own_record(_own_id(applicant_id), changes)
    except ChangeRefused as exc:
        abort(422, message=f"{exc.field}: {exc.message}", errors={"json": {exc.field: [exc.message]}})
    if applicant is None:
        abort(404, message=f"no applicant {applicant_id}")
    return applicant


# --- the sign-in address, moved by the secretariat ----------------------------------------------

class ContactTaken(Exception):
    """The new sign-in address is another applicant's: one address signs in to one applicant."""


def change_contact_email(applicant_id: str, new_email: str, reason: str, changed_by: str):
    """Move the applicant's sign-in address in one transaction, kept with who, when and why.

    Returns (applicant, the ContactChange row), the row None when the address is the current one
    (nothing is written), or None when there is no such applicant. Raises ContactTaken when
    another applicant has the address and ChangeRefused when it is the applicant's second
    contact (that one is where we write when the first fails, so it must stay a different one).

    The sign-in links not yet used are ended: they went to the old mailbox, which may be the
    reason for the move. Sessions stay: they belong to the applicant, not to an address, and
    ending them would lock out the very person the secretariat is letting in.
    """
    email = new_email.strip().lower()
    now = utcnow()
    with _db().session() as s, s.begin():
        applicant = s.get(Applicant, applicant_id, with_for_update=True)
        if applicant is None:
            return None
        old = applicant.contact_email
        if email == old.lower():
            return applicant, None
        if applicant.secondary_email and applicant.secondary_email.strip().lower() == email:
            raise ChangeRefused("contact_email", "is this applicant's second contact: the two must differ, "
                                                 "so change or clear the second contact first")
        if s.scalar(select(Applicant.id).where(Applicant.contact_email == email, Applicant.id != applicant.id)):
            raise ContactTaken(email)
        applicant.contact_email = email
        try:
            s.flush()  # the unique address: another change may have taken it since the check
        except IntegrityError as exc:
            raise ContactTaken(email) from exc
        links = signin_tables.links
        s.execute(update(links).where(links.c.applicant_id == applicant.id, links.c.used_at.is_(None),
                                      links.c.expires_at > now).values(expires_at=now))
        change = ContactChange(id=str(uuid.uuid4()), applicant_id=applicant.id, old_email=old, new_email=email,
                               reason=reason, changed_by=changed_by, changed_at=now)
        s.add(change)
        _record_updated(s, applicant, ["contact_email"], now, previous_contact_email=old)
    return applicant, change


def contact_changes(applicant_id: str) -> list[ContactChange] | None:
    """Every move of the applicant's sign-in address, oldest first (None: no such applicant)."""
    with _db().session() as s:
        if s.get(Applicant, applicant_id) is None:
            return None
        return list(s.scalars(select(ContactChange).where(ContactChange.applicant_id == applicant_id)
                              .order_by(ContactChange.changed_at, ContactChange.id)))


# --- JSON API ---------------------------------------------------------------------------------

@applicants.route("")
class ApplicantsView(MethodView):
    @applicants.arguments(ApplicantCreate)
    @applicants.response(202, SignInAccepted)
    @applicants.alt_response(429, description="too many sign-in links requested for this address or from this client")
    def post(self, data):
        """Register an applicant; a sign-in link goes to the contact email (no token, no applicant id).

        Anyone could register someone else's address, so only its mailbox gets a way in. The
        answer is the same for an address that is registered already: nothing new is stored,
        and that applicant's mailbox gets a sign-in link. After signing in,
        ``GET /api/applicants/me`` reads the record.
        """
        try:
            return {"message": register_applicant(data)}
        except RateLimited as exc:
            abort(429, message=exc.message, headers={"Retry-After": "900"})


FIXED_FIELDS_422 = "a value is not valid, or the field cannot be changed (type, country, contact_email)"


@applicants.route("/me")
class MyRecordView(MethodView):
    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ApplicantOut)
    def get(self):
        """The caller's own applicant record."""
        return _read(g.principal.subject)

    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ApplicantUpdate)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(422, description=FIXED_FIELDS_422)
    def patch(self, data):
        """Change the caller's own record (organisation, city, contacts, language).

        A change publishes applicant.updated, so later emails use the new contacts and language.
        The sign-in address (contact_email), the type and the country cannot be changed here.
        """
        return _update(g.principal.subject, data)


@applicants.route("/<uuid:applicant_id>")
class ApplicantView(MethodView):
    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ApplicantOut)
    def get(self, applicant_id):
        """The caller's own applicant record by its id (another applicant's id is a 404)."""
        return _read(applicant_id)

    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ApplicantUpdate)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(422, description=FIXED_FIELDS_422)
    def patch(self, data, applicant_id):
        """Change the caller's own record by its id, as ``PATCH /api/applicants/me`` does."""
        return _update(applicant_id, data)


@applicants.route("/<uuid:applicant_id>/contact-email")
class ContactEmailView(MethodView):
    @require_role("secretariat")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ContactEmailChange)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(404, description="no such applicant")
    @applicants.alt_response(409, description="another applicant signs in with this address")
    @applicants.alt_response(422, description="not an address, no reason, or the applicant's second contact")
    def put(self, data, applicant_id):
        """Move an applicant's sign-in address (their officer left, the mailbox is gone).

        Lower-cased as at registration. Who did it, when, the old and new address and the reason
        are kept (``GET .../contact-email/history``), applicant.updated is published (notify
        tells both addresses), and sign-in links not yet used stop working; sessions stay. The
        current address again changes nothing (200, no event).
        """
        try:
            done = change_contact_email(str(applicant_id), data["contact_email"], data["reason"],
                                        g.principal.subject)
        except ChangeRefused as exc:
            abort(422, message=f"{exc.field}: {exc.message}", errors={"json": {exc.field: [exc.message]}})
        except ContactTaken:
            message = "another applicant signs in with this address; one address signs in to one applicant"
            abort(409, message=f"contact_email: {message}", errors={"json": {"contact_email": [message]}})
        if done is None:
            abort(404, message=f"no applicant {applicant_id}")
        return done[0]


@applicants.route("/<uuid:applicant_id>/contact-email/history")
class ContactEmailHistoryView(MethodView):
    @require_role("secretariat")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ContactChangeOut(many=True))
    @applicants.alt_response(404, description="no such applicant")
    def get(self, applicant_id):
        """Every move of the applicant's sign-in address, oldest first: who, when, from, to, why."""
        rows = contact_changes(str(applicant_id))
        if rows is None:
            abort(404, message=f"no applicant {applicant_id}")
        return rows


blueprints = [applicants, signin]
page_blueprints = [pages]
