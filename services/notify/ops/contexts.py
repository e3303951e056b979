"""What an email says of its recipient's application and of the ceremony: the template context
built from notify's recipient row. The handlers build it for the emails they queue, the preview
(ops/previews.py) for the email the secretariat is about to cause, so both show the same."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import languages


def application_context(recipient, language: str, extra: dict) -> dict:
    """An applicant's email: their own details from the recipient row, with the event's ``extra``."""
    return {
        "contact_name": recipient.contact_name, "organisation": recipient.organisation,
        "reference": recipient.reference, "title": recipient.title, "year": recipient.year,
        "category_title": languages.CATEGORY_TITLES[language].get(recipient.category, recipient.category),
        **extra,
    }


def local_time(moment, zone: str | None, language: str) -> str:
    """``moment`` in ``zone`` and in UTC, as a sentence shows it ("" when unknown)."""
    if moment is None:
        return ""
    utc = moment.astimezone(timezone.utc)
    try:
        local = utc.astimezone(ZoneInfo(zone)) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        local = None
    if local is None:
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"{day(local, language)} {local:%H:%M} ({zone}; {utc:%Y-%m-%d %H:%M} UTC)"


def day(moment: datetime, language: str) -> str:
    """A date in a sentence: "10 October 2026", "2026년 10월 10일", "10 de outubro de 2026"."""
    return languages.day(moment, language)


def ceremony_record(ceremony: dict, url: str) -> dict:
    """The ceremony of a ceremony.* event as the recipient row keeps it (JSON: ISO times)."""
    record = {k: ceremony.get(k) or "" for k in ("time_zone", "venue", "address", "details")}
    for key in ("starts_at", "rsvp_by"):
        record[key] = ceremony[key].astimezone(timezone.utc).isoformat()
    return {**record, "url": url}


def ceremony_context(record: dict, language: str) -> dict:
    """What the templates show of the ceremony: its local time in the venue's time zone (and in
    UTC, for guests travelling from elsewhere), the venue, the answer link and date."""
    def moment(iso: str) -> tuple[datetime, datetime]:
        utc = datetime.fromisoformat(iso).astimezone(timezone.utc)
        try:
            return utc, utc.astimezone(ZoneInfo(record["time_zone"]))
        except (ZoneInfoNotFoundError, ValueError):
            return utc, utc

    starts_utc, starts = moment(record["starts_at"])
    rsvp_utc, rsvp = moment(record["rsvp_by"])
    return {"date": day(starts, language), "time": starts.strftime("%H:%M"), "time_zone": record["time_zone"],
            "utc": starts_utc.strftime("%Y-%m-%d %H:%M UTC"), "venue": record["venue"],
            "address": record.get("address") or "", "details": record.get("details") or "",
            "rsvp_by": day(rsvp, language), "rsvp_by_utc": rsvp_utc.strftime("%Y-%m-%d %H:%M UTC"), "url": record["url"]}
