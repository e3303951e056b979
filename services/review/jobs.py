"""review's timed work (the worker's periodic jobs): thin entry points over ops."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.db import Database

from .ops.reminders import due_reminders

CHECK_EVERY_SECONDS = 300.0  # how often the worker looks for reminders due


def send_reminders(db: Database, review_url: str) -> int:
    """Reminders before a round's due date: one pass at the current time."""
    with db.session() as session:
        return due_reminders(session, datetime.now(timezone.utc), review_url=review_url)
