"""What review erases when intake erased an applicant at their request (applicant.erased; GDPR
Art. 17, PIPA Art. 36), in the handler's transaction. Flask-free.

Each copy of the applicant's submitted applications loses the contact address and the list of
documents (their files are gone from the store), and takes the content intake sends (the people's
names and addresses taken out; an individual's blanked); an individual (Leadership) also loses
their name and city. Their addresses (and an individual's name) are taken out of the screening
reasons, the award's title, the jurors' comments and review's sent events. The scores, the
decisions and the hash-chained history stay: an ``applicant.erased`` entry is appended to it (the
history never held the applicant's contact details, so no entry is edited)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from shared.erasure import ERASED, ERASED_EMAIL, Redactor, scrub_outbox

from ..models import Application, Assignment, ScreeningDecision, outbox
from . import history


def _blank(row: Application) -> None:
    row.organisation = row.city = row.title = ERASED
    row.summary = ""
    row.answers = {key: "" for key in row.answers or {}}
    row.project = {key: "" for key in row.project or {}}


def _reshape(individual: bool):
    """An individual's name is the organisation (a Redactor name); their city goes too."""
    def reshape(type_: str, data: dict) -> dict:
        if individual and "city" in data:
            data["city"] = ERASED
        return data
    return reshape


def erase_applicant(session, data: dict, now: datetime) -> int:
    """Erase the applicant's personal data from review's rows; returns how many applications
    it touched (0 when it had none, or had erased them already)."""
    ids = [str(i) for i in data["application_ids"]]
    applicant_id = str(data["applicant_id"])
    rows = session.scalars(select(Application).where(or_(Application.id.in_(ids),
                                                         Application.applicant_id == applicant_id))
                           .with_for_update()).all()
    rows = [r for r in rows if r.erased_at is None]
    if not rows:
        return 0
    individual = data["applicant_type"] == "individual"
    redactor = Redactor([r.contact_email for r in rows], [r.organisation for r in rows] if individual else [])
    mine = [r.id for r in rows]
    contents = {str(c["application_id"]): c for c in data.get("applications") or []}
    for row in rows:
        row.contact_email, row.documents = ERASED_EMAIL, []
        if individual:
            row.organisation = row.city = ERASED
        content = contents.get(row.id)
        if content is not None:  # intake's, with the people it knows taken out
            row.title, row.summary = content["title"], content["summary"]
            row.answers, row.project = dict(content["answers"]), dict(content["project"])
        elif individual:
            _blank(row)
        row.title, row.summary = redactor.text(row.title or ""), redactor.text(row.summary or "")
        row.answers, row.project = redactor.value(row.answers or {}), redactor.value(row.project or {})
        row.screening_reason, row.award = redactor.text(row.screening_reason or ""), redactor.text(row.award or "")
        row.erased_at = now
        history.append(session, "system", "applicant.erased", application_id=row.id, at=now,
                       data={"request_id": str(data["request_id"])})
    for decision in session.scalars(select(ScreeningDecision).where(ScreeningDecision.application_id.in_(mine))):
        decision.reason = redactor.text(decision.reason or "")
        decision.previous_reason = redactor.text(decision.previous_reason or "")
    for assignment in session.scalars(select(Assignment).where(Assignment.application_id.in_(mine))):
        assignment.comments = redactor.value(assignment.comments or {})
    scrub_outbox(session, outbox, [applicant_id, *mine], redactor, _reshape(individual))
    return len(rows)
