"""What notify erases when intake erased an applicant at their request (applicant.erased; GDPR
Art. 17, PIPA Art. 36), in the handler's transaction. Flask-free.

notify knows the person by their applications: the recipients of those (names, addresses), the
emails about them or their applicant (``correlation_id``) and the group emails' members of them.
Their addresses found so, every email to those addresses loses its address, subject and text
(the row stays, counted: template, status, times); one still to be sent is not sent. The
addresses leave the suppression list and the group emails' lists, and notify's sent events
(email.sent, email.failed) lose them. The decisions recorded for mailing stay."""
from __future__ import annotations

from sqlalchemy import delete, func, or_, select

from shared.erasure import ERASED, ERASED_EMAIL, Redactor, scrub_outbox

from ..models import Delivery, GroupMessageRecipient, Recipient, Suppression, outbox

NOT_SENT = "not sent: the person's data was erased at their request"


def _people(session, ids: list[str], applicant_id: str, individual: bool) -> Redactor:
    """Every address and name notify holds of the applicant's people."""
    recipients = session.scalars(select(Recipient).where(Recipient.application_id.in_(ids))).all()
    members = session.scalars(select(GroupMessageRecipient).where(GroupMessageRecipient.application_id.in_(ids))).all()
    mailed = session.scalars(select(Delivery.recipient).where(Delivery.correlation_id.in_([*ids, applicant_id]))).all()
    emails = [*mailed, *(m.email for m in members),
              *(e for r in recipients for e in (r.contact_email, r.secondary_email))]
    names = [*(r.contact_name for r in recipients), *(m.name for m in members)]
    if individual:
        names += [*(r.organisation for r in recipients), *(m.organisation for m in members)]
    return Redactor(emails, names)


def _deliveries(session, redactor: Redactor, ids: list[str]) -> int:
    found = [Delivery.correlation_id.in_(ids)]
    if redactor.emails:
        found.append(func.lower(Delivery.recipient).in_(redactor.emails))
    rows = session.scalars(select(Delivery).where(or_(*found), Delivery.recipient != ERASED_EMAIL)
                           .with_for_update()).all()
    for row in rows:
        row.key = f"{row.event_id}:{row.template}:erased:{row.id}"[:200]
        row.recipient, row.subject, row.body_text, row.body_html = ERASED_EMAIL, ERASED, ERASED, ERASED
        row.provider_message_id = None  # the file mailer's names the address; SES's is of no use now
        if row.status in ("pending", "sending"):
            row.status, row.last_error = "failed", NOT_SENT
        elif row.last_error:
            row.last_error = redactor.text(row.last_error)
    return len(rows)


def _reshape(type_: str, data: dict) -> dict:
    if "provider_message_id" in data:  # email.sent: it may name the address (the file mailer's does)
        data["provider_message_id"] = None
    return data


def erase_applicant(session, data: dict) -> dict:
    """Erase the applicant's people from notify's rows; returns counts."""
    ids = [str(i) for i in data["application_ids"]]
    applicant_id = str(data["applicant_id"])
    individual = data["applicant_type"] == "individual"
    redactor = _people(session, ids, applicant_id, individual)
    counts = {"deliveries": _deliveries(session, redactor, [*ids, applicant_id])}
    titles = {str(c["application_id"]): c["title"] for c in data.get("applications") or []}
    for recipient in session.scalars(select(Recipient).where(Recipient.application_id.in_(ids)).with_for_update()):
        recipient.contact_name = recipient.contact_email = recipient.secondary_email = None
        recipient.title = titles.get(recipient.application_id, recipient.title)  # the people taken out
        if individual:
            recipient.organisation = ERASED
    members = [GroupMessageRecipient.application_id.in_(ids)]
    if redactor.emails:
        members.append(func.lower(GroupMessageRecipient.email).in_(redactor.emails))
        counts["suppressions"] = session.execute(
            delete(Suppression).where(func.lower(Suppression.email).in_(redactor.emails))).rowcount
    counts["group_members"] = session.execute(delete(GroupMessageRecipient).where(or_(*members))).rowcount
    counts["events"] = scrub_outbox(session, outbox, [applicant_id, *ids], redactor, _reshape)
    return counts
