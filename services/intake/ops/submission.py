"""Submission: the one path by which a draft becomes a submitted application.

The API (POST /api/applications/<id>/submit) and the portal's submit button both call
``submit_application``. It is the hottest write at the deadline, so it is written in Core SQL
with as few round trips as the rules allow (see submit_application for the concurrency):

1. one SELECT that brings the draft with the call's terms, the applicant (for the event), the
   applicant's latest unrevoked deadline exception and the kinds of document already verified;
2. one guarded write: draft → submitted only if nothing changed since step 1, plus the
   application.submitted outbox row (on PostgreSQL one statement, see
   shared.outbox.GuardedRecord).

The rules themselves stay in services.intake.rules and read the row through attribute access,
exactly as they read ORM objects elsewhere.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from types import SimpleNamespace

from sqlalchemy import JSON, bindparam, func, literal, select, update

from shared.events import make_event
from shared.logs import correlation
from shared.db import UTCDateTime
from shared.outbox import GuardedRecord

from .. import rules
from ..models import Applicant, Application, Call, DeadlineException, Document, outbox

log = logging.getLogger("prize.intake")
PRODUCER = "intake"

_app = Application.__table__
_call = Call.__table__
_applicant = Applicant.__table__
_exception = DeadlineException.__table__
_document = Document.__table__

APPLICANT_FIELDS = ("id", "type", "organisation", "country", "city", "contact_name", "contact_email",
                    "secondary_email", "language")


def _verified(aggregate):
    """A scalar subquery over the application's checked documents."""
    return (select(aggregate).where(_document.c.application_id == _app.c.id, _document.c.status == "verified")
            .scalar_subquery())


PROJECT_FIELDS = ("location", "start_date", "budget", "partners")
DOCUMENT_FIELDS = ("id", "kind", "filename", "content_type", "size", "sha256", "storage_key")


def _verified_documents(dialect: str):
    """The application's checked documents as one JSON array (one column, no second query):
    json_agg on PostgreSQL, json_group_array on SQLite."""
    pairs = [part for f in DOCUMENT_FIELDS for part in (literal(f), _document.c[f])]
    if dialect == "postgresql":
        aggregate = func.coalesce(func.json_agg(func.json_build_object(*pairs)), literal("[]").cast(JSON))
    else:
        aggregate = func.json_group_array(func.json_object(*pairs))
    return _verified(aggregate).label("verified_documents")


def _load_statement(dialect: str):
    latest_exception = (
        select(_exception.c.closes_at)
        .where(_exception.c.call_id == _app.c.call_id, _exception.c.applicant_id == _app.c.applicant_id,
               _exception.c.revoked_at.is_(None))
        .order_by(_exception.c.granted_at.desc()).limit(1)
        .scalar_subquery().label("exception_closes_at"))
    return (
        select(_app,
               _call.c.year.label("call_year"), _call.c.status.label("call_status"),
               _call.c.opens_at.label("call_opens_at"), _call.c.closes_at.label("call_closes_at"),
               _call.c.time_zone.label("call_time_zone"),
               _call.c.categories.label("call_categories"), _call.c.documents.label("call_documents"),
               *[_applicant.c[f].label(f"by_{f}") for f in APPLICANT_FIELDS],
               latest_exception, _verified_documents(dialect),
               func.coalesce(_verified(func.max(_document.c.verified_at)), EPOCH).label("last_verified_at"))
        .join(_call, _call.c.id == _app.c.call_id)
        .join(_applicant, _applicant.c.id == _app.c.applicant_id)
        .where(_app.c.id == bindparam("application_id")))


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_LOAD = {dialect: _load_statement(dialect) for dialect in ("postgresql", "sqlite")}


def _documents(value) -> list[dict]:
    """The JSON array of _verified_documents, whichever way the driver hands it over."""
    if isinstance(value, (str, bytes)):
        value = json.loads(value)
    return sorted(value or [], key=lambda d: (d["kind"], d["filename"], d["id"]))


def _answer(application: SimpleNamespace, assessed: tuple) -> dict:
    """The application as the API shows it: its fields, counts, what is missing, how complete
    (rules.assess's answer)."""
    answer = dict(vars(application))
    answer["criteria"], answer["missing"], answer["completeness"] = assessed
    return answer


# Draft → submitted, only if nothing changed since it was read: still a draft, the same revision
# (every save bumps it), and the same checked documents (as many, and none checked since: a
# document deleted and another checked in between would change the latest check time).
_SUBMIT = GuardedRecord(outbox, update(_app).where(
    _app.c.id == bindparam("application_id"), _app.c.status == "draft",
    _app.c.revision == bindparam("read_revision"),
    _verified(func.count()) == bindparam("verified_count"),
    func.coalesce(_verified(func.max(_document.c.verified_at)), EPOCH) == bindparam("last_verified_at", type_=UTCDateTime),
).values(status="submitted", submitted_at=bindparam("now"), updated_at=bindparam("now")))


ATTEMPTS = 5


def _status_url(public_url: str | None, application_id: str) -> dict:
    """The event's status_url, given intake's address (submit_application's ``public_url``): the
    application's status page, where its owner downloads the PDF; the acknowledgement links to it."""
    return {"status_url": f"{public_url.rstrip('/')}/portal/applications/{application_id}/status"} if public_url else {}


def submit_application(db, application_id, applicant_id: str | None = None,
                       now: datetime | None = None, public_url: str | None = None) -> dict:
    """Freeze the draft and publish application.submitted; safe to repeat (a double click or a
    retried request submits once and gets the same answer).

    Raises rules.RuleViolation when refused: 404 for an application that does not exist or is
    not ``applicant_id``'s (nothing hints that it exists), 409 when the call is not open for this
    applicant or the application was withdrawn, 422 naming what is missing.

    Optimistic: the draft is read without a lock and the rules decide on what was read; the write
    is guarded (see _SUBMIT), and a draft that changed in between is read and judged again. On
    PostgreSQL the read and the guarded write each run as one autocommitted statement: no BEGIN,
    no COMMIT, no row lock held across round trips. On SQLite both run in one BEGIN IMMEDIATE
    transaction (the database's write lock), so the guard always holds there.
    """
    now = now or datetime.now(timezone.utc)
    for _ in range(ATTEMPTS):
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT")
            with conn.begin():
                row = conn.execute(_LOAD[conn.dialect.name], {"application_id": str(application_id)}).mappings().first()
                if row is None or (applicant_id is not None and row["applicant_id"] != applicant_id):
                    raise rules.RuleViolation(404, f"no application {application_id}")
                application = SimpleNamespace(**{c.name: row[c.name] for c in _app.columns})
                call = SimpleNamespace(id=application.call_id, year=row["call_year"], status=row["call_status"],
                                       opens_at=row["call_opens_at"], closes_at=row["call_closes_at"],
                                       categories=row["call_categories"], documents=row["call_documents"])
                required = [d["key"] for d in (call.documents or []) if d.get("required")]
                documents = _documents(row["verified_documents"])
                verified = {d["kind"] for d in documents}
                missing_documents = [k for k in required if k not in verified]
                assessed = rules.assess(application, call, missing_documents)
                if application.status == "submitted":
                    return _answer(application, assessed)
                closes = rules.as_utc(call.closes_at)
                if row["exception_closes_at"] is not None:
                    closes = max(closes, rules.as_utc(row["exception_closes_at"]))
                rules.check_may_submit(application, call, now, closes, missing=assessed[1])
                applicant = rules.applicant_snapshot(
                    SimpleNamespace(**{f: row[f"by_{f}"] for f in APPLICANT_FIELDS}))
                event = make_event("application.submitted", {
                    "application_id": application.id, "reference": application.reference,
                    "call_id": call.id, "year": call.year, "category": application.category,
                    "title": application.title, "summary": application.summary, "submitted_at": now,
                    "applicant": applicant, "answers": application.answers or {},
                    "project": {f: getattr(application, f) or "" for f in PROJECT_FIELDS},
                    "documents": documents, "closes_at": closes, "time_zone": row["call_time_zone"],
                    **_status_url(public_url, application.id)}, producer=PRODUCER, correlation_id=application.id)
                written = _SUBMIT(conn, event, {
                    "application_id": application.id, "read_revision": application.revision, "now": now,
                    "verified_count": len(documents), "last_verified_at": rules.as_utc(row["last_verified_at"])},
                    db.notify_channel)
        if written:
            application.status, application.submitted_at, application.updated_at = "submitted", now, now
            with correlation(application.id):  # the application's id follows it through every service
                log.info("application %s submitted by %s", application.reference, application.applicant_id)
            return _answer(application, assessed)
        # changed since we read it (a save, a document, a concurrent submit): read and judge again
    raise rules.RuleViolation(409, "the application kept changing while it was being submitted; try again")
