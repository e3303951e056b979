"""intake's JSON API for the secretariat: the editions (their terms are public to read), deadline
exceptions, an applicant's sign-in address, and the ceremony with its guest list."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint

from shared.refusals import Refused
from shared.web import require_role

from ..ops import applicants as ops_applicants
from ..ops import calls as ops_calls
from ..ops import guests as ops_guests
from ..ops import privacy as ops_privacy
from ..web import _db, _now, _public_url, csv_download, notice_terms
from .common import applicants, ceremonies
from .schemas import (ApplicantOut, CallChange, CallClose, CallCreate, CallOut, CallVersionOut, ContactChangeOut,
                      ContactEmailChange, ExceptionCreate, ExceptionOut)
from .schemas_ceremony import CeremonyIn, CeremonyOut, GuestListOut
from .schemas_privacy import PrivacyNoticeIn, PrivacyNoticeOut, PrivacyNoticeVersionOut, notice_out

calls = Blueprint("calls", __name__, url_prefix="/api/calls", description="Editions of the prize (secretariat)")


# --- editions ---------------------------------------------------------------------------------

@calls.route("")
class CallsView(MethodView):
    @calls.response(200, CallOut(many=True))
    def get(self):
        """List the editions (anyone may see the terms of a call)."""
        return ops_calls.list_calls(_db())

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(CallCreate)
    @calls.response(201, CallOut)
    def post(self, data):
        """Create an edition as a draft; open it to publish it."""
        return ops_calls.create_call(_db(), data, g.principal.who)


@calls.route("/<uuid:call_id>")
class CallView(MethodView):
    @calls.response(200, CallOut)
    def get(self, call_id):
        """One edition's terms."""
        return ops_calls.read_call(_db(), call_id)

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(CallChange)
    @calls.response(200, CallOut)
    def patch(self, data, call_id):
        """Change the terms. A draft is simply edited; an opened call gets a new version, with who
        changed it, when and why, and call.opened is published again so review learns the change."""
        return ops_calls.change_call(_db(), call_id, data, g.principal.who)


@calls.route("/<uuid:call_id>/versions")
class CallVersionsView(MethodView):
    @calls.response(200, CallVersionOut(many=True))
    def get(self, call_id):
        """The changes made to an opened call, oldest first (public, like the terms themselves)."""
        return ops_calls.call_versions(_db(), call_id)


@calls.route("/<uuid:call_id>/exceptions")
class ExceptionsView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, ExceptionOut(many=True))
    def get(self, call_id):
        """Every exception granted for this call, revoked ones included (the audit trail)."""
        return ops_calls.exceptions(_db(), call_id)

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(ExceptionCreate)
    @calls.response(201, ExceptionOut)
    def post(self, data, call_id):
        """Let one applicant submit until a later time; who granted it and why is kept."""
        return ops_calls.grant_exception(_db(), call_id, data, g.principal.who)


@calls.route("/<uuid:call_id>/exceptions/<uuid:exception_id>")
class ExceptionView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, ExceptionOut)
    def delete(self, call_id, exception_id):
        """Revoke: the row stays, marked revoked with who and when, so the audit trail keeps it."""
        return ops_calls.revoke_exception(_db(), call_id, exception_id, g.principal.who)


@calls.route("/<uuid:call_id>/open")
class OpenCallView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, CallOut)
    def post(self, call_id):
        """Open the edition: applicants may enter, review learns its terms (call.opened)."""
        return ops_calls.open_call(_db(), call_id, who=g.principal.who)


@calls.route("/<uuid:call_id>/close")
class CloseCallView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(CallClose)
    @calls.response(200, CallOut)
    @calls.alt_response(404, description="no such edition")
    @calls.alt_response(409, description="a draft, or an edition whose opening time is still ahead")
    def post(self, data, call_id):
        """Close the edition now, before its closing time: a new version of the terms with who,
        when and why, and call.opened again so review learns it. Exceptions already granted still
        apply. A closed edition answers 200 and changes nothing."""
        return ops_calls.close_call(_db(), call_id, data["reason"], g.principal.who)[0]


# --- the edition's privacy notice -------------------------------------------------------------

@calls.route("/<uuid:call_id>/privacy-notice")
class PrivacyNoticeView(MethodView):
    @calls.response(200, PrivacyNoticeOut)
    @calls.alt_response(404, description="no such edition")
    def get(self, call_id):
        """The edition's privacy notice (public, like its terms): the default notice until the
        secretariat writes its own."""
        return notice_out(ops_privacy.read_notice(_db(), call_id))

    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.arguments(PrivacyNoticeIn)
    @calls.response(200, PrivacyNoticeOut)
    @calls.alt_response(404, description="no such edition")
    @calls.alt_response(409, description="the notice changed since the version sent")
    def put(self, data, call_id):
        """Write the edition's privacy notice (plain text, paragraphs separated by blank lines; empty:
        back to the default). A change makes a new version, kept with who and when; consents name
        the version they were given to. The same text again changes nothing."""
        notice, _ = ops_privacy.change_notice(_db(), call_id, data["text"], g.principal.who, _now(),
                                              expected_version=data.get("version"), terms=notice_terms())
        return notice_out(notice)


@calls.route("/<uuid:call_id>/privacy-notice/versions")
class PrivacyNoticeVersionsView(MethodView):
    @calls.response(200, PrivacyNoticeVersionOut(many=True))
    @calls.alt_response(404, description="no such edition")
    def get(self, call_id):
        """Every version of the edition's notice after the first (the default notice), newest
        first: what each said, who wrote it and when."""
        ops_privacy.read_notice(_db(), call_id)  # 404 for an unknown edition
        return ops_privacy.notice_versions(_db(), call_id)


# --- an applicant's sign-in address -----------------------------------------------------------

@applicants.route("/<uuid:applicant_id>/contact-email")
class ContactEmailView(MethodView):
    @require_role("secretariat")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ContactEmailChange)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(404, description="no such applicant")
    @applicants.alt_response(409, description="another applicant signs in with this address")
    @applicants.alt_response(422, description="not an address, no reason, or the applicant's second contact")
    def put(self, data, applicant_id):
        """Move an applicant's sign-in address (their officer left, the mailbox is gone).

        Lower-cased as at registration. Who did it, when, the old and new address and the reason
        are kept (``GET .../contact-email/history``), applicant.updated is published (notify
        tells both addresses), and sign-in links not yet used stop working; sessions stay. The
        current address again changes nothing (200, no event).
        """
        done = ops_applicants.change_contact_email(_db(), str(applicant_id), data["contact_email"], data["reason"],
                                                   g.principal.who)
        if done is None:
            raise Refused(404, f"no applicant {applicant_id}")
        return done[0]


@applicants.route("/<uuid:applicant_id>/contact-email/history")
class ContactEmailHistoryView(MethodView):
    @require_role("secretariat")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ContactChangeOut(many=True))
    @applicants.alt_response(404, description="no such applicant")
    def get(self, applicant_id):
        """Every move of the applicant's sign-in address, oldest first: who, when, from, to, why."""
        rows = ops_applicants.contact_changes(_db(), str(applicant_id))
        if rows is None:
            raise Refused(404, f"no applicant {applicant_id}")
        return rows


# --- the ceremony -----------------------------------------------------------------------------

@ceremonies.route("/calls/<uuid:call_id>/ceremony")
class CeremonyView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, CeremonyOut)
    def get(self, call_id):
        """The edition's ceremony and how many are invited."""
        return ops_guests.read_ceremony(_db(), call_id)

    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.arguments(CeremonyIn)
    @ceremonies.response(200, CeremonyOut)
    def put(self, data, call_id):
        """Set (or change) date, venue, time zone and the RSVP date; invites at once every
        finalist, winner and special mention already released. Changing it later does not mail
        the invited again."""
        return ops_guests.configure(_db(), call_id, data, g.principal.who, _now(), _public_url())


@ceremonies.route("/calls/<uuid:call_id>/guests")
class GuestsView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, GuestListOut)
    def get(self, call_id):
        """Everyone invited, with their answers and a count of people, visa letters and so on."""
        return ops_guests.guests(_db(), call_id)


@ceremonies.route("/calls/<uuid:call_id>/guests.csv")
class GuestsCsvView(MethodView):
    @require_role("secretariat")
    @ceremonies.doc(security=[{"bearer": []}], responses={"200": {"description": "CSV, one line per person",
                                                                  "content": {"text/csv": {}}}})
    def get(self, call_id):
        """The guest list as CSV (UTF-8 with BOM, for spreadsheets): one line per person."""
        return csv_download(*ops_guests.guests_for_csv(_db(), call_id))
