"""The secretariat's landing page of one edition (ops/dashboard.py): the funnel from registered
to winners, by category, country and applicant type; the deadlines coming; the emails that
failed for good recently; the dead letters waiting in each service's queue."""
from __future__ import annotations

from flask import Blueprint, abort, current_app

from ..ops import dashboard as ops
from ..web import _db
from .secretariat import _page, _require

dashboard_pages = Blueprint("intake_dashboard", __name__, url_prefix="/secretariat/editions",
                            template_folder="../templates")


@dashboard_pages.get("/<call_id>/dashboard")
def edition_dashboard(call_id):
    _require()
    found = ops.edition(_db(), call_id)
    if found is None:
        abort(404)
    settings = current_app.extensions["prize"]["settings"]
    waiting, problem = ops.dead_letters(settings)
    registered = max(1, found["funnel"][0][1])
    return _page("secretariat/dashboard.html", **found, registered=registered, steps=ops.STEPS,
                 step_titles=ops.STEP_TITLES, dead_letters=waiting, dead_letters_problem=problem,
                 outbox_failed=f"{settings.notify_public_url.rstrip('/')}/secretariat/outbox?status=failed",
                 review_url=f"{settings.review_public_url.rstrip('/')}/secretariat?call={found['call'].id}")
