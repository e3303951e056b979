"""The rules of an answer to an invitation (RSVP), shared by the award ceremony (ops/ceremony.py)
and the edition's other events (ops/edition_events.py): who comes (at least one person when
attending, at most the event's largest delegation), a substitute, accessibility needs, a visa
letter (for whom, as in their passports), comments, and the revision guard against two edits at
once. Refusals are RuleViolations in English, as the API answers; the pages say them in the
reader's language (pages/rsvp_form.py)."""
from __future__ import annotations

from ..rules import RuleViolation

STALE = "this answer was changed elsewhere in the meantime: reload it and answer again"
RACED = "this answer was given elsewhere at the same moment: reload it"


def person(p: dict | None) -> dict | None:
    """A delegate or substitute as stored: None when no name was given."""
    if not p or not (p.get("name") or "").strip():
        return None
    return {"name": p["name"].strip(), "role": (p.get("role") or "").strip(), "email": p.get("email") or None}


def checked_answer(data: dict, max_delegates: int) -> dict:
    """The answer as stored (attending, delegates, substitute, accessibility, visa_letter,
    visa_details, comments), or a RuleViolation naming the field that breaks a rule."""
    delegates = [p for p in (person(d) for d in data.get("delegates") or []) if p]
    substitute = person(data.get("substitute"))
    attending = bool(data["attending"])
    if attending and not delegates:
        raise RuleViolation(422, "name at least one person who will attend", field="delegates")
    if attending and len(delegates) > max_delegates:
        raise RuleViolation(422, f"a delegation has at most {max_delegates} people", field="delegates")
    if not attending:
        delegates, substitute = [], None
    visa_letter = bool(data.get("visa_letter")) and attending
    visa_details = (data.get("visa_details") or "").strip() if visa_letter else ""
    if visa_letter and not visa_details:
        raise RuleViolation(422, "for a visa invitation letter, give each person's name as in their passport and "
                            "their nationality", field="visa_details")
    return {"attending": attending, "delegates": delegates, "substitute": substitute,
            "accessibility": (data.get("accessibility") or "").strip(), "visa_letter": visa_letter,
            "visa_details": visa_details, "comments": (data.get("comments") or "").strip()}


def check_revision(row, expected: int | None) -> None:
    """Refuse (409) an answer built from another revision than the one on record."""
    if row is not None and expected is not None and expected != row.revision:
        raise RuleViolation(409, STALE)


def apply(row, answer: dict, now) -> None:
    """Write a checked answer on its row (a ceremony's or an event's) and count the revision."""
    for key, value in answer.items():
        setattr(row, key, value)
    row.revision += 1
    row.updated_at = now
