"""The unsubscribe link of every outreach email (ops/optout.py): ``/unsubscribe/<token>``.

GET shows what the link does and a button; POST records the opt-out (and notify publishes
address.opted_out, so intake marks the prospect). No CSRF token: the signed token is the
permission (whoever has it could opt the address out anyway), and RFC 8058's one-click POST
from a mail client (body ``List-Unsubscribe=One-Click``) carries none. A link that is not ours
answers 404. Pressing twice changes nothing the second time."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..ops import optout
from ..web import _db

unsubscribe_pages = Blueprint("notify_unsubscribe", __name__, url_prefix="/unsubscribe",
                              template_folder="../templates")
POLICY = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; "
          "form-action 'self'; base-uri 'none'")


def _respond(status: int, **context):
    response = current_app.make_response((render_template("pages/unsubscribe.html", **context), status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["Referrer-Policy"] = "no-referrer"  # the link names the address
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _read(token: str):
    return optout.Unsubscribe.of(current_app.extensions["prize"]["settings"]).read(token)


@unsubscribe_pages.route("/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    try:
        email, template = _read(token)
    except optout.BadLink as exc:
        return _respond(404, problem=str(exc)[:1].upper() + str(exc)[1:] + ".")
    if request.method == "GET":
        with _db().session() as s:
            already = optout.opted_out(s, email) is not None
        return _respond(200, email=email, token=token, done=None, already=already)
    with _db().session() as s, s.begin():
        new = optout.opt_out(s, email, "unsubscribe_link", template)
    return _respond(200, email=email, token=token, done=new, already=not new)
