"""The juror's desk, reading: their assignments, an application with its rubric, a document
link and one assignment's state (the rules are described in desk.py's docstring)."""
from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..models import Application, Assignment, Call, Juror, Round
from ..scoring import weighted_total
from .desk_access import (LIVE, NOT_FOUND_DOCUMENT, Refusal, Terms, _conflicted, _own_assignment, _scored,
                          _visible_application, active_juror, log, terms)

# ---- reading ----

_MINE = (
    select(Assignment.id, Assignment.application_id, Assignment.status, Assignment.revision, Assignment.scores,
           Assignment.updated_at, Assignment.submitted_at,
           Application.reference, Application.title, Application.category, Application.call_id,
           Round.id.label("round_id"), Round.kind, Round.status.label("round_status"),
           Round.call_id.label("round_call_id"), Round.due_at, Round.peer_scores,
           Call.version.label("call_version"), Call.year.label("call_year"),
           Juror.name.label("juror_name"), Juror.active.label("juror_active"))
    .join(Application, Application.id == Assignment.application_id)
    .join(Round, Round.id == Assignment.round_id)
    .join(Call, Call.id == Application.call_id)
    .join(Juror, Juror.id == Assignment.juror_id)
    .where(Assignment.juror_id == bindparam("juror_id"), Assignment.status != "removed",  # live
           Application.stage != "withdrawn", ~_conflicted(bindparam("juror_id"), Assignment.application_id))
    .order_by(Round.opened_at, Round.id, Application.reference))


_JUROR = select(Juror.id, Juror.name, Juror.active).where(Juror.id == bindparam("juror_id"))
# criteria keys per (call, version, category): a call's terms change only with a new version
_KEYS: dict[tuple[str, int, str], list[str]] = {}


def _criteria_keys_cached(conn, call_id: str, version: int, category: str) -> list[str]:
    key = (call_id, version, category)
    keys = _KEYS.get(key)
    if keys is None:
        categories = conn.execute(select(Call.categories).where(Call.id == call_id)).scalar()
        keys = _KEYS[key] = _keys_in(categories, category)
        if len(_KEYS) > 10_000:  # editions are few; this only bounds a pathological growth
            _KEYS.clear()
    return keys


def my_assignments(session: Session, juror_id: str) -> dict:
    """The juror's live assignments per round with progress, without any application they are
    conflicted on (a declared conflict counts from the next request on) or that was withdrawn.

    The list is the page a juror opens most: one statement brings the rows with the juror and
    the call (read in autocommit: no BEGIN/ROLLBACK round trips), only the columns it shows (no
    comments, no application content), and each call's criteria come from a small cache keyed
    by the call's version."""
    with session.get_bind().connect() as conn:
        if conn.dialect.name == "postgresql":  # (SQLite's BEGIN IMMEDIATE must stay paired)
            conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = conn.execute(_MINE, {"juror_id": str(juror_id)}).all()
        if rows:
            juror = (str(juror_id), rows[0].juror_name, rows[0].juror_active)
        else:
            found = conn.execute(_JUROR, {"juror_id": str(juror_id)}).first()
            juror = tuple(found) if found else None
        if juror is None or not juror[2]:
            raise Refusal(403, "this juror account is not active; ask the secretariat", code="inactive")
        rounds: dict[str, dict] = {}
        keys_of: dict[tuple, list[str]] = {}
        # Rows unpacked by position (the order of _MINE's columns): 60 rows × 20 names by
        # attribute cost more than the rest of the loop on the page jurors open most.
        for (assignment_id, application_id, status, revision, scores, updated_at, submitted_at,
             reference, title, category, call_id, round_id, kind, round_status, round_call_id, due_at,
             peer_scores, call_version, call_year, _name, _active) in rows:
            entry = rounds.get(round_id)
            if entry is None:
                entry = rounds[round_id] = {
                    "id": round_id, "kind": kind, "status": round_status, "call_id": round_call_id,
                    "year": call_year, "due_at": due_at, "peer_scores": peer_scores, "assignments": []}
            terms = (call_id, call_version, category)
            keys = keys_of.get(terms)
            if keys is None:
                keys = keys_of[terms] = _criteria_keys_cached(conn, call_id, call_version, category)
            entry["assignments"].append({
                "id": assignment_id, "application_id": application_id, "reference": reference, "title": title,
                "category": category, "status": status, "revision": revision,
                "criteria": len(keys), "criteria_scored": _scored(scores or {}, keys),
                "updated_at": updated_at, "submitted_at": submitted_at})
    for entry in rounds.values():
        total = len(entry["assignments"])
        done = sum(1 for a in entry["assignments"] if a["status"] == "submitted")
        entry["progress"] = {"scored": done, "total": total, "text": f"{done} of {total} scored"}
    return {"juror": {"id": juror[0], "name": juror[1]}, "rounds": list(rounds.values())}


def _keys_in(categories, category: str) -> list[str]:
    for c in categories or []:
        if c.get("key") == category:
            return [x["key"] for x in c.get("criteria") or []]
    return []


def _criteria_keys(call: Call | None, category: str) -> list[str]:
    for c in (call.categories if call else None) or []:
        if c.get("key") == category:
            return [x["key"] for x in c.get("criteria") or []]
    return []


def _assignment_state(a: Assignment, rnd: Round, t: Terms) -> dict:
    return {"id": a.id, "application_id": a.application_id, "round": {"id": rnd.id, "kind": rnd.kind,
                                                                       "status": rnd.status,
                                                                       "peer_scores": rnd.peer_scores},
            "status": a.status, "scores": dict(a.scores or {}), "comments": dict(a.comments or {}),
            "revision": a.revision, "criteria": len(t.criteria), "criteria_scored": _scored(a.scores or {}, t.keys),
            "total": _total(a.scores or {}, t), "updated_at": a.updated_at, "submitted_at": a.submitted_at,
            "locked": rnd.status != "open"}


def _total(scores: dict, t: Terms) -> float | None:
    """The weighted total once every criterion is scored (equal weights when none is set)."""
    if not t.criteria or _scored(scores, t.keys) < len(t.keys):
        return None
    weights = t.weights if any(t.weights.values()) else {k: 1.0 for k in t.keys}
    return round(weighted_total(scores, weights), 4)


def open_application(session: Session, juror_id: str, application_id: str, path: str) -> dict:
    """The application as its juror reads it: content, the rubric beside each answer, project
    facts, documents (metadata), and the juror's own assignment(s) on it."""
    juror = active_juror(session, juror_id)
    app = _visible_application(session, juror.id, application_id, path)
    t = terms(session, app)
    mine = session.execute(select(Assignment, Round).join(Round, Round.id == Assignment.round_id).where(
        Assignment.juror_id == juror.id, Assignment.application_id == app.id,
        Assignment.status.in_(LIVE)).order_by(Round.opened_at)).all()
    answers = dict(app.answers or {})
    view = {
        "id": app.id, "reference": app.reference, "call_id": app.call_id, "category": app.category,
        "title": app.title, "summary": app.summary, "language": app.language,
        "applicant": {"type": app.applicant_type, "organisation": app.organisation, "country": app.country,
                      "city": app.city},
        "submitted_at": app.submitted_at, "scale": {"min": t.score_min, "max": t.score_max},
        "criteria": [dict(c, answer=answers.get(c["key"], "")) for c in t.criteria],
        "project": dict(app.project or {}),
        "documents": [{k: d.get(k) for k in ("id", "kind", "filename", "content_type", "size", "sha256")}
                      for d in app.documents or []],
        "assignments": [_assignment_state(a, rnd, t) for a, rnd in mine],
    }
    session.rollback()  # a read: nothing to keep, and SQLite's write lock goes at once
    return view


def document_link(session: Session, juror_id: str, application_id: str, document_id: str, path: str,
                  storage) -> str:
    """A short-lived download link (``storage``: a shared.storage.Storage) to one of the
    application's checked documents."""
    juror = active_juror(session, juror_id)
    app = _visible_application(session, juror.id, application_id, path)
    doc = next((dict(d) for d in app.documents or [] if str(d.get("id")) == str(document_id)), None)
    log.info("juror %s asked for document %s of %s", juror.id, document_id, app.id)
    session.rollback()
    if doc is None:
        raise Refusal(404, NOT_FOUND_DOCUMENT, code="not_found")
    return storage.download_url(doc["storage_key"], doc.get("filename") or "document",
                                doc.get("content_type") or "application/octet-stream")


def assignment_state(session: Session, juror_id: str, assignment_id: str, path: str) -> dict:
    juror = active_juror(session, juror_id)
    a, app, rnd = _own_assignment(session, juror.id, assignment_id, path)
    state = _assignment_state(a, rnd, terms(session, app))
    session.rollback()
    return state


def who(session: Session, juror_id: str) -> dict:
    """The juror as the pages greet them."""
    juror = session.get(Juror, juror_id)
    return {"id": juror_id, "name": juror.name if juror else "Juror"}
