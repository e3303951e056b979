"""The secretariat's erasure requests (GDPR Art. 17, PIPA Art. 36): the list, and each request with
what approving it erases in each service, before the irreversible click. Approving (or refusing,
with a reason the applicant reads) records who did it; approving a request twice changes nothing.
Every staff role reads these pages; only the secretariat and administrators decide. The rules are
ops/erasure.py's."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from shared.refusals import Refused

from ..ops import erasure as ops
from ..web import _db, _now, storage
from .editions import may_change
from .secretariat import _page, _require

erasure_pages = Blueprint("intake_erasure", __name__, url_prefix="/secretariat/erasure",
                          template_folder="../templates")
REASON_LIMIT = 2000


def _not_found(request_id: str):
    abort(_page("secretariat/staff_message.html", 404, title="No such request",
                message=f"There is no erasure request {request_id}.", link=url_for("intake_erasure.index"),
                link_text="All erasure requests"))


def _show(request_id: str, status: int = 200, **extra):
    principal = _require("read") if request.method == "GET" else _require("write")
    try:
        row, look, marker = ops.look(_db(), request_id, _now())
    except Refused:
        _not_found(request_id)
    return _page("secretariat/erasure/request.html", status, row=row, look=look, marker=marker,
                 may_change=may_change(principal), **{"reason": "", "errors": {}, **extra})


@erasure_pages.get("")
def index():
    _require("read")
    return _page("secretariat/erasure/list.html", rows=ops.requests(_db()))


@erasure_pages.get("/<request_id>")
def show(request_id):
    return _show(request_id)


@erasure_pages.post("/<request_id>/approve")
def approve(request_id):
    principal = _require("write")
    try:
        row, already = ops.approve(_db(), storage(), request_id, principal.who, request.form.get("marker", ""), _now())
    except ops.Stale:
        return _show(request_id, 409, error="This request changed since the page was shown (the applicant's "
                                            "data or applications). Nothing was erased: read it again below.")
    except ops.ErasureWaits:
        return _show(request_id, 409, error="An application of this applicant is still in the running or "
                                            "invited to a ceremony to come. Nothing was erased.")
    except Refused as exc:
        if exc.status == 404:
            _not_found(request_id)
        return _show(request_id, exc.status, error=exc.message[:1].upper() + exc.message[1:] + ".")
    if already:
        flash(f"This request was approved already by {row.decided_by}: nothing more was erased.", "ok")
    else:
        flash("Approved: intake has erased the applicant's personal data; review and notify erase theirs as "
              "the event reaches them.", "ok")
    return redirect(url_for("intake_erasure.show", request_id=request_id), 303)


@erasure_pages.post("/<request_id>/refuse")
def refuse(request_id):
    principal = _require("write")
    reason = request.form.get("reason", "").strip()
    problem = ("Give the reason: the applicant reads it." if not reason else
               "The reason may not contain NUL characters." if "\x00" in reason else
               f"The reason may have at most {REASON_LIMIT} characters (this has {len(reason)})."
               if len(reason) > REASON_LIMIT else "")
    if problem:
        return _show(request_id, 422, reason=reason, errors={"reason": [problem]},
                     error="Please correct the reason. Nothing was changed.")
    try:
        ops.refuse(_db(), request_id, principal.who, reason, _now())
    except Refused as exc:
        if exc.status == 404:
            _not_found(request_id)
        return _show(request_id, exc.status, reason=reason, error=exc.message[:1].upper() + exc.message[1:] + ".")
    flash("Refused: the applicant reads your reason on their My data page and may ask again.", "ok")
    return redirect(url_for("intake_erasure.show", request_id=request_id), 303)


blueprints = [erasure_pages]
