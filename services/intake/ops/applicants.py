"""Applicants: registration, the applicant's own record, and the sign-in address the
secretariat moves (each move kept). The sign-in machinery (``signin``: shared.signin's SignIn
configured for applicants in accounts.py) is passed in by the views."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from shared.events import make_event
from shared.events.intake import APPLICANT_CHANGEABLE
from shared.outbox import record

from .. import rules
from ..models import Applicant, Application, ContactChange, outbox, signin_tables
from ..rules import SAME_ADDRESS, RuleViolation
from .regions import region_of
from . import consents, outreach_links
from .privacy import NoticeTerms

PRODUCER = "intake"


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- registration -----------------------------------------------------------------------------

def registration_message(email: str) -> str:
    """The one answer to a registration, whether the address was new or registered already."""
    return (f"Check the inbox of {email}: a sign-in link is on its way to it. "
            "It works once, within 15 minutes.")


def register_applicant(db, signin, data: dict, client: str, terms: NoticeTerms | None = None,
                       invitation: str | None = None) -> str:
    """Register an applicant and mail a sign-in link to its contact (the API and the page).

    For an address that has an applicant already nothing is stored; that applicant's mailbox
    gets a sign-in link saying they are registered. The caller gets the same message either way
    (return value), so the answer does not tell who is registered. Both go through the same
    limits: per client, and per address (else registering again would mail a registered address
    past the sign-in limit); the counts include requests for unknown addresses, so a 429 tells
    nothing either.

    ``data["privacy_consent"]`` is the version of the privacy notice the person read and agreed
    to: a version that is no longer the notice's is refused (consents.ConsentRefused, 422); a new
    applicant's consent is recorded with the applicant.

    ``invitation``: the token of an invitation to apply (outreach_links.py), used by this
    registration (outreach_links.InvitationGone if it cannot be any more); a new applicant whose
    address is a prospect's is linked to that prospect either way.
    """
    data = dict(data)
    given = data.pop("privacy_consent")
    email = data["contact_email"].strip().lower()
    for attempt in (1, 2):
        try:
            with db.session() as s, s.begin():
                notice = consents.registration_notice(s, given)
                signin.check_rate(s, email, client)
                existing = find_applicant(s, email)
                if existing is None:
                    applicant = _create_applicant(s, signin, {**data, "contact_email": email}, client)
                    consents.record(s, applicant.id, notice, consents.REGISTRATION, applicant.created_at, client,
                                    terms or NoticeTerms())
                    outreach_links.on_registered(s, applicant, invitation)
                elif existing.erased_at is None:  # an erased one's address reaches nobody
                    _mail_registered_applicant(s, signin, existing, client)
            break
        except IntegrityError:
            if attempt == 2:
                raise
            # Another registration of this address committed first: it is a registered one now.
    return registration_message(email)


def set_country(applicant: Applicant, country: str) -> None:
    """The one way an applicant's country is set, so that its WeGO region follows it (today only
    registration sets it: neither the applicant nor the secretariat changes it afterwards)."""
    applicant.country = country
    applicant.region = region_of(country)


def _create_applicant(s, signin, data: dict, client: str) -> Applicant:
    applicant = Applicant(id=str(uuid.uuid4()), created_at=_now(), **data)
    set_country(applicant, data["country"])
    s.add(applicant)
    s.flush()
    record(s, outbox, make_event("applicant.registered", {
        **rules.applicant_snapshot(applicant), "registered_at": applicant.created_at,
    }, producer=PRODUCER, correlation_id=applicant.id))
    signin.issue_link(s, applicant, applicant.contact_email, "browser", client)
    return applicant


def _mail_registered_applicant(s, signin, applicant: Applicant, client: str) -> None:
    """A registration for a registered address: a sign-in link to it, saying so in the email."""
    link = signin.issue_link(s, applicant, applicant.contact_email, "browser", client, announce=False)
    record(s, outbox, make_event("signin.requested", {**signin_event(applicant, link), "reason": "already_registered"},
                                 producer=PRODUCER, correlation_id=applicant.id))


# --- the applicant's own record ---------------------------------------------------------------

class ChangeRefused(RuleViolation):
    """A change of the record that the rules refuse (422); ``field`` names what to correct and
    ``problem`` says what is wrong with it (the pages show it beside the field)."""

    def __init__(self, field: str, problem: str):
        super().__init__(422, f"{field}: {problem}", {field: [problem]}, field=field)
        self.problem = problem


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
        **rules.applicant_snapshot(applicant), "updated_at": now, "changes": changed,
        "application_ids": list(application_ids), **extra,
    }, producer=PRODUCER, correlation_id=applicant.id))


def read_applicant(db, applicant_id: str) -> Applicant | None:
    with db.session() as s:
        return s.get(Applicant, applicant_id)


def update_own_record(db, applicant_id: str, changes: dict) -> Applicant | None:
    """Change the applicant's record in one transaction (None: there is no such applicant)."""
    with db.session() as s, s.begin():
        applicant = s.get(Applicant, applicant_id, with_for_update=True)
        if applicant is not None:
            apply_changes(s, applicant, changes, _now())
        return applicant


# --- the sign-in address, moved by the secretariat ----------------------------------------------

TAKEN = "another applicant signs in with this address; one address signs in to one applicant"


class ContactTaken(RuleViolation):
    """The new sign-in address is another applicant's: one address signs in to one applicant (409)."""

    def __init__(self, email: str):
        super().__init__(409, f"contact_email: {TAKEN}", {"contact_email": [TAKEN]}, field="contact_email")
        self.email = email


def change_contact_email(db, applicant_id: str, new_email: str, reason: str, changed_by: str):
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
    now = _now()
    with db.session() as s, s.begin():
        applicant = s.get(Applicant, applicant_id, with_for_update=True)
        if applicant is None:
            return None
        if applicant.erased_at is not None:
            raise RuleViolation(409, "this applicant's personal data was erased at their request: "
                                     "there is no sign-in address to move")
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


def contact_changes(db, applicant_id: str) -> list[ContactChange] | None:
    """Every move of the applicant's sign-in address, oldest first (None: no such applicant)."""
    with db.session() as s:
        if s.get(Applicant, applicant_id) is None:
            return None
        return list(s.scalars(select(ContactChange).where(ContactChange.applicant_id == applicant_id)
                              .order_by(ContactChange.changed_at, ContactChange.id)))


def find_applicant(s, email: str) -> Applicant | None:
    return s.scalar(select(Applicant).where(Applicant.contact_email == email))


def signin_subject(s, email: str) -> Applicant | None:
    """The applicant who may sign in with ``email``: never one whose data was erased."""
    applicant = find_applicant(s, email)
    return applicant if applicant is not None and applicant.erased_at is None else None


def signin_event(applicant: Applicant, link) -> dict:
    """What signin.requested says about the applicant (``link``: shared.signin's IssuedLink)."""
    return {"applicant_id": applicant.id, "email": applicant.contact_email,
            "contact_name": applicant.contact_name, "language": applicant.language, **link.event_fields()}


def applicant_id_by_email(db, email: str) -> str | None:
    """The applicant who signs in with ``email`` (as stored: lower-cased), if any."""
    with db.session() as s:
        return s.scalar(select(Applicant.id).where(Applicant.contact_email == email))
