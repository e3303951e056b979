"""The registration link of an invitation to apply, and what registering does to the prospect;
opting out as intake keeps it (prospect.opted_out_at).

A link (``/portal/register?invitation=<token>``) is, in this order: ``used`` (someone registered
with it: it works once), ``registered`` (the prospect has an applicant already, or one has its
address: nothing is made twice, they sign in), ``expired`` (past expires_at), or ``valid``: the
registration form filled with what we know of the prospect, every field changeable. An unknown
token is ``unknown``.

Registering through a valid link marks the invitation used (``used_at``, ``applicant_id``) and
the prospect registered (``applicant_id``), in the registration's transaction; a link used or
expired between the form and its submission refuses the registration (InvitationGone), so a link
never registers twice. A registration without a link whose address is a prospect's links that
prospect too.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from shared.events import make_event
from shared.outbox import record
from shared.refusals import Refused

from .. import rules
from ..models import Applicant, OutreachInvitation, Prospect, outbox
from .outreach import PRODUCER, token_hash

STATES = ("valid", "used", "registered", "expired", "unknown")


class InvitationGone(Exception):
    """The link was used, or expired, since the form was shown: nothing was registered."""

    def __init__(self, state: str):
        super().__init__(state)
        self.state = state


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _find(s, token: str, lock: bool = False) -> OutreachInvitation | None:
    if not token or len(token) > 200:
        return None
    q = select(OutreachInvitation).where(OutreachInvitation.token_hash == token_hash(token))
    return s.scalars(q.with_for_update() if lock else q).first()


def _registered(s, prospect: Prospect) -> bool:
    return prospect.applicant_id is not None or s.scalar(select(Applicant.id).where(
        func.lower(Applicant.contact_email) == prospect.email.lower())) is not None


def state_of(s, token: str, now: datetime | None = None) -> tuple[str, OutreachInvitation | None, Prospect | None]:
    """(the link's state, its invitation, its prospect)."""
    invitation = _find(s, token)
    if invitation is None:
        return "unknown", None, None
    prospect = s.get(Prospect, invitation.prospect_id)
    if invitation.used_at is not None:
        return "used", invitation, prospect
    if prospect is None or _registered(s, prospect):
        return "registered", invitation, prospect
    if rules.as_utc(invitation.expires_at) <= (now or _now()):
        return "expired", invitation, prospect
    return "valid", invitation, prospect


def prefill(prospect: Prospect) -> dict:
    """The registration form as we know the prospect (the person may change every field)."""
    return {"type": prospect.applicant_type or "", "organisation": prospect.organisation or "",
            "country": prospect.country or "", "city": prospect.city or "",
            "contact_name": prospect.contact_name or "", "contact_email": prospect.email or "",
            "language": prospect.language or ""}


def _link(prospect: Prospect, applicant: Applicant, now: datetime) -> None:
    if prospect.applicant_id is None:
        prospect.applicant_id = applicant.id
        prospect.version += 1
        prospect.updated_at, prospect.updated_by = now, "registration"


def on_registered(s, applicant: Applicant, invitation_token: str | None) -> None:
    """In the registration's transaction, for a new applicant: use the invitation (InvitationGone
    if it cannot be used any more) and link its prospect; without one, link the prospect with
    the applicant's address, if any."""
    now = _now()
    if invitation_token:
        invitation = _find(s, invitation_token, lock=True)
        if invitation is None:
            raise InvitationGone("unknown")
        if invitation.used_at is not None:
            raise InvitationGone("used")
        if rules.as_utc(invitation.expires_at) <= now:
            raise InvitationGone("expired")
        invitation.used_at, invitation.applicant_id = now, applicant.id
        prospect = s.get(Prospect, invitation.prospect_id, with_for_update=True)
        if prospect is not None:
            _link(prospect, applicant, now)
    prospect = s.scalars(select(Prospect).where(Prospect.email == applicant.contact_email.lower())
                         .with_for_update()).first()
    if prospect is not None:
        _link(prospect, applicant, now)


# --- opting out -------------------------------------------------------------------------------------

def mark_opted_out(db, prospect_id: str, who: str) -> tuple[Prospect, bool]:
    """The secretariat records that a prospect asked for no more outreach email: opted_out_at,
    and outreach.opted_out for notify's opt-out list. (prospect, whether it was new)."""
    with db.session() as s, s.begin():
        prospect = s.get(Prospect, str(prospect_id), with_for_update=True)
        if prospect is None:
            raise Refused(404, f"no prospect {prospect_id}")
        if prospect.opted_out_at is not None:
            s.expunge(prospect)
            return prospect, False
        now = _now()
        prospect.opted_out_at, prospect.version = now, prospect.version + 1
        prospect.updated_at, prospect.updated_by = now, who[:200]
        record(s, outbox, make_event("outreach.opted_out", {
            "prospect_id": prospect.id, "email": prospect.email, "opted_out_at": now, "by": who[:300]},
            producer=PRODUCER, correlation_id=prospect.id))
        s.flush()
        s.expunge(prospect)
        return prospect, True


def address_opted_out(s, email: str, at: datetime) -> bool:
    """notify's address.opted_out: the prospect with this address (if any) is opted out."""
    prospect = s.scalars(select(Prospect).where(Prospect.email == email.strip().lower())
                         .with_for_update()).first()
    if prospect is None or prospect.opted_out_at is not None:
        return False
    prospect.opted_out_at, prospect.version = at, prospect.version + 1
    prospect.updated_at, prospect.updated_by = _now(), "unsubscribe link"
    return True
