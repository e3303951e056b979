"""Inviting people to an edition's event (issue 17): choose a group, look at who would be invited
and who is skipped, then confirm.

Groups: the edition's prospects (optionally of one region), every applicant with a submitted
application (not withdrawn), the finalists (released as finalist, or as winner or special
mention: ops.ceremony.basis_of), or prospects picked by id. One invitation per address and event:
the same address twice in a group (an applicant who is also a prospect) counts once.

Skipped, and shown: opted out (Prospect.opted_out_at, for a prospect or for an applicant whose
prospect record or address opted out), already invited, no email address. notify honours its
own opt-out list too (the invitation is an outreach email).

The look carries a fingerprint of the candidates (who, their address and opt-out) and of the
event's version; the confirmation is refused (409) when it no longer matches. A double click
finds everyone invited already and sends nothing; two colleagues confirming at once invite each
address once (the unique key on event and address, claimed with INSERT ... ON CONFLICT in the
transaction that adds event.invited to the outbox)."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections import Counter
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared import reminders
from shared.events import make_event
from shared.events.common import LANGUAGES
from shared.outbox import record
from shared.refusals import Refused

from ..models import Applicant, Application, Call, EventInvitation, Prospect, StatusUpdate, outbox
from ..rules import as_utc
from . import edition_events
from .ceremony import basis_of

log = logging.getLogger("prize.intake.events")
GROUPS = {"prospects": "Prospects of the edition", "applicants": "Every applicant with a submitted application",
          "finalists": "Finalists (released)", "picked": "Prospects picked by hand"}
SKIPS = {"opted_out": "opted out of outreach email", "already": "already invited", "no_email": "no email address"}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rsvp_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/events/rsvp/{token}"


def _prospect(p: Prospect) -> dict:
    return {"invitee": "prospect", "prospect_id": p.id, "applicant_id": p.applicant_id, "name": p.contact_name or "",
            "email": (p.email or "").strip().lower(), "language": p.language, "organisation": p.organisation,
            "opted_out": p.opted_out_at is not None}


def _applicant(a: Applicant, opted: set[str]) -> dict:
    email = (a.contact_email or "").strip().lower()
    return {"invitee": "applicant", "prospect_id": None, "applicant_id": a.id, "name": a.contact_name or "",
            "email": email, "language": a.language, "organisation": a.organisation,
            "opted_out": a.id in opted or email in opted}


def _applicants(s: Session, call_id: str, finalists: bool) -> list[dict]:
    apps = s.scalars(select(Application).where(Application.call_id == call_id, Application.submitted_at.is_not(None),
                                               Application.withdrawn_at.is_(None))
                     .order_by(Application.reference)).all()
    if finalists:
        updates: dict[str, list] = {}
        for u in s.scalars(select(StatusUpdate).where(StatusUpdate.application_id.in_([a.id for a in apps]))):
            updates.setdefault(u.application_id, []).append(u)
        apps = [a for a in apps if basis_of(updates.get(a.id, [])) is not None]
    opted = set()
    for p in s.scalars(select(Prospect).where(Prospect.opted_out_at.is_not(None))):
        opted.update({p.email.lower()} | ({p.applicant_id} if p.applicant_id else set()))
    people, seen = [], set()
    for app in apps:
        applicant = s.get(Applicant, app.applicant_id)
        if applicant is None or applicant.erased_at is not None or applicant.id in seen:
            continue
        seen.add(applicant.id)
        people.append(_applicant(applicant, opted))
    return people


def candidates(s: Session, call_id: str, group: str, region: str = "", picked=()) -> list[dict]:
    """Everyone the group names, before the skips (Refused 422 for an unknown group)."""
    if group == "prospects":
        query = select(Prospect).where(Prospect.call_id == call_id)
        if region:
            query = query.where(Prospect.region == region)
        return [_prospect(p) for p in s.scalars(query.order_by(Prospect.organisation, Prospect.email))]
    if group == "picked":
        ids = [str(i) for i in picked if i][:10_000]
        return [_prospect(p) for p in s.scalars(select(Prospect).where(Prospect.id.in_(ids))
                                                .order_by(Prospect.organisation, Prospect.email))]
    if group in ("applicants", "finalists"):
        return _applicants(s, call_id, group == "finalists")
    raise Refused(422, f"choose who to invite: one of {', '.join(GROUPS)}", {"group": ["unknown group"]})


def look(s: Session, event, people: list[dict]) -> dict:
    """Who would be invited (one per address), who is skipped and why, the count per language,
    and the fingerprint a confirmation must carry."""
    invited = set(s.scalars(select(func.lower(EventInvitation.email))
                            .where(EventInvitation.edition_event_id == event.id)))
    invite, skipped, seen = [], {k: [] for k in SKIPS}, set()
    for p in people:
        if p["email"] and p["email"] in seen:
            continue  # the same address twice in the group: one invitation
        seen.add(p["email"])
        why = ("no_email" if not p["email"] else "opted_out" if p["opted_out"] else
               "already" if p["email"] in invited else None)
        (skipped[why] if why else invite).append(p)
    basis = [event.id, event.version] + sorted(
        [p["invitee"], p["prospect_id"] or "", p["applicant_id"] or "", p["email"], p["opted_out"]] for p in people)
    return {"invite": invite, "skipped": skipped, "languages": dict(sorted(Counter(
        p["language"] if p["language"] in LANGUAGES else "en" for p in invite).items())),
            "fingerprint": hashlib.sha256(json.dumps(basis).encode()).hexdigest()[:32]}


def preview(db, event_id: str, group: str, region: str = "", picked=()) -> tuple[Call, dict, dict]:
    """The look page's facts: the edition, the event, and the look."""
    with db.session() as s:
        ev = edition_events.event_of(s, event_id)
        return (s.get(Call, ev.call_id), edition_events.view(ev, 0),
                look(s, ev, candidates(s, ev.call_id, group, region, picked)))


def invite(db, event_id: str, group: str, fingerprint: str, who: str, now: datetime, public_url: str, *,
           region: str = "", picked=()) -> tuple[int, dict]:
    """Invite those the look showed (refused 409 when the look is stale or the event started):
    one invitation row and one event.invited per address, in one transaction."""
    with db.session() as s, s.begin():
        ev = edition_events.event_of(s, event_id, lock=True)  # two confirmations at once: one after the other
        if as_utc(ev.starts_at) <= now:
            raise Refused(409, "the event has started: nobody can be invited any more")
        seen = look(s, ev, candidates(s, ev.call_id, group, region, picked))
        if seen["fingerprint"] != fingerprint:
            raise Refused(409, "who would be invited changed since you looked: look again, then confirm")
        call, count = s.get(Call, ev.call_id), 0
        for p in seen["invite"]:
            count += _invite_one(s, call, ev, p, who, now, public_url)
    if count:
        log.info("invited %d to %s (%s)", count, ev.name, ev.id)
    return count, seen


def _invite_one(s: Session, call: Call, ev, p: dict, who: str, now: datetime, public_url: str) -> int:
    token = secrets.token_urlsafe(32)
    invitation_id = str(uuid.uuid4())
    language = p["language"] if p["language"] in LANGUAGES else "en"
    data = {**guest(call, ev, invitation_id, p | {"language": language}, rsvp_url(public_url, token)),
            "invited_at": now, "invited_by": who[:200]}
    event = make_event("event.invited", data, producer="intake", correlation_id=invitation_id)
    if not reminders.claim(s, EventInvitation.__table__, {
            "id": invitation_id, "edition_event_id": ev.id, "prospect_id": p["prospect_id"],
            "applicant_id": p["applicant_id"], "name": p["name"][:200], "email": p["email"], "language": language,
            "organisation": p["organisation"][:300], "token_hash": token_hash(token), "event_id": str(event.id),
            "invited_at": now, "invited_by": who[:200]}, ["edition_event_id", "email"]):
        return 0
    record(s, outbox, event)
    return 1


def guest(call: Call, ev, invitation_id: str, p: dict, url: str) -> dict:
    """The invitee and the event as event.invited and event.rsvp_received carry them."""
    return {"invitation_id": invitation_id, "edition_event_id": ev.id, "call_id": call.id, "year": call.year,
            "kind": ev.kind, "event_name": ev.name, "invitee": p["invitee"], "prospect_id": p["prospect_id"],
            "applicant_id": p["applicant_id"], "name": p["name"], "email": p["email"], "language": p["language"],
            "organisation": p["organisation"], "event": edition_events.details(ev),
            "max_delegates": ev.max_delegates, "url": url}
