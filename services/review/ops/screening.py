"""Screening (round 1) as the secretariat does it: a decision, confirmed from a preview of its
email, is recorded at once but its application.screened event (the applicant's email, intake's
timeline) is held for an undo window; review's worker publishes it once the window has passed.

- ``decide`` records a decision. ``hold`` is the window (0: the event goes in the same
  transaction). A ``fingerprint`` (of what the preview showed) makes the confirmation safe:
  another decision since then refuses it as stale (409), and the same confirmation sent twice
  finds the decision it made instead of making a second one.
- ``undo`` cancels a held decision within its window: the application gets back its previous
  stage; the history keeps both entries. After the window a decision is corrected by a new one,
  which is mailed again.
- ``publish_due`` (the worker's job) claims the held decisions whose window has passed, writes
  each event to the outbox and marks the decision published, in one transaction: on PostgreSQL the
  rows are read FOR UPDATE SKIP LOCKED, and the claim is a guarded UPDATE (status still held), so
  two workers never publish one decision twice and a concurrent undo wins or loses cleanly.
"""
from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from shared.events import make_event
from shared.outbox import record

from ..models import Application, Round, ScreeningDecision, outbox
from . import history
from .common import PRODUCER, SCREENED, Refused, _get, page_of
from .desk_access import terms

REASON_MAX = 2000  # the application.screened contract's limit
STATES = ("awaiting", "pending", "eligible", "ineligible", "all")
PASSED = ("eligible", "finalist", "not_advanced")  # stages of an application found eligible


def fingerprint(session: Session, app: Application, eligible: bool, reason: str) -> str:
    """What a preview showed: the application's stage and latest decision, and the decision
    previewed. A confirmation carries it; it no longer matches once anything of it changed."""
    made = session.execute(select(ScreeningDecision.id, ScreeningDecision.status)
                           .where(ScreeningDecision.application_id == app.id)
                           .order_by(ScreeningDecision.id)).all()
    state = ",".join(f"{ident}:{status}" for ident, status in made) or "-"
    text = "\x1f".join([app.id, app.stage, state, "1" if eligible else "0", (reason or "").strip()])
    return hashlib.sha256(text.encode()).hexdigest()


def check(app: Application, eligible: bool, reason: str) -> str:
    """The reason as it will be sent, or a 422 (a 409 when the application cannot be screened)."""
    reason = (reason or "").strip()
    if not eligible and not reason:
        raise Refused(422, "an ineligible application needs a reason",
                      errors={"reason": ["required when the application is not eligible: the applicant reads it"]})
    if len(reason) > REASON_MAX:
        raise Refused(422, f"the reason is longer than {REASON_MAX} characters",
                      errors={"reason": [f"at most {REASON_MAX} characters (this one has {len(reason)})"]})
    if app.stage == "withdrawn":
        raise Refused(409, f"application {app.reference} was withdrawn: it left every round")
    if app.stage not in ("submitted", *SCREENED):
        raise Refused(409, f"application {app.reference} is already {app.stage}: screening is over for it")
    return reason


def preview(session: Session, application_id, eligible: bool, reason: str) -> dict:
    """What a confirmation page shows before the decision: the reason as it will be sent, the
    applicant's address and language, and the fingerprint the confirmation must carry. Refused
    as ``decide`` would refuse it, and when it would change nothing."""
    app = _get(session, Application, application_id, "application")
    reason = check(app, eligible, reason)
    stage = "eligible" if eligible else "ineligible"
    if app.stage == stage and (app.screening_reason or "") == reason:
        raise Refused(409, f"{app.reference} is already {'eligible' if eligible else 'not eligible'}"
                           f"{' for this reason' if reason else ''}: nothing would change")
    if app.stage in SCREENED and session.scalar(select(Round.id).where(Round.call_id == app.call_id,
                                                                       Round.kind == "finalist")) is not None:
        raise Refused(409, f"the finalist round of this call has started: {app.reference} stays {app.stage}")
    return {"id": app.id, "reference": app.reference, "title": app.title, "stage": app.stage,
            "contact_email": app.contact_email, "language": app.language, "reason": reason,
            "fingerprint": fingerprint(session, app, eligible, reason), "held": held_decision(session, app.id) is not None}


def held_decision(session: Session, application_id: str) -> ScreeningDecision | None:
    return session.scalar(select(ScreeningDecision).where(ScreeningDecision.application_id == application_id,
                                                          ScreeningDecision.status == "held"))


def decide(session: Session, application_id, eligible: bool, reason: str, actor: str, now: datetime, *,
           hold: float = 0, fingerprint_seen: str | None = None) -> dict:
    """Record a screening decision; ``{"application", "decision" (None: nothing changed),
    "replayed" (this confirmation had been recorded already), "undone" (a held decision this one
    took back: the application is as the applicant was last told)}``."""
    app = _get(session, Application, application_id, "application", lock=True)
    reason = check(app, eligible, reason)
    if fingerprint_seen is not None and fingerprint_seen != fingerprint(session, app, eligible, reason):
        earlier = session.scalar(select(ScreeningDecision).where(ScreeningDecision.fingerprint == fingerprint_seen,
                                                                 ScreeningDecision.application_id == app.id))
        if earlier is not None:
            return {"application": app, "decision": earlier, "replayed": True}
        raise Refused(409, f"the preview is stale: {app.reference} was screened by someone else since "
                           "(or changed); look at its state now and decide again", stage=app.stage)
    stage = "eligible" if eligible else "ineligible"
    if app.stage == stage and (app.screening_reason or "") == reason:
        return {"application": app, "decision": None, "replayed": False}  # the same answer: nothing is sent
    if app.stage in SCREENED:
        later = session.scalar(select(Round.id).where(Round.call_id == app.call_id, Round.kind == "finalist"))
        if later is not None:
            raise Refused(409, f"the finalist round of this call has started: {app.reference} stays {app.stage}")
    held = held_decision(session, app.id)
    if held is not None:
        # never mailed: the new decision replaces it, and undoing the new one goes back past both
        held.status = "superseded"
        previous = (held.previous_stage, held.previous_reason, held.previous_by, held.previous_at)
        if (stage, reason) == previous[:2]:  # back to what the applicant was last told: an undo
            held.status, held.undone_by, held.undone_at = "undone", actor, now
            _restore(app, held)
            history.append(session, actor, "application.screening_undone", application_id=app.id, at=now,
                           data={"decision_id": held.id, "restored": held.previous_stage, "by_new_decision": True})
            return {"application": app, "decision": None, "replayed": False, "undone": held}
    else:
        previous = (app.stage, app.screening_reason or "", app.screened_by, app.screened_at)
    row = ScreeningDecision(id=str(uuid.uuid4()), application_id=app.id, eligible=eligible, reason=reason,
                            status="held", fingerprint=fingerprint_seen, previous_stage=previous[0],
                            previous_reason=previous[1], previous_by=previous[2], previous_at=previous[3],
                            decided_by=actor, decided_at=now, send_after=now + timedelta(seconds=max(hold, 0)))
    session.add(row)
    app.stage, app.screening_reason, app.screened_by, app.screened_at = stage, reason, actor, now
    history.append(session, actor, "application.screened", application_id=app.id, at=now,
                   data={"eligible": eligible, "reason": reason, "previous": previous[0], "decision_id": row.id,
                         "email_after": row.send_after.isoformat()})
    session.flush()
    if hold <= 0:
        _publish(session, row, app, now)
    return {"application": app, "decision": row, "replayed": False}


def _restore(app: Application, row: ScreeningDecision) -> None:
    if app.stage == ("eligible" if row.eligible else "ineligible"):  # (withdrawn meanwhile: it stays so)
        app.stage, app.screening_reason = row.previous_stage, row.previous_reason
        app.screened_by, app.screened_at = row.previous_by, row.previous_at


def undo(session: Session, decision_id, actor: str, now: datetime, application_id: str | None = None) -> dict:
    """Cancel a held decision within its window: nothing is sent, the application is as before."""
    row = session.get(ScreeningDecision, str(decision_id))
    if row is None or (application_id is not None and row.application_id != str(application_id)):
        raise Refused(404, f"no screening decision {decision_id}")
    app = _get(session, Application, row.application_id, "application", lock=True)
    session.refresh(row)
    if row.status == "undone":
        return {"application": app, "decision": row, "already": True}
    if row.status != "held" or now >= row.send_after:
        raise Refused(409, "the undo window has passed and the email has gone (or is going now): correct the "
                           "decision with a new one, which is mailed too", decision_status=row.status)
    claimed = session.execute(update(ScreeningDecision).where(ScreeningDecision.id == row.id,
                                                              ScreeningDecision.status == "held")
                              .values(status="undone", undone_by=actor, undone_at=now)).rowcount
    if claimed != 1:
        raise Refused(409, "the email has just gone: correct the decision with a new one")
    session.refresh(row)
    _restore(app, row)
    history.append(session, actor, "application.screening_undone", application_id=app.id, at=now,
                   data={"decision_id": row.id, "restored": row.previous_stage})
    return {"application": app, "decision": row, "already": False}


def _publish(session: Session, row: ScreeningDecision, app: Application, now: datetime) -> None:
    event = make_event("application.screened", {
        "application_id": app.id, "reference": app.reference, "eligible": row.eligible, "reason": row.reason,
        "screened_at": row.decided_at}, producer=PRODUCER, correlation_id=app.id)
    record(session, outbox, event)
    row.status, row.published_at, row.event_id = "published", now, str(event.id)


def publish_due(session: Session, now: datetime, limit: int = 200) -> int:
    """Publish the held decisions whose undo window has passed (in the caller's transaction); how
    many were published."""
    q = (select(ScreeningDecision.id).where(ScreeningDecision.status == "held", ScreeningDecision.send_after <= now)
         .order_by(ScreeningDecision.send_after).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    published = 0
    for decision_id in list(session.scalars(q)):
        claim = (update(ScreeningDecision).where(ScreeningDecision.id == decision_id,
                                                 ScreeningDecision.status == "held")
                 .values(status="publishing"))
        if session.execute(claim).rowcount != 1:
            continue  # another worker or an undo got there first
        row = session.get(ScreeningDecision, decision_id, populate_existing=True)
        app = session.get(Application, row.application_id)
        if app is None or app.stage == "withdrawn":
            row.status = "dropped"  # withdrawn while held: intake says withdrawn, nothing else is due
            continue
        _publish(session, row, app, now)
        published += 1
    session.flush()
    return published


# --- reading ---------------------------------------------------------------------------------

def decisions_of(session: Session, application_id: str) -> list[ScreeningDecision]:
    """Every screening decision of one application, oldest first."""
    return list(session.scalars(select(ScreeningDecision).where(ScreeningDecision.application_id == application_id)
                                .order_by(ScreeningDecision.decided_at, ScreeningDecision.id)))


def history_of(session: Session, application_id) -> dict:
    app = _get(session, Application, application_id, "application")
    return {"application_id": app.id, "stage": app.stage, "decisions": [as_dict(d) for d in decisions_of(session, app.id)]}


def as_dict(row: ScreeningDecision) -> dict:
    return {k: getattr(row, k) for k in ("id", "application_id", "eligible", "reason", "status", "decided_by",
                                         "decided_at", "send_after", "published_at", "undone_by", "undone_at",
                                         "previous_stage")}


def screening_page(session: Session, state: str, search: str, call_id: str | None, limit: int, offset: int) -> dict:
    """Applications by screening state (awaiting, pending: decided but the email held, eligible,
    ineligible, all), matching ``search`` in their reference or title; each with its held decision."""
    held = select(ScreeningDecision.application_id, ScreeningDecision.send_after).where(
        ScreeningDecision.status == "held").subquery()
    q = select(Application).outerjoin(held, held.c.application_id == Application.id)
    if call_id:
        q = q.where(Application.call_id == call_id)
    if state == "awaiting":
        q = q.where(Application.stage == "submitted")
    elif state == "pending":
        q = q.where(held.c.application_id.is_not(None))
    elif state == "eligible":
        q = q.where(Application.stage.in_(PASSED))
    elif state == "ineligible":
        q = q.where(Application.stage == "ineligible")
    search = (search or "").strip()[:200]
    if search:
        like = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(Application.reference.ilike(like, escape="\\"), Application.title.ilike(like, escape="\\")))
    found = page_of(session, q, (Application.submitted_at, Application.id), limit, offset)
    ids = [a.id for a in found["items"]]
    pending = dict(session.execute(select(held.c.application_id, held.c.send_after)
                                   .where(held.c.application_id.in_(ids))).all()) if ids else {}
    return {"total": found["total"], "items": [
        {"id": a.id, "reference": a.reference, "title": a.title, "category": a.category,
         "organisation": a.organisation, "country": a.country, "stage": a.stage, "email_at": pending.get(a.id)}
        for a in found["items"]]}


def application_view(session: Session, application_id: str) -> dict:
    """The application as submitted (the juror's reading of it, for the secretariat), its held
    decision and its screening history."""
    app = session.get(Application, str(application_id))
    if app is None:
        raise Refused(404, f"no application {application_id} in review")
    t = terms(session, app)
    answers = dict(app.answers or {})
    decisions = decisions_of(session, app.id)
    return {
        "id": app.id, "reference": app.reference, "call_id": app.call_id, "category": app.category,
        "title": app.title, "summary": app.summary, "language": app.language, "stage": app.stage,
        "contact_email": app.contact_email, "screening_reason": app.screening_reason,
        "screened_by": app.screened_by, "screened_at": app.screened_at,
        "applicant": {"type": app.applicant_type, "organisation": app.organisation, "country": app.country,
                      "city": app.city},
        "submitted_at": app.submitted_at,
        "criteria": [dict(c, answer=answers.get(c["key"], "")) for c in t.criteria],
        "project": dict(app.project or {}),
        "documents": [{k: d.get(k) for k in ("id", "kind", "filename", "content_type", "size", "sha256")}
                      for d in app.documents or []],
        "decisions": [as_dict(d) for d in decisions],
        "held": next((as_dict(d) for d in decisions if d.status == "held"), None),
        "finalist_round": session.scalar(select(Round.id).where(and_(Round.call_id == app.call_id,
                                                                     Round.kind == "finalist"))) is not None,
    }


def document_link(session: Session, application_id: str, document_id: str, storage) -> str:
    """A short-lived download link to one of the application's checked documents."""
    app = session.get(Application, str(application_id))
    doc = next((dict(d) for d in (app.documents if app else None) or [] if str(d.get("id")) == str(document_id)),
               None)
    if doc is None:
        raise Refused(404, "no such document")
    return storage.download_url(doc["storage_key"], doc.get("filename") or "document",
                                doc.get("content_type") or "application/octet-stream")
