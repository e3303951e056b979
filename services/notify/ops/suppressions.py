"""The suppression list: addresses no email goes to (bounced, complained or refused for good)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.db import Database
from shared.refusals import Refused

from ..models import Suppression


def suppress(session: Session, email: str, reason: str, detail: str | None = None,
             source_message_id: str | None = None) -> bool:
    """Put an address on the suppression list (the first reason stays); True if it is new."""
    email = email.strip().lower()
    if not email or session.get(Suppression, email) is not None:
        return False
    session.add(Suppression(email=email, reason=reason, detail=(detail or "")[:2000] or None,
                            source_message_id=(source_message_id or "")[:300] or None,
                            created_at=datetime.now(timezone.utc)))
    session.flush()
    return True


def page_of_suppressions(db: Database, reason: str | None, limit: int, offset: int) -> dict:
    """The list, newest first, of one ``reason`` if given: {"total", "items"}."""
    q = select(Suppression)
    if reason is not None:
        q = q.where(Suppression.reason == reason)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(q.subquery()))
        items = s.scalars(q.order_by(Suppression.created_at.desc(), Suppression.email)
                          .limit(limit).offset(offset)).all()
    return {"total": total, "items": items}


def clear(db: Database, email: str) -> None:
    """Take an address off the list: emails go to it again (those already failed are not resent)."""
    with db.session() as s, s.begin():
        row = s.get(Suppression, email.strip().lower())
        if row is None:
            raise Refused(404, f"{email} is not on the suppression list")
        s.delete(row)
