"""Reminders before a call closes to applicants whose application is still a draft (a timed job
of intake's worker, see app.create_worker).

When. Each open call has reminder windows: ``REMINDERS`` (7 days and 1 day before the
applicant's closing time). The closing time is the applicant's own: an unrevoked deadline
exception extends it (rules.effective_closes_at), and its windows move with it. The window of
an offset opens at ``closes_at - offset`` and lasts until the closing time. At any moment only
the latest window that has opened counts: a worker that was down for the whole 7-day window and
comes back 1 day before sends the 1-day reminder alone, not both. Nothing is sent once the
applicant's closing time has passed or the call is no longer open.

Whom. The contact of every application still in ``draft`` (never submitted, not withdrawn). The
reminder says what still stops submission, as the API computes it (rules.missing_for_submission
with the missing documents), and links to the application in the portal.

Exactly once, also with two workers. Each reminder is a ``draft_reminders_sent`` row, unique on
(application, offset), inserted with ON CONFLICT DO NOTHING in the transaction that adds the
``application.draft_reminder`` event to the outbox. Only the worker whose insert added the row
records the event; a second worker running at the same moment waits on the first one's row
(PostgreSQL) or on its write lock (SQLite) and then adds nothing. Tests move ``now`` instead of
waiting.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import reminders
from shared.events import ValidationError, make_event
from shared.events.common import LANGUAGES
from shared.outbox import record

from .. import rules
from .documents import missing_documents
from ..models import Applicant, Application, Call, DeadlineException, DraftReminderSent, outbox

log = logging.getLogger("prize.intake.reminders")

PRODUCER = "intake"
# Reminder offsets before the applicant's closing time, by key (stored, and sent in the event).
REMINDERS: dict[str, timedelta] = {"7d": timedelta(days=7), "1d": timedelta(days=1)}


def reminder_due(closes_at: datetime, now: datetime) -> str | None:
    """The key of the reminder whose window ``now`` is in (the latest one opened), or None."""
    return reminders.window(closes_at, now, REMINDERS)


def _missing(session: Session, application: Application, call: Call) -> list[dict]:
    """What still stops submission, as the API computes it, each with a readable title."""
    docs = missing_documents(session, application, call)
    criteria = {c["key"]: c["title"] for c in rules.criteria_of(call, application.category)}
    documents = {d["key"]: d.get("title") or d["key"] for d in (call.documents or [])}
    described = []
    for item in rules.missing_for_submission(application, call, docs):
        key, _, note = item.partition(" (")
        if key.startswith("answers."):
            title = criteria.get(key[len("answers."):], key)
        elif key.startswith("documents."):
            title = documents.get(key[len("documents."):], key)
        else:
            title = key.capitalize()
        described.append({"key": key, "title": title[:300], "over_limit": bool(note)})
    return described


def _claim(session: Session, row: dict) -> bool:
    """Insert the sent row unless it exists: True if this transaction added it."""
    return reminders.claim(session, DraftReminderSent.__table__, row, ["application_id", "offset_key"])


def due_reminders(session: Session, now: datetime, *, public_url: str = "http://127.0.0.1:8001") -> int:
    """Publish every draft reminder that is due at ``now`` and not sent yet; return how many.

    One transaction: the draft_reminders_sent rows and their outbox events commit together (or
    not at all, and the next run tries again). Calls and applications are taken in id order so
    that two workers meet on the same rows in the same order and never deadlock.
    """
    portal = f"{public_url.rstrip('/')}/portal/applications"
    sent = 0
    with session.begin():  # the sent rows and their events commit together, or not at all
        calls = session.scalars(select(Call).where(Call.status == "open").order_by(Call.id)).all()
        for call in calls:
            drafts = session.scalars(select(Application).where(
                Application.call_id == call.id, Application.status == "draft",
                Application.submitted_at.is_(None), Application.withdrawn_at.is_(None))
                .order_by(Application.id)).all()
            if not drafts:
                continue
            exceptions = {}
            for exc in session.scalars(select(DeadlineException).where(
                    DeadlineException.call_id == call.id, DeadlineException.revoked_at.is_(None))
                    .order_by(DeadlineException.granted_at)):
                exceptions[exc.applicant_id] = exc  # the latest granted wins, as in drafts._exception_for
            done = {(a, k) for a, k in session.execute(
                select(DraftReminderSent.application_id, DraftReminderSent.offset_key)
                .join(Application, Application.id == DraftReminderSent.application_id)
                .where(Application.call_id == call.id))}
            for app in drafts:
                closes_at = rules.effective_closes_at(call, exceptions.get(app.applicant_id))
                if now < rules.as_utc(call.opens_at):
                    continue
                key = reminder_due(closes_at, now)
                if key is None or (app.id, key) in done:
                    continue
                applicant = session.get(Applicant, app.applicant_id)
                missing = _missing(session, app, call)
                try:
                    event = make_event("application.draft_reminder", {
                        "application_id": app.id, "reference": app.reference, "call_id": call.id,
                        "year": call.year, "category": app.category, "title": app.title or "",
                        "name": applicant.contact_name, "email": applicant.contact_email,
                        "language": applicant.language if applicant.language in LANGUAGES else "en",
                        "closes_at": closes_at.astimezone(timezone.utc), "time_zone": call.time_zone,
                        "reminder": key, "missing": missing, "url": f"{portal}/{app.id}",
                    }, producer=PRODUCER, correlation_id=f"{app.id}:{key}")
                except ValidationError as exc:  # one bad row must not stop everyone else's reminder
                    log.error("no %s draft reminder for application %s: %s", key, app.id, exc.messages)
                    continue
                if not _claim(session, {"event_id": str(event.id), "application_id": app.id, "offset_key": key,
                                        "closes_at": closes_at, "missing": len(missing), "sent_at": now}):
                    continue  # another worker got there first
                record(session, outbox, event)
                sent += 1
    if sent:
        log.info("published %d draft reminder(s)", sent)
    return sent


__all__ = ["REMINDERS", "reminder_due", "due_reminders"]
