"""The answer to message.requested, the same for every service that owns an audience: the
members in parts of MESSAGE_PART_SIZE (one message.addressed each, so that a big group stays
within a broker's message size), or one part that says why there is no one to give."""
from __future__ import annotations

from shared.events import make_event
from shared.events.notify import MESSAGE_AUDIENCES, MESSAGE_PART_SIZE
from shared.outbox import record


def owns(service: str, audience: str) -> bool:
    return MESSAGE_AUDIENCES.get(audience) == service


def answer(session, outbox, producer: str, request: dict, recipients: list[dict],
           refused: str | None = None) -> int:
    """Record the message.addressed parts for ``request`` (message.requested's data) in the
    caller's transaction; one address once (the first row of it wins). Returns the parts."""
    unique: dict[str, dict] = {}
    for row in recipients:
        unique.setdefault(row["email"].strip().lower(), {**row, "email": row["email"].strip().lower()})
    members = [] if refused else list(unique.values())
    chunks = [members[i:i + MESSAGE_PART_SIZE] for i in range(0, len(members), MESSAGE_PART_SIZE)] or [[]]
    for number, chunk in enumerate(chunks, start=1):
        record(session, outbox, make_event("message.addressed", {
            "message_id": request["message_id"], "audience": request["audience"], "part": number,
            "parts": len(chunks), "recipients": chunk, "refused": refused,
        }, producer=producer, correlation_id=str(request["message_id"])))
    return len(chunks)
