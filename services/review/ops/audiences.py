"""The group-email audiences review knows (shared/events/notify.MESSAGE_AUDIENCES): the eligible
applications, the finalists and the winners of an edition, and the jurors with reviews
outstanding. Decisions are embargoed until their round is released, so the finalists and the
winners are given only after their release: a group email must not tell anyone first."""
from __future__ import annotations

from sqlalchemy import select

from ..models import Application, Assignment, Call, Juror, Round

ELIGIBLE_STAGES = ("eligible", "finalist", "not_advanced")
AWARDED = ("winner", "special_mention")


def _applicant(app: Application) -> dict:
    return {"email": app.contact_email, "organisation": app.organisation, "reference": app.reference,
            "language": app.language or "en", "application_id": app.id}


def _released(session, call_id: str, kind: str) -> bool:
    return session.scalar(select(Round.id).where(Round.call_id == call_id, Round.kind == kind,
                                                 Round.released_at.is_not(None))) is not None


def members(session, year: int, audience: str) -> tuple[list[dict], str | None]:
    """(the members, None), or ([], why there are none to give)."""
    call_id = session.scalar(select(Call.id).where(Call.year == year))
    if call_id is None:
        return [], f"review knows no {year} edition"
    apps = (select(Application).where(Application.call_id == call_id, Application.erased_at.is_(None))
            .order_by(Application.reference))
    if audience == "eligible":
        return [_applicant(a) for a in session.scalars(apps.where(Application.stage.in_(ELIGIBLE_STAGES)))], None
    if audience == "finalists":
        if not _released(session, call_id, "finalist"):
            return [], (f"the finalists of {year} are not released yet: an email to them now would tell "
                        "them before the release")
        return [_applicant(a) for a in session.scalars(apps.where(Application.stage == "finalist"))], None
    if audience == "winners":
        if not _released(session, call_id, "award"):
            return [], (f"the winners of {year} are not released yet: an email to them now would tell "
                        "them before the release")
        return [_applicant(a) for a in session.scalars(apps.where(Application.outcome.in_(AWARDED)))], None
    if audience == "jurors_pending":
        jurors = session.scalars(
            select(Juror).where(Juror.active.is_(True), Juror.id.in_(
                select(Assignment.juror_id).join(Round, Round.id == Assignment.round_id)
                .where(Round.call_id == call_id, Round.status == "open", Assignment.status == "pending")))
            .order_by(Juror.name))
        return [{"email": j.email, "name": j.name, "organisation": j.organisation, "language": j.language or "en"}
                for j in jurors], None
    raise ValueError(f"review does not know the audience {audience}")
