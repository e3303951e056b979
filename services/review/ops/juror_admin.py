"""Managing jurors (the secretariat's side) and a juror's answer to the invitation: edit,
deactivate and reactivate, re-invite, accept or decline; each juror's load, progress and
conflicts. Free of Flask; every function runs in the caller's transaction (ops/common.py) and
records who did it in the ledger.

Releasing: a deactivated juror, and one who declines, leaves every open assignment (pending, in
an open round: no submitted scores) at once; those applications are then short of a juror
(``needing_jurors``) until the next assignment run fills them. Submitted reviews stay, and
assignment gives such a juror nothing more (jurors.takes_work).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from marshmallow import ValidationError, validate
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.events.common import CATEGORIES, LANGUAGES

from ..models import Application, Assignment, Call, Conflict, Juror, Round, signin_tables
from . import history
from .common import SOURCES, Refused, _get
from ..assignment import conflicts
from .jurors import as_candidate, as_juror, record_conflicts, send_invitation
from .rounds import round_applications

EDITABLE = ("name", "email", "country", "organisation", "expertise", "languages", "language", "max_load")
LIMITS = {"name": 200, "email": 320, "organisation": 300}
MAX_REASON = 2000
STATUSES = ("invited", "accepted", "declined", "deactivated")


def status(juror: Juror) -> str:
    """invited | accepted | declined | deactivated (deactivation outranks the answer)."""
    return "deactivated" if not juror.active else (juror.invitation or "invited")


# -- checking what the secretariat typed ----------------------------------------------------------

def field_errors(data: dict) -> dict[str, list[str]]:
    """The problems of juror fields, by field (the CSV import and the pages share them)."""
    errors: dict[str, list[str]] = {}
    for name, limit in LIMITS.items():
        if name not in data:
            continue
        value = (data[name] or "").strip()
        if name in ("name", "email") and not value:
            errors[name] = ["empty: required"]
        elif len(value) > limit:
            errors[name] = [f"too long: at most {limit} characters"]
    if data.get("email") and "email" not in errors:
        try:
            validate.Email()(data["email"].strip())
        except ValidationError:
            errors["email"] = ["not a valid email address"]
    if "country" in data and data["country"] and not (len(data["country"]) == 2 and data["country"].isalpha()
                                                      and data["country"].isascii()):
        errors["country"] = ["an ISO 3166 alpha-2 code, e.g. KR"]
    if "language" in data and data["language"] not in LANGUAGES:
        errors["language"] = [f"unknown language: one of {', '.join(LANGUAGES)}"]
    if "expertise" in data:
        items = data["expertise"] or []
        if len(items) > 30 or any(not str(e).strip() or len(str(e)) > 100 for e in items):
            errors["expertise"] = ["at most 30 entries of 1 to 100 characters"]
    if "categories" in data:
        unknown = [c for c in data["categories"] if c not in CATEGORIES]
        if unknown:
            errors["categories"] = [f"unknown category: {', '.join(unknown)} (one of {', '.join(CATEGORIES)})"]
    if data.get("max_load") is not None and not (isinstance(data["max_load"], int) and 0 <= data["max_load"] <= 10_000):
        errors["max_load"] = ["a whole number from 0 to 10000"]
    return errors


def _juror(session: Session, juror_id, *, lock: bool = False) -> Juror:
    return _get(session, Juror, juror_id, "juror", lock=lock)


def _changed(juror: Juror, actor: str, now: datetime) -> None:
    juror.version = (juror.version or 1) + 1
    juror.updated_by, juror.updated_at = actor, now


def update_juror(session: Session, juror_id, data: dict, actor: str, now: datetime,
                 version: int | None = None) -> Juror:
    """Change a juror's name, address, country, organisation, expertise, languages or load.
    ``version`` (optional): refuse (409) when someone changed the juror since. A new country,
    organisation or address may bring new conflicts of interest: they are detected at once."""
    juror = _juror(session, juror_id, lock=True)
    if version is not None and version != juror.version:
        raise Refused(409, "someone changed this juror since you opened it: reload and try again",
                      version=juror.version)
    data = {k: v for k, v in data.items() if k in EDITABLE}
    errors = field_errors(data)
    if errors:
        raise Refused(422, "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    if "email" in data:
        data["email"] = data["email"].strip().lower()
        taken = session.scalar(select(Juror.id).where(Juror.email == data["email"], Juror.id != juror.id))
        if taken:
            raise Refused(409, f"another juror has the email {data['email']}",
                          errors={"email": ["another juror has this address"]})
    for key in ("name", "organisation"):
        if key in data:
            data[key] = data[key].strip()
    if "country" in data:
        data["country"] = (data["country"] or "").upper()
    changes = {}
    for key, value in data.items():
        before = getattr(juror, key)
        if before != value:
            changes[key] = [before, value]
            setattr(juror, key, value)
    if not changes:
        return juror
    _changed(juror, actor, now)
    session.flush()
    history.append(session, actor, "juror.changed", juror_id=juror.id, at=now, data={"changes": changes})
    if {"country", "organisation", "email"} & set(changes):
        _clear_stale_conflicts(session, juror, actor, now)
        in_review = session.scalars(select(Application).where(Application.stage != "withdrawn")).all()
        record_conflicts(session, [juror], list(in_review), "auto", now)
    return juror


def _clear_stale_conflicts(session: Session, juror: Juror, actor: str, now: datetime) -> None:
    """Automatic conflicts whose reason no longer holds (the juror moved country, organisation or
    address) go, each with a ledger entry; declared ones stay."""
    plain = as_juror(juror)
    rows = session.execute(select(Conflict, Application).join(Application, Application.id == Conflict.application_id)
                           .where(Conflict.juror_id == juror.id, Conflict.source != "declared")).all()
    for conflict, app in rows:
        holding = {SOURCES.get(reason, reason) for reason in conflicts(plain, as_candidate(app))}
        if conflict.source not in holding:
            session.delete(conflict)
            history.append(session, actor, "conflict.cleared", application_id=app.id, juror_id=juror.id, at=now,
                           data={"source": conflict.source, "reason": conflict.reason})
    session.flush()


# -- releasing, deactivating, re-inviting -------------------------------------------------------

def open_assignments(session: Session, juror_id) -> list[dict]:
    """The juror's assignments that would be released: pending (nothing submitted) in open rounds."""
    rows = session.execute(
        select(Assignment, Application, Round).join(Application, Application.id == Assignment.application_id)
        .join(Round, Round.id == Assignment.round_id)
        .where(Assignment.juror_id == str(juror_id), Assignment.status == "pending", Round.status == "open")
        .order_by(Round.opened_at, Application.reference)).all()
    return [{"assignment": a, "application": app, "round": rnd, "started": bool(a.scores or a.comments)}
            for a, app, rnd in rows]


def release_open(session: Session, juror: Juror, actor: str, now: datetime, why: str) -> list[Assignment]:
    """Remove the juror's open assignments (their applications need another juror)."""
    released = []
    for row in open_assignments(session, juror.id):
        a = row["assignment"]
        a.status, a.updated_at = "removed", now
        released.append(a)
        history.append(session, actor, "assignment.removed", application_id=a.application_id, juror_id=juror.id,
                       at=now, data={"round_id": a.round_id, "reason": why, "had_submitted": False})
    return released


def end_sign_ins(session: Session, juror_id: str, now: datetime) -> None:
    """Every session of the juror ends and no unused sign-in link works any more."""
    sessions, links = signin_tables.sessions, signin_tables.links
    session.execute(update(sessions).where(sessions.c.juror_id == juror_id, sessions.c.revoked_at.is_(None))
                    .values(revoked_at=now))
    session.execute(update(links).where(links.c.juror_id == juror_id, links.c.used_at.is_(None))
                    .values(used_at=now))


def deactivate(session: Session, juror_id, actor: str, now: datetime, reason: str = "") -> dict:
    """The juror stops: open assignments released, sessions and links end. Again: no change."""
    juror = _juror(session, juror_id, lock=True)
    if not juror.active:
        return {"juror": juror, "released": []}
    if len(reason or "") > MAX_REASON:
        raise Refused(422, f"the reason is too long: at most {MAX_REASON} characters",
                      errors={"reason": [f"at most {MAX_REASON} characters"]})
    juror.active, juror.deactivated_by, juror.deactivated_at = False, actor, now
    _changed(juror, actor, now)
    released = release_open(session, juror, actor, now, "juror deactivated")
    end_sign_ins(session, juror.id, now)
    history.append(session, actor, "juror.deactivated", juror_id=juror.id, at=now, data={
        "reason": (reason or "").strip(), "released": [a.id for a in released]})
    return {"juror": juror, "released": released}


def reactivate(session: Session, juror_id, actor: str, now: datetime) -> Juror:
    """The juror may sign in and be assigned again (released assignments do not come back)."""
    juror = _juror(session, juror_id, lock=True)
    if juror.active:
        return juror
    juror.active, juror.deactivated_by, juror.deactivated_at = True, None, None
    _changed(juror, actor, now)
    history.append(session, actor, "juror.reactivated", juror_id=juror.id, at=now)
    return juror


def reinvite(session: Session, juror_id, actor: str, now: datetime) -> Juror:
    """Send the invitation again with a new link (one more email); a juror who declined is asked
    again (their answer goes back to invited)."""
    juror = _juror(session, juror_id, lock=True)
    if not juror.active:
        raise Refused(409, "this juror is deactivated: reactivate them before inviting them again")
    if juror.invitation == "declined":
        juror.invitation, juror.answered_at = "invited", None
    _changed(juror, actor, now)
    history.append(session, actor, "juror.reinvited", juror_id=juror.id, at=now, data={"email": juror.email})
    send_invitation(session, juror, now)
    return juror


def answer_invitation(session: Session, juror_id, answer: str, reason: str, now: datetime) -> dict:
    """The juror accepts or declines (with a reason); declining releases their open assignments.
    They may change their mind while active."""
    juror = _juror(session, juror_id, lock=True)
    if not juror.active:
        raise Refused(403, "this juror account is not active; ask the secretariat")
    reason = (reason or "").strip()
    if answer not in ("accept", "decline"):
        raise Refused(422, "answer accept or decline", errors={"answer": ["accept or decline"]})
    if answer == "decline" and not reason:
        raise Refused(422, "tell the secretariat why you decline", errors={"reason": ["empty: required to decline"]})
    if len(reason) > MAX_REASON:
        raise Refused(422, f"the reason is too long: at most {MAX_REASON} characters",
                      errors={"reason": [f"too long: at most {MAX_REASON} characters"]})
    actor = f"juror:{juror.id}"
    new = "accepted" if answer == "accept" else "declined"
    released = []
    if juror.invitation != new or (new == "declined" and juror.declined_reason != reason):
        juror.invitation, juror.answered_at = new, now
        juror.declined_reason = reason if new == "declined" else ""
        _changed(juror, actor, now)
        if new == "declined":
            released = release_open(session, juror, actor, now, "juror declined")
        history.append(session, actor, f"juror.{new}", juror_id=juror.id, at=now,
                       data={"reason": juror.declined_reason, "released": [a.id for a in released]})
    return {"juror": juror, "status": status(juror), "released": released}


# -- reading: load, progress, conflicts -----------------------------------------------------------

def _progress_rows(session: Session, juror_ids=None):
    q = (select(Assignment.juror_id, Assignment.round_id, Assignment.status, Assignment.scores, Assignment.comments)
         .where(Assignment.status != "removed"))
    if juror_ids is not None:
        q = q.where(Assignment.juror_id.in_(list(juror_ids)))
    return session.execute(q).all()


def _count(progress: dict, status_: str, started: bool) -> None:
    progress["assigned"] += 1
    key = "submitted" if status_ == "submitted" else "in_progress" if started else "not_started"
    progress[key] += 1


def _blank() -> dict:
    return {"assigned": 0, "submitted": 0, "in_progress": 0, "not_started": 0}


def juror_load(session: Session, juror_id) -> list[dict]:
    """Per round: assigned, submitted, in progress (something saved), not started."""
    rounds: dict[str, dict] = {}
    for _, round_id, status_, scores, comments in _progress_rows(session, [str(juror_id)]):
        row = rounds.setdefault(round_id, {"round_id": round_id, **_blank()})
        _count(row, status_, bool(scores or comments))
    found = {r.id: r for r in session.scalars(select(Round).where(Round.id.in_(list(rounds))))}
    years = dict(session.execute(select(Call.id, Call.year)).all())
    for round_id, row in rounds.items():
        rnd = found[round_id]
        row.update(kind=rnd.kind, round_status=rnd.status, year=years.get(rnd.call_id), due_at=rnd.due_at)
    return sorted(rounds.values(), key=lambda r: (found[r["round_id"]].opened_at, r["round_id"]))


def juror_conflicts(session: Session, juror_id) -> list[dict]:
    """The juror's conflicts of interest with the application and the reason of each."""
    rows = session.execute(select(Conflict, Application).join(Application, Application.id == Conflict.application_id)
                           .where(Conflict.juror_id == str(juror_id))
                           .order_by(Conflict.created_at, Application.reference)).all()
    return [{"id": c.id, "juror_id": c.juror_id, "application_id": a.id, "reference": a.reference, "title": a.title,
             "source": c.source, "reason": c.reason, "created_by": c.created_by, "created_at": c.created_at}
            for c, a in rows]


def juror_assignments(session: Session, juror_id) -> list[dict]:
    """Every live assignment of the juror with its application and round, oldest round first."""
    rows = session.execute(
        select(Assignment, Application, Round).join(Application, Application.id == Assignment.application_id)
        .join(Round, Round.id == Assignment.round_id)
        .where(Assignment.juror_id == str(juror_id), Assignment.status != "removed")
        .order_by(Round.opened_at, Application.reference)).all()
    return [{"assignment": a, "application": app, "round": rnd,
             "state": "submitted" if a.status == "submitted" else "in_progress" if (a.scores or a.comments)
             else "not_started"} for a, app, rnd in rows]


def juror_overview(session: Session, juror_id) -> dict:
    """A juror with their status, load and progress per round, and their conflicts."""
    juror = _juror(session, juror_id)
    load = juror_load(session, juror.id)
    total = _blank()
    for row in load:
        for key in total:
            total[key] += row[key]
    return {"juror": juror, "status": status(juror), "load": load, "total": total,
            "conflicts": juror_conflicts(session, juror.id)}


def jurors_overview(session: Session) -> list[dict]:
    """Every juror with status and their totals over all rounds, in the order they were invited."""
    totals: dict[str, dict] = defaultdict(_blank)
    for juror_id, _, status_, scores, comments in _progress_rows(session):
        _count(totals[juror_id], status_, bool(scores or comments))
    conflicts: dict[str, int] = defaultdict(int)
    for (juror_id,) in session.execute(select(Conflict.juror_id)):
        conflicts[juror_id] += 1
    return [{"juror": j, "status": status(j), "total": totals[j.id] if j.id in totals else _blank(),
             "conflicts": conflicts[j.id]}
            for j in session.scalars(select(Juror).order_by(Juror.invited_at, Juror.id))]


def needing_jurors(session: Session) -> list[dict]:
    """Applications of open rounds, once assigned, with fewer live jurors than the round asks
    (a juror was released, removed or declared a conflict): the next assignment run fills them."""
    found = []
    for rnd in session.scalars(select(Round).where(Round.status == "open").order_by(Round.opened_at)):
        live: dict[str, int] = defaultdict(int)
        rows = session.execute(select(Assignment.application_id, Assignment.status)
                               .where(Assignment.round_id == rnd.id)).all()
        for app_id, status_ in rows:
            live[app_id] += status_ != "removed"
        if not rows:
            continue  # never assigned: the dashboard's "Assign jurors" is the first step
        for app in round_applications(session, rnd):
            if live[app.id] < rnd.jurors_per_application:
                found.append({"round": rnd, "application": app, "jurors": live[app.id],
                              "needed": rnd.jurors_per_application - live[app.id]})
    return found
