"""The registration link of an invitation to apply, on the portal's blueprint (ops/outreach_links.py):
``/portal/register?invitation=<token>`` shows the registration form (applicant_account.py) filled
with what the secretariat knows of the prospect; the person may change every field. A link used
already answers 410 and offers sign-in; an expired one 410 with the plain registration form's
link; one for someone registered already says so and offers sign-in (nothing is made twice); an
unknown one 404."""
from __future__ import annotations

from flask import redirect, request

from ..ops import outreach_links as links
from ..web import _db
from .applicant import _render, portal
from .applicant_account import registration

STATUS = {"used": 410, "expired": 410, "registered": 200, "unknown": 404}


def gone(state: str):
    """The page of a link that cannot register anyone (any more)."""
    return _no_referrer(_render("portal/invitation.html", None, state=state), STATUS[state])


def _no_referrer(body: str, status: int):
    from flask import current_app
    response = current_app.make_response((body, status))
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the address
    response.headers["Cache-Control"] = "no-store"
    return response


@portal.route("/portal/register", methods=["GET", "POST"])
def register_invited():
    token = (request.values.get("invitation") or "").strip()
    if not token:
        return redirect("/register", 302)
    with _db().session() as s:
        state, _invitation, prospect = links.state_of(s, token)
        form = links.prefill(prospect) if state == "valid" else None
    if state != "valid":
        return gone(state)
    answer = registration(invitation=token, prefilled=form if request.method == "GET" else None, gone=gone)
    body, status = answer if isinstance(answer, tuple) else (answer, 200)
    if isinstance(body, str):
        return _no_referrer(body, status)
    return answer

