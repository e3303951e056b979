"""What notify does with the events it consumes: one handler per event type.

Each handler decides who must hear about the event and queues that email; sending happens
after the transaction commits.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from shared.events import Event
from shared.inbox import UnitOfWork

from . import templates
from .delivery import Sender, queue_email

log = logging.getLogger("prize.notify")


def make_handlers(sender: Sender) -> dict:
    def _send_after_commit(uow: UnitOfWork, delivery) -> None:
        if delivery is not None:
            outgoing = sender.outgoing(delivery)  # queue_email claimed it for us
            uow.after_commit(lambda: sender.deliver(delivery.id, outgoing, delivery.attempts))

    def application_submitted(uow: UnitOfWork, event: Event) -> None:
        """Acknowledge the submission to the applicant's contact, in their language."""
        d, a = event.data, event.data["applicant"]
        language = templates.language_for("submission_ack", a["language"])
        context = {
            "reference": d["reference"], "title": d["title"], "year": d["year"],
            "category_title": templates.CATEGORY_TITLES[language].get(d["category"], d["category"]),
            "organisation": a["organisation"], "city": a["city"], "contact_name": a["contact_name"],
            "submitted_at": d["submitted_at"].strftime("%Y-%m-%d %H:%M UTC"),
        }
        row = queue_email(uow.session, event, "submission_ack", a["contact_email"], language, context)
        _send_after_commit(uow, row)

    def signin_requested(uow: UnitOfWork, event: Event) -> None:
        """Mail the one-time sign-in link (browser) or code (API) to the applicant's contact."""
        d = event.data
        expires_at = d["expires_at"]
        if expires_at <= datetime.now(timezone.utc):
            log.info("sign-in link for %s expired before it could be mailed; not sending it", d["email"])
            return  # a dead link would only confuse; the applicant asks again
        minutes = max(1, round((expires_at - event.occurred_at).total_seconds() / 60))
        language = templates.language_for("signin_link", d["language"])
        place, site = templates.SIGNIN_PLACES[language][d.get("audience") or "applicant"]
        context = {
            "contact_name": d["contact_name"], "purpose": d["purpose"], "url": d["url"],
            "place": place, "site": site,
            "code": d.get("code") or "", "minutes": minutes,
            "expires_at": expires_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        row = queue_email(uow.session, event, "signin_link", d["email"], language, context)
        _send_after_commit(uow, row)

    def juror_invited(uow: UnitOfWork, event: Event) -> None:
        """Invite the juror, with the link that signs them in to review."""
        d = event.data
        language = templates.language_for("juror_invited", d["language"])
        context = {"name": d["name"], "url": d["url"], "expires_at": d["expires_at"].strftime("%Y-%m-%d %H:%M UTC")}
        _send_after_commit(uow, queue_email(uow.session, event, "juror_invited", d["email"], language, context))

    def review_assigned(uow: UnitOfWork, event: Event) -> None:
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
        _send_after_commit(uow, queue_email(uow.session, event, "review_assigned", d["email"], language, context))

    def review_reminder(uow: UnitOfWork, event: Event) -> None:
        """Remind a juror, before the round's due date, of every review they still have pending."""
        d = event.data
        language = templates.language_for("review_reminder", d["language"])
        titles = templates.CATEGORY_TITLES[language]
        due = d["due_at"].astimezone(timezone.utc)
        context = {
            "name": d["name"], "year": d["year"], "url": d["url"], "count": d["pending"],
            "round_title": templates.ROUND_TITLES[language][d["round"]],
            "due_at": due.strftime("%Y-%m-%d %H:%M UTC"),
            "due_day": due.day, "due_month": templates.MONTHS[language][due.month - 1],
            "applications": [{"reference": a["reference"], "title": a["title"],
                              "category_title": titles.get(a["category"], a["category"])}
                             for a in d["applications"]],
        }
        _send_after_commit(uow, queue_email(uow.session, event, "review_reminder", d["email"], language, context))

    return {
        "application.submitted": application_submitted,
        "signin.requested": signin_requested,
        "juror.invited": juror_invited,
        "review.assigned": review_assigned,
        "review.reminder": review_reminder,
    }
