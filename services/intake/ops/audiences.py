"""The group-email audiences intake knows (shared/events/notify.MESSAGE_AUDIENCES): applicants
with a draft not yet submitted, the submitted applications, and the ceremony's guests who have
not answered; each member with the address they sign in with now and their language."""
from __future__ import annotations

from sqlalchemy import select

from ..models import Applicant, Application, Call, CeremonyInvitation, Rsvp


def _member(applicant: Applicant, application: Application) -> dict:
    return {"email": applicant.contact_email, "name": applicant.contact_name,
            "organisation": applicant.organisation, "reference": application.reference,
            "language": applicant.language, "application_id": application.id}


def members(session, year: int, audience: str) -> tuple[list[dict], str | None]:
    """(the members, None), or ([], why there are none to give)."""
    call_id = session.scalar(select(Call.id).where(Call.year == year))
    if call_id is None:
        return [], f"there is no {year} edition"
    q = (select(Applicant, Application).join(Application, Application.applicant_id == Applicant.id)
         .where(Application.call_id == call_id, Applicant.erased_at.is_(None)).order_by(Application.reference))
    if audience == "drafts":
        q = q.where(Application.status == "draft")
    elif audience == "submitted":
        q = q.where(Application.status == "submitted")
    elif audience == "guests_unanswered":
        q = (q.join(CeremonyInvitation, CeremonyInvitation.application_id == Application.id)
             .outerjoin(Rsvp, Rsvp.application_id == Application.id).where(Rsvp.application_id.is_(None)))
    else:
        raise ValueError(f"intake does not know the audience {audience}")
    return [_member(applicant, application) for applicant, application in session.execute(q)], None
