"""Group emails: the secretariat writes to a group of one edition (drafts not submitted, the
finalists, jurors with reviews outstanding ...), sees who is in it and what each language's
members will read, and sends it once.

Who is in a group is known where the data lives: notify asks with message.requested and keeps
the members as message.addressed brings them (intake's and review's handlers answer). Sending
writes one delivery per address with a key of the message and the address, in one transaction:
the worker's sweep sends them with the same guarantees as every other email (once, retried,
suppressed addresses skipped), and the outbox page shows each one.

The wording is plain text with named blanks (``{{ name }}``): a template engine would give the
group's writer far more power than four blanks need, and every bit of it would need a sandbox.
"""
from __future__ import annotations

import hashlib
import html
import re
import uuid
from collections import Counter
from datetime import datetime, timezone

from sqlalchemy import func, select

from shared.events import make_event
from shared.events.common import LANGUAGES
from shared.events.notify import MESSAGE_AUDIENCES
from shared.outbox import record
from shared.refusals import Refused

from . import optout
from ..models import Delivery, GroupMessage, GroupMessageRecipient, Recipient, Suppression, outbox

PRODUCER = "notify"
TEMPLATE = "group_message"  # the deliveries' template name, for the outbox page's filter
AUDIENCE_TITLES = {
    "drafts": "Applicants with a draft not yet submitted",
    "submitted": "Every submitted application",
    "guests_unanswered": "Ceremony guests who have not answered",
    "eligible": "Applications screened eligible",
    "finalists": "The finalists (once their round is released)",
    "winners": "The winners and special mentions (once released)",
    "jurors_pending": "Jurors with reviews outstanding",
}
VARIABLES = {
    "name": "the person's name (an application's contact; empty when review gives none)",
    "organisation": "their organisation",
    "reference": "the application's reference, e.g. SSCP-2026-KHH001 (empty for jurors)",
    "year": "the edition, e.g. 2026",
}
DEFAULT_LANGUAGE = "en"
MAX_SUBJECT, MAX_BODY = 200, 20_000
_BLANK = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STRAY = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}")
assert set(AUDIENCE_TITLES) == set(MESSAGE_AUDIENCES)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- the wording ----------------------------------------------------------------------------------

def _blank_problems(text: str) -> list[str]:
    unknown = sorted({m.group(1) for m in _BLANK.finditer(text)} - set(VARIABLES))
    problems = [f"there is no blank called {{{{ {name} }}}}: use "
                + ", ".join(f"{{{{ {v} }}}}" for v in VARIABLES) for name in unknown]
    if _STRAY.search(_BLANK.sub("", text)):
        problems.append("only blanks like {{ name }} may stand between braces: no {% %} or {# #}")
    return problems


def check_texts(year, audience: str, texts: dict) -> dict:
    """The wording as stored (language -> subject, body; languages left empty dropped), or a
    422 with each problem under its field ("subject_en", "body_ko", "year", "audience")."""
    errors: dict[str, list[str]] = {}
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        errors["year"] = ["the edition is a year between 2000 and 2100"]
    if audience not in MESSAGE_AUDIENCES:
        errors["audience"] = ["choose one of the groups listed"]
    kept = {}
    for language in LANGUAGES:
        given = texts.get(language) or {}
        subject, body = (given.get("subject") or "").strip(), (given.get("body") or "").replace("\r\n", "\n").strip()
        if not subject and not body and language != DEFAULT_LANGUAGE:
            continue
        for field, value, most in (("subject", subject, MAX_SUBJECT), ("body", body, MAX_BODY)):
            key = f"{field}_{language}"
            if not value:
                errors[key] = ["required" if language == DEFAULT_LANGUAGE
                               else "write both the subject and the text in this language, or neither"]
            elif len(value) > most:
                errors[key] = [f"at most {most} characters ({len(value)} given)"]
            elif field == "subject" and "\n" in value:
                errors[key] = ["one line"]
            elif problems := _blank_problems(value):
                errors[key] = problems
        kept[language] = {"subject": subject, "body": body}
    if errors:
        raise Refused(422, "the group email has problems: " + "; ".join(
            f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    return kept


def _fill(text: str, values: dict) -> str:
    return _BLANK.sub(lambda m: str(values.get(m.group(1), "")), text)


def render(message: GroupMessage, member: dict) -> tuple[str, str, str, str]:
    """(language, subject, text, html) of ``message`` for ``member``: in their language when the
    message has wording in it, else in English."""
    language = member.get("language") if member.get("language") in message.texts else DEFAULT_LANGUAGE
    words = message.texts[language]
    values = {"name": member.get("name") or "", "organisation": member.get("organisation") or "",
              "reference": member.get("reference") or "", "year": message.year}
    subject, body = _fill(words["subject"], values), _fill(words["body"], values)
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    html_body = "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)
    page = (f'<!doctype html><html lang="{language}"><head><meta charset="utf-8"><title>{html.escape(subject)}'
            f'</title></head><body style="font-family:sans-serif;line-height:1.5">{html_body}</body></html>')
    return language, subject, body + "\n", page


# --- the message's life ---------------------------------------------------------------------------

def create(db, year, audience: str, texts: dict, by: str) -> GroupMessage:
    kept = check_texts(year, audience, texts)
    now = _now()
    message = GroupMessage(id=str(uuid.uuid4()), year=year, audience=audience, texts=kept, status="draft",
                           revision=1, created_by=by, created_at=now, updated_at=now, parts_received=[])
    with db.session() as s, s.begin():
        s.add(message)
    return message


def _locked(s, message_id) -> GroupMessage:
    message = s.get(GroupMessage, str(message_id), with_for_update=True)
    if message is None:
        raise Refused(404, f"no group email {message_id}")
    return message


def change(db, message_id, revision: int, texts: dict, by: str) -> GroupMessage:
    """New wording for a message not yet sent; refused (409) when someone changed it since
    ``revision`` was shown."""
    with db.session() as s, s.begin():
        message = _locked(s, message_id)
        if message.status == "sent":
            raise Refused(409, "this email has been sent: write a new one")
        if message.revision != revision:
            raise Refused(409, "someone changed this email since you opened it: your text is below, "
                               "compare it with theirs and save again")
        message.texts = check_texts(message.year, message.audience, texts)
        message.revision += 1
        message.updated_at = _now()
        return message


def find_members(db, message_id, by: str) -> GroupMessage:
    """Ask the service that knows the group who is in it (again, if asked before)."""
    with db.session() as s, s.begin():
        message = _locked(s, message_id)
        if message.status == "addressing":
            return message  # asked already: the answer is on its way
        if message.status == "sent":
            raise Refused(409, "this email has been sent")
        s.query(GroupMessageRecipient).filter_by(message_id=message.id).delete()
        message.status, message.refused, message.parts, message.parts_received = "addressing", None, None, []
        message.requested_by, message.requested_at = by, _now()
        message.revision += 1
        record(s, outbox, make_event("message.requested", {
            "message_id": message.id, "year": message.year, "audience": message.audience, "requested_by": by,
        }, producer=PRODUCER, correlation_id=message.id))
        return message


def members_arrived(session, data: dict) -> None:
    """message.addressed: keep this part's members (one address once); the message is ready to
    send when every part has come. An application's member is written to at the address notify
    holds now (it follows applicant.updated), in the language it holds."""
    message = session.get(GroupMessage, str(data["message_id"]), with_for_update=True)
    if message is None or message.status != "addressing":
        return  # asked again since, or sent: this answer is not awaited any more
    if data.get("refused"):
        message.status, message.refused = "refused", data["refused"]
        message.revision += 1
        return
    if data["part"] in message.parts_received:
        return
    for member in data["recipients"]:
        email, name, language = member["email"].lower(), member.get("name") or "", member["language"]
        if member.get("application_id"):
            known = session.get(Recipient, str(member["application_id"]))
            if known is not None and known.contact_email:
                email, language = known.contact_email.lower(), known.language or language
                name = name or known.contact_name or ""
        if session.get(GroupMessageRecipient, (message.id, email)) is None:
            session.add(GroupMessageRecipient(
                message_id=message.id, email=email, name=name, organisation=member.get("organisation") or "",
                reference=member.get("reference") or "", language=language,
                application_id=str(member["application_id"]) if member.get("application_id") else None))
            session.flush()
    message.parts = data["parts"]
    message.parts_received = sorted({*message.parts_received, data["part"]})
    if len(message.parts_received) >= message.parts:
        message.status = "addressed"
        message.revision += 1


def _member(row: GroupMessageRecipient) -> dict:
    return {"email": row.email, "name": row.name, "organisation": row.organisation,
            "reference": row.reference, "language": row.language}


def fingerprint(message: GroupMessage, members: list[GroupMessageRecipient]) -> str:
    """What a confirmation showed: the revision, and every address with its language."""
    digest = hashlib.sha256(f"{message.id}:{message.revision}".encode())
    for row in sorted(members, key=lambda r: r.email):
        digest.update(f"\n{row.email}:{row.language}".encode())
    return digest.hexdigest()[:32]


def overview(db, message_id, listed: int = 50) -> dict:
    """The message with what sending it would cause: members per language and which wording each
    reads, a sample of each wording as it will be sent, suppressed addresses, the first members,
    and (once sent) its deliveries by status."""
    with db.session() as s:
        message = s.get(GroupMessage, str(message_id))
        if message is None:
            raise Refused(404, f"no group email {message_id}")
        members = s.scalars(select(GroupMessageRecipient).where(GroupMessageRecipient.message_id == message.id)
                            .order_by(GroupMessageRecipient.email)).all()
        suppressed = set(s.scalars(select(Suppression.email).where(
            Suppression.email.in_([m.email for m in members])))) if members else set()
        opted = optout.opted_out_among(s, [m.email for m in members])  # not written to either
        by_language = Counter(m.language for m in members)
        samples = {}
        for language in sorted(message.texts):
            example = next((m for m in members if (m.language if m.language in message.texts
                                                   else DEFAULT_LANGUAGE) == language), None)
            shown = _member(example) if example else {"name": "Lin Mei-hua", "organisation": "Kaohsiung City Government",
                                                      "reference": f"SSCP-{message.year}-KHH001", "language": language}
            _, subject, text, page = render(message, shown)
            readers = sum(n for lang, n in by_language.items()
                          if (lang if lang in message.texts else DEFAULT_LANGUAGE) == language)
            samples[language] = {"subject": subject, "text": text, "html": page, "readers": readers,
                                 "example": example.email if example else None}
        deliveries = dict(s.execute(select(Delivery.status, func.count()).where(
            Delivery.event_id == message.id).group_by(Delivery.status)).all())
        return {"message": message, "members": len(members), "listed": [_member(m) for m in members[:listed]],
                "by_language": dict(sorted(by_language.items())), "samples": samples,
                # members whose language the message has no wording in: they read the English one
                "unwritten": {lang: n for lang, n in sorted(by_language.items()) if lang not in message.texts},
                "suppressed": sorted(suppressed | opted), "opted_out": sorted(opted),
                "fingerprint": fingerprint(message, members),
                "deliveries": deliveries}


def send(db, message_id, fingerprint_shown: str, by: str) -> tuple[GroupMessage, int]:
    """One delivery per member, in one transaction, each claimed by its key; the worker's sweep
    sends them. Refused when the confirmation's ``fingerprint_shown`` is not what sending would
    do now (stale). A second click finds the message sent and adds nothing: (message, 0)."""
    with db.session() as s, s.begin():
        message = _locked(s, message_id)
        if message.status == "sent":
            return message, 0
        if message.status != "addressed":
            raise Refused(409, "the group's members are not known yet: find them first")
        members = s.scalars(select(GroupMessageRecipient).where(GroupMessageRecipient.message_id == message.id)).all()
        if fingerprint(message, members) != fingerprint_shown:
            raise Refused(409, "the email or its recipients changed since this confirmation was shown: "
                               "look at it again before sending")
        now, queued = _now(), 0
        opted = {email: optout.opted_out(s, email) for email in optout.opted_out_among(s, [m.email for m in members])}
        for row in members:
            key = f"message:{message.id}:{hashlib.sha256(row.email.encode()).hexdigest()[:40]}"  # within 200
            if s.scalar(select(Delivery.id).where(Delivery.key == key)):
                continue
            language, subject, text, page = render(message, _member(row))
            refused = opted.get(row.email)  # opted out of outreach email: recorded, not sent (ops/optout.py)
            s.add(Delivery(id=str(uuid.uuid4()), key=key, event_id=message.id, event_type="message.requested",
                           correlation_id=message.id, template=TEMPLATE, language=language, recipient=row.email,
                           subject=subject[:500], body_text=text, body_html=page,
                           status="failed" if refused else "pending", attempts=0,
                           last_error=optout.reason(refused) if refused else None,
                           created_at=now, next_attempt_at=now, requested_by=by))
            queued += 1
        message.status, message.sent_by, message.sent_at = "sent", by, now
        return message, queued


def listing(db) -> list[dict]:
    with db.session() as s:
        counts = dict(s.execute(select(GroupMessageRecipient.message_id, func.count())
                                .group_by(GroupMessageRecipient.message_id)).all())
        return [{"message": m, "members": counts.get(m.id, 0)}
                for m in s.scalars(select(GroupMessage).order_by(GroupMessage.created_at.desc())).all()]
