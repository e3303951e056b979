"""The ceremony as the secretariat sees it: setting it, the guest list with its summary and
its CSV, and the invitations as an applicant reads them."""
from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.refusals import Refused

from ..models import Applicant, Application, Call, Ceremony, CeremonyInvitation, Rsvp
from ..rules import RuleViolation, as_utc
from . import ceremony, consents, retention
from .ceremony import rsvp_view
from .privacy import NoticeTerms, notice_of


def guest_list(session: Session, call_id: str) -> list[dict]:
    """Every invited application with its answer, in reference order."""
    rows = session.execute(
        select(CeremonyInvitation, Application, Applicant, Rsvp)
        .join(Application, Application.id == CeremonyInvitation.application_id)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .outerjoin(Rsvp, Rsvp.application_id == CeremonyInvitation.application_id)
        .where(CeremonyInvitation.call_id == str(call_id))
        .order_by(Application.reference)).all()
    guests = []
    for invitation, app, applicant, rsvp in rows:
        answer = "no answer" if rsvp is None else ("attending" if rsvp.attending else "declined")
        guests.append({
            "application_id": app.id, "reference": app.reference, "title": app.title, "category": app.category,
            "organisation": applicant.organisation, "city": applicant.city, "country": applicant.country,
            "contact_name": applicant.contact_name, "contact_email": applicant.contact_email,
            "basis": invitation.basis, "invited_at": as_utc(invitation.invited_at), "answer": answer,
            "rsvp": rsvp_view(rsvp),
        })
    return guests


def summary(guests: list[dict]) -> dict:
    attending = [g for g in guests if g["answer"] == "attending"]
    return {"invited": len(guests), "attending": len(attending),
            "declined": sum(g["answer"] == "declined" for g in guests),
            "no_answer": sum(g["answer"] == "no answer" for g in guests),
            "people": sum(len(g["rsvp"]["delegates"]) for g in attending),
            "visa_letters": sum(g["rsvp"]["visa_letter"] for g in attending)}


CSV_COLUMNS = ("reference", "organisation", "city", "country", "project", "invited as", "answer", "person",
               "name", "role", "email", "accessibility needs", "visa letter", "visa details", "comments",
               "answered at")


def _cell(value) -> str:
    """A CSV cell that a spreadsheet shows as text: a leading = + - @ would make it a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def people_csv(columns, rows: list[dict], who) -> str:
    """A guest list as CSV, one line per person (delegates and substitute), one line for an
    invitation without any: ``who(row)`` gives the cells before the person's, the answer's follow
    (accessibility, visa letter and details, comments, when answered). Formula-like cells are text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for g in rows:
        r = g["rsvp"] or {}
        people = [("delegate", p) for p in r.get("delegates") or []]
        if r.get("substitute"):
            people.append(("substitute", r["substitute"]))
        answered = r["updated_at"].strftime("%Y-%m-%d %H:%M UTC") if r else ""
        for kind, person in people or [("", {})]:
            writer.writerow([_cell(v) for v in (
                *who(g), kind, person.get("name", ""), person.get("role", ""), person.get("email") or "",
                r.get("accessibility", ""), "yes" if r.get("visa_letter") else "",
                r.get("visa_details", ""), r.get("comments", ""), answered)])
    return out.getvalue()


def guests_csv(guests: list[dict]) -> str:
    """The ceremony's guests: one line per person; one line for an application without any."""
    return people_csv(CSV_COLUMNS, guests, lambda g: (g["reference"], g["organisation"], g["city"], g["country"],
                                                      g["title"], g["basis"], g["answer"]))


def _call(s, call_id, lock=False) -> Call:
    call = s.get(Call, str(call_id), with_for_update=lock)
    if call is None:
        raise Refused(404, f"no call {call_id}")
    return call


def _ceremony_out(s, row: Ceremony) -> dict:
    invited = s.scalar(select(func.count()).select_from(CeremonyInvitation)
                       .where(CeremonyInvitation.call_id == row.call_id))
    return {**{k: getattr(row, k) for k in ("call_id", "time_zone", "venue", "address", "details",
                                             "max_delegates", "updated_by")},
            "starts_at": as_utc(row.starts_at), "rsvp_by": as_utc(row.rsvp_by),
            "updated_at": as_utc(row.updated_at), "invited": invited}


def read_ceremony(db, call_id) -> dict:
    """The edition's ceremony and how many are invited."""
    with db.session() as s:
        _call(s, call_id)
        row = s.get(Ceremony, str(call_id))
        if row is None:
            raise Refused(404, f"no ceremony set for call {call_id}")
        return _ceremony_out(s, row)


def ceremony_marker(row: Ceremony | None) -> str:
    """What a ceremony form was built from: when the ceremony was last set ("" when never)."""
    return as_utc(row.updated_at).isoformat() if row is not None else ""


def configure(db, call_id, data: dict, who: str, now: datetime, public_url: str, *,
              expected: str | None = None) -> dict:
    """Set (or change) the ceremony under the call's lock; invites those already released.
    ``expected``: the ceremony_marker a page's form was built from (refused if it moved since)."""
    if as_utc(data["starts_at"]) <= now:
        raise RuleViolation(422, "the ceremony must be in the future", {"starts_at": ["must be in the future"]})
    with db.session() as s, s.begin():
        call = _call(s, call_id, lock=True)
        if expected is not None and expected != ceremony_marker(s.get(Ceremony, call.id)):
            raise Refused(409, "someone else changed this ceremony since you opened the page")
        row = ceremony.set_ceremony(s, call, data, who, now, public_url)
        return _ceremony_out(s, row)


def guests(db, call_id) -> dict:
    """Everyone invited, with their answers and a count of people, visa letters and so on."""
    with db.session() as s:
        _call(s, call_id)
        rows = guest_list(s, str(call_id))
    return {"summary": summary(rows), "guests": rows}


def guests_for_csv(db, call_id) -> tuple[int, list[dict]]:
    """The edition's year and its guest list (for the CSV download)."""
    with db.session() as s:
        call = _call(s, call_id)
        return call.year, guest_list(s, str(call_id))


def _own(s, application_id, applicant_id: str | None, lock=False) -> Application:
    row = s.get(Application, str(application_id), with_for_update=lock)
    if row is None or (applicant_id is not None and row.applicant_id != applicant_id):
        raise Refused(404, f"no application {application_id}")  # someone else's looks missing
    return row


def _invitation_out(s, app: Application, now: datetime, terms: NoticeTerms) -> dict:
    invitation, cer = ceremony.invitation_for(s, app)
    notice = notice_of(s.get(Call, app.call_id))
    consent = consents.on_record(s, app.applicant_id, notice, consents.TRAVEL_DATA)
    return {"application_id": app.id, "reference": app.reference,
            "invited_at": as_utc(invitation.invited_at),
            "ceremony": {**ceremony.details(cer), "max_delegates": cer.max_delegates},
            "answers_open": now < as_utc(cer.starts_at),
            "rsvp": rsvp_view(s.get(Rsvp, app.id)),
            "privacy_notice_version": notice.version,
            "travel_data_consent": None if consent is None else {
                "version": consent.notice_version, "given_at": as_utc(consent.given_at)},
            "travel_data_deleted_on": retention.deleted_on(cer, terms.travel_data_days)}


def invitation(db, application_id, applicant_id: str | None, now: datetime, terms: NoticeTerms | None = None) -> dict:
    """The invitation to the ceremony and the answer given so far (404 if not invited)."""
    with db.session() as s:
        return _invitation_out(s, _own(s, application_id, applicant_id), now, terms or NoticeTerms())


def answer(db, application_id, applicant_id: str, data: dict, now: datetime, public_url: str, *,
           terms: NoticeTerms | None = None, client: str = "") -> dict:
    """Answer the invitation, or change the answer, until the ceremony starts (visa and passport
    details with a consent to the edition's privacy notice: ceremony.save_rsvp)."""
    terms = terms or NoticeTerms()
    with db.session() as s, s.begin():
        app = _own(s, application_id, applicant_id, lock=True)
        ceremony.save_rsvp(s, app, data, now, public_url, terms=terms, client=client)
        return _invitation_out(s, app, now, terms)


def editions(db) -> list[tuple[Call, Ceremony | None, int]]:
    """Every edition, newest first, with its ceremony (if set) and how many are invited to it."""
    with db.session() as s:
        invited = dict(s.execute(select(CeremonyInvitation.call_id, func.count())
                                 .group_by(CeremonyInvitation.call_id)).all())
        return [(call, s.get(Ceremony, call.id), invited.get(call.id, 0))
                for call in s.scalars(select(Call).order_by(Call.year.desc()))]
