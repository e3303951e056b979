"""review's JSON API for the secretariat: jurors, conflicts, screening, rounds, assignment, standings,
the cut, awards, release, exports and the ledger. The rules live in ops/; this module maps
HTTP to them (their refusals, ops.common.Refused, become the JSON error in shared.web)."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from flask import Response, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from shared.web import require_role

from ..current import db as _db, settings as _settings
from ..ops import applications as applications_ops, decisions as decide, desk_access, exports
from ..ops import jurors as jury_ops, previews, rounds as round_ops, standings as standing_ops
from ..ops.common import in_transaction, plain
from .schemas import ApplicationOut, ApplicationPage, ApplicationQuery, CallOut
from .schemas_previews import (AssignIn, AssignmentPreviewOut, ClosePreviewOut, ClosePreviewQuery, ReleasePreviewOut,
                               ReleasePreviewQuery)
from .schemas_secretariat import (AccessDenialPage, AccessDenialQuery, AdjustIn, AssignmentOut, AssignOut,
                                  AwardIn, CloseIn, CloseOut, ConflictPage, ConflictQuery, JurorCreate,
                                  JurorOut, LedgerVerifyOut, ReleaseIn, ReleaseOut,
                                  ReviewedApplicationOut, RoundCreate, RoundDetail, RoundOut, RoundQuery,
                                  StandingsOut, StandingsQuery)

jurors = Blueprint("review_jurors", __name__, url_prefix="/api/jurors",
                   description="Jurors and their conflicts of interest (secretariat)")
conflicts = Blueprint("review_conflicts", __name__, url_prefix="/api/conflicts",
                      description="Conflicts of interest, detected and declared (secretariat)")
decisions = Blueprint("review_decisions", __name__, url_prefix="/api/applications",
                      description="Screening, award decisions and evidence packs (secretariat)")
rounds = Blueprint("review_rounds", __name__, url_prefix="/api/rounds",
                   description="Rounds: assignment, standings, closing, exports (secretariat)")
releases = Blueprint("review_releases", __name__, url_prefix="/api/calls",
                     description="Releasing a round's results to the applicants (secretariat)")
applications = Blueprint("review_applications", __name__, url_prefix="/api/applications",
                         description="Applications in review (secretariat)")
calls = Blueprint("review_calls", __name__, url_prefix="/api/calls",
                  description="Editions review has been told about (secretariat)")
audit = Blueprint("review_audit", __name__, url_prefix="/api",
                  description="The tamper-evident ledger and the log of refused access (secretariat)")

SECURITY = [{"bearer": []}]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _actor() -> str:
    return f"secretariat:{g.principal.who}"


def _jury_url() -> str:
    return _settings().review_public_url + "/jury"


# -- jurors ---------------------------------------------------------------------------------

@jurors.route("")
class JurorsView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.response(200, JurorOut(many=True))
    def get(self):
        """Every juror invited, in the order they were invited."""
        with _db().session() as s:
            return jury_ops.all_jurors(s)

    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.arguments(JurorCreate)
    @jurors.response(201, JurorOut)
    def post(self, data):
        """Invite a juror: their conflicts with every application in review are detected at once, and
        juror.invited asks notify to send the sign-in link. 409 when the email is already invited."""
        return in_transaction(_db(), lambda s: jury_ops.invite_juror(s, data, _actor(), _now()))


@conflicts.route("")
class ConflictsView(MethodView):
    @require_role("secretariat")
    @conflicts.doc(security=SECURITY)
    @conflicts.arguments(ConflictQuery, location="query", unknown=RAISE)
    @conflicts.response(200, ConflictPage)
    def get(self, query):
        """Conflicts of interest, newest first, filtered by juror, application or source."""
        with _db().session() as s:
            return jury_ops.conflicts_page(s, query, query["limit"], query["offset"])


# -- screening, awards, evidence ------------------------------------------------------------------

@decisions.route("/<uuid:application_id>/award")
class AwardView(MethodView):
    @require_role("secretariat")
    @decisions.doc(security=SECURITY)
    @decisions.arguments(AwardIn)
    @decisions.response(200, ReviewedApplicationOut)
    def post(self, data, application_id):
        """Record an award decision (winner and not_awarded: finalists only; special_mention: any
        eligible application). It stays embargoed until the award round is released."""
        return in_transaction(_db(), lambda s: decide.decide_award(s, application_id, data["outcome"], data["award"],
                                                 _actor(), _now()))


@decisions.route("/<uuid:application_id>/evidence")
class EvidenceView(MethodView):
    @require_role("secretariat")
    @decisions.doc(security=SECURITY)
    @decisions.response(200, description="The evidence pack: the application, its assignments, scores, "
                                         "comments, conflicts, decisions and ledger entries with hashes")
    def get(self, application_id):
        """The evidence pack of one application, as a JSON download for the committee."""
        with _db().session() as s:
            pack = exports.evidence_pack(s, application_id)
        body = json.dumps(plain(pack), ensure_ascii=False, indent=1, sort_keys=True)
        return Response(body, mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="evidence-{pack["application"]["reference"]}.json"'})


# -- rounds -------------------------------------------------------------------------------------

@rounds.route("")
class RoundsView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(RoundQuery, location="query", unknown=RAISE)
    @rounds.response(200, RoundOut(many=True))
    def get(self, query):
        """Every round, oldest first (of one call with call_id)."""
        with _db().session() as s:
            return round_ops.list_rounds(s, query.get("call_id"))

    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(RoundCreate)
    @rounds.response(201, RoundOut)
    def post(self, data):
        """Open a call's finalist round (it takes the eligible applications) or its award round
        (the finalists; only once the finalist round is closed)."""
        call_id, kind = data.pop("call_id"), data.pop("kind")
        return in_transaction(_db(), lambda s: round_ops.open_round(s, call_id, kind, data, _actor(), _now()))


@rounds.route("/<uuid:round_id>")
class RoundView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.response(200, RoundDetail)
    def get(self, round_id):
        """A round with its number of applications and assignments by status."""
        with _db().session() as s:
            return round_ops.round_detail(s, round_id)


def _preview(operation, *args):
    """A preview reads and writes nothing: its session is rolled back."""
    with _db().session() as s:
        try:
            return operation(s, *args)
        finally:
            s.rollback()


@rounds.route("/<uuid:round_id>/assignment-preview")
class AssignmentPreviewView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.response(200, AssignmentPreviewOut)
    def get(self, round_id):
        """The assignment that POST .../assign would save now, without saving it: each application's
        jurors, each juror's load, the conflicts avoided, the assignments that would end, or why no
        complete assignment exists; with the fingerprint that saves exactly it."""
        return _preview(previews.assignment_preview, str(round_id))


@rounds.route("/<uuid:round_id>/assign")
class AssignView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(AssignIn, required=False)
    @rounds.response(200, AssignOut)
    @rounds.alt_response(409, description="no complete assignment exists, or the preview is stale; nothing was written")
    def post(self, data, round_id):
        """Assign k non-conflicted jurors to every application of the round, keeping the assignments
        made so far; each juror with new work gets one review.assigned digest. With the fingerprint
        of an assignment preview: exactly that assignment (409 when anything changed), once."""
        return in_transaction(_db(), lambda s: previews.save_assignment(s, str(round_id), (data or {}).get("fingerprint"),
                                                                        _actor(), _now(), jury_url=_jury_url()))


@rounds.route("/<uuid:round_id>/assignments")
class AssignmentsView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(AdjustIn)
    @rounds.response(200, AssignmentOut(many=True))
    def patch(self, data, round_id):
        """Add or remove jurors of one application by hand (never a conflicted juror; removing one
        who already submitted scores needs a reason). Returns the application's assignments."""
        return in_transaction(_db(), lambda s: round_ops.adjust(s, round_id, data["application_id"], data["add"], data["remove"],
                                           _actor(), _now(), reason=data["reason"], jury_url=_jury_url()))


@rounds.route("/<uuid:round_id>/standings")
class StandingsView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(StandingsQuery, location="query", unknown=RAISE)
    @rounds.response(200, StandingsOut)
    def get(self, query, round_id):
        """Per category: the leaderboard with mean, median, spread, disagreement flags and the cut;
        with normalise=true also the per-juror z-score ranking and how far each one moved."""
        with _db().session() as s:
            return standing_ops.standings(s, round_id, normalise=query["normalise"])


@rounds.route("/<uuid:round_id>/close-preview")
class ClosePreviewView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(ClosePreviewQuery, location="query", unknown=RAISE)
    @rounds.response(200, ClosePreviewOut)
    def get(self, query, round_id):
        """What closing the round now does: the cut per category, the ties at the cut and the
        applications short of reviews (each needs a decision), the email each applicant gets after
        the release; with the fingerprint that closes exactly it."""
        return _preview(previews.close_preview, str(round_id), query["normalise"])


@rounds.route("/<uuid:round_id>/close")
class CloseView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(CloseIn)
    @rounds.response(200, CloseOut)
    @rounds.alt_response(409, description="ties at the cut or applications short of reviews need a decision")
    def post(self, data, round_id):
        """Close the round: scores lock; in the finalist round the top N per category advance and the
        rest are eliminated. Ties at the cut are never broken here: they are listed (409) until the
        secretariat closes again with a decision for each. With the fingerprint of a close preview:
        409 when the standings changed since, 422 naming each tie left undecided; once."""
        return in_transaction(_db(), lambda s: previews.confirm_close(s, str(round_id), data.get("fingerprint"),
                                                                      data["decisions"], _actor(), _now(),
                                                                      normalise=data["normalise"]))


def _export(round_id, normalise, mimetype, suffix):
    with _db().session() as s:
        body, name = exports.round_file(s, round_id, normalise, suffix)
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@rounds.route("/<uuid:round_id>/export.csv")
class CsvExportView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(StandingsQuery, location="query", unknown=RAISE)
    @rounds.response(200, description="CSV: every score and comment per juror and criterion, then the standings",
                     content_type="text/csv")
    def get(self, query, round_id):
        return _export(round_id, query["normalise"], "text/csv", "csv")


@rounds.route("/<uuid:round_id>/export.xlsx")
class XlsxExportView(MethodView):
    @require_role("secretariat")
    @rounds.doc(security=SECURITY)
    @rounds.arguments(StandingsQuery, location="query", unknown=RAISE)
    @rounds.response(200, description="XLSX: a Scores sheet and a Standings sheet",
                     content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    def get(self, query, round_id):
        return _export(round_id, query["normalise"],
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")


# -- release ------------------------------------------------------------------------------------

@releases.route("/<uuid:call_id>/release-preview")
class ReleasePreviewView(MethodView):
    @require_role("secretariat")
    @releases.doc(security=SECURITY)
    @releases.arguments(ReleasePreviewQuery, location="query", unknown=RAISE)
    @releases.response(200, ReleasePreviewOut)
    def get(self, query, call_id):
        """Every email releasing the round causes: counts per template and language, the recipients
        and one application of each group; with the fingerprint that releases exactly it."""
        return _preview(previews.release_preview, str(call_id), query["round"])


@releases.route("/<uuid:call_id>/release")
class ReleaseView(MethodView):
    @require_role("secretariat")
    @releases.doc(security=SECURITY)
    @releases.arguments(ReleaseIn)
    @releases.response(200, ReleaseOut)
    def post(self, data, call_id):
        """Release a round's decisions: one results.released per decided application, after which
        intake shows them. Releasing again changes nothing. With the fingerprint of a release
        preview: 409 when a decision changed since."""
        return in_transaction(_db(), lambda s: previews.confirm_release(s, str(call_id), data["round"],
                                                                        data.get("fingerprint"), _actor(), _now()))


# -- audit --------------------------------------------------------------------------------------

@audit.route("/ledger/verify")
class LedgerVerifyView(MethodView):
    @require_role("secretariat")
    @audit.doc(security=SECURITY)
    @audit.response(200, LedgerVerifyOut)
    def get(self):
        """Recompute the whole hash chain: any edited, deleted or reordered entry is reported."""
        with _db().session() as s:
            return exports.verify_ledger(s)


@audit.route("/access-denials")
class AccessDenialsView(MethodView):
    @require_role("secretariat")
    @audit.doc(security=SECURITY)
    @audit.arguments(AccessDenialQuery, location="query", unknown=RAISE)
    @audit.response(200, AccessDenialPage)
    def get(self, query):
        """Every time a juror was refused an application (conflicted or not assigned), newest first."""
        with _db().session() as s:
            return desk_access.access_denials_page(s, query.get("juror_id"), query["limit"], query["offset"])


# -- what review knows of calls and applications ------------------------------------------------

@applications.route("")
class ApplicationsView(MethodView):
    @require_role("secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.arguments(ApplicationQuery, location="query", unknown=RAISE)
    @applications.response(200, ApplicationPage)
    def get(self, query):
        """Applications review has received, newest first, with filters."""
        with _db().session() as s:
            return applications_ops.applications_page(s, query, query["limit"], query["offset"])


@applications.route("/<uuid:application_id>")
class ApplicationView(MethodView):
    @require_role("secretariat")
    @applications.doc(security=[{"bearer": []}])
    @applications.response(200, ApplicationOut)
    def get(self, application_id):
        with _db().session() as s:
            return applications_ops.application(s, application_id)


@calls.route("")
class CallsView(MethodView):
    @require_role("secretariat")
    @calls.doc(security=[{"bearer": []}])
    @calls.response(200, CallOut(many=True))
    def get(self):
        with _db().session() as s:
            return applications_ops.all_calls(s)


blueprints = [applications, calls, jurors, conflicts, decisions, rounds, releases, audit]
