"""Reminders to invited prospects before an edition closes (a timed job of intake's worker, with
the draft reminders: jobs.py).

When. ``OUTREACH_REMINDERS``: 14 and 3 days before the edition's closing time; only the latest
window that has opened counts (shared.reminders.window), as for the draft reminders. Nothing
once the edition closed or is not open.

Whom. Every prospect invited to the edition (an OutreachInvitation of it), not opted out, who
either has not registered (``not_registered``: the reminder carries a new single-use registration
link, made as the invitation's was, since only the hashes of the earlier ones are kept) or has
registered and submitted nothing to the edition (``not_submitted``: a link to the portal).

Exactly once, also with two workers: an ``outreach_reminders_sent`` row, unique on (prospect,
edition, offset), inserted with ON CONFLICT DO NOTHING in the transaction that adds the
outreach.reminder event to the outbox (shared.reminders.claim). Tests move ``now``.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import reminders
from shared.events import ValidationError, make_event
from shared.outbox import record

from .. import rules
from ..models import Applicant, Application, Call, OutreachInvitation, OutreachReminderSent, Prospect, outbox
from . import outreach

log = logging.getLogger("prize.intake.outreach")

OUTREACH_REMINDERS: dict[str, timedelta] = {"14d": timedelta(days=14), "3d": timedelta(days=3)}


def _applicant_of(s: Session, prospect: Prospect) -> str | None:
    if prospect.applicant_id:
        return prospect.applicant_id
    return s.scalar(select(Applicant.id).where(func.lower(Applicant.contact_email) == prospect.email.lower()))


def _submitted(s: Session, applicant_id: str, call_id: str) -> bool:
    return s.scalar(select(func.count()).select_from(Application).where(
        Application.applicant_id == applicant_id, Application.call_id == call_id,
        Application.submitted_at.is_not(None))) > 0


def _new_link(call: Call, p: Prospect, key: str, public_url: str, now: datetime,
              event_id: uuid.UUID) -> tuple[str, OutreachInvitation]:
    """A fresh single-use registration link for the reminder (an invitation row of its own)."""
    token = secrets.token_urlsafe(32)
    row = OutreachInvitation(id=str(uuid.uuid4()), prospect_id=p.id, call_id=call.id,
                             token_hash=outreach.token_hash(token), event_id=str(event_id), sent_at=now,
                             sent_by=f"reminder {key}", expires_at=outreach.expiry(call, now))
    return outreach.registration_url(public_url, token), row


def _remind(s: Session, call: Call, p: Prospect, key: str, now: datetime, public_url: str) -> bool:
    applicant_id = _applicant_of(s, p)
    if applicant_id and _submitted(s, applicant_id, call.id):
        return False
    stage = "not_submitted" if applicant_id else "not_registered"
    event_id = uuid.uuid4()
    url, link = ((f"{public_url.rstrip('/')}/portal", None) if applicant_id
                 else _new_link(call, p, key, public_url, now, event_id))
    data = {k: v for k, v in outreach.event_data(call, p, url, now, "", "").items()
            if k not in ("invitation_id", "expires_at", "invited_by")}
    try:
        event = make_event("outreach.reminder", {**data, "reminder": key, "stage": stage},
                           producer=outreach.PRODUCER, correlation_id=f"{p.id}:{key}")
    except ValidationError as exc:  # one bad row must not stop everyone else's reminder
        log.error("no %s outreach reminder for prospect %s: %s", key, p.id, exc.messages)
        return False
    if not reminders.claim(s, OutreachReminderSent.__table__, {
            "event_id": str(event_id), "prospect_id": p.id, "call_id": call.id, "offset_key": key,
            "stage": stage, "sent_at": now}, ["prospect_id", "call_id", "offset_key"]):
        return False  # sent before, or another worker got there first
    if link is not None:
        s.add(link)
    record(s, outbox, dataclasses.replace(event, id=event_id))
    return True


def due_outreach_reminders(session: Session, now: datetime, *, public_url: str) -> int:
    """Publish every outreach reminder due at ``now`` and not sent yet; return how many."""
    sent = 0
    with session.begin():
        calls = session.scalars(select(Call).where(Call.status == "open").order_by(Call.id)).all()
        for call in calls:
            if now < rules.as_utc(call.opens_at):
                continue
            key = reminders.window(rules.as_utc(call.closes_at), now, OUTREACH_REMINDERS)
            if key is None:
                continue
            invited = select(OutreachInvitation.prospect_id).where(OutreachInvitation.call_id == call.id)
            prospects = session.scalars(select(Prospect).where(
                Prospect.id.in_(invited), Prospect.opted_out_at.is_(None)).order_by(Prospect.id)).all()
            for p in prospects:
                sent += _remind(session, call, p, key, now, public_url)
    if sent:
        log.info("published %d outreach reminder(s)", sent)
    return sent
