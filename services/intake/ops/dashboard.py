"""One edition at a glance, for the secretariat's landing page: how far its applications have
come (registered, drafts, submitted, eligible, finalists, winners) overall and by category,
country and applicant type; the deadlines coming; the emails that failed for good recently.

The decisions are review's; intake keeps each one it is told of (status_updates, for the
applicants' timelines), so the funnel reads them here. The secretariat sees them before their
release: they are the secretariat's own decisions.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from shared import dlq, topology

from .. import rules
from ..models import (Applicant, Application, Call, Ceremony, DeadlineException, EmailFailure, StatusUpdate)

log = logging.getLogger("prize.intake")
STEPS = ("registered", "drafts", "submitted", "eligible", "finalists", "winners")
STEP_TITLES = {"registered": "Registered", "drafts": "Started", "submitted": "Submitted", "eligible": "Eligible",
               "finalists": "Finalists", "winners": "Winners"}
SCREENING = {"eligible": True, "ineligible": False}
FINALIST = {"finalist": True, "not_advanced": False}
TYPE_TITLES = {"city_government": "City government", "institution": "Institution", "corporation": "Corporation",
               "individual": "Individual"}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _decisions(session, application_ids: list[str]) -> dict[str, dict]:
    """Per application, the latest of each of review's decisions: screening, finalist, award."""
    found: dict[str, dict] = defaultdict(dict)
    q = (select(StatusUpdate.application_id, StatusUpdate.stage)
         .where(StatusUpdate.application_id.in_(application_ids)).order_by(StatusUpdate.occurred_at))
    for application_id, stage in session.execute(q) if application_ids else ():
        if stage in SCREENING:
            found[application_id]["eligible"] = SCREENING[stage]
        elif stage in FINALIST:
            found[application_id]["finalist"] = FINALIST[stage]
        elif stage in ("winner", "special_mention", "not_awarded"):
            found[application_id]["award"] = stage
    return found


def _steps(status: str, decided: dict) -> list[str]:
    """The funnel's steps one application has reached."""
    reached = ["registered"]
    if status in ("draft", "submitted", "withdrawn"):
        reached.append("drafts")
    if status == "submitted":
        reached.append("submitted")
        if decided.get("eligible") or decided.get("finalist") is not None or decided.get("award"):
            reached.append("eligible")
        if decided.get("finalist") or decided.get("award"):
            reached.append("finalists")
        if decided.get("award") == "winner":
            reached.append("winners")
    return reached


def edition(db, call_id: str, *, now: datetime | None = None) -> dict | None:
    now = now or _now()
    with db.session() as s:
        call = s.get(Call, str(call_id))
        if call is None:
            return None
        rows = s.execute(select(Application.id, Application.status, Application.category, Applicant.country,
                                Applicant.type, Application.applicant_id)
                         .join(Applicant, Applicant.id == Application.applicant_id)
                         .where(Application.call_id == call.id)).all()
        decided = _decisions(s, [r.id for r in rows])
        # registered: whoever has an application in the edition, and whoever registered while it
        # was open and has none yet (the people a "you have not started" email is for)
        with_application = {r.applicant_id for r in rows}
        newcomers = s.execute(select(Applicant.id, Applicant.country, Applicant.type).where(
            Applicant.created_at >= rules.as_utc(call.opens_at), Applicant.created_at <= rules.as_utc(call.closes_at))).all()
        funnel = Counter()
        by = {"category": defaultdict(Counter), "country": defaultdict(Counter), "type": defaultdict(Counter)}
        counted_applicants: set[str] = set()
        for r in rows:
            steps = _steps(r.status, decided.get(r.id, {}))
            for step in steps:
                if step == "registered":
                    if r.applicant_id in counted_applicants:
                        continue  # an applicant in two categories registered once
                    counted_applicants.add(r.applicant_id)
                    by["country"][r.country][step] += 1
                    by["type"][r.type][step] += 1
                    funnel[step] += 1
                    continue
                funnel[step] += 1
                by["category"][r.category][step] += 1
                by["country"][r.country][step] += 1
                by["type"][r.type][step] += 1
        for applicant in newcomers:
            if applicant.id not in with_application:
                funnel["registered"] += 1
                by["country"][applicant.country]["registered"] += 1
                by["type"][applicant.type]["registered"] += 1
        titles = {c["key"]: c.get("title") or c["key"] for c in call.categories or []}
        withdrawn = sum(1 for r in rows if r.status == "withdrawn")
        return {
            "call": call, "funnel": [(STEP_TITLES[k], funnel[k]) for k in STEPS], "withdrawn": withdrawn,
            "by_category": _table(by["category"], titles),
            "by_country": _table(by["country"], {}),
            "by_type": _table(by["type"], TYPE_TITLES),
            "deadlines": deadlines(s, call, now),
            "failures": failures(s, now),
        }


def _table(groups: dict, titles: dict) -> list[dict]:
    """Rows of a breakdown, the biggest first: each group's count at every step."""
    rows = [{"key": key, "title": titles.get(key, key), "counts": [counts[k] for k in STEPS]}
            for key, counts in groups.items()]
    return sorted(rows, key=lambda r: (-max(r["counts"]), r["title"]))


def deadlines(session, call: Call, now: datetime) -> list[dict]:
    """The edition's dates still to come, soonest first, in the edition's time zone."""
    found = []
    if rules.as_utc(call.opens_at) > now:
        found.append({"what": "The call opens", "at": rules.as_utc(call.opens_at)})
    if rules.as_utc(call.closes_at) > now:
        found.append({"what": "The call closes", "at": rules.as_utc(call.closes_at)})
    exceptions = session.execute(select(func.count(), func.max(DeadlineException.closes_at)).where(
        DeadlineException.call_id == call.id, DeadlineException.revoked_at.is_(None),
        DeadlineException.closes_at > now)).one()
    if exceptions[0]:
        found.append({"what": f"Last of {exceptions[0]} deadline exception(s) ends", "at": rules.as_utc(exceptions[1])})
    ceremony = session.get(Ceremony, call.id)
    if ceremony is not None:
        if rules.as_utc(ceremony.rsvp_by) > now:
            found.append({"what": "Ceremony answers are asked by", "at": rules.as_utc(ceremony.rsvp_by)})
        if rules.as_utc(ceremony.starts_at) > now:
            found.append({"what": f"The ceremony at {ceremony.venue}", "at": rules.as_utc(ceremony.starts_at),
                          "zone": ceremony.time_zone})
    for row in found:
        row["local"] = rules.local_time(row["at"], row.get("zone") or call.time_zone)
        row["zone"] = row.get("zone") or call.time_zone
        row["days"] = max(0, (row["at"] - now).days)
    return sorted(found, key=lambda r: r["at"])


FAILURE_DAYS = 30


def failures(session, now: datetime, shown: int = 10) -> dict:
    since = now - timedelta(days=FAILURE_DAYS)
    count = session.scalar(select(func.count()).select_from(EmailFailure).where(EmailFailure.failed_at >= since))
    latest = session.scalars(select(EmailFailure).where(EmailFailure.failed_at >= since)
                             .order_by(EmailFailure.failed_at.desc()).limit(shown)).all()
    return {"days": FAILURE_DAYS, "count": count or 0, "latest": latest}


def record_failure(session, data: dict, event_id: str) -> None:
    """email.failed: kept once (the event id is the key; the inbox already makes it once)."""
    if session.get(EmailFailure, event_id) is None:
        session.add(EmailFailure(event_id=event_id, template=data["template"], recipient=data["recipient"],
                                 error=(data.get("error") or "")[:2000], failed_at=data["failed_at"]))



SERVICES = ("intake", "review", "notify")


def dead_letters(settings) -> tuple[dict[str, int] | None, str]:
    """Each service's dead letters waiting (read from the broker), or why they could not be
    counted just now: the dashboard shows the rest either way."""
    try:
        return dlq.waiting(settings.broker_url, SERVICES, settings.namespace, topology.queue_kind(settings)), ""
    except Exception as exc:  # the broker's state is its own alert; the page must still answer
        log.warning("dashboard: dead letters not counted: %s", exc)
        return None, "the message broker did not answer just now"


def as_json(found: dict) -> dict:
    """``edition``'s figures as the API gives them: steps by key, times in UTC."""
    def rows(table):
        return [{"key": r["key"], "title": r["title"], "counts": dict(zip(STEPS, r["counts"]))} for r in table]
    return {
        "call_id": found["call"].id, "year": found["call"].year, "status": found["call"].status,
        "funnel": [{"step": key, "title": title, "count": n} for key, (title, n) in zip(STEPS, found["funnel"])],
        "withdrawn": found["withdrawn"], "by_category": rows(found["by_category"]),
        "by_country": rows(found["by_country"]), "by_type": rows(found["by_type"]),
        "deadlines": [{"what": d["what"], "at": d["at"], "time_zone": d["zone"], "local": d["local"]}
                      for d in found["deadlines"]],
        "emails_failed": {"days": found["failures"]["days"], "count": found["failures"]["count"]},
    }
