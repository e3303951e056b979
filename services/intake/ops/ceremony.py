"""The award ceremony: who is invited, their answers (RSVP), reminders, and the guest list.

Who. An application is invited once its edition has a ceremony and one of its rounds was
released with it in: a released finalist ("finalist"), or a released winner or special mention
that was not invited as a finalist ("award"). Every finalist gets the same invitation, so it
says nothing of the award before the award round's release. The invitation is decided where
the facts arrive: in the handler of each decision and release event (the event's transaction),
and when the secretariat sets the ceremony (those already released). ``ceremony_invitations``
has the application as its primary key and is claimed with INSERT ... ON CONFLICT DO NOTHING in
the transaction that adds ``ceremony.invited`` to the outbox: two workers, or a redelivered
event, invite once.

One lock for both paths. A release's transaction and the secretariat's PUT of the ceremony
each see only what the other has committed: if each looked before the other committed, the
release would read "no ceremony yet" and the PUT "not released yet", and nobody would invite.
So every invitation step first locks the call's row (SELECT ... FOR UPDATE on PostgreSQL;
SQLite's BEGIN IMMEDIATE serialises every transaction anyway) and only then reads the ceremony
and the status rows: whichever comes second waits for the first to commit, then reads it
(READ COMMITTED takes a fresh snapshot per statement) and invites. The call row is chosen
because it exists before either path runs; the ceremony row may not exist yet, and locking a
row that is not there locks nothing.

A sweep heals. Intake's worker also runs ``sweep_invitations`` (every
``jobs.INVITE_SWEEP_SECONDS``): every call whose ceremony is still ahead, one transaction each, under
the same lock and the same claim, so an invitation missed for any reason (a bug, a row that
failed validation and was fixed later) goes out at the next sweep, and two workers sweeping
at once invite each application once.

Answers. The invited applicant answers for a delegation (names, roles, emails), names a
substitute, states accessibility needs and asks for a visa invitation letter. Each answer or
change publishes ``ceremony.rsvp_received`` (notify confirms it by email). Answers are taken
until the ceremony starts; ``rsvp_by`` is the date the secretariat asks for them by.

Changes. When the secretariat changes the date, time zone, venue, address or RSVP date after
invitations went out, each invited application gets ``ceremony.changed`` (notify mails what
changed), in the same transaction as the change.

Reminders. To invited applicants who have not answered: the day before ``rsvp_by`` ("1d") and
once when it has passed ("overdue"), each once (``rsvp_reminders_sent``, same claim as the draft
reminders). A window that opened before the invitation went out is skipped: an applicant
invited the evening before the date is not reminded the same evening.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import reminders
from shared.db import Database
from shared.events import ValidationError, make_event
from shared.events.common import LANGUAGES
from shared.events.intake import CEREMONY_CHANGES
from shared.outbox import record

from .. import rules
from ..rules import RuleViolation, as_utc
from . import consents, rsvp_rules
from .privacy import NoticeTerms
from ..models import (Applicant, Application, Call, Ceremony, CeremonyInvitation, Rsvp, RsvpReminderSent,
                     StatusUpdate, outbox)

log = logging.getLogger("prize.intake.ceremony")

PRODUCER = "intake"
INVITING = {"finalist": ("finalist",), "award": ("winner", "special_mention")}
REMIND_BEFORE = timedelta(days=1)


class NotInvited(RuleViolation):
    """The application is not invited (or not the caller's): 404."""

    def __init__(self, application_id: str):
        super().__init__(404, f"no invitation for application {application_id}")


def answer_url(public_url: str, application_id: str) -> str:
    return f"{public_url.rstrip('/')}/portal/applications/{application_id}/ceremony"


def details(ceremony: Ceremony) -> dict:
    """The ceremony as events carry it (shared.events.intake.CeremonyDetails)."""
    return {"starts_at": as_utc(ceremony.starts_at), "time_zone": ceremony.time_zone, "venue": ceremony.venue,
            "address": ceremony.address or "", "details": ceremony.details or "",
            "rsvp_by": as_utc(ceremony.rsvp_by)}


def basis_of(updates) -> str | None:
    """Why an application is invited, from its status rows: "finalist", "award" or None.

    A round counts once released; within a round the latest decision counts (a decision taken
    again replaces the first)."""
    released = {u.stage[len(rules.RELEASED_PREFIX):] for u in updates
                if u.stage.startswith(rules.RELEASED_PREFIX)}
    latest: dict[str, str] = {}
    for u in sorted(updates, key=lambda u: as_utc(u.occurred_at)):
        round_ = rules.ROUND_OF_STAGE.get(u.stage)
        if round_ is not None:
            latest[round_] = u.stage
    for basis in ("finalist", "award"):
        if basis in released and latest.get(basis) in INVITING[basis]:
            return basis
    return None


def _guest(call: Call, app: Application, applicant: Applicant, ceremony: Ceremony, public_url: str) -> dict:
    return {"application_id": app.id, "reference": app.reference, "call_id": call.id, "year": call.year,
            "name": applicant.contact_name, "email": applicant.contact_email,
            "language": applicant.language if applicant.language in LANGUAGES else "en",
            "organisation": applicant.organisation, "title": app.title or app.reference,
            "ceremony": details(ceremony), "url": answer_url(public_url, app.id)}


def invite_due(session: Session, now: datetime, public_url: str, *, call_id: str | None = None,
               application_id: str | None = None) -> int:
    """Invite every application (of ``call_id``, or just ``application_id``) that is due an
    invitation and has none; in the caller's transaction. Returns how many were invited."""
    if application_id is not None:
        app = session.get(Application, str(application_id))
        if app is None:
            return 0
        call_id, candidates = app.call_id, [app]
    else:
        candidates = None
    if not call_id or not lock_call(session, str(call_id)):
        return 0
    # read only now, under the lock: what a concurrent release or PUT committed is seen
    ceremony = session.get(Ceremony, str(call_id))
    if ceremony is None or as_utc(ceremony.starts_at) <= now:
        return 0  # no ceremony yet (setting it invites), or it is over
    if candidates is None:
        released = select(StatusUpdate.application_id).where(StatusUpdate.stage.startswith(rules.RELEASED_PREFIX))
        candidates = session.scalars(
            select(Application)
            .outerjoin(CeremonyInvitation, CeremonyInvitation.application_id == Application.id)
            .where(Application.call_id == ceremony.call_id, Application.submitted_at.is_not(None),
                   Application.withdrawn_at.is_(None), CeremonyInvitation.application_id.is_(None),
                   Application.id.in_(released))
            .order_by(Application.id)).all()
    ids = [a.id for a in candidates]
    invited = set(session.scalars(select(CeremonyInvitation.application_id)
                                  .where(CeremonyInvitation.application_id.in_(ids))))
    updates: dict[str, list] = {}
    for u in session.scalars(select(StatusUpdate).where(StatusUpdate.application_id.in_(ids))):
        updates.setdefault(u.application_id, []).append(u)
    call = session.get(Call, ceremony.call_id)
    count = 0
    for app in candidates:
        if app.id in invited or app.withdrawn_at is not None:
            continue
        basis = basis_of(updates.get(app.id, []))
        if basis is None:
            continue
        applicant = session.get(Applicant, app.applicant_id)
        if applicant.erased_at is not None:  # erased at their request: nobody to invite
            continue
        try:
            event = make_event("ceremony.invited", {
                **_guest(call, app, applicant, ceremony, public_url), "basis": basis, "invited_at": now,
            }, producer=PRODUCER, correlation_id=app.id)
        except ValidationError as exc:  # one bad row must not stop the others' invitations
            log.error("application %s not invited to the ceremony: %s", app.id, exc.messages)
            continue
        if reminders.claim(session, CeremonyInvitation.__table__, {
                "application_id": app.id, "call_id": call.id, "basis": basis, "event_id": str(event.id),
                "invited_at": now}, ["application_id"]):
            record(session, outbox, event)
            count += 1
    if count:
        log.info("invited %d application(s) of %s to the ceremony", count, call.year)
    return count


def lock_call(session: Session, call_id: str) -> bool:
    """Take the call's row lock for the rest of the transaction (the one row every invitation
    path serialises on); False if there is no such call."""
    return session.execute(select(Call.id).where(Call.id == call_id).with_for_update()).first() is not None


def sweep_invitations(db: Database, public_url: str, *, now: datetime | None = None) -> int:
    """The worker's timed job: invite, call by call (one transaction each, under the call's
    lock), everyone due an invitation who has none. Returns how many were invited."""
    now = now or datetime.now(timezone.utc)
    with db.session() as session, session.begin():
        calls = session.scalars(select(Ceremony.call_id).where(Ceremony.starts_at > now)
                                .order_by(Ceremony.call_id)).all()
    count = 0
    for call_id in calls:  # a fresh session each: nothing read under an earlier lock is reused
        with db.session() as session, session.begin():
            count += invite_due(session, now, public_url, call_id=call_id)
    if count:
        log.warning("the invitation sweep invited %d application(s) that no release or ceremony change "
                    "had invited", count)
    return count


def set_ceremony(session: Session, call: Call, data: dict, who: str, now: datetime, public_url: str) -> Ceremony:
    """Create or change the edition's ceremony, then invite those already released. The caller
    holds the call's row lock (see lock_call): a release handled at the same moment waits for
    this transaction and then invites under the ceremony it committed."""
    starts_at, rsvp_by = as_utc(data["starts_at"]), as_utc(data["rsvp_by"])
    if rsvp_by >= starts_at:
        raise RuleViolation(422, "rsvp_by must be before the ceremony starts")  # the API never listed it in errors
    row = session.get(Ceremony, call.id, with_for_update=True)
    before = details(row) if row is not None else None
    if row is None:
        row = Ceremony(call_id=call.id)
        session.add(row)
    for key in ("time_zone", "venue", "address", "details", "max_delegates"):  # the schema fills them all
        setattr(row, key, data[key])
    row.starts_at, row.rsvp_by, row.updated_at, row.updated_by = starts_at, rsvp_by, now, who
    session.flush()
    if before is not None:
        after = details(row)
        changes = [k for k in CEREMONY_CHANGES if before[k] != after[k]]
        if changes:
            _tell_the_invited(session, call, row, changes, public_url)
    invite_due(session, now, public_url, call_id=call.id)
    return row


def _tell_the_invited(session: Session, call: Call, cer: Ceremony, changes: list[str], public_url: str) -> None:
    """ceremony.changed to everyone already invited (those invited later get the new details)."""
    invited = session.execute(
        select(Application, Applicant)
        .join(CeremonyInvitation, CeremonyInvitation.application_id == Application.id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .where(CeremonyInvitation.call_id == call.id, Application.withdrawn_at.is_(None), Applicant.erased_at.is_(None))
        .order_by(Application.id)).all()
    for app, applicant in invited:
        record(session, outbox, make_event("ceremony.changed", {
            **_guest(call, app, applicant, cer, public_url), "changes": changes,
        }, producer=PRODUCER, correlation_id=app.id))
    if invited:
        log.info("ceremony of %s changed (%s): %d invited told", call.year, ", ".join(changes), len(invited))


def invitation_for(session: Session, application: Application) -> tuple[CeremonyInvitation, Ceremony]:
    invitation = session.get(CeremonyInvitation, application.id)
    ceremony = session.get(Ceremony, application.call_id) if invitation else None
    if invitation is None or ceremony is None:
        raise NotInvited(application.id)
    return invitation, ceremony


def save_rsvp(session: Session, application: Application, data: dict, now: datetime, public_url: str, *,
              terms: NoticeTerms | None = None, client: str = "") -> Rsvp:
    """Record the applicant's answer (first or changed) and publish ceremony.rsvp_received.

    Visa and passport details are taken only with a consent to the edition's privacy notice
    (``data["privacy_consent"]``, the version read, or one given earlier to that version; ``client``
    is recorded with it). ``application`` must be the caller's, locked. Raises NotInvited or
    RuleViolation (consents.ConsentRefused for the consent)."""
    invitation, ceremony = invitation_for(session, application)
    if now >= as_utc(ceremony.starts_at):
        raise RuleViolation(409, "the ceremony has started: answers can no longer be given or changed")
    answer = rsvp_rules.checked_answer(data, ceremony.max_delegates)
    visa_letter = answer["visa_letter"]
    if visa_letter:
        consents.require_travel_consent(session, application.applicant_id, session.get(Call, application.call_id),
                                        data.get("privacy_consent"), now, client, terms or NoticeTerms())
    row = session.get(Rsvp, application.id, with_for_update=True)
    rsvp_rules.check_revision(row, data.get("revision"))
    if row is None:
        row = Rsvp(application_id=application.id, revision=0, first_answered_at=now)
        session.add(row)
    rsvp_rules.apply(row, answer, now)
    row.travel_data_deleted_at = None  # details given again (a ceremony moved later): kept until their own time
    try:
        session.flush()  # two first answers at once: the second one's insert fails here
    except IntegrityError:
        raise RuleViolation(409, rsvp_rules.RACED) from None
    call = session.get(Call, application.call_id)
    applicant = session.get(Applicant, application.applicant_id)
    record(session, outbox, make_event("ceremony.rsvp_received", {
        **_guest(call, application, applicant, ceremony, public_url),
        **answer, "revision": row.revision, "answered_at": now,
    }, producer=PRODUCER, correlation_id=application.id))
    return row


def rsvp_view(rsvp: Rsvp | None) -> dict | None:
    if rsvp is None:
        return None
    return {"attending": rsvp.attending, "delegates": rsvp.delegates or [], "substitute": rsvp.substitute,
            "accessibility": rsvp.accessibility, "visa_letter": rsvp.visa_letter,
            "visa_details": rsvp.visa_details, "comments": rsvp.comments, "revision": rsvp.revision,
            "first_answered_at": as_utc(rsvp.first_answered_at), "updated_at": as_utc(rsvp.updated_at),
            "travel_data_deleted_at": as_utc(rsvp.travel_data_deleted_at) if rsvp.travel_data_deleted_at else None}


# --- reminders (a timed job of intake's worker) ---

def reminder_due(ceremony: Ceremony, now: datetime) -> str | None:
    """"1d" from the day before ``rsvp_by``, "overdue" from ``rsvp_by`` until the ceremony, else None."""
    starts_at, rsvp_by = as_utc(ceremony.starts_at), as_utc(ceremony.rsvp_by)
    return reminders.window(starts_at, now, {"1d": starts_at - (rsvp_by - REMIND_BEFORE),
                                             "overdue": starts_at - rsvp_by})


def _claim(session: Session, row: dict) -> bool:
    """Insert the reminder's sent row unless it exists: True if this transaction added it."""
    return reminders.claim(session, RsvpReminderSent.__table__, row, ["application_id", "offset_key"])


def due_rsvp_reminders(session: Session, now: datetime, *, public_url: str) -> int:
    """Publish every RSVP reminder due at ``now`` and not sent yet; one transaction; return how many."""
    sent = 0
    with session.begin():  # the sent rows and their events commit together, or not at all
        for ceremony in session.scalars(select(Ceremony).order_by(Ceremony.call_id)).all():
            key = reminder_due(ceremony, now)
            if key is None:
                continue
            opened = as_utc(ceremony.rsvp_by) - (REMIND_BEFORE if key == "1d" else timedelta(0))
            waiting = session.execute(
                select(CeremonyInvitation, Application)
                .join(Application, Application.id == CeremonyInvitation.application_id)
                .outerjoin(Rsvp, Rsvp.application_id == CeremonyInvitation.application_id)
                .outerjoin(RsvpReminderSent, (RsvpReminderSent.application_id == CeremonyInvitation.application_id)
                           & (RsvpReminderSent.offset_key == key))
                .where(CeremonyInvitation.call_id == ceremony.call_id, Rsvp.application_id.is_(None),
                       RsvpReminderSent.event_id.is_(None), Application.withdrawn_at.is_(None))
                .order_by(CeremonyInvitation.application_id)).all()
            if not waiting:
                continue
            call = session.get(Call, ceremony.call_id)
            for invitation, app in waiting:
                if as_utc(invitation.invited_at) >= opened:
                    continue  # invited after this window opened: the invitation itself is fresh
                applicant = session.get(Applicant, app.applicant_id)
                if applicant.erased_at is not None:
                    continue
                try:
                    event = make_event("ceremony.rsvp_reminder", {
                        **_guest(call, app, applicant, ceremony, public_url), "reminder": key,
                    }, producer=PRODUCER, correlation_id=f"{app.id}:rsvp:{key}")
                except ValidationError as exc:
                    log.error("no %s RSVP reminder for application %s: %s", key, app.id, exc.messages)
                    continue
                if _claim(session, {"event_id": str(event.id), "application_id": app.id, "offset_key": key,
                                    "rsvp_by": as_utc(ceremony.rsvp_by), "sent_at": now}):
                    record(session, outbox, event)
                    sent += 1
    if sent:
        log.info("published %d RSVP reminder(s)", sent)
    return sent
