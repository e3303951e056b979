"""What intake erases of an applicant once the secretariat approved their request (ops/erasure.py
decides and records; this module changes the rows, in the caller's transaction). Flask-free.

The person goes; the decision history stays with nobody in it:
- erased: the contact person's and the second contact's names and addresses, the sign-in
  records (links, codes, sessions: every sign-in ends), the moves of the sign-in address, the
  ceremony answers (delegates, substitute, accessibility needs, visa and passport details,
  comments), the invitations to the edition's events (the name and address copied into each) and
  their answers as the ceremony's, every document's file (deleted from the store after the commit: ``storage_keys``)
  and its file name, drafts (deleted whole: they never entered the competition), emails that
  failed to reach them, and their names and addresses in intake's outbox;
- kept: the applicant's type, country and language, and an organisation's name and city (a city
  government is not a person: they stay for statistics), each submitted application's
  reference, edition, category, status, stages and content (with the people's names and
  addresses taken out where they appear), each document's kind, size and SHA-256.
An individual (Leadership) is a person: their name (the organisation field), city and the
content of their applications are erased too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, func, or_, select
from sqlalchemy import update as sql_update

from shared.erasure import ERASED, Redactor, scrub_outbox

from ..models import (Applicant, Application, Consent, ContactChange, DeadlineException, Document, DraftReminderSent,
                      EmailFailure, Rsvp, StatusUpdate, SubmissionCopy, outbox, signin_tables)

PROJECT_FIELDS = ("location", "start_date", "budget", "partners")


def erased_address(applicant_id: str) -> str:
    """The sign-in address an erased applicant keeps: unique (the column is), reaching nobody."""
    return f"erased-{applicant_id}@erased.invalid"


@dataclass
class Erased:
    """What one erasure did: counts for the secretariat's record, the store's keys to delete."""
    counts: dict = field(default_factory=dict)
    application_ids: list[str] = field(default_factory=list)
    storage_keys: list[str] = field(default_factory=list)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


def _people_of(rsvp: Rsvp | None) -> list[dict]:
    if rsvp is None:
        return []
    return [p for p in [*(rsvp.delegates or []), rsvp.substitute] if isinstance(p, dict)]


def redactor_for(s, applicant: Applicant, applications: list[Application]) -> Redactor:
    """Every name and address intake holds of the applicant's people."""
    people = [p for a in applications for p in _people_of(s.get(Rsvp, a.id))]
    changes = s.scalars(select(ContactChange).where(ContactChange.applicant_id == applicant.id)).all()
    links = signin_tables.links
    link_emails = s.scalars(select(links.c.email).where(links.c.applicant_id == applicant.id)).all()
    emails = [applicant.contact_email, applicant.secondary_email, *link_emails,
              *(e for c in changes for e in (c.old_email, c.new_email)), *(p.get("email") for p in people)]
    names = [applicant.contact_name, applicant.secondary_name, *(p.get("name") for p in people)]
    if applicant.type == "individual":
        names.append(applicant.organisation)
    return Redactor(emails, names)


def _blank_content(row: Application) -> None:
    row.title, row.summary = ERASED, ""
    row.answers = {key: "" for key in (row.answers or {})}
    for name in PROJECT_FIELDS:
        setattr(row, name, "")


def _redact_content(row: Application, redactor: Redactor) -> None:
    row.title, row.summary = redactor.text(row.title or ""), redactor.text(row.summary or "")
    row.answers = redactor.value(dict(row.answers or {}))
    for name in ("location", "budget", "partners"):
        setattr(row, name, redactor.text(getattr(row, name) or ""))


def _documents(s, row: Application, done: Erased, keep: bool) -> None:
    """The application's files go from the store (after the commit); a submitted application
    keeps each checked document's kind, size and hash, without its file name."""
    for doc in s.scalars(select(Document).where(Document.application_id == row.id)).all():
        done.storage_keys.append(doc.storage_key)
        if keep and doc.status == "verified":
            doc.filename, doc.storage_key, doc.status = ERASED, f"erased/{doc.id}", "erased"
            done.add("documents_erased")
        else:
            s.delete(doc)
            done.add("documents_deleted")
    # The PDF of the submission holds the people's names and the answers: its file goes too. The
    # row stays (pointing nowhere), so the worker does not make the PDF again.
    for copy in s.scalars(select(SubmissionCopy).where(SubmissionCopy.application_id == row.id)).all():
        done.storage_keys.append(copy.storage_key)
        copy.storage_key = f"erased/submission/{row.id}"
        done.add("submission_pdfs_deleted")


def _ceremony_answer(s, row: Application, done: Erased) -> None:
    rsvp = s.get(Rsvp, row.id)
    if rsvp is None:
        return
    rsvp.delegates, rsvp.substitute = [], None  # attending and visa_letter stay: counts, nobody's
    rsvp.accessibility = rsvp.visa_details = rsvp.comments = ""
    done.add("ceremony_answers_erased")


def _event_invitations(s, applicant: Applicant, done: Erased) -> list[str]:
    """The applicant's invitations to the edition's events (issue 17): the name and address copied
    into each, and its answer's people, needs and passports, go as the ceremony answer's do."""
    from ..models import EventInvitation, EventRsvp
    rows = s.scalars(select(EventInvitation).where(EventInvitation.applicant_id == applicant.id)).all()
    for inv in rows:
        inv.name, inv.email = ERASED, erased_address(applicant.id)  # unique per event: one invitation each
        rsvp = s.get(EventRsvp, inv.id)
        if rsvp is not None:
            rsvp.delegates, rsvp.substitute = [], None
            rsvp.accessibility = rsvp.visa_details = rsvp.comments = ""
        done.add("event_invitations_erased")
    return [inv.id for inv in rows]


def _delete_draft(s, row: Application, done: Erased) -> None:
    s.execute(delete(DraftReminderSent).where(DraftReminderSent.application_id == row.id))
    s.execute(delete(StatusUpdate).where(StatusUpdate.application_id == row.id))
    s.flush()
    s.delete(row)
    done.add("drafts_deleted")


def delete_draft_rows(s, row: Application, done: Erased) -> None:
    """A draft and its documents' rows gone (their files are in ``done.storage_keys``, for after
    the commit): for an erasure, and for an applicant who withdraws a draft."""
    _documents(s, row, done, keep=False)
    s.flush()
    _delete_draft(s, row, done)


def _application(s, row: Application, individual: bool, redactor: Redactor, done: Erased) -> None:
    done.application_ids.append(row.id)
    draft = row.status == "draft"
    _documents(s, row, done, keep=not draft)
    if draft:
        s.flush()
        _delete_draft(s, row, done)
        return
    if individual:
        _blank_content(row)
    else:
        _redact_content(row, redactor)
    row.withdrawal_reason = redactor.text(row.withdrawal_reason or "")
    for update in s.scalars(select(StatusUpdate).where(StatusUpdate.application_id == row.id)).all():
        update.detail = redactor.text(update.detail or "")
    _ceremony_answer(s, row, done)
    done.add("applications_kept")


def _sign_in(s, applicant: Applicant, redactor: Redactor, done: Erased) -> None:
    links, sessions = signin_tables.links, signin_tables.sessions
    mine = [links.c.applicant_id == applicant.id]
    if redactor.emails:
        mine.append(func.lower(links.c.email).in_(redactor.emails))
    done.add("sign_in_links_deleted", s.execute(delete(links).where(or_(*mine))).rowcount)
    done.add("sessions_ended", s.execute(delete(sessions).where(sessions.c.applicant_id == applicant.id)).rowcount)


def _reshape(individual: bool):
    """What else intake's outbox loses of the applicant's events: the ceremony answers' people,
    needs and visa details, and document file names, always; an individual's city and
    application content too."""
    def reshape(type_: str, data: dict) -> dict:
        if type_ in ("ceremony.rsvp_received", "event.rsvp_received"):  # as the answer's row: the people, needs and passports go
            data.update(delegates=[], substitute=None, accessibility="", visa_details="", comments="")
        for doc in data.get("documents") or []:
            if isinstance(doc, dict) and "filename" in doc:
                doc["filename"] = ERASED
        if not individual:
            return data
        applicant = data.get("applicant") if isinstance(data.get("applicant"), dict) else data
        if "city" in applicant and type_ in ("application.submitted", "applicant.registered", "applicant.updated"):
            applicant["city"] = ERASED
        if type_ == "application.submitted":
            data.update(title=ERASED, summary="", answers={k: "" for k in data.get("answers") or {}},
                        project={k: "" for k in data.get("project") or {}})
        return data
    return reshape


def erase(s, applicant: Applicant, now) -> Erased:
    """Erase the applicant's personal data from intake's tables, in the caller's transaction."""
    done, individual = Erased(), applicant.type == "individual"
    applications = s.scalars(select(Application).where(Application.applicant_id == applicant.id)
                             .order_by(Application.created_at, Application.id)).all()
    redactor = redactor_for(s, applicant, applications)
    for row in applications:
        _application(s, row, individual, redactor, done)
    _sign_in(s, applicant, redactor, done)
    done.add("address_changes_deleted", s.execute(
        delete(ContactChange).where(ContactChange.applicant_id == applicant.id)).rowcount)
    for exception in s.scalars(select(DeadlineException).where(DeadlineException.applicant_id == applicant.id)):
        exception.reason = redactor.text(exception.reason or "")
    # What they agreed to stays, as proof that their data was processed lawfully (GDPR Art. 7(1)),
    # with nothing of the person left in it: the network address it was given from goes.
    done.add("consents_anonymised", s.execute(
        sql_update(Consent).where(Consent.applicant_id == applicant.id).values(client="")).rowcount)
    if redactor.emails:
        done.add("email_failures_deleted", s.execute(
            delete(EmailFailure).where(func.lower(EmailFailure.recipient).in_(redactor.emails))).rowcount)
    invitations = _event_invitations(s, applicant, done)  # the edition's events (issue 17)
    done.add("outbox_events_cleaned", scrub_outbox(s, outbox, [applicant.id, *done.application_ids, *invitations],
                                                   redactor, _reshape(individual)))
    applicant.contact_name, applicant.contact_email = ERASED, erased_address(applicant.id)
    applicant.secondary_name = applicant.secondary_email = None
    if individual:
        applicant.organisation = applicant.city = ERASED
    applicant.erased_at = now
    return done
