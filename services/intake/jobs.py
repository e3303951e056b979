"""intake's timed work (the worker's periodic jobs): thin entry points over ops."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.db import Database
from shared.worker import PeriodicJob

from .ops import ceremony, reminders, retention, submission_copy
from .ops import event_retention, outreach_reminders

# How often intake's worker looks for draft reminders, and RSVP reminders, that are due.
CHECK_EVERY_SECONDS = 300.0
# How often intake's worker looks for applications due an invitation that have none.
INVITE_SWEEP_SECONDS = 60.0
# How often intake's worker deletes the visa and passport details that are past their time.
TRAVEL_DATA_SECONDS = 3600.0
# How often intake's worker makes the PDFs of newly submitted applications.
SUBMISSION_COPY_SECONDS = 5.0


def draft_reminders(db: Database, public_url: str) -> int:
    """Reminders to applicants whose application is still a draft before the call closes (safe
    with two workers): one pass at the current time."""
    with db.session() as session:
        return reminders.due_reminders(session, datetime.now(timezone.utc), public_url=public_url)


def outreach_reminders_due(db: Database, public_url: str) -> int:
    """Invited prospects who have not registered, or not submitted, before the edition closes
    (14 and 3 days before; once each, safe with two workers)."""
    with db.session() as session:
        return outreach_reminders.due_outreach_reminders(session, datetime.now(timezone.utc), public_url=public_url)


def rsvp_reminders(db: Database, public_url: str) -> int:
    """Invited applicants who have not answered: the day before the RSVP date and once it passed."""
    with db.session() as session:
        return ceremony.due_rsvp_reminders(session, datetime.now(timezone.utc), public_url=public_url)


def ceremony_invitations(db: Database, public_url: str) -> int:
    """Whoever is due a ceremony invitation and has none (a safety net: releases and the
    ceremony's PUT invite at once)."""
    return ceremony.sweep_invitations(db, public_url)


def travel_data(db: Database, days: int) -> int:
    """Visa and passport details of ceremonies more than ``days`` past, deleted (safe with two workers)."""
    now = datetime.now(timezone.utc)
    return retention.delete_travel_data(db, now, days) + event_retention.delete_travel_data(db, now, days)


def submission_copies(db: Database, storage) -> int:
    """The PDF of each submitted application that has none yet (tried again until it exists)."""
    return submission_copy.make_due(db, storage)


def periodic_jobs(db: Database, public_url: str, storage=None, travel_data_days: int = 30) -> list[PeriodicJob]:
    jobs = [PeriodicJob("draft-reminders", CHECK_EVERY_SECONDS, lambda: draft_reminders(db, public_url)),
            PeriodicJob("rsvp-reminders", CHECK_EVERY_SECONDS, lambda: rsvp_reminders(db, public_url)),
            PeriodicJob("outreach-reminders", CHECK_EVERY_SECONDS, lambda: outreach_reminders_due(db, public_url)),
            PeriodicJob("ceremony-invitations", INVITE_SWEEP_SECONDS, lambda: ceremony_invitations(db, public_url)),
            PeriodicJob("travel-data-deletion", TRAVEL_DATA_SECONDS, lambda: travel_data(db, travel_data_days))]
    if storage is not None:
        jobs.append(PeriodicJob("submission-copies", SUBMISSION_COPY_SECONDS, lambda: submission_copies(db, storage)))
    return jobs
