"""The public photo of an awarded application: the secretariat approves one of its checked image
documents (content type image/*, status verified) for the results page, or none. Who approved it
and when are kept (public_photos). The photo is shown only once the award round is released
(ops/results.py decides); it may be approved before, so the page is ready at the release."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from shared.refusals import Refused

from ..models import Application, Document, PublicPhoto
from . import results


def candidates(s, application_id: str) -> list[Document]:
    """The application's documents that may be its public photo: checked images."""
    return list(s.scalars(select(Document).where(
        Document.application_id == application_id, Document.status == "verified",
        Document.content_type.like("image/%")).order_by(Document.created_at)))


def awarded(s, call_id: str) -> dict[str, str]:
    """Application id -> winner | special_mention: the edition's awards as decided (released or not)."""
    decided, _, _ = results.release_state(s, call_id)
    return {a: stage for a, stage in decided.items() if stage in results.SHOWN}


def approve(db, call_id: str, application_id: str, document_id: str, who: str, now: datetime) -> PublicPhoto | None:
    """Make ``document_id`` the application's public photo ("" : no photo). Refused (404/422)
    for an application that is not an award of this edition, or a document that is not one of
    its checked images. Returns the approval (None when the photo was removed)."""
    with db.session() as s, s.begin():
        app = s.get(Application, application_id)
        if app is None or app.call_id != call_id or application_id not in awarded(s, call_id):
            raise Refused(404, "this application is not a winner or special mention of this edition")
        current = s.get(PublicPhoto, application_id, with_for_update=True)
        if not document_id:
            if current is not None:
                s.delete(current)
            return None
        if document_id not in {d.id for d in candidates(s, application_id)}:
            raise Refused(422, "photo: choose one of this application's checked images (JPEG or PNG)",
                          errors={"document_id": ["not a checked image of this application"]})
        if current is None:
            current = PublicPhoto(application_id=application_id)
            s.add(current)
        current.document_id, current.approved_by, current.approved_at = document_id, who, now
        s.flush()
        s.expunge(current)
        return current


def approvals(s, application_ids: list[str]) -> dict[str, PublicPhoto]:
    if not application_ids:
        return {}
    return {p.application_id: p for p in s.scalars(select(PublicPhoto).where(
        PublicPhoto.application_id.in_(application_ids)))}
