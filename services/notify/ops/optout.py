"""Opting out of outreach email (issue 17): the list notify keeps, the emails it applies to, and the
unsubscribe link every such email carries (in its text, and as List-Unsubscribe with
List-Unsubscribe-Post, RFC 8058).

Which emails. ``OPTOUT_TEMPLATES``: those written to people because the secretariat reaches out
to them: invitations to apply and their reminders, event invitations and their reminders (the
events lane adds its names here), and the secretariat's group emails. An opted-out address gets
none of these: each is recorded as a failed delivery saying why, so the outbox shows it. The
emails a person needs for what they asked for or started still go: sign-in links, the
acknowledgement of a submission, the decisions on an application, the ceremony of a finalist, a
moved sign-in address. Opting out of outreach must not lock anyone out of their application.

Apart from the suppression list (ops/suppressions.py), which stops every email to an address
that bounced or complained: an opt-out is a wish about one kind of email, not a dead mailbox.

The link. ``/unsubscribe/<token>``, where the token is the address (and the template it came
from) signed with the secret key (no expiry: an old email's link must still work). GET shows a
button; POST records the opt-out (no CSRF token: the signed token is the permission, and mail
clients' one-click POST, RFC 8058, has none). notify publishes address.opted_out; intake marks
the prospect. The secretariat's own mark (intake's outreach.opted_out) lands here too.

For another lane's emails: add the template name to OPTOUT_TEMPLATES, put
``unsubscribe_url`` (``sender.unsubscribe.url(email, template)``) in the email's context and show
it in both files; queue_email then refuses it for an opted-out address and the sender adds the
List-Unsubscribe headers.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select

from shared.events import make_event
from shared.outbox import record

from ..models import OptOut, outbox

# The emails an opted-out address does not get (see the module's docstring).
OPTOUT_TEMPLATES = frozenset({
    "outreach_invitation", "outreach_reminder",  # invitations to apply and their reminders
    "event_invitation", "event_reminder",          # the edition's events (the events lane's emails)
    "group_message",                               # the secretariat's group emails (ops/messages.py)
})
SALT = "prize.unsubscribe"
SOURCES = ("unsubscribe_link", "secretariat")


def honours_opt_out(template: str) -> bool:
    return template in OPTOUT_TEMPLATES


def _now() -> datetime:
    return datetime.now(timezone.utc)


class BadLink(Exception):
    """The unsubscribe link is not one of ours, or was changed."""


@dataclass(frozen=True)
class Unsubscribe:
    """Makes and reads the unsubscribe links of notify at ``base_url``."""
    secret_key: str
    base_url: str

    @classmethod
    def of(cls, settings) -> "Unsubscribe":
        return cls(settings.secret_key, settings.notify_public_url.rstrip("/"))

    def _signer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=SALT)

    def url(self, email: str, template: str = "") -> str:
        return f"{self.base_url}/unsubscribe/{self._signer().dumps({'e': email.strip().lower(), 't': template})}"

    def read(self, token: str) -> tuple[str, str]:
        """(the address, the template) a link names; BadLink if it is not ours."""
        try:
            data = self._signer().loads(token)
        except BadData as exc:
            raise BadLink("this unsubscribe link is not valid: use the one in the email, whole") from exc
        if not (isinstance(data, dict) and isinstance(data.get("e"), str) and "@" in data["e"]):
            raise BadLink("this unsubscribe link is not valid")
        return data["e"], str(data.get("t") or "")[:100]

    def headers(self, email: str, template: str) -> dict[str, str]:
        """RFC 8058's headers: where to unsubscribe, and that one POST does it."""
        return {"List-Unsubscribe": f"<{self.url(email, template)}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def opted_out(session, email: str) -> OptOut | None:
    return session.get(OptOut, email.strip().lower())


def opted_out_among(session, emails) -> set[str]:
    emails = [e.strip().lower() for e in emails]
    if not emails:
        return set()
    return set(session.scalars(select(OptOut.email).where(OptOut.email.in_(emails))))


def reason(row: OptOut) -> str:
    """What a delivery not sent because of ``row`` says."""
    how = "with the unsubscribe link" if row.source == "unsubscribe_link" else "through the secretariat"
    return f"not sent: {row.email} opted out of outreach email ({how}, {row.created_at:%Y-%m-%d})"


def opt_out(session, email: str, source: str, template: str = "", publish: bool = True) -> bool:
    """Put ``email`` on the opt-out list in the caller's transaction; True if it is new. With
    ``publish``, address.opted_out tells intake (not for the secretariat's own mark, which came
    from intake)."""
    email = email.strip().lower()
    if not email or opted_out(session, email) is not None:
        return False
    now = _now()
    session.add(OptOut(email=email, source=source, template=template[:100], created_at=now))
    session.flush()
    if publish:
        record(session, outbox, make_event("address.opted_out", {"email": email, "opted_out_at": now,
                                                                 "template": template[:100]},
                                           producer="notify", correlation_id=email[:100]))
    return True
