"""Prospects from a CSV, on the Prospects pages: upload → a preview of every line (counts, the
first problem lines with their line numbers, all of them as a download, the encoding read) →
confirm, which stores exactly the preview's new lines (ops/prospect_import.py; a file or
prospects changed since is a 409 with the new preview, a second confirm creates nobody).

Nothing is kept on the server between the steps: the preview page carries the file (compressed,
base64) and its fingerprint in the confirm form, so a preview left open changes nothing."""
from __future__ import annotations

import base64
import binascii
import zlib

from flask import Response, flash, redirect, request, url_for

from shared.refusals import Refused

from ..ops import prospect_import, prospects
from ..web import _db, _now
from .editions import may_change
from .prospects import prospect_pages
from .secretariat import _page, _require

FORM_LIMIT = 2 * prospect_import.MAX_BYTES  # the carried file: compressed, base64, and the form around it


def _allow_big_forms() -> None:
    """An upload (or the preview's form carrying it) may be larger than an API body."""
    request.max_content_length = FORM_LIMIT
    request.max_form_memory_size = FORM_LIMIT


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _show(principal, status: int = 200, error: str = "", result=None, carried: str = "", call_id: str = ""):
    return _page("secretariat/prospects/import.html", status, error=error, result=result, carried=carried,
                 call_id=call_id, choices=prospects.choices(_db()), may_change=may_change(principal),
                 shown=prospect_import.SHOWN, columns=prospect_import.COLUMNS,
                 max_mb=prospect_import.MAX_BYTES // (1024 * 1024), max_rows=prospect_import.MAX_ROWS)


def _carry(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _carried() -> bytes | None:
    """The file the preview carried, or None if the form was tampered with or lost."""
    try:
        packed = base64.b64decode(request.form.get("content", ""), validate=True)
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, prospect_import.MAX_BYTES + 1)
    except (binascii.Error, ValueError, zlib.error):
        return None
    return raw if raw and len(raw) <= prospect_import.MAX_BYTES and not inflater.unconsumed_tail else None


@prospect_pages.get("/import")
def import_form():
    principal = _require("read")
    return _show(principal, call_id=request.args.get("call_id", ""))


def _preview(principal, raw: bytes, call_id: str, status: int = 200, error: str = ""):
    with _db().session() as s:
        try:
            result = prospect_import.preview(s, raw, call_id or None, principal.who)
        except Refused as exc:
            return _show(principal, exc.status, _sentence(exc.message), call_id=call_id)
    return _show(principal, status, error, result, _carry(raw), call_id)


@prospect_pages.post("/import")
def import_preview():
    """The preview of the uploaded file: nothing is stored."""
    _allow_big_forms()
    principal = _require("write")
    call_id = request.form.get("call_id", "")
    upload = request.files.get("file")
    raw = upload.read(prospect_import.MAX_BYTES + 1) if upload is not None and upload.filename else b""
    if not raw:
        return _show(principal, 422, "Choose a CSV file to preview.", call_id=call_id)
    if len(raw) > prospect_import.MAX_BYTES:
        return _show(principal, 413, f"The file is too big: at most {prospect_import.MAX_BYTES // (1024 * 1024)} MB.",
                     call_id=call_id)
    return _preview(principal, raw, call_id)


@prospect_pages.post("/import/confirm")
def import_confirm():
    """Store the preview's new lines; a changed file or prospects: 409 with the preview anew."""
    _allow_big_forms()
    principal = _require("write")
    raw, call_id = _carried(), request.form.get("call_id", "")
    if raw is None:
        return _show(principal, 422, "The preview's file was not sent back whole: upload it again.", call_id=call_id)
    refused = None
    with _db().session() as s:
        try:
            done = prospect_import.confirm(s, raw, request.form.get("fingerprint", ""), call_id or None,
                                           principal.who, _now())
            s.commit()
        except Refused as exc:
            s.rollback()
            refused = exc
    if refused is not None:  # the preview as it is now, with the reason
        return _preview(principal, raw, call_id, refused.status, _sentence(refused.message))
    flash(f"Imported {done['created']} prospect(s) from the CSV ({done['encoding'].upper()}); "
          f"{done['skipped']} line(s) skipped.", "ok")
    return redirect(url_for("intake_prospects.index"), 303)


@prospect_pages.post("/import/problems.csv")
def import_problems():
    """Every line of the previewed file that will not be stored, with its reasons, as CSV."""
    _allow_big_forms()
    principal = _require("write")
    raw = _carried()
    if raw is None:
        return _show(principal, 422, "The preview's file was not sent back whole: upload it again.")
    with _db().session() as s:
        try:
            result = prospect_import.preview(s, raw, request.form.get("call_id") or None, principal.who)
        except Refused as exc:
            return _show(principal, exc.status, _sentence(exc.message))
    return Response(prospect_import.problems_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="prospects-import-problems.csv"', "Cache-Control": "no-store"})
