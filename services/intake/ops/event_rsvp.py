"""Answering an invitation to an edition's event through its link (issue 17): no account, the
link's token is the key (only its SHA-256 is stored, ops/event_invites.py). The answer follows the
ceremony's rules (ops/rsvp_rules.py), changeable until the event starts, with the revision guard;
visa and passport details only with a consent to the edition's privacy notice (its version kept
with the answer). Each answer or change publishes event.rsvp_received (notify confirms it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.events import make_event
from shared.outbox import record
from shared.refusals import Refused

from ..models import Call, EditionEvent, EventInvitation, EventRsvp, outbox
from ..rules import RuleViolation, as_utc
from . import rsvp_rules
from .consents import ConsentRefused
from .edition_events import rsvp_view_of
from .event_invites import guest, rsvp_url, token_hash
from .privacy import notice_of

STARTED = "the event has started: answers can no longer be given or changed"


def by_token(s: Session, token: str, lock: bool = False) -> tuple[EventInvitation, EditionEvent, Call]:
    """The invitation of a link's token, its event and edition (Refused 404 for any other token)."""
    if not token or len(token) > 200:
        raise Refused(404, "no such invitation")
    inv = s.scalar(select(EventInvitation).where(EventInvitation.token_hash == token_hash(token))
                   .with_for_update(of=EventInvitation) if lock else
                   select(EventInvitation).where(EventInvitation.token_hash == token_hash(token)))
    if inv is None:
        raise Refused(404, "no such invitation")
    ev = s.get(EditionEvent, inv.edition_event_id)
    return inv, ev, s.get(Call, ev.call_id)


def invitation(s: Session, token: str, now: datetime) -> dict:
    """What the RSVP page shows: the invitee, the event, whether answers are open, the answer."""
    inv, ev, call = by_token(s, token)
    return {"invitation_id": inv.id, "name": inv.name, "organisation": inv.organisation, "email": inv.email,
            "language": inv.language, "year": call.year, "event": {"name": ev.name, "kind": ev.kind, **{
                k: getattr(ev, k) for k in ("venue", "address", "details", "time_zone")},
                "starts_at": as_utc(ev.starts_at), "rsvp_by": as_utc(ev.rsvp_by)},
            "max_delegates": ev.max_delegates, "open": now < as_utc(ev.starts_at),
            "rsvp": rsvp_view_of(s.get(EventRsvp, inv.id)), "notice": notice_of(call)}


def _consent(call: Call, given: int | None, rsvp: EventRsvp | None) -> int:
    """The notice version a visa letter's details are given under: the one ticked now, or the one
    agreed to with an earlier answer if it is still the notice's."""
    notice = notice_of(call)
    if given is None and rsvp is not None and rsvp.consent_version == notice.version:
        return notice.version
    if given is None:
        raise ConsentRefused("missing", "visa and passport details need a consent to the privacy notice "
                             f"(privacy_consent: its version, {notice.version})", notice)
    if given != notice.version:
        raise ConsentRefused("stale", f"version {given} is not the privacy notice's current version "
                             f"({notice.version}): read it again", notice)
    return given


def answer(db, token: str, data: dict, now: datetime, public_url: str) -> dict:
    """Record the answer (first or changed) for the link's invitation; Refused 404 for a bad
    token, 410 once the event started, 409 for a stale revision, 422 for what the rules refuse."""
    with db.session() as s, s.begin():
        inv, ev, call = by_token(s, token, lock=True)
        if now >= as_utc(ev.starts_at):
            raise RuleViolation(410, STARTED)
        checked = rsvp_rules.checked_answer(data, ev.max_delegates)
        row = s.get(EventRsvp, inv.id)
        rsvp_rules.check_revision(row, data.get("revision"))
        consent = _consent(call, data.get("privacy_consent"), row) if checked["visa_letter"] else None
        if row is None:
            row = EventRsvp(invitation_id=inv.id, revision=0, first_answered_at=now)
            s.add(row)
        rsvp_rules.apply(row, checked, now)
        row.travel_data_deleted_at = None  # details given again: kept until their own time
        row.consent_version = consent if consent is not None else row.consent_version
        try:
            s.flush()  # two first answers at once: the second one's insert fails here
        except IntegrityError:
            raise RuleViolation(409, rsvp_rules.RACED) from None
        who = {"invitee": "prospect" if inv.prospect_id else "applicant", "prospect_id": inv.prospect_id,
               "applicant_id": inv.applicant_id, "name": inv.name, "email": inv.email, "language": inv.language,
               "organisation": inv.organisation}
        record(s, outbox, make_event("event.rsvp_received", {
            **guest(call, ev, inv.id, who, rsvp_url(public_url, token)), **checked,
            "revision": row.revision, "answered_at": now}, producer="intake", correlation_id=inv.id))
        return rsvp_view_of(row)
