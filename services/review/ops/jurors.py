"""Jurors and their conflicts of interest (the secretariat's side)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import assignment
from ..models import Application, Assignment, Conflict, Juror
from . import history
from .common import page_of, SOURCES, Refused, _emit, _id


# -- conflicts of interest ----------------------------------------------------------------------

def as_juror(j: Juror, max_load: int | None = None) -> assignment.Juror:
    return assignment.Juror(id=j.id, country=j.country, organisation=j.organisation, email=j.email,
                            expertise=frozenset(j.expertise or ()),
                            max_load=j.max_load if max_load is None else max_load)


def as_candidate(a: Application) -> assignment.Candidate:
    return assignment.Candidate(id=a.id, category=a.category, country=a.country,
                                organisation=a.organisation, contact_email=a.contact_email)


def record_conflicts(session: Session, jurors: list[Juror], applications: list[Application],
                     actor: str, now: datetime) -> list[Conflict]:
    """Store the automatic conflicts between these jurors and applications that are not stored
    yet (one row per source), each with its ledger entry. Returns the new rows."""
    if not jurors or not applications:
        return []
    known = set(session.execute(
        select(Conflict.juror_id, Conflict.application_id, Conflict.source)
        .where(Conflict.juror_id.in_([j.id for j in jurors]) if len(jurors) <= len(applications)
               else Conflict.application_id.in_([a.id for a in applications]))).all())
    added = []
    candidates = [(a, as_candidate(a)) for a in applications]
    for j in jurors:
        plain = as_juror(j)
        for a, candidate in candidates:
            for reason in assignment.conflicts(plain, candidate):
                source = SOURCES.get(reason, reason)
                if (j.id, a.id, source) in known:
                    continue
                known.add((j.id, a.id, source))
                row = Conflict(id=_id(), juror_id=j.id, application_id=a.id, source=source, reason=reason,
                               created_by=actor, created_at=now)
                added.append(row)
    if added:
        session.add_all(added)
        session.flush()
        for row in added:
            history.append(session, actor, "conflict.detected", application_id=row.application_id,
                           juror_id=row.juror_id, data={"source": row.source, "reason": row.reason}, at=now)
    return added


def conflicted_pairs(session: Session, application_ids=None) -> set[tuple[str, str]]:
    """(juror_id, application_id) of every stored conflict, automatic or declared."""
    q = select(Conflict.juror_id, Conflict.application_id)
    if application_ids is not None:
        q = q.where(Conflict.application_id.in_(list(application_ids)))
    return set(session.execute(q).all())


# -- jurors -----------------------------------------------------------------------------------

# The invitation's one-time sign-in link: app.py wires accounts.invitation_link here, so that this
# operation does not import the sign-in views.
invitation_link: Callable[[Session, Juror, datetime], tuple[str, datetime]] | None = None


def invite_juror(session: Session, data: dict, actor: str, now: datetime) -> Juror:
    email = data["email"].strip().lower()
    if session.scalar(select(Juror.id).where(Juror.email == email)):
        raise Refused(409, f"a juror with the email {email} was already invited")
    juror = Juror(id=_id(), name=data["name"].strip(), email=email, country=data["country"].upper(),
                  organisation=data.get("organisation", "").strip(), expertise=list(data.get("expertise") or []),
                  languages=list(data.get("languages") or []), language=data.get("language") or "en",
                  max_load=data.get("max_load"), active=True, invited_by=actor, invited_at=now)
    session.add(juror)
    session.flush()
    history.append(session, actor, "juror.invited", juror_id=juror.id, at=now, data={
        "name": juror.name, "email": juror.email, "country": juror.country,
        "organisation": juror.organisation, "expertise": juror.expertise, "max_load": juror.max_load})
    in_review = session.scalars(select(Application).where(Application.stage != "withdrawn")).all()
    record_conflicts(session, [juror], list(in_review), "auto", now)
    send_invitation(session, juror, now)
    return juror


def send_invitation(session: Session, juror: Juror, now: datetime) -> None:
    """A new one-time sign-in link and juror.invited with it: each event is one email (notify's
    delivery key is the event's id, the template and the address), so a re-invitation is sent
    once more and a redelivered event never twice."""
    url, expires_at = invitation_link(session, juror, now)
    _emit(session, "juror.invited", {
        "juror_id": juror.id, "name": juror.name, "email": juror.email, "language": juror.language,
        "organisation": juror.organisation, "url": url, "expires_at": expires_at}, juror.id)


def takes_work(juror: Juror) -> bool:
    """Whether assignment may give the juror applications: active and not declined."""
    return bool(juror.active) and juror.invitation != "declined"


def juror_summary(session: Session, juror: Juror) -> dict:
    """The juror with their conflicts and, per round, their progress."""
    conflicts = session.scalars(select(Conflict).where(Conflict.juror_id == juror.id)
                                .order_by(Conflict.created_at, Conflict.id)).all()
    progress: dict[str, dict] = {}
    for rnd_id, status in session.execute(select(Assignment.round_id, Assignment.status)
                                          .where(Assignment.juror_id == juror.id)):
        if status == "removed":
            continue
        p = progress.setdefault(rnd_id, {"round_id": rnd_id, "assigned": 0, "submitted": 0})
        p["assigned"] += 1
        p["submitted"] += status == "submitted"
    return {"juror": juror, "conflicts": list(conflicts), "progress": list(progress.values())}


# -- reading ----------------------------------------------------------------------------------

def all_jurors(session: Session) -> list[Juror]:
    """Every juror invited, in the order they were invited."""
    return list(session.scalars(select(Juror).order_by(Juror.invited_at, Juror.id)))


def juror_detail(session: Session, juror_id) -> dict:
    juror = session.get(Juror, str(juror_id))
    if juror is None:
        raise Refused(404, f"no juror {juror_id}")
    return juror_summary(session, juror)


def conflicts_page(session: Session, filters: dict, limit: int, offset: int) -> dict:
    """Conflicts of interest, newest first, filtered by juror_id, application_id or source."""
    q = select(Conflict)
    for key in ("juror_id", "application_id"):
        if key in filters:
            q = q.where(getattr(Conflict, key) == str(filters[key]))
    if "source" in filters:
        q = q.where(Conflict.source == filters["source"])
    return page_of(session, q, (Conflict.created_at.desc(), Conflict.id), limit, offset)
