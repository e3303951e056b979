"""The ceremony's JSON API: the secretariat sets the ceremony and sees the guest list (also as
CSV); an invited applicant reads the invitation and answers it. Rules in ceremony.py."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import func, select

from shared.web import require_role

from . import ceremony, domain
from .models import Application, Call, CeremonyInvitation, Rsvp
from .web import csv_download
from .schemas import CeremonyIn, CeremonyOut, GuestListOut, InvitationOut, RsvpIn

ceremonies = Blueprint("ceremony", __name__, url_prefix="/api",
                       description="The award ceremony: invitations, answers (RSVP), guest list")


def _db():
    return current_app.extensions["prize"]["db"]


def _public_url() -> str:
    return current_app.extensions["prize"]["settings"].public_url


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _call(s, call_id, lock=False) -> Call:
    call = s.get(Call, str(call_id), with_for_update=lock)
    if call is None:
        abort(404, message=f"no call {call_id}")
    return call


def _ceremony_out(s, row) -> dict:
    invited = s.scalar(select(func.count()).select_from(CeremonyInvitation)
                       .where(CeremonyInvitation.call_id == row.call_id))
    return {**{k: getattr(row, k) for k in ("call_id", "time_zone", "venue", "address", "details",
                                             "max_delegates", "updated_by")},
            "starts_at": domain.as_utc(row.starts_at), "rsvp_by": domain.as_utc(row.rsvp_by),
            "updated_at": domain.as_utc(row.updated_at), "invited": invited}


@ceremonies.route("/calls/<uuid:call_id>/ceremony")
class CeremonyView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, CeremonyOut)
    def get(self, call_id):
        """The edition's ceremony and how many are invited."""
        with _db().session() as s:
            _call(s, call_id)
            row = s.get(ceremony.Ceremony, str(call_id))
            if row is None:
                abort(404, message=f"no ceremony set for call {call_id}")
            return _ceremony_out(s, row)

    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.arguments(CeremonyIn)
    @ceremonies.response(200, CeremonyOut)
    def put(self, data, call_id):
        """Set (or change) date, venue, time zone and the RSVP date; invites at once every
        finalist, winner and special mention already released. Changing it later does not mail
        the invited again."""
        now = _now()
        if domain.as_utc(data["starts_at"]) <= now:
            abort(422, message="the ceremony must be in the future", errors={"json": {"starts_at": ["must be in the future"]}})
        with _db().session() as s, s.begin():
            call = _call(s, call_id, lock=True)
            try:
                row = ceremony.set_ceremony(s, call, data, g.principal.subject, now, _public_url())
            except domain.RuleViolation as exc:
                abort(exc.status, message=exc.message)
            return _ceremony_out(s, row)


@ceremonies.route("/calls/<uuid:call_id>/guests")
class GuestsView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, GuestListOut)
    def get(self, call_id):
        """Everyone invited, with their answers and a count of people, visa letters and so on."""
        with _db().session() as s:
            _call(s, call_id)
            guests = ceremony.guest_list(s, str(call_id))
        return {"summary": ceremony.summary(guests), "guests": guests}


@ceremonies.route("/calls/<uuid:call_id>/guests.csv")
class GuestsCsvView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}], responses={"200": {"description": "CSV, one line per person",
                                                                  "content": {"text/csv": {}}}})
    def get(self, call_id):
        """The guest list as CSV (UTF-8 with BOM, for spreadsheets): one line per person."""
        with _db().session() as s:
            call = _call(s, call_id)
            return csv_download(call.year, ceremony.guest_list(s, str(call_id)))


def _own(s, application_id, lock=False) -> Application:
    row = s.get(Application, str(application_id), with_for_update=lock)
    if row is None or (g.principal.role == "applicant" and row.applicant_id != g.principal.subject):
        abort(404, message=f"no application {application_id}")  # someone else's looks missing
    return row


def _invitation_out(s, app: Application) -> dict:
    try:
        invitation, cer = ceremony.invitation_for(s, app)
    except ceremony.NotInvited:
        abort(404, message=f"no invitation for application {app.id}")
    return {"application_id": app.id, "reference": app.reference,
            "invited_at": domain.as_utc(invitation.invited_at),
            "ceremony": {**ceremony.details(cer), "max_delegates": cer.max_delegates},
            "answers_open": _now() < domain.as_utc(cer.starts_at),
            "rsvp": ceremony.rsvp_view(s.get(Rsvp, app.id))}


@ceremonies.route("/applications/<uuid:application_id>/ceremony")
class InvitationView(MethodView):
    @require_role("applicant", "secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, InvitationOut)
    def get(self, application_id):
        """The invitation to the ceremony and the answer given so far (404 if not invited)."""
        with _db().session() as s:
            return _invitation_out(s, _own(s, application_id))

    @require_role("applicant")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.arguments(RsvpIn)
    @ceremonies.response(200, InvitationOut)
    def put(self, data, application_id):
        """Answer the invitation, or change the answer, until the ceremony starts: who comes,
        a substitute, accessibility needs, a visa invitation letter. Confirmed by email."""
        now = _now()
        with _db().session() as s, s.begin():
            app = _own(s, application_id, lock=True)
            try:
                ceremony.save_rsvp(s, app, data, now, _public_url())
            except ceremony.NotInvited:
                abort(404, message=f"no invitation for application {application_id}")
            except domain.RuleViolation as exc:
                if exc.field:
                    abort(exc.status, message=exc.message, errors={"json": {exc.field: [exc.message]}})
                abort(exc.status, message=exc.message)
            return _invitation_out(s, app)


blueprints = [ceremonies]
