"""An applicant's own data, as one ZIP they download (GDPR Art. 15 access and Art. 20
portability, PIPA Art. 35): ``data.json`` (their record, every application with its answers,
status history, documents' details and ceremony answer, the moves of their sign-in address,
their sign-in records, consents where kept, erasure requests) and the documents themselves,
streamed from the document store. Flask-free."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Iterator

from sqlalchemy import or_, select

from shared.refusals import Refused

from .. import rules
from ..models import (Applicant, Application, Call, CeremonyInvitation, ContactChange, DeadlineException, Document,
                      ErasureRequest, Rsvp, StatusUpdate, metadata, signin_tables)
from .ceremony import rsvp_view
from .registry_export import archive_name, stream_zip

FORMAT = "Seoul Smart City Prize: an applicant's personal data, version 1"
APPLICANT_FIELDS = ("id", "type", "organisation", "country", "city", "contact_name", "contact_email",
                    "secondary_name", "secondary_email", "language", "created_at")
HELD_ELSEWHERE = (
    "This file holds what intake (the applicant portal) keeps about you. The review service keeps a copy of "
    "each submitted application as submitted (the content above) with the jury's scores and decisions; the "
    "notify service keeps the emails it sent you. The secretariat answers any question about them.")


def _plain(value):
    """JSON's form of a stored value: times in ISO 8601 UTC."""
    if isinstance(value, datetime):
        return rules.as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _documents(s, application: Application, taken: set, files: list) -> list[dict]:
    """The application's documents; each checked one also goes into the ZIP (``files``)."""
    shown = []
    for d in s.scalars(select(Document).where(Document.application_id == application.id)
                       .order_by(Document.created_at, Document.id)):
        path = None
        if d.status == "verified":
            name = archive_name(len(taken) + 1, d.kind, d.filename, d.content_type, taken)
            taken.add(name.lower())
            path = f"documents/{application.reference}/{name}"
            files.append((path, d.storage_key))
        shown.append({"id": d.id, "kind": d.kind, "filename": d.filename, "content_type": d.content_type,
                      "size": d.size, "sha256": d.sha256, "status": d.status,
                      "rejection_reason": d.rejection_reason or None, "uploaded_at": d.created_at,
                      "verified_at": d.verified_at, "file_in_this_archive": path})
    return shown


def _ceremony(s, application: Application) -> dict | None:
    invitation = s.get(CeremonyInvitation, application.id)
    if invitation is None:
        return None
    return {"invited_at": invitation.invited_at, "basis": invitation.basis,
            "answer": rsvp_view(s.get(Rsvp, application.id))}


def _application(s, application: Application, calls: dict, files: list) -> dict:
    call = calls[application.call_id]
    updates = s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == application.id)).all()
    return {
        "id": application.id, "reference": application.reference, "edition": call.year,
        "category": application.category, "status": application.status, "title": application.title,
        "summary": application.summary, "answers": application.answers or {},
        "project": {f: getattr(application, f) or "" for f in ("location", "start_date", "budget", "partners")},
        "created_at": application.created_at, "updated_at": application.updated_at,
        "submitted_at": application.submitted_at, "withdrawn_at": application.withdrawn_at,
        "withdrawal_reason": application.withdrawal_reason or "",
        # what the applicant's status page shows: decisions not released yet are not theirs to read yet
        "status_history": rules.timeline(application, updates),
        "documents": _documents(s, application, set(), files),
        "ceremony": _ceremony(s, application),
    }


def _sign_in(s, applicant: Applicant) -> dict:
    links, sessions = signin_tables.links, signin_tables.sessions
    link_rows = s.execute(select(links.c.created_at, links.c.purpose, links.c.email, links.c.client,
                                 links.c.expires_at, links.c.used_at)
                          .where(or_(links.c.applicant_id == applicant.id, links.c.email == applicant.contact_email))
                          .order_by(links.c.created_at)).mappings().all()
    session_rows = s.execute(select(sessions.c.kind, sessions.c.created_at, sessions.c.last_seen_at,
                                    sessions.c.expires_at, sessions.c.revoked_at)
                             .where(sessions.c.applicant_id == applicant.id)
                             .order_by(sessions.c.created_at)).mappings().all()
    return {"links_and_codes_asked_for": [dict(r) for r in link_rows], "sessions": [dict(r) for r in session_rows]}


def _consents(s, applicant_id: str) -> list[dict] | None:
    """The applicant's consents, if this database keeps them (a ``consents`` table with an
    ``applicant_id``); None where it does not."""
    table = metadata.tables.get("consents")
    if table is None or "applicant_id" not in table.c:
        return None
    return [dict(r) for r in s.execute(select(table).where(table.c.applicant_id == applicant_id)).mappings()]


def collect(s, applicant_id: str) -> tuple[dict, list[tuple[str, str]]]:
    """(what data.json holds, [(path in the ZIP, storage key)] of the documents)."""
    applicant = s.get(Applicant, applicant_id)
    if applicant is None or applicant.erased_at is not None:
        raise Refused(404, f"no applicant {applicant_id}")
    calls = {c.id: c for c in s.scalars(select(Call))}
    files: list[tuple[str, str]] = []
    applications = s.scalars(select(Application).where(Application.applicant_id == applicant_id)
                             .order_by(Application.created_at, Application.id)).all()
    changes = s.scalars(select(ContactChange).where(ContactChange.applicant_id == applicant_id)
                        .order_by(ContactChange.changed_at)).all()
    exceptions = s.scalars(select(DeadlineException).where(DeadlineException.applicant_id == applicant_id)
                           .order_by(DeadlineException.granted_at)).all()
    requests = s.scalars(select(ErasureRequest).where(ErasureRequest.applicant_id == applicant_id)
                         .order_by(ErasureRequest.requested_at)).all()
    data = {
        "format": FORMAT, "exported_at": datetime.now(timezone.utc),
        "applicant": {f: getattr(applicant, f) for f in APPLICANT_FIELDS},
        "applications": [_application(s, a, calls, files) for a in applications],
        "sign_in_address_changes": [{"changed_at": c.changed_at, "old_email": c.old_email, "new_email": c.new_email,
                                     "reason": c.reason, "changed_by": "the secretariat"} for c in changes],
        "deadline_exceptions": [{"edition": calls[e.call_id].year, "closes_at": e.closes_at, "reason": e.reason,
                                 "granted_at": e.granted_at, "revoked_at": e.revoked_at} for e in exceptions],
        "sign_in": _sign_in(s, applicant),
        "erasure_requests": [{"requested_at": r.requested_at, "status": r.status, "decided_at": r.decided_at,
                              "refusal_reason": r.refusal_reason or None} for r in requests],
        "held_elsewhere": HELD_ELSEWHERE,
    }
    consents = _consents(s, applicant_id)
    if consents is not None:
        data["consents"] = consents
    return _plain(data), files


def export(db, applicant_id: str) -> tuple[bytes, list[tuple[str, str]]]:
    """(data.json's bytes, the documents to add) for the applicant, read in one session."""
    with db.session() as s:
        data, files = collect(s, applicant_id)
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"), files


def export_zip(storage, data_json: bytes, files: list[tuple[str, str]]) -> Iterator[bytes]:
    """The ZIP, made while it is sent: data.json, then each document read from the store in
    chunks (registry_export.stream_zip)."""
    return stream_zip(storage, files, first=[("data.json", data_json)])


def archive_filename(now: datetime) -> str:
    return f"my-data-seoul-smart-city-prize-{now:%Y-%m-%d}.zip"


def held(db, applicant_id: str) -> dict:
    """What the My data page counts of what we keep."""
    with db.session() as s:
        return summary(collect(s, applicant_id)[0])


def summary(data: dict) -> dict:
    """The counts of data.json's content."""
    applications = data["applications"]
    return {"applications": len(applications),
            "documents": sum(1 for a in applications for d in a["documents"] if d["file_in_this_archive"]),
            "sign_ins": len(data["sign_in"]["sessions"]),
            "address_changes": len(data["sign_in_address_changes"])}
