"""The applicant's My data page, on the portal's blueprint (pages/applicant.py): download everything
we keep about them as one ZIP (GDPR Art. 15 and 20, PIPA Art. 35), and ask for its erasure once
the edition is over for them (GDPR Art. 17, PIPA Art. 36; the secretariat decides on
/secretariat/erasure). The rules and the files are ops/personal_data.py's and ops/erasure.py's."""
from __future__ import annotations

from flask import Response, flash, redirect, request, stream_with_context, url_for

from shared.i18n import _

from ..ops import erasure, personal_data
from ..web import _db, _now, storage
from .applicant import _render, _signed_in_applicant, portal


def _applicant():
    # the read session is closed before any write (on SQLite every transaction takes the lock)
    with _db().session() as s:
        return _signed_in_applicant(s)


def _page(applicant, status: int = 200, **extra):
    held = personal_data.held(_db(), applicant.id)
    state = erasure.my_erasure(_db(), applicant.id, _now())
    return _render("portal/my_data.html", applicant, held=held, erasure=state,
                   individual=applicant.type == "individual", **extra), status


@portal.get("/portal/my-data")
def my_data():
    return _page(_applicant())


@portal.get("/portal/my-data/export.zip")
def my_data_zip():
    """data.json and the documents, as one ZIP streamed from the store."""
    applicant = _applicant()
    data_json, files = personal_data.export(_db(), applicant.id)
    body = stream_with_context(personal_data.export_zip(storage(), data_json, files))
    name = personal_data.archive_filename(_now())
    return Response(body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@portal.post("/portal/my-data/erasure")
def ask_erasure():
    """Ask for erasure; the confirmation box must be ticked (the page says what goes and what stays)."""
    from ..accounts import form_csrf_ok

    applicant = _applicant()
    if not form_csrf_ok():
        flash(_("This form has expired. Please send it again."), "error")
        return _page(applicant, 403)
    if request.form.get("confirm") != "yes":
        return _page(applicant, 422, confirm_error=_("Tick the box to confirm that you understand this "
                                                     "cannot be undone."))
    try:
        _request, new = erasure.request_erasure(_db(), applicant.id, _now())
    except erasure.ErasureWaits:
        flash(_("Your data cannot be erased yet: see why below."), "error")
        return _page(applicant, 409)
    if new:
        flash(_("Your request is recorded. The secretariat will decide on it; until then you can still "
                "sign in and download your data."), "ok")
    return redirect(url_for("portal.my_data"), 303)
