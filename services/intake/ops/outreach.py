"""Invitations to apply (issue 17): the secretariat invites prospects of an edition; each gets a
personal email (notify's ``outreach_invitation``) with a single-use registration link that fills
the registration form with what we know of them.

The look before sending (``plan``): who is invited, per language, and who is skipped and why
(opted out, registered already, the edition not open or closed). Sending (``send``) names the
``fingerprint`` of the look it confirms: if anything it depends on changed since (a prospect
edited, opted out or registered, the edition changed), it is refused as ``Stale`` with the new
look. A second click of the same look (its ``batch``) finds its invitations made and adds none.

The link. Its token is ``secrets.token_urlsafe(32)``; only its SHA-256 is stored. It expires
``INVITATION_DAYS`` (30) days after sending or at the edition's closing time, whichever comes
first: after the closing time nobody can apply any more, so a link that outlived it would only
lead to a registration for nothing. It works once (``used_at``); see outreach_links.py.
"""
from __future__ import annotations

import dataclasses
import hashlib
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from shared.events import make_event
from shared.events.common import LANGUAGES
from shared.outbox import record
from shared.refusals import Refused

from .. import rules
from ..models import Applicant, Call, OutreachInvitation, Prospect, outbox
from .calls import is_closed

PRODUCER = "intake"
INVITATION_DAYS = 30
MAX_PROSPECTS = 1000  # per look: a page that lists them stays readable
_BATCH_NAMESPACE = uuid.UUID("6f0d2f4e-2b1e-4a7e-9c55-0b7e0e1a1717")

SKIP_REASONS = {
    "opted_out": "opted out of outreach email",
    "registered": "registered already (an applicant has this address)",
    "not_open": "the edition is not open",
    "closed": "the edition has closed",
}


def _now() -> datetime:
    return datetime.now(timezone.utc)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def registration_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/portal/register?invitation={token}"


def expiry(call: Call, now: datetime) -> datetime:
    """When a link sent ``now`` for ``call`` stops working: 30 days, or the closing time if sooner."""
    return min(now + timedelta(days=INVITATION_DAYS), rules.as_utc(call.closes_at))


@dataclass
class Plan:
    """The look before sending: the edition, the prospects to invite, those skipped (prospect,
    reason key), how many per language, and the fingerprint a Send must name."""
    call: Call
    invited: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    by_language: dict = field(default_factory=dict)
    fingerprint: str = ""


class Stale(Refused):
    """What the confirmed look showed is not what sending would do now (409); ``plan`` is the new look."""

    def __init__(self, plan: Plan):
        super().__init__(409, "the prospects or the edition changed since this look was shown: nothing was sent; "
                              "read the new look and send again", fingerprint=plan.fingerprint)
        self.plan = plan


def clean_ids(given) -> list[str]:
    """The prospect ids asked for, each once, in the order given; 422 for none or too many, 404
    for an id that is not a prospect's shape (a UUID)."""
    ids = list(dict.fromkeys(str(i).strip() for i in given if str(i).strip()))
    if not ids:
        raise Refused(422, "choose at least one prospect to invite", errors={"prospect": ["choose at least one"]})
    if len(ids) > MAX_PROSPECTS:
        raise Refused(422, f"at most {MAX_PROSPECTS} prospects at a time ({len(ids)} given)")
    for i in ids:
        try:
            uuid.UUID(i)
        except ValueError:
            raise Refused(404, f"no prospect {i[:60]!r}") from None
    return ids


def _registered_emails(s, emails: list[str]) -> set[str]:
    if not emails:
        return set()
    return {e.lower() for e in s.scalars(select(Applicant.contact_email).where(
        func.lower(Applicant.contact_email).in_(emails)))}


def fingerprint(call: Call, prospects: list[Prospect], registered: set[str]) -> str:
    digest = hashlib.sha256(f"{call.id}:{call.version}:{call.status}:{rules.as_utc(call.closes_at).isoformat()}"
                            .encode())
    for p in sorted(prospects, key=lambda p: p.id):
        digest.update(f"\n{p.id}:{p.version}:{p.email}:{p.language}:{bool(p.opted_out_at)}:"
                      f"{p.applicant_id or p.email in registered}".encode())
    return digest.hexdigest()[:32]


def plan(s, call_id: str, prospect_ids: list[str], now: datetime | None = None) -> Plan:
    """The look: refused 404 for an unknown edition or prospect."""
    now = now or _now()
    call = s.get(Call, str(call_id))
    if call is None:
        raise Refused(404, f"no edition {call_id}")
    ids = clean_ids(prospect_ids)
    found = {p.id: p for p in s.scalars(select(Prospect).where(Prospect.id.in_(ids)))}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise Refused(404, "no prospect " + ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else ""))
    prospects = [found[i] for i in ids]
    registered = _registered_emails(s, [p.email.lower() for p in prospects])
    edition = "not_open" if call.status != "open" else ("closed" if is_closed(call, now) else None)
    shown = Plan(call=call)
    for p in prospects:
        reason = edition or ("opted_out" if p.opted_out_at else None) or (
            "registered" if p.applicant_id or p.email.lower() in registered else None)
        if reason:
            shown.skipped.append((p, reason))
        else:
            shown.invited.append(p)
    shown.by_language = dict(sorted(Counter(_language(p) for p in shown.invited).items()))
    shown.fingerprint = fingerprint(call, prospects, registered)
    return shown


def _language(p: Prospect) -> str:
    return p.language if p.language in LANGUAGES else "en"


def _batch_event_id(batch: str, prospect_id: str) -> uuid.UUID:
    return uuid.uuid5(_BATCH_NAMESPACE, f"{batch}:{prospect_id}")


def event_data(call: Call, p: Prospect, url: str, expires_at: datetime, invitation_id: str, who: str) -> dict:
    return {"prospect_id": p.id, "call_id": call.id, "year": call.year, "email": p.email,
            "name": p.contact_name or "", "organisation": p.organisation, "language": _language(p),
            "closes_at": rules.as_utc(call.closes_at), "time_zone": call.time_zone, "url": url,
            "invitation_id": invitation_id, "expires_at": expires_at, "invited_by": who[:300]}


def send(db, call_id: str, prospect_ids: list[str], shown: str | None, who: str, public_url: str,
         batch: str | None = None) -> tuple[Plan, list[OutreachInvitation], bool]:
    """Invite every prospect the look would: one OutreachInvitation and one outreach.invited event
    each, in one transaction. Returns (the look, the invitations made, whether this look's batch
    was sent already: a double click, nothing made). Stale (409) when ``shown`` is not the look's
    fingerprint now."""
    batch = batch or str(uuid.uuid4())
    with db.session() as s, s.begin():
        call = s.get(Call, str(call_id), with_for_update=True)  # one send per edition at a time
        if call is None:
            raise Refused(404, f"no edition {call_id}")
        ids = clean_ids(prospect_ids)
        done = s.scalar(select(func.count()).select_from(OutreachInvitation).where(
            OutreachInvitation.event_id.in_([str(_batch_event_id(batch, i)) for i in ids])))
        look = plan(s, call.id, ids)
        if done:
            return look, [], True
        if shown is not None and look.fingerprint != shown:  # the API sends without a look
            s.expunge_all()  # the look outlives the rollback
            raise Stale(look)
        now, made = _now(), []
        for p in look.invited:
            made.append(_invite(s, call, p, who, public_url, now, _batch_event_id(batch, p.id)))
        return look, made, False


def _invite(s, call: Call, p: Prospect, who: str, public_url: str, now: datetime,
            event_id: uuid.UUID) -> OutreachInvitation:
    token = secrets.token_urlsafe(32)
    expires_at = expiry(call, now)
    invitation = OutreachInvitation(id=str(uuid.uuid4()), prospect_id=p.id, call_id=call.id,
                                    token_hash=token_hash(token), event_id=str(event_id), sent_at=now,
                                    sent_by=who[:200], expires_at=expires_at)
    s.add(invitation)
    event = make_event("outreach.invited", event_data(call, p, registration_url(public_url, token), expires_at,
                                                       invitation.id, who),
                       producer=PRODUCER, correlation_id=p.id)
    record(s, outbox, dataclasses.replace(event, id=event_id))
    return invitation


def invited_counts(s, call_id: str) -> dict[str, int]:
    """Per prospect of ``call_id``: how many invitations it was sent (for the look's list)."""
    return dict(s.execute(select(OutreachInvitation.prospect_id, func.count())
                          .where(OutreachInvitation.call_id == call_id)
                          .group_by(OutreachInvitation.prospect_id)).all())
