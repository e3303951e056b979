"""intake's rules, free of Flask and kombu: what a call offers and when an application may move."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from shared.refusals import Refused

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


# Sub-points shown beside each answer box: the applicant writes to what the jury will score.
GUIDANCE = {
    "problem": ["Which urban problem the project addresses and for whom",
                "What is new in the approach compared with what existed"],
    "design": ["Goals, target groups and the technology chosen", "How citizens took part in the design"],
    "budget": ["Total budget and its sources", "Timeline and milestones"],
    "implementation": ["What has been carried out so far", "Obstacles met and how they were overcome"],
    "learning": ["How results are measured", "What was changed after feedback"],
    "value": ["Benefits for citizens and the city", "Whether other cities could adopt it"],
    "vision": ["The technology and data vision the person championed"],
    "impact": ["Measurable change in citizens' lives"],
    "collaboration": ["Partnerships built and groups included"],
    "influence": ["Recognition and adoption beyond the city"],
}
DEFAULT_WORD_LIMIT = 500
# A real application needs the signed form; supporting material stays optional. A call that
# asks for less says so in its own terms.
DEFAULT_DOCUMENTS = [
    {"key": "application_form", "title": "Application form (PDF)", "required": True},
    {"key": "supporting_material", "title": "Supporting material", "required": False},
]


def default_categories() -> list[dict]:
    """The prize's three categories with equal weights (the prize publishes no weights); every
    criterion must be answered, since the jury scores each one."""
    def crit(pairs):
        return [{"key": k, "title": t, "weight": 1.0, "guidance": GUIDANCE.get(k, []),
                 "word_limit": DEFAULT_WORD_LIMIT, "required": True} for k, t in pairs]
    return [
        {"key": "tech_innovacity", "title": "Tech-InnovaCity", "applicant_types": ORGANISATION_TYPES,
         "criteria": crit(PROJECT_CRITERIA)},
        {"key": "human_centricity", "title": "Human-CentriCity", "applicant_types": ORGANISATION_TYPES,
         "criteria": crit(PROJECT_CRITERIA)},
        {"key": "leadership", "title": "Leadership", "applicant_types": ["individual"],
         "criteria": crit(LEADERSHIP_CRITERIA)},
    ]


# The applicant's second contact is where we write when the first fails.
SAME_ADDRESS = "must differ from the contact email: it is where we write when that one fails"


class RuleViolation(Refused):
    """A request that the rules refuse: ``status`` is the HTTP status it maps to; ``field`` names
    the one field at fault, listed under the API's ``errors.json`` unless ``errors`` (field →
    problems) says more."""

    def __init__(self, status: int, message: str, errors: dict | None = None, *, field: str | None = None,
                 **details):
        super().__init__(status, message, errors if errors is not None or not field else {field: [message]},
                         **details)
        self.field = field

    def body(self) -> dict:
        body = super().body()
        if "errors" in body:  # the API has always answered them by location, as webargs does
            body["errors"] = {"json": body["errors"]}
        return body


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
    raise RuleViolation(422, f"the {call.year} call has no category {category!r}", field="category")


def check_may_enter(call, applicant, category: str, now: datetime | None = None,
                    closes_at: datetime | None = None) -> None:
    closes = closes_at or as_utc(call.closes_at)
    if now is not None and not call_is_open_for(call, now, closes):
        raise RuleViolation(409, f"the {call.year} call is not open: it runs from "
                            f"{as_utc(call.opens_at).isoformat()} to {closes.isoformat()}")
    terms = category_terms(call, category)
    if applicant.type not in terms["applicant_types"]:
        allowed = ", ".join(terms["applicant_types"])
        raise RuleViolation(422, f"{terms['title']} is open to {allowed}, not to {applicant.type}", field="category")


def effective_closes_at(call, exception=None) -> datetime:
    """The applicant's closing time: an unrevoked exception may only extend it."""
    closes = as_utc(call.closes_at)
    if exception is not None and exception.revoked_at is None:
        return max(closes, as_utc(exception.closes_at))
    return closes


def call_is_open_for(call, now: datetime, closes_at: datetime | None = None) -> bool:
    closes = closes_at or as_utc(call.closes_at)
    return call.status == "open" and as_utc(call.opens_at) <= now < closes


def word_count(text: str | None) -> int:
    return len((text or "").split())


def criteria_of(call, category: str) -> list[dict]:
    for terms in call.categories or []:
        if terms["key"] == category:
            return terms["criteria"]
    return []


def unknown_answer_keys(call, category: str, answers: dict) -> list[str]:
    known = {c["key"] for c in criteria_of(call, category)}
    return sorted(k for k in answers if k not in known)


def answer_counts(application, call) -> list[dict]:
    answers = application.answers or {}
    return [{"key": c["key"], "title": c["title"], "guidance": c.get("guidance") or [],
             "words": word_count(answers.get(c["key"])), "word_limit": c.get("word_limit"),
             "required": bool(c.get("required"))}
            for c in criteria_of(call, application.category)]


def _missing(application, counts, missing_documents) -> list[str]:
    missing = []
    if not (application.title or "").strip():
        missing.append("title")
    if not (application.summary or "").strip():
        missing.append("summary")
    for c in counts:
        if c["required"] and c["words"] == 0:
            missing.append(f"answers.{c['key']}")
        elif c["word_limit"] and c["words"] > c["word_limit"]:
            missing.append(f"answers.{c['key']} (over {c['word_limit']} words)")
    missing.extend(f"documents.{k}" for k in missing_documents)
    return missing


def missing_for_submission(application, call=None, missing_documents=()) -> list[str]:
    """What stops submission, each named so the applicant can find it."""
    return _missing(application, answer_counts(application, call) if call is not None else (), missing_documents)


def _completeness(application, call, counts, missing) -> int:
    required = 2 + sum(1 for c in counts if c["required"]) + \
        sum(1 for d in (call.documents or []) if d.get("required"))
    return int(round(100 * (required - sum(1 for m in missing if "(over" not in m)) / required))


def completeness(application, call, missing_documents=()) -> int:
    """Percentage of the required parts filled: title, summary, required answers and documents."""
    counts = answer_counts(application, call)
    return _completeness(application, call, counts, _missing(application, counts, missing_documents))


def assess(application, call, missing_documents=()) -> tuple[list[dict], list[str], int]:
    """(answer_counts, missing_for_submission, completeness) in one pass over the answers:
    the API shows all three, and counting words is the costly part."""
    counts = answer_counts(application, call)
    missing = _missing(application, counts, missing_documents)
    return counts, missing, _completeness(application, call, counts, missing)


def check_may_submit(application, call, now: datetime, closes_at: datetime | None = None,
                     missing_documents=(), missing: list[str] | None = None) -> None:
    """Refuse (RuleViolation) unless the application may be submitted now; ``missing`` is
    missing_for_submission's answer when the caller has it already."""
    if application.status == "withdrawn":
        raise RuleViolation(409, "this application was withdrawn and cannot be submitted")
    closes = closes_at or as_utc(call.closes_at)
    if not call_is_open_for(call, now, closes):
        raise RuleViolation(409, f"the {call.year} call is not open for submissions now "
                            f"(it closes {closes.isoformat()})")
    if missing is None:
        missing = missing_for_submission(application, call, missing_documents)
    if missing:
        raise RuleViolation(422, "the application is incomplete: " + ", ".join(missing) + " missing")


def check_may_edit(application) -> None:
    if application.status != "draft":
        raise RuleViolation(409, f"the application is {application.status}; its content is frozen")


def check_may_withdraw(application) -> None:
    if application.status == "draft":
        raise RuleViolation(409, "a draft has not been submitted; there is nothing to withdraw")


# Timeline. Screening is shown at once: eligibility is a check of the rules, not a ranking, and
# an applicant found ineligible should learn it early. Later rounds rank applicants, so their
# stages stay hidden until the secretariat releases that round (results.released).
ROUND_OF_STAGE = {"finalist": "finalist", "not_advanced": "finalist",
                  "winner": "award", "special_mention": "award", "not_awarded": "award"}
RELEASED_PREFIX = "released:"


def local_time(moment, zone: str) -> str:
    """A moment as pages show it, in ``zone``: "14 July 2026, 18:00"."""
    from zoneinfo import ZoneInfo
    return as_utc(moment).astimezone(ZoneInfo(zone)).strftime("%d %B %Y, %H:%M")


def timeline(application, updates) -> list[dict]:
    stages = [{"stage": "draft", "at": as_utc(application.created_at), "detail": ""}]
    if application.submitted_at:
        stages.append({"stage": "submitted", "at": as_utc(application.submitted_at), "detail": ""})
    released = {u.stage[len(RELEASED_PREFIX):] for u in updates if u.stage.startswith(RELEASED_PREFIX)}
    for u in sorted(updates, key=lambda u: as_utc(u.occurred_at)):
        if u.stage.startswith(RELEASED_PREFIX):
            continue
        round_ = ROUND_OF_STAGE.get(u.stage)
        if round_ is not None and round_ not in released:
            continue
        stages.append({"stage": u.stage, "at": as_utc(u.occurred_at), "detail": u.detail or ""})
    if application.withdrawn_at:
        stages.append({"stage": "withdrawn", "at": as_utc(application.withdrawn_at),
                       "detail": application.withdrawal_reason or ""})
    return stages


# Erasure at the applicant's request (GDPR Art. 17, PIPA Art. 36) waits for the edition: while an
# application is being judged, or its ceremony is still to come, the jury and the secretariat
# still need the person. A draft or a withdrawn application never waits: it is out of the running.
FINAL_STAGES = frozenset({"withdrawn", "ineligible", "not_advanced", "winner", "special_mention", "not_awarded"})
ERASURE_WAITS = {
    "in_review": "is still in the running: its results are not released yet",
    "ceremony_ahead": "is invited to an award ceremony that has not taken place yet",
}


def erasure_blockers(applications, updates: dict, ceremony_ahead: set) -> list[tuple[object, str]]:
    """(application, why) for each application that stops erasure now, ``why`` a key of
    ERASURE_WAITS. ``updates``: application id -> its StatusUpdate rows; ``ceremony_ahead``: the
    ids of applications invited to a ceremony that has not started."""
    blockers = []
    for application in applications:
        if application.status in ("draft", "withdrawn"):
            continue
        reached = {st["stage"] for st in timeline(application, updates.get(application.id, []))}
        if not reached & FINAL_STAGES:  # unreleased decisions are left out of the timeline
            blockers.append((application, "in_review"))
        elif application.id in ceremony_ahead:
            blockers.append((application, "ceremony_ahead"))
    return blockers
