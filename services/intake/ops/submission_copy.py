"""The PDF of a submitted application: made once, from the record of the submission, and stored
with the documents (shared.storage: the local folder or S3).

Submitting stays one guarded write (ops/submission.py): drawing the PDF takes 0.1 to 0.3 s of CPU,
several times the whole submission, which the deadline's burst cannot spare. So intake's worker
makes it (``make_due``, every few seconds), and the owner's first download makes it at once if
the worker has not yet (``download_url``). What it shows comes from the application.submitted
event in intake's outbox, the record of exactly what was submitted (a later change of the
applicant's details does not rewrite it); the rows stand in if that record is missing.

The durable fact is "submitted, and no copy row": until the row exists every pass tries again,
so a failure (the store down, a crash half-way) delays the PDF and never loses it. A failing
application waits longer between tries (``_backoff``), so one bad record does not hold up the rest.

Keys: ``submissions/<application>/<random>.pdf``, outside every upload form's reach and outside
the documents' sweep. Two makers at once (two workers, or a worker and a download) each store
their own object; the first row committed wins, and the other removes its object.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.refusals import Refused

from .. import rules
from ..models import Applicant, Application, Call, Document, SubmissionCopy, outbox
from .submission import DOCUMENT_FIELDS, PROJECT_FIELDS
from .submission_pdf import pdf_language, pdf_view, render_pdf

log = logging.getLogger("prize.intake.submission_copy")

PREFIX = "submissions/"
BATCH = 20  # applications per pass of the worker
RETRY_FIRST, RETRY_MAX = 30.0, 3600.0  # seconds before a failed application is tried again
_failures: dict[str, tuple[int, float]] = {}  # application id -> (failures, monotonic time to retry)
_failures_lock = threading.Lock()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def copy_key(application_id: str) -> str:
    return f"{PREFIX}{application_id}/{uuid.uuid4().hex}.pdf"


def submission_record(s, application: Application) -> dict:
    """The data of the application's application.submitted event; rebuilt from the rows if the
    outbox no longer holds it."""
    body = s.scalar(select(outbox.c.body).where(outbox.c.type == "application.submitted",
                                                outbox.c.correlation_id == application.id)
                    .order_by(outbox.c.seq.desc()).limit(1))
    if body is not None:
        return json.loads(body)["data"]
    call = s.get(Call, application.call_id)
    documents = s.scalars(select(Document).where(Document.application_id == application.id,
                                                 Document.status == "verified")).all()
    return {"reference": application.reference, "year": call.year, "category": application.category,
            "title": application.title, "summary": application.summary, "submitted_at": application.submitted_at,
            "time_zone": call.time_zone, "answers": application.answers or {},
            "applicant": rules.applicant_snapshot(s.get(Applicant, application.applicant_id)),
            "project": {f: getattr(application, f) or "" for f in PROJECT_FIELDS},
            "documents": sorted(({f: getattr(d, f) for f in DOCUMENT_FIELDS} for d in documents),
                                key=lambda d: (d["kind"], d["filename"], d["id"]))}


def make_copy(db, storage, application_id: str) -> SubmissionCopy | None:
    """The application's PDF, made and stored now unless it exists; None if it was never submitted."""
    with db.session() as s:
        existing = s.get(SubmissionCopy, application_id)
        if existing is not None:
            return existing
        application = s.get(Application, application_id)
        if application is None or application.submitted_at is None:
            return None
        record = submission_record(s, application)
        view = pdf_view(record, s.get(Call, application.call_id))
    # no session is held while drawing (on SQLite an open transaction holds the write lock)
    language, made_at = pdf_language(record), _now()
    data = render_pdf(view, language, made_at)
    key = copy_key(application_id)
    storage.put(key, data, "application/pdf")
    row = SubmissionCopy(application_id=application_id, storage_key=key, sha256=hashlib.sha256(data).hexdigest(),
                         size=len(data), language=language, made_at=made_at)
    try:
        with db.session() as s, s.begin():
            s.add(row)
    except IntegrityError:  # made by someone else meanwhile: theirs stands
        storage.delete(key)
        with db.session() as s:
            return s.get(SubmissionCopy, application_id)
    log.info("made the PDF of application %s (%d bytes)", application_id, len(data))
    return row


def _due(s, limit: int) -> list[str]:
    made = select(SubmissionCopy.application_id)
    return list(s.scalars(select(Application.id).where(Application.submitted_at.is_not(None),
                                                       Application.id.not_in(made))
                          .order_by(Application.submitted_at).limit(limit)).all())


def _backoff(application_id: str, failed: bool) -> None:
    with _failures_lock:
        if not failed:
            _failures.pop(application_id, None)
            return
        count = _failures.get(application_id, (0, 0.0))[0] + 1
        _failures[application_id] = (count, time.monotonic() + min(RETRY_MAX, RETRY_FIRST * 2 ** (count - 1)))


def _waiting(application_id: str) -> bool:
    with _failures_lock:
        entry = _failures.get(application_id)
    return entry is not None and entry[1] > time.monotonic()


def make_due(db, storage, limit: int = BATCH) -> int:
    """One pass of the worker: the PDF of each submitted application that has none. Returns how
    many were made."""
    with db.session() as s:
        due = [a for a in _due(s, limit + len(_failures)) if not _waiting(a)][:limit]
    made = 0
    for application_id in due:
        try:
            made += make_copy(db, storage, application_id) is not None
        except Exception:
            log.exception("could not make the PDF of application %s; it is tried again later", application_id)
            _backoff(application_id, True)
        else:
            _backoff(application_id, False)
    return made


def download_url(db, storage, application_id: str) -> str:
    """A short-lived link to the application's PDF, made now if the worker has not yet."""
    copy = make_copy(db, storage, application_id)
    if copy is None:
        raise Refused(404, f"no submitted application {application_id}")
    with db.session() as s:
        reference = s.get(Application, application_id).reference
    return storage.download_url(copy.storage_key, f"{reference}.pdf", "application/pdf")
