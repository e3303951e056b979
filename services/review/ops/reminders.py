"""Reminders before a round's due date to jurors with reviews pending (a timed job of review's
worker: jobs.send_reminders).

When. Each open round with a due date has reminder windows: ``REMINDERS`` (3 days and 1 day
before the due date). The window of an offset opens at ``due_at - offset`` and lasts until the
due date. At any moment only the latest window that has opened counts: a worker that was down
for the whole 3-day window and comes back 1 day before sends the 1-day reminder alone, not
both. Nothing is sent once the due date has passed or the round is closed.

Whom. Every active juror with at least one pending review in the round: an assignment still
``pending`` (not submitted, not removed), on an application that was not withdrawn, and with no
conflict of interest (detected or declared) between the juror and the application. The reminder
lists exactly those applications; a conflicted one is never named.

Exactly once, also with two workers. Each reminder is a ``reminders_sent`` row, unique on
(round, juror, offset), inserted with ON CONFLICT DO NOTHING in the transaction that adds the
``review.reminder`` event to the outbox. Only the worker whose insert added the row records the
event; a second worker running at the same moment waits on the first one's row (PostgreSQL) or
on its write lock (SQLite) and then adds nothing. Tests move ``now`` instead of waiting.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from shared import reminders
from shared.events import ValidationError, make_event
from shared.events.common import LANGUAGES
from shared.outbox import record

from ..models import Application, Assignment, Call, Conflict, Juror, ReminderSent, Round, outbox

log = logging.getLogger("prize.review.reminders")

PRODUCER = "review"
# Reminder offsets before the due date, by key (the key is stored and travels in the event).
REMINDERS: dict[str, timedelta] = {"3d": timedelta(days=3), "1d": timedelta(days=1)}


def reminder_due(due_at: datetime, now: datetime) -> str | None:
    """The key of the reminder whose window ``now`` is in (the latest one opened), or None."""
    return reminders.window(due_at, now, REMINDERS)


def _pending(session: Session, rnd: Round) -> dict[str, list[Application]]:
    """Each active juror's pending applications in the round, by juror id (ordered by reference)."""
    conflicted = exists().where(Conflict.juror_id == Assignment.juror_id,
                                Conflict.application_id == Assignment.application_id)
    rows = session.execute(
        select(Assignment.juror_id, Application)
        .join(Application, Application.id == Assignment.application_id)
        .join(Juror, Juror.id == Assignment.juror_id)
        .where(Assignment.round_id == rnd.id, Assignment.status == "pending",
               Application.stage != "withdrawn", Juror.active.is_(True), ~conflicted)
        .order_by(Assignment.juror_id, Application.reference)).all()
    by_juror: dict[str, list[Application]] = defaultdict(list)
    for juror_id, app in rows:
        by_juror[juror_id].append(app)
    return by_juror


def _claim(session: Session, row: dict) -> bool:
    """Insert the sent row unless it exists: True if this transaction added it."""
    return reminders.claim(session, ReminderSent.__table__, row, ["round_id", "juror_id", "offset_key"])


def due_reminders(session: Session, now: datetime, *, review_url: str = "http://127.0.0.1:8002") -> int:
    """Publish every reminder that is due at ``now`` and not sent yet; return how many.

    One transaction: the reminders_sent rows and their outbox events commit together (or not at
    all, and the next run tries again). Rounds and jurors are taken in id order so that two
    workers meet on the same rows in the same order and never deadlock.
    """
    jury_url = f"{review_url.rstrip('/')}/jury"
    sent = 0
    with session.begin():  # the sent rows and their events commit together, or not at all
        rounds = session.scalars(select(Round).where(Round.status == "open", Round.due_at.is_not(None))
                                 .order_by(Round.id)).all()
        for rnd in rounds:
            key = reminder_due(rnd.due_at, now)
            if key is None or rnd.kind not in ("finalist", "award"):
                continue
            by_juror = _pending(session, rnd)
            if not by_juror:
                continue
            done = set(session.scalars(select(ReminderSent.juror_id).where(
                ReminderSent.round_id == rnd.id, ReminderSent.offset_key == key)))
            call = session.get(Call, rnd.call_id)
            for juror_id in sorted(set(by_juror) - done):
                juror, apps = session.get(Juror, juror_id), by_juror[juror_id]
                try:
                    event = make_event("review.reminder", {
                        "juror_id": juror.id, "name": juror.name, "email": juror.email,
                        "language": juror.language if juror.language in LANGUAGES else "en",
                        "round": rnd.kind, "call_id": rnd.call_id,
                        "year": call.year if call else rnd.due_at.year, "due_at": rnd.due_at,
                        "reminder": key, "pending": len(apps),
                        "applications": [{"application_id": a.id, "reference": a.reference, "title": a.title,
                                          "category": a.category} for a in apps],
                        "url": jury_url}, producer=PRODUCER, correlation_id=f"{rnd.id}:{juror.id}:{key}")
                except ValidationError as exc:  # one bad row must not stop everyone else's reminder
                    log.error("no %s reminder for juror %s in round %s: %s", key, juror_id, rnd.id, exc.messages)
                    continue
                if not _claim(session, {"event_id": str(event.id), "round_id": rnd.id, "juror_id": juror.id,
                                        "offset_key": key, "due_at": rnd.due_at, "pending": len(apps),
                                        "sent_at": now}):
                    continue  # another worker got there first
                record(session, outbox, event)
                sent += 1
    if sent:
        log.info("published %d review reminder(s)", sent)
    return sent


__all__ = ["REMINDERS", "reminder_due", "due_reminders"]
