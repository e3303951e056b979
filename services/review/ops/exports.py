"""What the committee takes away: a round's scores and standings as CSV or XLSX, and an evidence
pack per application (its whole file with the ledger entries that prove its history)."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Application, Assignment, Call, Conflict, Juror, Round
from . import history
from .common import Refused
from . import standings as standing_ops

SCORE_COLUMNS = ["round", "category", "reference", "application_id", "title", "juror", "juror_email",
                 "juror_id", "status", "criterion", "criterion_title", "weight", "score", "comment",
                 "submitted_at"]
STANDING_COLUMNS = ["category", "rank", "outcome", "reference", "application_id", "title", "n_reviews",
                    "mean", "median", "spread", "disagreement", "normalised_mean", "normalised_rank", "moved",
                    "explanation"]


# A spreadsheet runs a cell starting with one of these as a formula (CSV/formula injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_LEADING_CONTROLS = re.compile("^[\x00-\x1f\x7f]+")
# XML 1.0 cannot hold these (openpyxl raises IllegalCharacterError on the C0 ones), so one
# applicant's stray control character would otherwise make the whole round's XLSX fail.
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _cell(value, xml: bool = False):
    """Text a spreadsheet would run as a formula is kept as text; for XLSX, characters XML cannot
    carry are dropped first (the guard looks past leading controls, which a reader may strip)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        if xml:
            value = _NOT_IN_XML.sub("", value)
        if value[:1] in _FORMULA_START or _LEADING_CONTROLS.sub("", value)[:1] in _FORMULA_START:
            return "'" + value
    return value


def _criteria(call: Call, category: str) -> list[dict]:
    for c in call.categories or []:
        if c["key"] == category:
            return c["criteria"]
    return []


def score_rows(session: Session, rnd: Round) -> list[list]:
    """One row per juror, application and criterion of the round (removed assignments left out)."""
    call = session.get(Call, rnd.call_id)
    rows = []
    q = (select(Assignment, Application, Juror)
         .join(Application, Application.id == Assignment.application_id)
         .join(Juror, Juror.id == Assignment.juror_id)
         .where(Assignment.round_id == rnd.id, Assignment.status != "removed")
         .order_by(Application.category, Application.reference, Juror.name, Juror.id))
    for a, app, juror in session.execute(q):
        for criterion in _criteria(call, app.category):
            key = criterion["key"]
            rows.append([rnd.kind, app.category, app.reference, app.id, app.title, juror.name, juror.email,
                         juror.id, a.status, key, criterion.get("title", key), criterion.get("weight", 1.0),
                         (a.scores or {}).get(key), (a.comments or {}).get(key, ""), a.submitted_at])
    return rows


def standing_rows(table: dict) -> list[list]:
    rows = []
    for category, c in table["categories"].items():
        for r in c["leaderboard"]:
            rows.append([category, r["rank"], r["outcome"], r["reference"], r["application_id"], r["title"],
                         r["n_reviews"], r["mean"], r["median"], r["spread"], r["disagreement"],
                         r["normalised_mean"], r["normalised_rank"], r["moved"], r["explanation"]])
    return rows


def round_csv(session: Session, round_id, normalise: bool = False) -> str:
    """Two tables in one file, each with its header: the scores, then (after an empty line) the
    standings, so a spreadsheet opens it as is."""
    rnd = session.get(Round, str(round_id))
    if rnd is None:
        raise Refused(404, f"no round {round_id}")
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(SCORE_COLUMNS)
    w.writerows([[_cell(v) for v in row] for row in score_rows(session, rnd)])
    w.writerow([])
    w.writerow(STANDING_COLUMNS)
    w.writerows([[_cell(v) for v in row] for row in standing_rows(standing_ops.standings(session, rnd.id, normalise))])
    return out.getvalue()


def round_xlsx(session: Session, round_id, normalise: bool = False) -> bytes:
    from openpyxl import Workbook
    rnd = session.get(Round, str(round_id))
    if rnd is None:
        raise Refused(404, f"no round {round_id}")
    book = Workbook()
    scores = book.active
    scores.title = "Scores"
    scores.append(SCORE_COLUMNS)
    for row in score_rows(session, rnd):
        scores.append([_cell(v, xml=True) for v in row])
    table = standing_ops.standings(session, rnd.id, normalise)
    standings = book.create_sheet("Standings")
    standings.append(STANDING_COLUMNS)
    for row in standing_rows(table):
        standings.append([_cell(v, xml=True) for v in row])
    for sheet in (scores, standings):
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def evidence_pack(session: Session, application_id) -> dict:
    app = session.get(Application, str(application_id))
    if app is None:
        raise Refused(404, f"no application {application_id}")
    jurors = {j.id: j for j in session.scalars(select(Juror).where(Juror.id.in_(
        select(Assignment.juror_id).where(Assignment.application_id == app.id).union(
            select(Conflict.juror_id).where(Conflict.application_id == app.id)))))}
    rounds = {r.id: r for r in session.scalars(select(Round).where(Round.call_id == app.call_id))}
    assignments = session.scalars(select(Assignment).where(Assignment.application_id == app.id)
                                  .order_by(Assignment.assigned_at, Assignment.id)).all()
    conflicts = session.scalars(select(Conflict).where(Conflict.application_id == app.id)
                                .order_by(Conflict.created_at, Conflict.id)).all()
    problems = history.verify(session)

    def juror(juror_id):
        j = jurors.get(juror_id)
        return {"id": juror_id, "name": j.name if j else None, "email": j.email if j else None,
                "country": j.country if j else None, "organisation": j.organisation if j else None}

    return {
        "application": {
            "id": app.id, "reference": app.reference, "call_id": app.call_id, "category": app.category,
            "title": app.title, "summary": app.summary, "applicant_type": app.applicant_type,
            "organisation": app.organisation, "country": app.country, "city": app.city,
            "contact_email": app.contact_email, "submitted_at": app.submitted_at, "stage": app.stage,
            "answers": app.answers or {}, "project": app.project or {}, "documents": app.documents or []},
        "decisions": {
            "screening": {"stage": app.stage, "reason": app.screening_reason, "by": app.screened_by,
                          "at": app.screened_at},
            "award": {"outcome": app.outcome, "award": app.award, "by": app.decided_by, "at": app.decided_at},
            "released": {r.kind: r.released_at for r in rounds.values()}},
        "assignments": [{
            "id": a.id, "round_id": a.round_id, "round": rounds[a.round_id].kind if a.round_id in rounds else None,
            "juror": juror(a.juror_id), "status": a.status, "assigned_by": a.assigned_by,
            "assigned_at": a.assigned_at, "submitted_at": a.submitted_at, "scores": a.scores or {},
            "comments": a.comments or {}} for a in assignments],
        "conflicts": [{"id": c.id, "juror": juror(c.juror_id), "source": c.source, "reason": c.reason,
                       "created_by": c.created_by, "created_at": c.created_at} for c in conflicts],
        "ledger": [history.as_dict(e) for e in history.entries(session, application_id=app.id)],
        "chain": {"verified": not problems, "problems": [p.__dict__ for p in problems]},
    }


def verify_ledger(session: Session) -> dict:
    entries = history.entries(session)
    problems = history.verify(session)
    return {"ok": not problems, "entries": len(entries), "head": entries[-1].hash if entries else None,
            "problems": [{"seq": p.seq, "position": p.position, "reason": p.reason} for p in problems]}


def round_file(session: Session, round_id, normalise: bool, suffix: str) -> tuple[str | bytes, str]:
    """A round's export as ``suffix`` (csv or xlsx) and its file name."""
    body = (round_csv if suffix == "csv" else round_xlsx)(session, round_id, normalise)
    rnd = session.get(Round, str(round_id))
    return body, f"round-{rnd.kind}-{str(round_id)[:8]}.{suffix}"
