"""Starting and saving a draft: the one place for these rules, used by the JSON API and the portal.

Free of Flask: a refusal is a ``rules.RuleViolation`` (a shared.refusals.Refused); the API turns it
into a JSON error and the pages show its message. Both functions work inside the caller's transaction and never commit.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import rules
from ..models import Applicant, Application, Call, DeadlineException

# What a save may change besides the answers (the form's project facts).
EDITABLE_FIELDS = ("title", "summary", "location", "start_date", "budget", "partners")


class DraftRefused(rules.RuleViolation):
    """A refusal that names more than one field: ``errors`` maps field → messages (as in the API's
    ``errors.json``)."""


class AlreadyStarted(rules.RuleViolation):
    """The applicant already has an application in this call and category (``application_id``)."""

    def __init__(self, application_id: str):
        super().__init__(409, f"you already have an application in this category: {application_id}")
        self.application_id = application_id


class StaleRevision(DraftRefused):
    """The save was based on an older revision than the stored one: someone saved since."""

    def __init__(self, current: int):
        super().__init__(409, f"this draft was saved elsewhere since (now revision {current}); "
                         "reload it before saving", {"revision": [str(current)]}, field="revision")
        self.current = current


def _exception_for(session, call_id: str, applicant_id: str) -> DeadlineException | None:
    """The applicant's latest unrevoked deadline exception, if any."""
    return session.scalars(select(DeadlineException).where(
        DeadlineException.call_id == call_id, DeadlineException.applicant_id == applicant_id,
        DeadlineException.revoked_at.is_(None)).order_by(DeadlineException.granted_at.desc())).first()


def start_draft(session, applicant_id: str, call_id: str, category: str, title: str, summary: str,
                now: datetime) -> Application:
    """A new draft of ``applicant_id`` in the call's category, added and flushed.

    Refuses (RuleViolation): an applicant that no longer exists (401), a call that does not exist
    or is still a draft (422, call_id), a call not open for this applicant at ``now`` (a deadline
    exception counts) or a category not open to the applicant's type (see rules.check_may_enter),
    and a second application in the same call and category (AlreadyStarted, 409).
    """
    applicant = session.get(Applicant, str(applicant_id))
    if applicant is None:
        raise rules.RuleViolation(401, "this token's applicant no longer exists")
    call = session.get(Call, str(call_id)) if call_id else None
    if call is None or call.status == "draft":
        raise DraftRefused(422, "no open call with this id", {"call_id": ["no such call"]}, field="call_id")
    closes = rules.effective_closes_at(call, _exception_for(session, call.id, applicant.id))
    rules.check_may_enter(call, applicant, category, now, closes)
    existing = session.scalar(select(Application.id).where(
        Application.applicant_id == applicant.id, Application.call_id == call.id,
        Application.category == category))
    if existing:
        raise AlreadyStarted(existing)
    row = Application(id=str(uuid.uuid4()), reference=rules.new_reference(call.year),
                      call_id=call.id, applicant_id=applicant.id, category=category,
                      title=title or "", summary=summary or "", status="draft",
                      created_at=now, updated_at=now, answers={}, location="", start_date="",
                      budget="", partners="", revision=1)
    try:
        with session.begin_nested():  # two starts at the same moment: the second is told, not a 500
            session.add(row)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Application.id).where(
            Application.applicant_id == applicant.id, Application.call_id == call.id,
            Application.category == category))
        if existing is None:
            raise
        raise AlreadyStarted(existing) from None
    return row


def save_draft(session, application: Application | str, applicant_id: str | None,
               changes: dict, now: datetime) -> Application:
    """Apply ``changes`` to a draft and return it, its row locked for the rest of the transaction.

    ``application`` is a row or an id; ``applicant_id`` the owner (None skips the check). ``changes``
    holds any of EDITABLE_FIELDS, ``answers`` (criterion key → text: keys sent replace, keys absent
    stay) and ``revision``, the revision the save was based on (when given, a stale one is refused).

    Refuses (RuleViolation): an application that is not the applicant's (404), one that is no
    longer a draft (409), a stale revision (StaleRevision, 409), answers to criteria the category
    does not have (DraftRefused, 422, errors per key) and any other field (422). Nothing is
    changed when refused.
    """
    if isinstance(application, Application):
        row = application
        session.refresh(row, with_for_update=True)  # the stored revision, not what was read earlier
    else:
        row = session.get(Application, str(application), with_for_update=True, populate_existing=True)
    if row is None or (applicant_id is not None and row.applicant_id != str(applicant_id)):
        raise rules.RuleViolation(404, f"no application {application if row is None else row.id}")
    rules.check_may_edit(row)
    changes = dict(changes)
    if "revision" in changes:
        based_on = changes.pop("revision")
        if based_on != row.revision:
            raise StaleRevision(row.revision)
    unexpected = sorted(k for k in changes if k not in EDITABLE_FIELDS and k != "answers")
    if unexpected:
        raise DraftRefused(422, "these fields cannot be saved: " + ", ".join(unexpected),
                           {k: ["not a field of an application"] for k in unexpected}, field=unexpected[0])
    if "answers" in changes:
        call = session.get(Call, row.call_id)
        unknown = rules.unknown_answer_keys(call, row.category, changes["answers"])
        if unknown:
            raise DraftRefused(422, "no such criteria in this category: " + ", ".join(unknown),
                               {"answers": {k: ["not a criterion of this category"] for k in unknown}}, field="answers")
        # keys sent replace, keys absent stay: an autosave may carry one section only
        changes["answers"] = {**(row.answers or {}), **changes["answers"]}
    for key, value in changes.items():
        setattr(row, key, value)
    row.revision = (row.revision or 1) + 1
    row.updated_at = now
    return row
