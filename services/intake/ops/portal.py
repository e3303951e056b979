"""What the applicant's pages read, inside the session the page holds (its rows are rendered
before that session closes): open calls, an applicant's applications, documents, status updates."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from .. import rules
from ..models import Application, Call, Document, StatusUpdate


def open_calls(s, now: datetime) -> list[Call]:
    """The calls open for applications now, the latest edition first."""
    calls = s.scalars(select(Call).where(Call.status == "open").order_by(Call.year.desc())).all()
    return [c for c in calls if rules.call_is_open(c, now)]


def applications_and_calls(s, applicant_id: str) -> tuple[list[Application], dict[str, Call]]:
    """The applicant's applications, oldest first, and every call by id."""
    rows = s.scalars(select(Application).where(Application.applicant_id == applicant_id)
                     .order_by(Application.created_at)).all()
    return rows, {c.id: c for c in s.scalars(select(Call)).all()}


def documents_of(s, application_id: str) -> list[Document]:
    """The application's checked documents: what the applicant's pages list. A refused upload
    was reported at once and its file removed; one never completed has no file. Neither is
    the applicant's document, so neither comes back on a reload (the API still lists them,
    with their status, for the programs that uploaded them)."""
    return s.scalars(select(Document).where(Document.application_id == application_id,
                                            Document.status == "verified")
                     .order_by(Document.kind, Document.created_at)).all()


def status_updates(s, application_id: str) -> list[StatusUpdate]:
    return s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == application_id)).all()
