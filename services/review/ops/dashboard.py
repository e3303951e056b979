"""What the secretariat's dashboard shows of an edition: counts by stage, short lists and the
jurors' progress per round (counts and short lists only: an edition may hold thousands of
applications with their answers)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Application, Assignment, Call, Juror, Round

_BRIEF = (Application.id, Application.reference, Application.title, Application.category,
          Application.organisation, Application.city, Application.country, Application.outcome,
          Application.award)


def calls(session: Session) -> list[Call]:
    """Every edition, newest first."""
    return list(session.scalars(select(Call).order_by(Call.year.desc(), Call.updated_at.desc())))


def edition(session: Session, call: Call, listed: int) -> dict:
    """One edition: applications by (stage, outcome) and by stage, the first ``listed`` awaiting
    screening, the finalists, the rounds, and (while the award round is not released) the
    applications that did not advance (a special mention may go to any eligible project)."""
    by_stage = {(stage, outcome): n for stage, outcome, n in session.execute(
        select(Application.stage, Application.outcome, func.count()).where(Application.call_id == call.id)
        .group_by(Application.stage, Application.outcome))}
    counts: dict[str, int] = {}
    for (stage, _), n in by_stage.items():
        counts[stage] = counts.get(stage, 0) + n
    waiting = session.execute(select(*_BRIEF).where(Application.call_id == call.id, Application.stage == "submitted")
                              .order_by(Application.submitted_at, Application.id).limit(listed)).all()
    finalists = session.execute(select(*_BRIEF).where(Application.call_id == call.id,
                                                      Application.stage == "finalist")
                                .order_by(Application.category, Application.reference)).all()
    rounds = session.scalars(select(Round).where(Round.call_id == call.id).order_by(Round.opened_at)).all()
    award_round = next((r for r in rounds if r.kind == "award"), None)
    others = []
    if award_round is not None and award_round.released_at is None:
        others = session.execute(select(*_BRIEF).where(Application.call_id == call.id,
                                                       Application.stage == "not_advanced")
                                 .order_by(Application.category, Application.reference)).all()
    return {"by_stage": by_stage, "counts": counts, "waiting": waiting, "finalists": finalists,
            "rounds": rounds, "award_round": award_round, "others": others}


def progress(session: Session, round_id: str) -> list[dict]:
    """Per juror of the round: submitted of assigned (removed assignments left out)."""
    rows = session.execute(select(Juror.id, Juror.name, Assignment.status, func.count())
                           .join(Assignment, Assignment.juror_id == Juror.id)
                           .where(Assignment.round_id == round_id, Assignment.status != "removed")
                           .group_by(Juror.id, Juror.name, Assignment.status)).all()
    people: dict[str, dict] = {}
    for juror_id, name, status, n in rows:
        p = people.setdefault(juror_id, {"name": name, "done": 0, "total": 0})
        p["total"] += n
        p["done"] += n if status == "submitted" else 0
    return sorted(people.values(), key=lambda p: (p["done"] / p["total"], p["name"]))


def find_round(session: Session, round_id: str) -> Round | None:
    return session.get(Round, round_id)
