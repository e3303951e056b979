"""notify's `/`, where `prize run`'s banner points: what this service is and where its pages are
(the secretariat's outbox and templates, the API, health). English, as notify's other pages. It
reads nothing from the database for an anonymous visitor and sets no cookie."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template

from shared.staff.web import staff_web

from .secretariat import PAGE_POLICY, _intake_origin

front_pages = Blueprint("notify_front", __name__, template_folder="../templates")


@front_pages.get("/")
def front():
    # signed_in: the staff session of this browser, when it has one (the header's links)
    response = current_app.make_response(render_template("pages/front.html", signed_in=staff_web().principal()))
    response.headers["Content-Security-Policy"] = PAGE_POLICY.format(intake=_intake_origin())
    response.headers["Referrer-Policy"] = "same-origin"
    return response
