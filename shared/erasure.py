"""Erasing a person at their request (GDPR Art. 17, PIPA Art. 36), as every service does it.

intake decides and publishes ``applicant.erased`` (ids only: the event itself must not carry
what it erases); each service then finds the person's names and addresses in its own rows and
takes them out. What is erased becomes ``ERASED`` (text) or ``ERASED_EMAIL`` (an address field:
RFC 2606's ``.invalid`` reaches nobody and still passes an address check, so a row or an event
that must hold an address stays valid).

``Redactor`` replaces a person's addresses (anywhere, case aside) and names (as whole words)
inside text and JSON values, so a row shared with others (a group email's list, an event in the
outbox) loses this person and keeps the rest. ``scrub_outbox`` does that to a service's outbox:
its rows keep the events as they were sent, personal data included, long after.
"""
from __future__ import annotations

import copy
import json
import re
from typing import Callable, Iterable

from sqlalchemy import Table, func, or_, select, update

ERASED = "[erased]"
ERASED_EMAIL = "erased@erased.invalid"
MIN_NAME = 2  # a one-letter "name" would take letters out of every word around it


class Redactor:
    """Takes a person's ``emails`` and ``names`` out of text and JSON values."""

    def __init__(self, emails: Iterable[str | None] = (), names: Iterable[str | None] = ()):
        self.emails = sorted({e.strip().lower() for e in emails if e and e.strip() and e != ERASED_EMAIL},
                             key=len, reverse=True)
        self.names = sorted({n.strip() for n in names if n and len(n.strip()) >= MIN_NAME and n.strip() != ERASED},
                            key=len, reverse=True)
        self._emails = re.compile("|".join(map(re.escape, self.emails)), re.IGNORECASE) if self.emails else None
        self._names = (re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, self.names)) + r")(?!\w)", re.IGNORECASE)
                       if self.names else None)

    def __bool__(self) -> bool:
        return bool(self.emails or self.names)

    def text(self, value: str) -> str:
        if self._emails is not None:
            value = self._emails.sub(ERASED_EMAIL, value)
        if self._names is not None:
            value = self._names.sub(ERASED, value)
        return value

    def value(self, value):
        """``value`` with the person taken out: strings, and the strings inside lists and dicts."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def search_terms(self) -> list[str]:
        """What a lower-cased stored JSON text holds for each address: as written, and as
        ``json.dumps`` escapes it (an address with non-ASCII letters)."""
        terms = set(self.emails)
        terms.update(json.dumps(e)[1:-1].lower() for e in self.emails)
        return sorted(terms)


def scrub_outbox(session, outbox: Table, correlation_ids: Iterable[str], redactor: Redactor,
                 reshape: Callable[[str, dict], dict] | None = None) -> int:
    """Take the person out of the outbox rows about them (correlated with one of their ids) or
    naming one of their addresses; returns how many rows changed. Envelopes stay (ids, types,
    times): only ``data`` and the relay's last error are cleaned. A row not yet published is
    cleaned too: it then carries the placeholders, which its contract still accepts.
    ``reshape(type, data)``: what else the service erases of such an event (applied first)."""
    ids = [str(i) for i in correlation_ids if i]
    terms = redactor.search_terms()
    found = [outbox.c.correlation_id.in_(ids)] if ids else []
    found += [func.lower(outbox.c.body).contains(term, autoescape=True) for term in terms]
    if not found or not redactor:
        return 0
    changed = 0
    for seq, body, error in session.execute(select(outbox.c.seq, outbox.c.body, outbox.c.last_error)
                                            .where(or_(*found))).all():
        message = json.loads(body)
        data = message.get("data")
        if reshape is not None and isinstance(data, dict):
            data = reshape(message.get("type", ""), copy.deepcopy(data))
        cleaned = dict(message, data=redactor.value(data))
        new_error = redactor.text(error) if error else error
        if cleaned != message or new_error != error:
            session.execute(update(outbox).where(outbox.c.seq == seq)
                            .values(body=json.dumps(cleaned), last_error=new_error))
            changed += 1
    return changed
