"""The edition's events (issue 17): the General Assembly, the Mayors Forum, the ceremony or another
event of an edition that the secretariat invites prospects and applicants to (ops/event_invites.py),
and the guest list of each with its CSV (one line per person, cells guarded against spreadsheet
formulas as the ceremony's guests.csv). Answers come through the RSVP link (ops/event_rsvp.py) with
the ceremony's rules (ops/rsvp_rules.py)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.refusals import Refused

from ..models import Call, EditionEvent, EventInvitation, EventRsvp
from ..models_events import EVENT_KINDS
from ..rules import RuleViolation, as_utc
from .guests import people_csv
from .guests import summary as guest_summary

KIND_LABELS = {"general_assembly": "General Assembly", "mayors_forum": "Mayors Forum",
               "ceremony": "Award ceremony", "other": "Other event"}
assert set(KIND_LABELS) == set(EVENT_KINDS)
FIELDS = ("kind", "name", "starts_at", "time_zone", "venue", "address", "details", "rsvp_by", "max_delegates")


def details(ev: EditionEvent) -> dict:
    """When and where, as events carry it (shared.events.intake.CeremonyDetails)."""
    return {"starts_at": as_utc(ev.starts_at), "time_zone": ev.time_zone, "venue": ev.venue,
            "address": ev.address or "", "details": ev.details or "", "rsvp_by": as_utc(ev.rsvp_by)}


def call_of(s: Session, call_id: str, lock: bool = False) -> Call:
    call = s.get(Call, str(call_id), with_for_update=lock)
    if call is None:
        raise Refused(404, f"no edition {call_id}")
    return call


def event_of(s: Session, event_id: str, lock: bool = False) -> EditionEvent:
    try:
        uuid.UUID(str(event_id))
    except ValueError:
        raise Refused(404, f"no event {event_id}") from None
    row = s.get(EditionEvent, str(event_id), with_for_update=lock)
    if row is None:
        raise Refused(404, f"no event {event_id}")
    return row


def _check(data: dict, now: datetime) -> None:
    if data["kind"] not in EVENT_KINDS:
        raise RuleViolation(422, f"kind must be one of {', '.join(EVENT_KINDS)}", field="kind")
    if as_utc(data["rsvp_by"]) >= as_utc(data["starts_at"]):
        raise RuleViolation(422, "rsvp_by must be before the event starts", field="rsvp_by")
    if as_utc(data["starts_at"]) <= now:
        raise RuleViolation(422, "the event must be in the future", field="starts_at")


def create(db, call_id: str, data: dict, who: str, now: datetime) -> dict:
    """A new event of the edition (``data``: FIELDS, checked by the page's form)."""
    _check(data, now)
    with db.session() as s, s.begin():
        call = call_of(s, call_id)
        row = EditionEvent(id=str(uuid.uuid4()), call_id=call.id, version=1, created_at=now, created_by=who,
                           updated_at=now, updated_by=who, **{k: data[k] for k in FIELDS})
        s.add(row)
        s.flush()
        return view(row, 0)


def change(db, event_id: str, data: dict, who: str, now: datetime, expected: int | None) -> dict:
    """Change an event's details; refused (409) when it changed since ``expected`` (its version)."""
    _check(data, now)
    with db.session() as s, s.begin():
        row = event_of(s, event_id, lock=True)
        if expected is not None and expected != row.version:
            raise Refused(409, "someone else changed this event since you opened the page", version=row.version)
        for key in FIELDS:
            setattr(row, key, data[key])
        row.version += 1
        row.updated_at, row.updated_by = now, who
        s.flush()
        return view(row, _invited(s, row.id))


def _invited(s: Session, event_id: str) -> int:
    return s.scalar(select(func.count()).select_from(EventInvitation)
                    .where(EventInvitation.edition_event_id == event_id)) or 0


def view(row: EditionEvent, invited: int) -> dict:
    return {"id": row.id, "call_id": row.call_id, **{k: getattr(row, k) for k in FIELDS}, **details(row),
            "kind_label": KIND_LABELS[row.kind], "version": row.version, "invited": invited,
            "created_by": row.created_by, "updated_by": row.updated_by, "updated_at": as_utc(row.updated_at)}


def events_of(db, call_id: str) -> tuple[Call, list[dict]]:
    """The edition and its events, soonest first, with how many are invited to each."""
    with db.session() as s:
        call = call_of(s, call_id)
        counts = dict(s.execute(select(EventInvitation.edition_event_id, func.count())
                                .join(EditionEvent, EditionEvent.id == EventInvitation.edition_event_id)
                                .where(EditionEvent.call_id == call.id)
                                .group_by(EventInvitation.edition_event_id)).all())
        rows = s.scalars(select(EditionEvent).where(EditionEvent.call_id == call.id)
                         .order_by(EditionEvent.starts_at, EditionEvent.name)).all()
        return call, [view(r, counts.get(r.id, 0)) for r in rows]


def read(db, event_id: str) -> tuple[Call, dict]:
    with db.session() as s:
        row = event_of(s, event_id)
        return s.get(Call, row.call_id), view(row, _invited(s, row.id))


# --- the guest list ---

def guest_list(s: Session, event_id: str) -> list[dict]:
    """Everyone invited to the event with their answer, by organisation then name."""
    rows = s.execute(select(EventInvitation, EventRsvp)
                     .outerjoin(EventRsvp, EventRsvp.invitation_id == EventInvitation.id)
                     .where(EventInvitation.edition_event_id == str(event_id))
                     .order_by(EventInvitation.organisation, EventInvitation.name, EventInvitation.email)).all()
    guests = []
    for inv, rsvp in rows:
        answer = "no answer" if rsvp is None else ("attending" if rsvp.attending else "declined")
        guests.append({"invitation_id": inv.id, "invitee": "prospect" if inv.prospect_id else "applicant",
                       "name": inv.name, "email": inv.email, "organisation": inv.organisation,
                       "language": inv.language, "invited_at": as_utc(inv.invited_at), "invited_by": inv.invited_by,
                       "answer": answer, "rsvp": rsvp_view_of(rsvp)})
    return guests


def rsvp_view_of(rsvp: EventRsvp | None) -> dict | None:
    """An event's answer as the ceremony's answers are shown (ops.ceremony.rsvp_view)."""
    if rsvp is None:
        return None
    return {"attending": rsvp.attending, "delegates": rsvp.delegates or [], "substitute": rsvp.substitute,
            "accessibility": rsvp.accessibility, "visa_letter": rsvp.visa_letter,
            "visa_details": rsvp.visa_details, "comments": rsvp.comments, "revision": rsvp.revision,
            "first_answered_at": as_utc(rsvp.first_answered_at), "updated_at": as_utc(rsvp.updated_at),
            "consent_version": rsvp.consent_version,
            "travel_data_deleted_at": as_utc(rsvp.travel_data_deleted_at) if rsvp.travel_data_deleted_at else None}


def guests(db, event_id: str, answer: str = "") -> dict:
    """The guest list (filtered by ``answer``: attending, declined, no answer) and its counts
    (of everyone invited): invitations, answers, people coming, visa letters."""
    with db.session() as s:
        row = event_of(s, event_id)
        rows = guest_list(s, row.id)
        call = s.get(Call, row.call_id)
        return {"call": call, "event": view(row, len(rows)), "summary": guest_summary(rows),
                "guests": [g for g in rows if not answer or g["answer"] == answer]}


CSV_COLUMNS = ("organisation", "contact", "contact email", "invited as", "language", "answer", "person", "name",
               "role", "email", "accessibility needs", "visa letter", "visa details", "comments", "answered at")


def guests_csv(rows: list[dict]) -> str:
    """One line per person (delegates and substitute); one line for an invitation without any."""
    return people_csv(CSV_COLUMNS, rows, lambda g: (g["organisation"], g["name"], g["email"], g["invitee"],
                                                    g["language"], g["answer"]))
