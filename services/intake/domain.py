"""intake's rules, free of Flask and kombu: what a call offers and when an application may move."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

PROJECT_CRITERIA = [
    ("problem", "Problem recognition and innovation"),
    ("design", "Project design"),
    ("budget", "Feasible budget and planning"),
    ("implementation", "Project implementation"),
    ("learning", "Learning and improvement"),
    ("value", "Value generation"),
]
LEADERSHIP_CRITERIA = [
    ("vision", "Vision and innovation in the use of technology and data"),
    ("impact", "Impact on citizens"),
    ("collaboration", "Collaboration and inclusion"),
    ("influence", "Influence beyond the city"),
]
ORGANISATION_TYPES = ["city_government", "institution", "corporation"]


def default_categories() -> list[dict]:
    """The prize's three categories with equal weights (DOMAIN.md gives no weights)."""
    def crit(pairs):
        return [{"key": k, "title": t, "weight": 1.0} for k, t in pairs]
    return [
        {"key": "tech_innovacity", "title": "Tech-InnovaCity", "applicant_types": ORGANISATION_TYPES,
         "criteria": crit(PROJECT_CRITERIA)},
        {"key": "human_centricity", "title": "Human-CentriCity", "applicant_types": ORGANISATION_TYPES,
         "criteria": crit(PROJECT_CRITERIA)},
        {"key": "leadership", "title": "Leadership", "applicant_types": ["individual"],
         "criteria": crit(LEADERSHIP_CRITERIA)},
    ]


class RuleViolation(Exception):
    """A request that the rules refuse; ``status`` is the HTTP status it maps to."""

    def __init__(self, message: str, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def applicant_snapshot(a) -> dict:
    """What events say about an applicant (see shared.events.common.ApplicantSnapshot)."""
    return {"id": a.id, "type": a.type, "organisation": a.organisation, "country": a.country,
            "city": a.city, "contact_name": a.contact_name, "contact_email": a.contact_email,
            "secondary_email": a.secondary_email, "language": a.language}


def new_reference(year: int) -> str:
    # Random, not sequential: no counter to race on at the deadline, nothing to guess.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return f"SSCP-{year}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; we only ever store UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def call_is_open(call, now: datetime) -> bool:
    return call.status == "open" and as_utc(call.opens_at) <= now < as_utc(call.closes_at)


def category_terms(call, category: str) -> dict:
    for terms in call.categories:
        if terms["key"] == category:
            return terms
    raise RuleViolation(f"the {call.year} call has no category {category!r}", 422, "category")


def check_may_enter(call, applicant, category: str, now: datetime | None = None) -> None:
    if now is not None and not call_is_open(call, now):
        raise RuleViolation(f"the {call.year} call is not open: it runs from "
                            f"{as_utc(call.opens_at).isoformat()} to {as_utc(call.closes_at).isoformat()}")
    terms = category_terms(call, category)
    if applicant.type not in terms["applicant_types"]:
        allowed = ", ".join(terms["applicant_types"])
        raise RuleViolation(f"{terms['title']} is open to {allowed}, not to {applicant.type}", 422, "category")


def missing_for_submission(application) -> list[str]:
    missing = []
    if not (application.title or "").strip():
        missing.append("title")
    if not (application.summary or "").strip():
        missing.append("summary")
    return missing


def check_may_submit(application, call, now: datetime) -> None:
    if application.status == "withdrawn":
        raise RuleViolation("this application was withdrawn and cannot be submitted")
    if not call_is_open(call, now):
        raise RuleViolation(f"the {call.year} call is not open for submissions now "
                            f"(it closes {as_utc(call.closes_at).isoformat()})")
    missing = missing_for_submission(application)
    if missing:
        raise RuleViolation("the application is incomplete: " + ", ".join(missing) + " missing", 422)


def check_may_edit(application) -> None:
    if application.status != "draft":
        raise RuleViolation(f"the application is {application.status}; its content is frozen")
