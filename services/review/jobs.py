"""review's timed work (the worker's periodic jobs): thin entry points over ops."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.db import Database

from .ops.reminders import due_reminders
from .ops.screening import publish_due

CHECK_EVERY_SECONDS = 300.0  # how often the worker looks for reminders due
# how often it looks for screening emails whose undo window has passed (the lateness of one)
SCREENING_EVERY_SECONDS = 15.0


def send_reminders(db: Database, review_url: str) -> int:
    """Reminders before a round's due date: one pass at the current time."""
    with db.session() as session:
        return due_reminders(session, datetime.now(timezone.utc), review_url=review_url)


def publish_screenings(db: Database, now: datetime | None = None) -> int:
    """Screening decisions whose undo window has passed: their events go to the outbox (one
    transaction; safe with two workers)."""
    with db.session() as session, session.begin():
        return publish_due(session, now or datetime.now(timezone.utc))
