"""Each edition's privacy notice: the default notice (privacy_text.py) until the secretariat writes
its own, a version that goes up with every change (each kept in ``privacy_notice_versions`` with
who and when), and which notice applies where.

The notice a person registers under is the latest published edition's (the newest that is not a
draft), or the default notice, version 1, before any edition is published. The travel data of a
ceremony answer are given under the notice of the application's edition.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from shared.refusals import Refused

from . import privacy_text
from ..models import Call, PrivacyNoticeVersion

MAX_LENGTH = 20_000


@dataclass(frozen=True)
class NoticeTerms:
    """What the default notice names from the configuration: the secretariat's address
    (PRIZE_SECRETARIAT_EMAIL) and the days after the ceremony at which visa and passport details
    are deleted (PRIZE_TRAVEL_DATA_DAYS)."""
    email: str = "prize@wego-cities.org"
    travel_data_days: int = 30

    @classmethod
    def of(cls, settings) -> "NoticeTerms":
        return cls(settings.secretariat_email, settings.travel_data_days)


@dataclass(frozen=True)
class Notice:
    """A privacy notice as it stands: whose (``call_id`` None: the default before any edition),
    which version, and the secretariat's own text ("" while the default notice applies)."""
    call_id: str | None
    year: int | None
    version: int
    text: str = ""
    changed_by: str | None = None
    changed_at: datetime | None = None

    @property
    def is_default(self) -> bool:
        return not self.text.strip()

    def english(self, terms: NoticeTerms) -> str:
        """The notice's text in English as the API gives it (the secretariat's, or the default)."""
        return privacy_text.english(terms.email, terms.travel_data_days) if self.is_default else self.text

    def digest(self, terms: NoticeTerms) -> str:
        """SHA-256 of the English text: kept with each consent, so what was read can be proven."""
        return hashlib.sha256(self.english(terms).encode("utf-8")).hexdigest()


def notice_of(call: Call | None) -> Notice:
    if call is None:
        return Notice(call_id=None, year=None, version=1)
    return Notice(call_id=call.id, year=call.year, version=call.privacy_version or 1, text=call.privacy_notice or "",
                  changed_by=call.privacy_changed_by, changed_at=call.privacy_changed_at)


def paragraphs(text: str) -> list[str]:
    """The paragraphs of a notice written as plain text: separated by blank lines."""
    return [p.strip() for p in re.split(r"\n[ \t]*\n", text or "") if p.strip()]


def normalised(text: str) -> str:
    """The text as stored: Unix line ends, no trailing spaces on a line, no blank lines at the ends."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip("\n")


def current_call(s) -> Call | None:
    """The edition whose notice applies to registration: the newest one that is not a draft."""
    return s.scalars(select(Call).where(Call.status != "draft").order_by(Call.year.desc()).limit(1)).first()


def current_notice(db) -> Notice:
    with db.session() as s:
        return notice_of(current_call(s))


def published_notice(db, year: int) -> Notice:
    """The notice of the edition of ``year``, if that edition is published (a draft's is not)."""
    with db.session() as s:
        call = s.scalar(select(Call).where(Call.year == year, Call.status != "draft"))
        if call is None:
            raise Refused(404, f"no published edition {year}")
        return notice_of(call)


def read_notice(db, call_id) -> Notice:
    with db.session() as s:
        call = s.get(Call, str(call_id))
        if call is None:
            raise Refused(404, f"no call {call_id}")
        return notice_of(call)


def check_text(text: str) -> str | None:
    """What is wrong with a notice's text, or None."""
    if "\x00" in text:
        return "may not contain NUL characters"
    if len(text) > MAX_LENGTH:
        return f"may have at most {MAX_LENGTH} characters (this has {len(text)})"
    return None


class StaleNotice(Refused):
    """The notice changed since the form that sent this was built."""

    def __init__(self, notice: Notice):
        super().__init__(409, f"someone else changed this privacy notice since you opened it: it is now version "
                              f"{notice.version}", version=notice.version)


def change_notice(db, call_id, text: str, who: str, now: datetime, *, expected_version: int | None = None,
                  terms: NoticeTerms | None = None) -> tuple[Notice, bool]:
    """Write the edition's notice ("", or the default notice's text itself, goes back to the
    default). A change makes a new version, kept with who and when; the same text again changes
    nothing (False). ``expected_version``: the version the form or client read; another version
    is refused as stale (409)."""
    text = normalised(text)
    terms = terms or NoticeTerms()
    if text == normalised(privacy_text.english(terms.email, terms.travel_data_days)):
        text = ""
    problem = check_text(text)
    if problem:
        raise Refused(422, f"text {problem}", {"json": {"text": [problem]}})
    with db.session() as s, s.begin():
        call = s.get(Call, str(call_id), with_for_update=True)
        if call is None:
            raise Refused(404, f"no call {call_id}")
        if expected_version is not None and expected_version != (call.privacy_version or 1):
            raise StaleNotice(notice_of(call))
        if text == (call.privacy_notice or ""):
            return notice_of(call), False
        call.privacy_notice, call.privacy_version = text, (call.privacy_version or 1) + 1
        call.privacy_changed_by, call.privacy_changed_at = who, now
        s.add(PrivacyNoticeVersion(call_id=call.id, version=call.privacy_version, text=text, changed_by=who,
                                   changed_at=now))
        return notice_of(call), True


def notice_versions(db, call_id) -> list[PrivacyNoticeVersion]:
    """Every version after the first (the default notice), newest first."""
    with db.session() as s:
        return s.scalars(select(PrivacyNoticeVersion).where(PrivacyNoticeVersion.call_id == str(call_id))
                         .order_by(PrivacyNoticeVersion.version.desc())).all()
