"""review's JSON API for screening (the secretariat): a decision, held for the undo window unless
sent now, its undo while held, and an application's screening history. Its routes are on
secretariat.py's ``decisions`` blueprint."""
from __future__ import annotations

from flask.views import MethodView

from shared.web import require_role

from ..current import db as _db, settings as _settings
from ..ops import screening as screening_ops
from ..ops.common import in_transaction
from .schemas_secretariat import (ReviewedApplicationOut, ScreenedApplicationOut, ScreeningDecisionOut,
                                  ScreeningHistoryOut, ScreeningIn)
from .secretariat import SECURITY, _actor, _now, decisions


@decisions.route("/<uuid:application_id>/screening")
class ScreeningView(MethodView):
    @require_role("secretariat")
    @decisions.doc(security=SECURITY)
    @decisions.response(200, ScreeningHistoryOut)
    def get(self, application_id):
        """The application's screening decisions, oldest first: who decided what and when, when
        each email went, and who undid what."""
        with _db().session() as s:
            return screening_ops.history_of(s, application_id)

    @require_role("secretariat")
    @decisions.doc(security=SECURITY)
    @decisions.arguments(ScreeningIn)
    @decisions.response(200, ScreenedApplicationOut)
    def post(self, data, application_id):
        """Mark a submitted application eligible or ineligible (a reason is required for ineligible).
        The application changes at once; its application.screened event (the applicant's email) is
        held for the undo window (PRIZE_SCREENING_UNDO_SECONDS) unless ``send_now`` is true. The same
        answer again changes nothing; a different one replaces a decision still held, or corrects a
        sent one (mailed again); after the finalist round opened it is a 409."""
        hold = 0 if data["send_now"] else _settings().screening_undo_seconds

        def screen(s):
            done = screening_ops.decide(s, application_id, data["eligible"], data["reason"], _actor(), _now(),
                                        hold=hold)
            decision = done["decision"]
            app = done["application"]
            return {**{name: getattr(app, name) for name in ReviewedApplicationOut().fields},
                    "screening": screening_ops.as_dict(decision) if decision is not None else None}
        return in_transaction(_db(), screen)


@decisions.route("/<uuid:application_id>/screening/<uuid:decision_id>/undo")
class ScreeningUndoView(MethodView):
    @require_role("secretariat")
    @decisions.doc(security=SECURITY)
    @decisions.response(200, ScreeningDecisionOut)
    def post(self, application_id, decision_id):
        """Undo a screening decision whose email is still held: nothing is sent and the application
        is back where it was (the history keeps both). 409 once the window has passed: correct it
        with a new decision instead. Undoing it again answers the undone decision."""
        return in_transaction(_db(), lambda s: screening_ops.as_dict(screening_ops.undo(
            s, decision_id, _actor(), _now(), application_id=application_id)["decision"]))
