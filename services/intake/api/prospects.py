"""intake's JSON API of prospects (outreach), beside the Prospects pages: the list with the same
filters (paged, the total in the body), one prospect with its invitations, creating and editing
(a stale ``version`` is a 409), and the CSV import (``dry_run=1``: the preview; else the confirm
of the preview whose fingerprint is sent). Staff tokens: every role reads, the secretariat and
admins change."""
from __future__ import annotations

import base64
import binascii

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.refusals import Refused
from shared.web import require_role

from ..ops import prospect_import, prospects
from ..web import _db, _now
from .schemas_prospects import (ImportArgs, ImportIn, ImportOut, ProspectArgs, ProspectChange, ProspectCreate,
                                ProspectDetailOut, ProspectPageOut)

prospects_api = Blueprint("prospects", __name__, url_prefix="/api/prospects",
                          description="Outreach: the organisations the secretariat met or wants as applicants")
SECURITY = [{"bearer": []}]


def _fields(data: dict) -> dict:
    return {k: (str(v) if k == "call_id" and v is not None else v) for k, v in data.items()}


@prospects_api.route("")
class ProspectsView(MethodView):
    @require_role("secretariat")
    @prospects_api.doc(security=SECURITY)
    @prospects_api.arguments(ProspectArgs, location="query")
    @prospects_api.response(200, ProspectPageOut)
    def get(self, args):
        """Prospects: search, filter (edition, region, country, owner, event, status), sort; 50 a page."""
        found = prospects.search(_db(), prospects.ProspectQuery(**args))
        return {"items": found.items, "total": found.total, "page": found.page, "pages": found.pages,
                "page_size": found.page_size}

    @require_role("secretariat")
    @prospects_api.doc(security=SECURITY)
    @prospects_api.arguments(ProspectCreate)
    @prospects_api.response(201, ProspectDetailOut)
    @prospects_api.alt_response(409, description="already a prospect with this address (named)")
    def post(self, data):
        """Record a prospect; the owner is the caller unless named; who created it is kept."""
        return prospects.create(_db(), _fields(data), g.principal.who, _now())


@prospects_api.route("/<uuid:prospect_id>")
class ProspectView(MethodView):
    @require_role("secretariat")
    @prospects_api.doc(security=SECURITY)
    @prospects_api.response(200, ProspectDetailOut)
    @prospects_api.alt_response(404, description="no such prospect")
    def get(self, prospect_id):
        """One prospect, its invitations to apply and the applicant it became."""
        return prospects.read(_db(), str(prospect_id))

    @require_role("secretariat")
    @prospects_api.doc(security=SECURITY)
    @prospects_api.arguments(ProspectChange)
    @prospects_api.response(200, ProspectDetailOut)
    @prospects_api.alt_response(404, description="no such prospect")
    @prospects_api.alt_response(409, description="a stale version (the version now is named), or an address "
                                                 "another prospect has")
    def patch(self, data, prospect_id):
        """Change the fields sent (the others stay), from the ``version`` read."""
        version = data.pop("version")
        return prospects.edit(_db(), str(prospect_id), _fields(data), version, g.principal.who, _now())


def _raw(data: dict) -> bytes:
    if ("csv" in data) == ("content_base64" in data):
        raise Refused(422, "send the CSV as csv (text) or as content_base64 (the file), one of them",
                      {"json": {"csv": ["send csv or content_base64, one of them"]}})
    if "csv" in data:
        return data["csv"].encode("utf-8")
    try:
        return base64.b64decode(data["content_base64"], validate=True)
    except (binascii.Error, ValueError):
        raise Refused(422, "content_base64 is not base64", {"json": {"content_base64": ["not base64"]}})


@prospects_api.route("/import")
class ImportView(MethodView):
    @require_role("secretariat")
    @prospects_api.doc(security=SECURITY)
    @prospects_api.arguments(ImportArgs, location="query")
    @prospects_api.arguments(ImportIn)
    @prospects_api.response(200, ImportOut)
    @prospects_api.alt_response(409, description="the file or the prospects it relied on changed since the "
                                                 "preview, or it was imported already")
    def post(self, args, data):
        """Prospects from a CSV (columns by header: organisation, email, country required; city,
        contact_name, language, met_at, met_on, notes, owner, type). ``dry_run=1``: every line new,
        already a prospect, a duplicate of an earlier line, or an error with its reasons; nothing
        is stored. Without it: stores exactly the new lines of the preview whose ``fingerprint``
        is sent (409 if the file or the prospects changed since; a second confirm creates nobody)."""
        raw = _raw(data)
        call_id = str(data["call_id"]) if data.get("call_id") else None
        with _db().session() as s:
            if args["dry_run"]:
                return prospect_import.preview(s, raw, call_id, g.principal.who).as_dict()
            if not data.get("fingerprint"):
                raise Refused(422, "fingerprint: required to store; preview with dry_run=1 first",
                              {"json": {"fingerprint": ["required to store: preview with dry_run=1 first"]}})
            done = prospect_import.confirm(s, raw, data["fingerprint"], call_id, g.principal.who, _now())
            s.commit()
        return {"counts": done["counts"], "encoding": done["encoding"], "created": done["created"]}
