"""What intake's views (api/ and pages/) share: the app's database, settings and clock, and the
guest list's CSV answer. Views only: operations take these as arguments."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, current_app

from shared.storage import open_storage

from .ops import guests
from .ops.privacy import NoticeTerms
from shared.web import current_db


_db = current_db  # the service's Database, wired by app.create_app


def _public_url() -> str:
    return current_app.extensions["prize"]["settings"].public_url


def _now() -> datetime:
    return datetime.now(timezone.utc)


def notice_terms() -> NoticeTerms:
    """What the default privacy notice names from the configuration (address, days)."""
    return NoticeTerms.of(current_app.extensions["prize"]["settings"])


def storage():
    """The app's document store, opened once."""
    ext = current_app.extensions["prize"]
    if "storage" not in ext:
        settings = ext["settings"]
        ext["storage"] = open_storage(settings.storage_url, settings.secret_key, settings.public_url)
    return ext["storage"]


def csv_download(year: int, rows: list[dict]) -> Response:
    """The guest list as a CSV download (UTF-8 with BOM, so spreadsheets read the accents)."""
    return Response("\ufeff" + guests.guests_csv(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="ceremony-guests-{year}.csv"', "Cache-Control": "no-store"})
