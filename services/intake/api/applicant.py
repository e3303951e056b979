"""intake's JSON API for applicants: registration and their own record, applications (drafts,
submission, withdrawal, stages; the secretariat reads them too) and the ceremony invitation."""
from __future__ import annotations

from flask import Response, current_app, g, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from shared.events import json_safe
from shared.refusals import Refused
from shared.signin import RateLimited, SignInAccepted, client_address
from shared.web import require_role

from ..accounts import applicant_signin
from ..ops import applicants as ops_applicants
from ..ops import applications as ops_applications
from ..ops import guests as ops_guests
from ..ops import personal_data
from ..ops import submission
from ..web import _db, _now, _public_url, notice_terms, storage
from .common import applicants, ceremonies, owner
from .schemas import (ApplicantCreate, ApplicantOut, ApplicantUpdate, ApplicationCreate, ApplicationOut,
                      ApplicationUpdate, StatusOut, Withdrawal)
from .schemas_ceremony import InvitationOut, RsvpIn

applications = Blueprint("applications", __name__, url_prefix="/api/applications",
                         description="Applications: drafts, submission")


# --- accounts ---------------------------------------------------------------------------------

@applicants.route("")
class ApplicantsView(MethodView):
    @applicants.arguments(ApplicantCreate)
    @applicants.response(202, SignInAccepted)
    @applicants.alt_response(429, description="too many sign-in links requested for this address or from this client")
    @applicants.alt_response(422, description="invalid input, or no consent to the current privacy notice")
    def post(self, data):
        """Register an applicant; a sign-in link goes to the contact email (no token, no applicant id).

        Anyone could register someone else's address, so only its mailbox gets a way in. The
        answer is the same for an address that is registered already: nothing new is stored,
        and that applicant's mailbox gets a sign-in link. After signing in,
        ``GET /api/applicants/me`` reads the record.

        ``privacy_consent`` is the version of the privacy notice the person read
        (``GET /api/privacy-notice``); it is recorded with the new applicant. Without it, or with
        a version that is no longer the notice's, nothing happens (422).
        """
        try:  # shared.signin's refusal, answered with its Retry-After header
            return {"message": ops_applicants.register_applicant(_db(), applicant_signin, data, client_address(),
                                                                 notice_terms())}
        except RateLimited as exc:
            abort(429, message=exc.message, headers={"Retry-After": "900"})


FIXED_FIELDS_422 = "a value is not valid, or the field cannot be changed (type, country, contact_email)"


def _own_id(applicant_id) -> str:
    """The caller's own applicant id; any other (someone else's, or none) is a 404 like a missing one."""
    if str(applicant_id) != g.principal.subject:
        raise Refused(404, f"no applicant {applicant_id}")
    return g.principal.subject


def _read(applicant_id):
    applicant = ops_applicants.read_applicant(_db(), _own_id(applicant_id))
    if applicant is None:  # a token of an applicant that is gone
        raise Refused(404, f"no applicant {applicant_id}")
    return applicant


def _update(applicant_id, changes: dict):
    applicant = ops_applicants.update_own_record(_db(), _own_id(applicant_id), changes)
    if applicant is None:
        raise Refused(404, f"no applicant {applicant_id}")
    return applicant


@applicants.route("/me")
class MyRecordView(MethodView):
    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ApplicantOut)
    def get(self):
        """The caller's own applicant record."""
        return _read(g.principal.subject)

    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ApplicantUpdate)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(422, description=FIXED_FIELDS_422)
    def patch(self, data):
        """Change the caller's own record (organisation, city, contacts, language).

        A change publishes applicant.updated, so later emails use the new contacts and language.
        The sign-in address (contact_email), the type and the country cannot be changed here.
        """
        return _update(g.principal.subject, data)


@applicants.route("/me/export")
class MyDataView(MethodView):
    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}], responses={"200": {
        "description": "a ZIP: data.json and the documents", "content": {"application/zip": {}}}})
    def get(self):
        """Everything intake keeps about the caller, as one ZIP (GDPR Art. 15 and 20, PIPA Art. 35).

        ``data.json`` holds the applicant record, every application with its answers, status
        history (released stages), documents' details and ceremony answer, the moves of the
        sign-in address and the sign-in records; ``documents/<reference>/`` the checked files,
        streamed from the document store. The portal's My data page gives the same file."""
        data_json, files = personal_data.export(_db(), g.principal.subject)
        body = stream_with_context(personal_data.export_zip(storage(), data_json, files))
        return Response(body, mimetype="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{personal_data.archive_filename(_now())}"',
            "Cache-Control": "no-store"})


@applicants.route("/<uuid:applicant_id>")
class ApplicantView(MethodView):
    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.response(200, ApplicantOut)
    def get(self, applicant_id):
        """The caller's own applicant record by its id (another applicant's id is a 404)."""
        return _read(applicant_id)

    @require_role("applicant")
    @applicants.doc(security=[{"bearer": []}])
    @applicants.arguments(ApplicantUpdate)
    @applicants.response(200, ApplicantOut)
    @applicants.alt_response(422, description=FIXED_FIELDS_422)
    def patch(self, data, applicant_id):
        """Change the caller's own record by its id, as ``PATCH /api/applicants/me`` does."""
        return _update(applicant_id, data)


# --- applications -----------------------------------------------------------------------------

@applications.route("")
class ApplicationsView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut(many=True))
    def get(self):
        """The caller's applications (the secretariat sees all)."""
        return ops_applications.list_applications(_db(), owner())

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationCreate)
    @applications.response(201, ApplicationOut)
    def post(self, data):
        """Start a draft: one per applicant, category and edition."""
        return ops_applications.start(_db(), g.principal.subject, data)


@applications.route("/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def get(self, application_id):
        """One application (its owner or the secretariat)."""
        return ops_applications.read_application(_db(), application_id, owner())

    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationUpdate)
    @applications.response(200, ApplicationOut)
    def patch(self, data, application_id):
        """Save the draft (only while it is a draft)."""
        return ops_applications.save(_db(), application_id, g.principal.subject, data)


@applications.route("/<uuid:application_id>/submit")
class SubmitView(MethodView):
    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def post(self, application_id):
        """Submit: freezes the content and publishes application.submitted. Safe to repeat."""
        answer = submission.submit_application(_db(), application_id, g.principal.subject, public_url=_public_url())
        # Already in ApplicationOut's shape (the same keys, checked by the tests): written out
        # directly instead of through a second marshmallow pass, on the deadline's hottest path.
        return current_app.json.response(json_safe(answer))


@applications.route("/<uuid:application_id>/withdraw")
class WithdrawView(MethodView):
    @require_role("applicant")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(Withdrawal)
    @applications.response(200, ApplicationOut)
    def post(self, data, application_id):
        """Withdraw a submitted application before a decision; application.withdrawn. Safe to repeat."""
        return ops_applications.withdraw(_db(), application_id, g.principal.subject, data["reason"])


@applications.route("/<uuid:application_id>/status")
class StatusView(MethodView):
    @require_role("applicant", "secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, StatusOut)
    def get(self, application_id):
        """The application's stages; a round's decisions appear only once the secretariat released them."""
        return ops_applications.status(_db(), application_id, owner())


# --- the ceremony invitation ------------------------------------------------------------------

@ceremonies.route("/applications/<uuid:application_id>/ceremony")
class InvitationView(MethodView):
    @require_role("applicant", "secretariat")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.response(200, InvitationOut)
    def get(self, application_id):
        """The invitation to the ceremony and the answer given so far (404 if not invited)."""
        return ops_guests.invitation(_db(), application_id, owner(), _now(), notice_terms())

    @require_role("applicant")
    @ceremonies.doc(security=[{"bearer": []}])
    @ceremonies.arguments(RsvpIn)
    @ceremonies.response(200, InvitationOut)
    def put(self, data, application_id):
        """Answer the invitation, or change the answer, until the ceremony starts: who comes,
        a substitute, accessibility needs, a visa invitation letter. Confirmed by email.

        Visa and passport details need a consent to the edition's privacy notice: send the version
        read (``privacy_notice_version`` of the invitation) as ``privacy_consent``; it is recorded,
        once per version. They are deleted ``travel_data_deleted_on``, after the ceremony."""
        return ops_guests.answer(_db(), application_id, g.principal.subject, data, _now(), _public_url(),
                                 terms=notice_terms(), client=client_address())
