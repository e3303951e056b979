"""The secretariat's page of an edition's public results: whether the award round is released (and
so whether the public page shows), the winners and special mentions as the public will see them,
the approval of each one's public photo (one of its checked images, or none; who approved it is
kept), and the press kit as CSV and as a one-page PDF, which only a released edition has (409
before, with a page saying why).

Staff read these pages (every role), as operators with a secretariat token do; changing a photo
takes a role that may write. An applicant's or juror's sign-in is no staff sign-in."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, request, url_for

from shared.refusals import Refused
from shared.storage import safe_filename

from ..models import Call
from ..ops import press_kit, public_photos
from ..ops import results as ops
from ..web import _db, _now, _public_url
from .editions import may_change
from .secretariat import _page, _require

results_staff = Blueprint("intake_results_staff", __name__, url_prefix="/secretariat/editions",
                          template_folder="../templates")


def _edition(s, call_id: str) -> Call:
    call = s.get(Call, call_id)
    if call is None:
        abort(_page("secretariat/staff_message.html", 404, title="No such edition",
                    message=f"There is no edition {call_id}."))
    return call


@results_staff.get("/<call_id>/results")
def page(call_id):
    principal = _require("read")
    with _db().session() as s:
        call = _edition(s, call_id)
        found = ops.edition_results(s, call, embargoed_too=True)
        categories = found.by_category(call.categories)
        ids = [a.application_id for a in found.awards]
        choices = {i: [{"id": d.id, "filename": d.filename, "content_type": d.content_type}
                       for d in public_photos.candidates(s, i)] for i in ids}
        approvals = public_photos.approvals(s, ids)
        return _page("secretariat/results.html", call=call, results=found, categories=categories, choices=choices,
                     approvals=approvals, may_change=may_change(principal),
                     public_url=f"{_public_url().rstrip('/')}/results/{call.year}")


@results_staff.post("/<call_id>/results/photos/<application_id>")
def approve_photo(call_id, application_id):
    principal = _require("write")
    document_id = request.form.get("document_id", "").strip()
    try:
        done = public_photos.approve(_db(), call_id, application_id, document_id, principal.who, _now())
    except Refused as exc:
        abort(_page("secretariat/staff_message.html", exc.status, title="Not changed",
                    message=exc.message[:1].upper() + exc.message[1:] + ". Nothing was changed.",
                    link=url_for("intake_results_staff.page", call_id=call_id), link_text="Back to the results"))
    flash("The public photo was approved: the results page shows it." if done else
          "The public photo was removed: the results page shows none.", "ok")
    return redirect(url_for("intake_results_staff.page", call_id=call_id) + f"#award-{application_id}", 303)


def _released(call_id: str):
    """The edition and its results for the press kit; a 409 page while it is under embargo."""
    _require("read")
    with _db().session() as s:
        call = _edition(s, call_id)
        found = ops.edition_results(s, call)
        if not found.released:
            abort(_page("secretariat/staff_message.html", 409, title="Not released yet",
                        message=f"The award results of {call.year} are not released yet: the press kit is made "
                                "once they are, so nothing reaches the press before the applicants.",
                        link=url_for("intake_results_staff.page", call_id=call_id), link_text="Back to the results"))
        return call, found, found.by_category(call.categories)


def _download(body, mimetype: str, name: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{safe_filename(name)}"', "Cache-Control": "no-store"})


@results_staff.get("/<call_id>/results/press-kit.csv")
def press_csv(call_id):
    call, found, categories = _released(call_id)
    return _download("\ufeff" + press_kit.press_csv(call, found, categories), "text/csv",
                     f"press-kit-{call.year}.csv")


@results_staff.get("/<call_id>/results/press-kit.pdf")
def press_pdf(call_id):
    call, found, categories = _released(call_id)
    return _download(press_kit.press_pdf(call, found, categories, _now()), "application/pdf",
                     f"press-kit-{call.year}.pdf")
