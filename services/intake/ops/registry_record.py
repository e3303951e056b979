"""One application as the secretariat reads it: as submitted, or the draft as it stands.

A submitted application is read from its ``application.submitted`` event in intake's outbox
(rows there are kept once sent): the very content, applicant record and documents that review
and the jury received. The application row is frozen at submission too, but the applicant's
record is not (an organisation renamed since shows as submitted, with the new name beside it).
A draft is read live and says so. Flask-free.
"""
from __future__ import annotations

import json

from sqlalchemy import select

from shared.refusals import Refused
from shared.storage import download_name

from .. import rules
from ..models import Applicant, Application, Call, Document, StatusUpdate, outbox
from .documents import missing_documents
from .regions import region_of
from .registry_export import archive_name

PROJECT_FIELDS = ("location", "start_date", "budget", "partners")
APPLICANT_FIELDS = ("type", "organisation", "country", "city", "contact_name", "contact_email", "secondary_email",
                    "language")


def submitted_event(s, application_id: str) -> dict | None:
    """The data of the application's application.submitted event (None: not submitted)."""
    body = s.scalar(select(outbox.c.body).where(outbox.c.type == "application.submitted",
                                                outbox.c.correlation_id == application_id)
                    .order_by(outbox.c.seq.desc()).limit(1))
    return json.loads(body)["data"] if body else None


def _answers(call, category: str, answers: dict) -> list[dict]:
    """Each criterion of the category with its answer; answers to criteria the terms no longer
    list (changed after submission) are shown too, under their key."""
    criteria = rules.criteria_of(call, category)
    known = {c["key"] for c in criteria}
    shown = [{"key": c["key"], "title": c["title"], "text": answers.get(c["key"]) or "",
              "words": rules.word_count(answers.get(c["key"])), "word_limit": c.get("word_limit"),
              "required": bool(c.get("required"))} for c in criteria]
    shown += [{"key": k, "title": k, "text": v or "", "words": rules.word_count(v), "word_limit": None,
               "required": False} for k, v in sorted(answers.items()) if k not in known]
    return shown


def _timeline(row: Application, updates: list) -> list[dict]:
    """Every stage intake knows, released to the applicant or not (staff see both, marked)."""
    released = {u.stage[len(rules.RELEASED_PREFIX):] for u in updates if u.stage.startswith(rules.RELEASED_PREFIX)}
    stages = [{"stage": "draft", "at": rules.as_utc(row.created_at), "detail": "", "released": True}]
    if row.submitted_at:
        stages.append({"stage": "submitted", "at": rules.as_utc(row.submitted_at), "detail": "", "released": True})
    for u in sorted(updates, key=lambda u: rules.as_utc(u.occurred_at)):
        if not u.stage.startswith(rules.RELEASED_PREFIX):
            round_ = rules.ROUND_OF_STAGE.get(u.stage)
            stages.append({"stage": u.stage, "at": rules.as_utc(u.occurred_at), "detail": u.detail or "",
                           "released": round_ is None or round_ in released})
    if row.withdrawn_at:
        stages.append({"stage": "withdrawn", "at": rules.as_utc(row.withdrawn_at),
                       "detail": row.withdrawal_reason or "", "released": True})
    return stages


def _document(d, titles: dict) -> dict:
    return {"id": d["id"], "kind": d["kind"], "kind_title": titles.get(d["kind"], d["kind"]),
            "filename": d["filename"], "download_name": download_name(d["filename"], d["content_type"]),
            "content_type": d["content_type"], "size": d.get("size"), "sha256": d.get("sha256"),
            "status": d.get("status", "verified")}


def _load(s, application_id) -> tuple[Application, Call, Applicant]:
    row = s.get(Application, str(application_id))
    if row is None:
        raise Refused(404, f"no application {application_id}")
    return row, s.get(Call, row.call_id), s.get(Applicant, row.applicant_id)


def _content(s, row: Application, applicant: Applicant) -> tuple[dict | None, dict]:
    """(the submitted event's data or None, the content to show: title, summary, answers,
    project, applicant, documents as dicts)."""
    event = submitted_event(s, row.id) if row.status != "draft" else None
    if event is not None:
        return event, {"title": event["title"], "summary": event["summary"], "answers": event.get("answers") or {},
                       "project": event.get("project") or {}, "applicant": event["applicant"],
                       "documents": [{**d, "status": "verified"} for d in event.get("documents") or []]}
    rows = s.scalars(select(Document).where(Document.application_id == row.id)
                     .order_by(Document.created_at, Document.id)).all()
    if row.status != "draft":  # submitted before events were kept: the frozen row, its checked files
        rows = [d for d in rows if d.status == "verified"]
    documents = [{k: getattr(d, k) for k in ("id", "kind", "filename", "content_type", "size", "sha256", "status")}
                 for d in rows]
    return None, {"title": row.title, "summary": row.summary, "answers": row.answers or {},
                  "project": {f: getattr(row, f) or "" for f in PROJECT_FIELDS},
                  "applicant": {"id": applicant.id, **{f: getattr(applicant, f) for f in APPLICANT_FIELDS}},
                  "documents": documents}


def read_record(db, application_id) -> dict:
    """The application for the secretariat: its content as submitted (or the live draft), the
    applicant as then and now, its documents, completeness and every stage intake knows."""
    with db.session() as s:
        row, call, applicant = _load(s, application_id)
        event, content = _content(s, row, applicant)
        criteria, missing, completeness = rules.assess(row, call, missing_documents(s, row, call))
        updates = s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == row.id)).all()
        now = {"id": applicant.id, **{f: getattr(applicant, f) for f in APPLICANT_FIELDS}}
    then = content["applicant"]
    titles = {d["key"]: d["title"] for d in call.documents or []}
    category = next((t["title"] for t in call.categories or [] if t["key"] == row.category), row.category)
    timeline = _timeline(row, updates)
    stage = next((t["stage"] for t in reversed(timeline) if t["stage"] in rules.ROUND_OF_STAGE
                  or t["stage"] in ("eligible", "ineligible")), None)
    return {
        "id": row.id, "reference": row.reference, "status": row.status, "stage": stage if row.status == "submitted"
        else None, "call_id": call.id, "year": call.year, "theme": call.theme, "category": row.category,
        "category_title": category, "source": "submission" if event else ("draft" if row.status == "draft" else "frozen"),
        "created_at": rules.as_utc(row.created_at), "updated_at": rules.as_utc(row.updated_at),
        "submitted_at": rules.as_utc(row.submitted_at) if row.submitted_at else None,
        "withdrawn_at": rules.as_utc(row.withdrawn_at) if row.withdrawn_at else None,
        "withdrawal_reason": row.withdrawal_reason or "", "title": content["title"], "summary": content["summary"],
        "project": {f: content["project"].get(f, "") for f in PROJECT_FIELDS},
        "answers": _answers(call, row.category, content["answers"]),
        "applicant": {**then, "region": region_of(then.get("country"))}, "applicant_now": now,
        "applicant_changed": [f for f in APPLICANT_FIELDS if then.get(f) != now.get(f)],
        "documents": [_document(d, titles) for d in content["documents"]],
        "completeness": completeness, "missing": missing, "timeline": timeline,
    }


def zip_entries(db, application_id) -> tuple[str, list[tuple[str, str]]]:
    """(the application's reference, [(name in the archive, storage key)]) of the documents the
    record shows that are checked: as submitted, or the draft's checked files. The names come
    from the applicant's file names made safe (no folders, no controls), unique and numbered."""
    with db.session() as s:
        row, _, applicant = _load(s, application_id)
        _, content = _content(s, row, applicant)
        ids = [d["id"] for d in content["documents"] if d.get("status", "verified") == "verified"]
        stored = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(ids), Document.status == "verified"))}
    entries, taken = [], set()
    for number, doc_id in enumerate((i for i in ids if i in stored), start=1):
        d = stored[doc_id]
        name = archive_name(number, d.kind, d.filename, d.content_type, taken)
        taken.add(name.lower())
        entries.append((name, d.storage_key))
    return row.reference, entries
