"""The secretariat's invitations to apply (ops/outreach.py), on the secretariat's blueprint:

* ``GET /secretariat/outreach/invite?call=<id>&prospect=<id>...`` (the prospects list's "Invite
  to apply"): the look before sending: how many invitations, per language, who is skipped and
  why, and one of the emails as notify will send it (notify's preview in a frame,
  shared.email_preview); ``POST`` the same address sends what the look showed (its fingerprint):
  stale, it answers 409 with the new look; a second click sends nothing more.
* ``GET``/``POST /secretariat/prospects/<id>/opt-out``: the secretariat records that a prospect
  asked for no more outreach email (a confirmation first); notify learns it (outreach.opted_out).

Staff who may change editions (the secretariat, administrators); observers and jury chairs are
refused, the look included: it is the first step of sending.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import current_app, request

from shared.email_preview import Preview, preview_url
from shared.refusals import Refused

from ..models import Prospect
from ..ops import outreach as ops
from ..ops import outreach_links as links
from ..web import _db, _public_url
from .secretariat import _page, _require, secretariat

SAMPLE_TOKEN = "sample-link-shown-in-the-preview-only"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _framing(response):
    """This page frames notify's preview of the email (and nothing else); otherwise intake's policy."""
    from . import PAGE_POLICY
    settings = current_app.extensions["prize"]["settings"]
    services = "".join(f" {_origin(settings.service_url(s))}" for s in ("review", "notify"))
    response.headers["Content-Security-Policy"] = (PAGE_POLICY.format(upload="", services=services)
                                                   + f"; frame-src {_origin(settings.notify_public_url)}")
    return response


def _sample(look: ops.Plan) -> str | None:
    """notify's preview of the first invitation of the look, as it will be sent (the link in it a
    sample: the real one is made when sending)."""
    if not look.invited:
        return None
    p, call = look.invited[0], look.call
    data = ops.event_data(call, p, ops.registration_url(_public_url(), SAMPLE_TOKEN),
                          ops.expiry(call, ops._now()), str(uuid.uuid4()), "the secretariat")
    variables = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in data.items()}
    return preview_url(current_app.extensions["prize"]["settings"], Preview("outreach_invitation", "", variables))


def _show(look: ops.Plan, status: int = 200, error: str = "", batch: str | None = None):
    with _db().session() as s:
        counts = ops.invited_counts(s, look.call.id)
    response = _page("secretariat/outreach_invite.html", status, look=look, reasons=ops.SKIP_REASONS,
                     counts=counts, sample=_sample(look), batch=batch or str(uuid.uuid4()), error=error)
    return _framing(response)


def _refused(exc: Refused):
    return _page("secretariat/staff_message.html", exc.status, title="Refused", message=exc.message)


@secretariat.get("/outreach/invite")
def outreach_invite():
    _require("write")
    try:
        with _db().session() as s:
            look = ops.plan(s, request.args.get("call", ""), request.args.getlist("prospect"))
            s.expunge_all()
    except Refused as exc:
        return _refused(exc)
    return _show(look)


@secretariat.post("/outreach/invite")
def outreach_send():
    principal = _require("write")
    call_id, ids = request.form.get("call", ""), request.form.getlist("prospect")
    try:
        look, made, again = ops.send(_db(), call_id, ids, request.form.get("fingerprint", ""), principal.who,
                                     _public_url(), batch=request.form.get("batch") or None)
    except ops.Stale as exc:
        return _show(exc.plan, 409, error="The prospects or the edition changed since you looked (someone edited "
                                          "a prospect, a prospect registered or opted out, or the edition "
                                          "changed). Nothing was sent: read the look below and send again.")
    except Refused as exc:
        return _refused(exc)
    return _page("secretariat/outreach_sent.html", look=look, made=len(made), again=again)


@secretariat.route("/prospects/<prospect_id>/opt-out", methods=["GET", "POST"])
def prospect_opt_out(prospect_id):
    principal = _require()  # reading the confirmation; recording it needs changing
    with _db().session() as s:
        prospect = s.get(Prospect, prospect_id)
        if prospect is not None:
            s.expunge(prospect)
    if prospect is None:
        return _page("secretariat/staff_message.html", 404, title="Not found", message=f"No prospect {prospect_id}.")
    if request.method == "GET":
        return _page("secretariat/outreach_opt_out.html", prospect=prospect, done=None)
    prospect, new = links.mark_opted_out(_db(), prospect.id, principal.who)
    return _page("secretariat/outreach_opt_out.html", prospect=prospect, done=new)
