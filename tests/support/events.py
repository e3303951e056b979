"""Helpers of the edition events' tests (issue 17): a prospect written as the prospects' pages
would (the base table of e22893c), an event created and a group invited through intake's own
operations (ops/edition_events.py, ops/event_invites.py), and the RSVP links intake asked notify
to mail (read from intake's outbox: only their hashes are stored)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from services.intake.models import Prospect, outbox
from services.intake.ops import edition_events, event_invites

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def add_prospect(db, call_id: str | None, email: str, **fields) -> str:
    now = datetime.now(timezone.utc)
    row = {"organisation": "Budapest Főváros", "applicant_type": "city_government", "city": "Budapest",
           "country": "HU", "region": "europe", "contact_name": "Kovács Anna", "language": "en",
           "met_at": "Smart City Summit and Expo 2023", "met_on": "2023-03-28", "notes": "", "owner": "seo@wego.example",
           "version": 1, "created_at": now, "created_by": "test", "updated_at": now, "updated_by": "test", **fields}
    with db.session() as s, s.begin():
        p = Prospect(id=str(uuid.uuid4()), call_id=call_id, email=email.lower(), **row)
        s.add(p)
        return p.id


def new_event(db, call_id: str, *, starts_at: datetime | None = None, **fields) -> dict:
    starts = starts_at or (NOW + timedelta(days=40))
    data = {"kind": "mayors_forum", "name": "WeGO Mayors Forum", "starts_at": starts, "time_zone": "Asia/Seoul",
            "venue": "Seoul City Hall", "address": "110 Sejong-daero", "details": "", "rsvp_by": starts - timedelta(days=10),
            "max_delegates": 2, **fields}
    return edition_events.create(db, call_id, data, "Seo Yuna <seo@wego.example>", datetime.now(timezone.utc))


def invite(db, event_id: str, group: str, public_url: str, **selection) -> int:
    """Look, then confirm with the look's fingerprint (as the page does)."""
    _, _, seen = event_invites.preview(db, event_id, group, **selection)
    count, _ = event_invites.invite(db, event_id, group, seen["fingerprint"], "Seo Yuna <seo@wego.example>",
                                    datetime.now(timezone.utc), public_url, **selection)
    return count


def invited_events(db, type_: str = "event.invited") -> list[dict]:
    with db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).scalars()
        return [json.loads(b)["data"] for b in bodies]


def rsvp_path(db, email: str) -> str:
    """The RSVP page's path of the (latest) invitation to ``email``."""
    urls = [e["url"] for e in invited_events(db) if e["email"] == email.lower()]
    return "/" + urls[-1].split("/", 3)[3]
