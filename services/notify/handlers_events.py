"""notify's handlers of the edition's events (issue 17): the invitation to an event
(``event_invitation``, an outreach email: ops/optout.py keeps it from an opted-out address, and it
carries the unsubscribe link, ``unsubscribe_url``) and the confirmation of each answer (``event_rsvp_received``,
as the ceremony's rsvp_received). The event's time is written as the ceremony's (ops/contexts.py)."""
from __future__ import annotations

from shared.events import Event
from shared.inbox import UnitOfWork

from .ops import templates
from .ops.contexts import ceremony_context, ceremony_record
from .ops.deliveries import Sender, queue_email

KIND_TITLES = {"general_assembly": "General Assembly", "mayors_forum": "Mayors Forum",
               "ceremony": "Award ceremony", "other": ""}


def _send_after_commit(uow: UnitOfWork, sender: Sender, delivery) -> None:
    if delivery is not None:  # queue_email claimed it for us
        uow.after_commit(lambda: sender.deliver_queued(delivery))


def _context(d: dict, language: str) -> dict:
    return {"name": d.get("name") or "", "organisation": d.get("organisation") or "", "year": d["year"],
            "event_name": d["event_name"], "kind": d["kind"], "max_delegates": d["max_delegates"],
            "event": ceremony_context(ceremony_record(d["event"], d["url"]), language)}


def event_invited(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Invite the person to the event, in their language, with their RSVP link."""
    d = event.data
    language = templates.language_for("event_invitation", d["language"])
    # an outreach email (ops/optout.py): refused for an opted-out address, and carrying the link
    link = sender.unsubscribe.url(d["email"], "event_invitation") if sender.unsubscribe is not None else ""
    context = {**_context(d, language), "unsubscribe_url": link}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "event_invitation", d["email"], language,
                                                context))


def event_rsvp_received(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """Confirm the answer (each change too), repeating what was recorded."""
    d = event.data
    language = templates.language_for("event_rsvp_received", d["language"])
    context = {**_context(d, language), "attending": d["attending"], "changed": d["revision"] > 1,
               "delegates": d["delegates"], "substitute": d.get("substitute"),
               "accessibility": d.get("accessibility") or "", "visa_letter": d["visa_letter"],
               "visa_details": d.get("visa_details") or "", "comments": d.get("comments") or ""}
    _send_after_commit(uow, sender, queue_email(uow.session, event, "event_rsvp_received", d["email"], language,
                                                context))


HANDLERS = {"event.invited": event_invited, "event.rsvp_received": event_rsvp_received}
