"""What notify does with the events it consumes: one handler per event type.

Each handler decides who must hear about the event and queues that email; sending happens
after the transaction commits.
"""
from __future__ import annotations

from shared.events import Event
from shared.inbox import UnitOfWork

from . import templates
from .delivery import Sender, queue_email


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

    return {
        "application.submitted": application_submitted,
    }
