"""What review knows of calls and applications (the secretariat's lists)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Application, Call
from .common import Refused, page_of


def applications_page(session: Session, filters: dict, limit: int, offset: int) -> dict:
    """Applications review has received, newest first, filtered by category, stage or call_id."""
    q = select(Application)
    for key in ("category", "stage"):
        if key in filters:
            q = q.where(getattr(Application, key) == filters[key])
    if "call_id" in filters:
        q = q.where(Application.call_id == str(filters["call_id"]))
    return page_of(session, q, (Application.submitted_at.desc(), Application.id), limit, offset)


def application(session: Session, application_id) -> Application:
    row = session.get(Application, str(application_id))
    if row is None:
        raise Refused(404, f"no application {application_id} in review")
    return row


def all_calls(session: Session) -> list[Call]:
    """Every edition review has been told about, newest first."""
    return list(session.scalars(select(Call).order_by(Call.year.desc())))
