"""notify's handlers of outreach (issue 17): the invitation to apply and its reminders, each a
personal email in the prospect's language with the unsubscribe link (ops/optout.py); and the
secretariat's mark that a prospect opted out, which puts the address on the opt-out list.
An opted-out address gets neither email: queue_email records it as failed, saying why."""
from __future__ import annotations

from datetime import datetime, timezone

from shared.events import Event
from shared.inbox import UnitOfWork

from .ops import optout, templates
from .ops.contexts import day, local_time
from .ops.deliveries import Sender, queue_email


def _moment(value) -> datetime:
    """An event's time (a datetime), or the ISO text of a preview's variables."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc)


def context_of(d: dict, language: str, unsubscribe_url: str) -> dict:
    """What outreach_invitation and outreach_reminder say of an outreach.* event's data."""
    closes = _moment(d["closes_at"])
    context = {"name": d.get("name") or "", "organisation": d["organisation"], "year": d["year"],
               "url": d["url"], "closes": local_time(closes, d.get("time_zone"), language),
               "closes_day": day(closes, language), "unsubscribe_url": unsubscribe_url}
    if "expires_at" in d:
        context["expires_at"] = _moment(d["expires_at"]).strftime("%Y-%m-%d %H:%M UTC")
    if "stage" in d:
        context["registered"] = d["stage"] == "not_submitted"
        context["reminder"] = d["reminder"]
    return context


def _unsubscribe_url(sender: Sender, email: str, template: str) -> str:
    return sender.unsubscribe.url(email, template) if sender.unsubscribe is not None else ""


def outreach_invited(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """The personal invitation to apply, with the single-use registration link; not sent after
    the link expired (it would lead nowhere)."""
    d, template = event.data, "outreach_invitation"
    language = templates.language_for(template, d["language"])
    context = context_of(d, language, _unsubscribe_url(sender, d["email"], template))
    row = queue_email(uow.session, event, template, d["email"], language, context, expires_at=d["expires_at"])
    if row is not None:
        uow.after_commit(lambda: sender.deliver_queued(row))


def outreach_reminder(uow: UnitOfWork, event: Event, *, sender: Sender) -> None:
    """A reminder before the edition closes: register, or (registered) submit an application."""
    d, template = event.data, "outreach_reminder"
    language = templates.language_for(template, d["language"])
    context = context_of(d, language, _unsubscribe_url(sender, d["email"], template))
    row = queue_email(uow.session, event, template, d["email"], language, context, expires_at=d["closes_at"])
    if row is not None:
        uow.after_commit(lambda: sender.deliver_queued(row))


def outreach_opted_out(uow: UnitOfWork, event: Event) -> None:
    """The secretariat recorded on intake that a prospect opted out: on the list here too (not
    published back: intake knows)."""
    optout.opt_out(uow.session, event.data["email"], "secretariat", publish=False)


HANDLERS = {
    "outreach.invited": outreach_invited,
    "outreach.reminder": outreach_reminder,
    "outreach.opted_out": outreach_opted_out,
}
