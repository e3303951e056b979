"""What notify does with the events it consumes: one handler per event type.

Each handler decides who must hear about the event and queues that email; sending happens
after the transaction commits.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select

from shared.events import Event
from shared.inbox import UnitOfWork
from shared.staff import handlers as staff_handlers

from .models import Recipient, staff_tables
from .outreach import HANDLERS as outreach_handlers
from .ops import contexts, erasure, languages, messages, templates
from .ops.contexts import ceremony_context, ceremony_record, local_time as _local_time
from .ops.deliveries import Sender, queue_email
from . import handlers_events as event_handlers

log = logging.getLogger("prize.notify")


def _send_after_commit(uow: UnitOfWork, sender: Sender, delivery) -> None:
    if delivery is not None:  # queue_email claimed it for us
        uow.after_commit(lambda: sender.deliver_queued(delivery))


def application_submitted(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Acknowledge the submission to the applicant's contact, in their language."""
    d, a = event.data, event.data["applicant"]
    language = templates.language_for("submission_ack", a["language"])
    context = {
        "reference": d["reference"], "title": d["title"], "year": d["year"],
        "category_title": templates.CATEGORY_TITLES[language].get(d["category"], d["category"]),
        "organisation": a["organisation"], "city": a["city"], "contact_name": a["contact_name"],
        "submitted_at": d["submitted_at"].strftime("%Y-%m-%d %H:%M UTC"),
        "closes": _local_time(d.get("closes_at"), d.get("time_zone"), language),
        # where the applicant downloads the PDF of the submission (events before it had none)
        "status_url": d.get("status_url") or "",
    }
    row = queue_email(uow.session, event, "submission_ack", a["contact_email"], language, context)
    _send_after_commit(uow, sender, row)
    # Remember who hears about the decisions; any that overtook this event go out now.
    recipient = _recipient(uow, d["application_id"], d["reference"], known={
        "reference": d["reference"], "title": d["title"], "category": d["category"], "year": d["year"],
        "organisation": a["organisation"], "contact_name": a["contact_name"], "contact_email": a["contact_email"],
        "secondary_email": a.get("secondary_email"), "language": a["language"]})
    _send_due(uow, sender, event, recipient)


# Decisions. Screening is a check of the rules and is mailed at once; the finalist and award
# decisions are only recorded, and mailed when the secretariat releases their round. The
# release and the decision may come in either order: whichever comes second sends, and the
# recipient row (locked) is marked notified in the same transaction as the delivery row, so
# neither a redelivery nor the other event of the pair can send it again.


def _recipient(uow: UnitOfWork, application_id, reference: str | None = None, known: dict | None = None) -> Recipient:
    """The application's recipient row, locked, with what is ``known`` of it written; created
    (empty if its submission is yet to come) in one insert."""
    row = uow.session.get(Recipient, str(application_id), with_for_update=True)
    if row is None:
        row = Recipient(**{"application_id": str(application_id), "reference": reference or "",
                           "finalist_released": False, "award_released": False, **(known or {})})
        uow.session.add(row)
        uow.session.flush()  # a second event of the same batch finds it
        return row
    if reference and not row.reference:
        row.reference = reference
    for name, value in (known or {}).items():
        setattr(row, name, value)
    return row


def _mail(uow: UnitOfWork, sender: Sender, event: Event, recipient: Recipient, template: str,
          with_ceremony: bool = False, **extra) -> None:
    language = templates.language_for(template, recipient.language)
    if with_ceremony:  # the ceremony as the email's language writes its dates
        extra["ceremony"] = ceremony_context(recipient.ceremony, language) if recipient.ceremony else None
    context = contexts.application_context(recipient, language, extra)
    _send_after_commit(uow, sender, queue_email(uow.session, event, template, recipient.contact_email, language, context))


def _send_due(uow: UnitOfWork, sender: Sender, event: Event, recipient: Recipient) -> None:
    """Mail every decision of this application that is known, released and not yet mailed."""
    if not recipient.contact_email:
        return  # application.submitted has not arrived yet: it sends what is due
    now = datetime.now(timezone.utc)
    if recipient.screening_eligible is not None and recipient.screening_notified_at is None:
        _mail(uow, sender, event, recipient, "eligibility_result", eligible=recipient.screening_eligible,
              reason=recipient.screening_reason or "")
        recipient.screening_notified_at = now
    if recipient.finalist_released and recipient.finalist_decision and recipient.finalist_notified_at is None:
        template = "finalist_notice" if recipient.finalist_decision == "advanced" else "not_advanced"
        _mail(uow, sender, event, recipient, template)
        recipient.finalist_notified_at = now
    if recipient.award_released and recipient.award_outcome and recipient.award_notified_at is None:
        if recipient.award_outcome in ("winner", "special_mention"):
            # the invitation to the ceremony comes with it when known (else on its own later)
            _mail(uow, sender, event, recipient, "award_winner", outcome=recipient.award_outcome,
                  award=recipient.award_title or "", with_ceremony=True)
            if recipient.ceremony:
                recipient.ceremony_notified_at = now
        else:
            _mail(uow, sender, event, recipient, "not_awarded")
        recipient.award_notified_at = now
    if recipient.ceremony and recipient.ceremony_notified_at is None:
        # the same invitation for every finalist: it says nothing of the award
        _mail(uow, sender, event, recipient, "ceremony_invitation", with_ceremony=True,
              finalist=recipient.finalist_decision == "advanced")
        recipient.ceremony_notified_at = now


def application_screened(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """The eligibility result, at once: it is a check of the rules, not a ranking."""
    d = event.data
    recipient = _recipient(uow, d["application_id"], d["reference"])
    recipient.screening_eligible, recipient.screening_reason = d["eligible"], d.get("reason") or ""
    recipient.screening_notified_at = None  # a screening done again is mailed again
    _send_due(uow, sender, event, recipient)


def application_advanced(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    _finalist_decided(uow, sender, event, "advanced")


def application_eliminated(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    _finalist_decided(uow, sender, event, "eliminated")


def _finalist_decided(uow: UnitOfWork, sender: Sender, event: Event, decision: str) -> None:
    """Record the finalist decision; it is mailed when the round is released."""
    d = event.data
    recipient = _recipient(uow, d["application_id"], d["reference"])
    if recipient.finalist_notified_at is not None and recipient.finalist_decision != decision:
        log.warning("application %s: finalist decision changed to %s after it was mailed; not mailing again",
                    recipient.reference, decision)
    recipient.finalist_decision = decision
    _send_due(uow, sender, event, recipient)


def award_decided(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Record the award decision; it is mailed when the round is released."""
    d = event.data
    recipient = _recipient(uow, d["application_id"], d["reference"])
    if recipient.award_notified_at is not None and recipient.award_outcome != d["outcome"]:
        log.warning("application %s: award decision changed to %s after it was mailed; not mailing again",
                    recipient.reference, d["outcome"])
    recipient.award_outcome, recipient.award_title = d["outcome"], d.get("award") or ""
    _send_due(uow, sender, event, recipient)


def results_released(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """The secretariat released a round for this application: mail its decision, if known."""
    d = event.data
    recipient = _recipient(uow, d["application_id"])
    if d["round"] == "finalist":
        recipient.finalist_released = True
    else:
        recipient.award_released = True
    _send_due(uow, sender, event, recipient)


def ceremony_invited(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Keep the invitation on the recipient; it is mailed with the award decision if that is
    due now, else on its own (once either way)."""
    d = event.data
    recipient = _recipient(uow, d["application_id"], d["reference"])
    recipient.ceremony = ceremony_record(d["ceremony"], d["url"])
    _send_due(uow, sender, event, recipient)


def _guest_context(d: dict, language: str) -> dict:
    return {"name": d["name"], "organisation": d["organisation"], "reference": d["reference"],
            "title": d["title"], "year": d["year"],
            "ceremony": ceremony_context(ceremony_record(d["ceremony"], d["url"]), language)}


def rsvp_received(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Confirm the answer to the invitation (each change too), repeating what we recorded."""
    d = event.data
    language = templates.language_for("rsvp_received", d["language"])
    context = {**_guest_context(d, language), "attending": d["attending"], "changed": d["revision"] > 1,
               "delegates": d["delegates"], "substitute": d.get("substitute"),
               "accessibility": d.get("accessibility") or "", "visa_letter": d["visa_letter"],
               "visa_details": d.get("visa_details") or "", "comments": d.get("comments") or ""}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "rsvp_received", d["email"], language, context))


def rsvp_reminder(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Remind an invited applicant who has not answered: the day before the date, or after it."""
    d = event.data
    language = templates.language_for("rsvp_reminder", d["language"])
    context = {**_guest_context(d, language), "overdue": d["reminder"] == "overdue"}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "rsvp_reminder", d["email"], language, context))


def ceremony_changed(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Tell the invited what changed (the date, the place, the RSVP date), with the new details."""
    d = event.data
    recipient = _recipient(uow, d["application_id"], d["reference"])
    recipient.ceremony = ceremony_record(d["ceremony"], d["url"])  # later emails carry the new details
    language = templates.language_for("ceremony_changed", d["language"])
    context = {**_guest_context(d, language), "changes": d["changes"]}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "ceremony_changed", d["email"], language, context))


def applicant_updated(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """The applicant's details changed: the decisions still to come go to the new contacts,
    in the new language. The event names the applicant's applications; only those notify
    already knows are updated (a later submission carries the new details itself).

    When the secretariat moved the sign-in address, both the new and the old address hear
    of it at once, whether or not there are applications: the new one learns it is now the
    way in, the old one gets a security notice (if nobody asked for this, it is the only
    warning the previous holder of the account gets)."""
    d = event.data
    if d.get("previous_contact_email"):  # the contract: present exactly when contact_email changed
        language = templates.language_for("contact_email_changed", d["language"])
        for address, addressee in ((d["contact_email"], "new"), (d["previous_contact_email"], "old")):
            context = {"contact_name": d["contact_name"], "organisation": d["organisation"],
                       "new_email": d["contact_email"], "old_email": d["previous_contact_email"],
                       "addressee": addressee,
                       "changed_at": d["updated_at"].astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
            _send_after_commit(uow, sender, queue_email(uow.session, event, "contact_email_changed", address,
                                                language, context))
    ids = [str(i) for i in d["application_ids"]]
    if not ids:
        return
    rows = uow.session.scalars(select(Recipient).where(Recipient.application_id.in_(ids))
                               .with_for_update()).all()
    for recipient in rows:
        recipient.organisation, recipient.contact_name = d["organisation"], d["contact_name"]
        recipient.secondary_email, recipient.language = d.get("secondary_email"), d["language"]
        if recipient.contact_email:  # else application.submitted is yet to come, with the new one
            recipient.contact_email = d["contact_email"]


def signin_requested(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Mail the one-time sign-in link (browser) or code (API) to the applicant's contact."""
    d = event.data
    expires_at = d["expires_at"]
    if expires_at <= datetime.now(timezone.utc):
        log.info("sign-in link for %s expired before it could be mailed; not sending it", d["email"])
        return  # a dead link would only confuse; the applicant asks again
    language = templates.language_for("signin_link", d["language"])
    context = templates.signin_context(d, event.occurred_at, language)
    row = queue_email(uow.session, event, "signin_link", d["email"], language, context, expires_at=expires_at)
    _send_after_commit(uow, sender, row)


def juror_invited(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Invite the juror, with the link that signs them in to review."""
    d = event.data
    language = templates.language_for("juror_invited", d["language"])
    context = {"name": d["name"], "url": d["url"], "expires_at": d["expires_at"].strftime("%Y-%m-%d %H:%M UTC")}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "juror_invited", d["email"], language, context))


def review_assigned(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """One digest per juror and round: every application newly assigned to them in it."""
    d = event.data
    language = templates.language_for("review_assigned", d["language"])
    titles = templates.CATEGORY_TITLES[language]
    context = {
        "name": d["name"], "year": d["year"], "url": d["url"], "count": len(d["applications"]),
        "round_title": templates.ROUND_TITLES[language][d["round"]],
        "due_at": d["due_at"].strftime("%Y-%m-%d %H:%M UTC") if d.get("due_at") else "",
        "applications": [{"reference": a["reference"], "title": a["title"],
                          "category_title": titles.get(a["category"], a["category"])}
                         for a in d["applications"]],
    }
    _send_after_commit(uow, sender, queue_email(uow.session, event, "review_assigned", d["email"], language, context))


def review_reminder(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Remind a juror, before the round's due date, of every review they still have pending."""
    d = event.data
    language = templates.language_for("review_reminder", d["language"])
    titles = templates.CATEGORY_TITLES[language]
    due = d["due_at"].astimezone(timezone.utc)
    context = {
        "name": d["name"], "year": d["year"], "url": d["url"], "count": d["pending"],
        "round_title": templates.ROUND_TITLES[language][d["round"]],
        "due_at": due.strftime("%Y-%m-%d %H:%M UTC"),
        "due_day": due.day, "due_month": languages.month(due, language),
        "applications": [{"reference": a["reference"], "title": a["title"],
                          "category_title": titles.get(a["category"], a["category"])}
                         for a in d["applications"]],
    }
    _send_after_commit(uow, sender, queue_email(uow.session, event, "review_reminder", d["email"], language, context))


def draft_reminder(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Remind an applicant, before their closing time, that their application is still a draft
    and what still stops its submission."""
    d = event.data
    language = templates.language_for("draft_reminder", d["language"])
    closes = d["closes_at"].astimezone(timezone.utc)
    try:
        local = closes.astimezone(ZoneInfo(d["time_zone"]))
        closes_local = local.strftime("%Y-%m-%d %H:%M ") + d["time_zone"]
    except (ZoneInfoNotFoundError, ValueError):  # an unknown zone: UTC alone
        local, closes_local = closes, ""
    labels = languages.FIELD_TITLES[language]
    context = {
        "name": d["name"], "year": d["year"], "url": d["url"], "reference": d["reference"],
        "title": d["title"], "reminder": d["reminder"],
        "category_title": templates.CATEGORY_TITLES[language].get(d["category"], d["category"]),
        "closes_at": closes.strftime("%Y-%m-%d %H:%M UTC"), "closes_local": closes_local,
        "closes_day": local.day, "closes_month": languages.month(local, language),
        "missing": [{"title": labels.get(m["key"], m["title"]), "over_limit": m.get("over_limit", False)}
                    for m in d["missing"]],
    }
    _send_after_commit(uow, sender, queue_email(uow.session, event, "draft_reminder", d["email"], language, context))


# Wired in app.py (shared.inbox.bind): every handler that sends takes the ``sender``.
def message_addressed(uow: UnitOfWork, event: Event) -> None:
    """Members of a group email's audience, from the service that knows them (ops/messages.py)."""
    messages.members_arrived(uow.session, event.data)


def applicant_erased(uow: UnitOfWork, event: Event) -> None:
    """intake erased an applicant at their request: their addresses, names and emails go from
    notify too (ops/erasure.py)."""
    log.info("erased an applicant's people: %s", erasure.erase_applicant(uow.session, event.data))


HANDLERS = {
    "message.addressed": message_addressed,
    "application.submitted": application_submitted,
    "signin.requested": signin_requested,
    "juror.invited": juror_invited,
    "review.assigned": review_assigned,
    "review.reminder": review_reminder,
    "application.draft_reminder": draft_reminder,
    "application.screened": application_screened,
    "application.advanced": application_advanced,
    "application.eliminated": application_eliminated,
    "award.decided": award_decided,
    "results.released": results_released,
    "ceremony.invited": ceremony_invited,
    "ceremony.rsvp_received": rsvp_received,
    "ceremony.rsvp_reminder": rsvp_reminder,
    "ceremony.changed": ceremony_changed,
    "applicant.updated": applicant_updated,
    "applicant.erased": applicant_erased,
    **staff_handlers.handlers_for(staff_tables),  # staff.changed, staff.token_changed, staff.signed_out
    **outreach_handlers,  # outreach.invited, outreach.reminder, outreach.opted_out (outreach.py)
    **event_handlers.HANDLERS,  # event.invited, event.rsvp_received (issue 17: the edition's events)
}
