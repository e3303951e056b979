"""Managing jurors through the API (the secretariat): change, deactivate, reactivate, re-invite,
a juror's load, progress and conflicts, and inviting many from a CSV (preview, then confirm).
The routes join the jurors blueprint of secretariat.py; the rules are in ops/juror_admin.py and
ops/juror_import.py."""
from __future__ import annotations

from flask.views import MethodView

from shared.web import require_role

from ..current import db as _db
from ..ops import juror_admin, juror_import, jurors as jury_ops
from ..ops.common import in_transaction
from .schemas_jurors import (DeactivateIn, DeactivateOut, ImportConfirmIn, ImportConfirmOut, ImportIn,
                             ImportPreviewOut, JurorOverview, JurorUpdate)
from .schemas_secretariat import JurorOut
from .secretariat import SECURITY, _actor, _now, jurors


def overview(s, juror_id) -> dict:
    """What GET /api/jurors/<id> answers: the juror, status, load and progress, conflicts."""
    return {**jury_ops.juror_detail(s, juror_id), **juror_admin.juror_overview(s, juror_id)}


@jurors.route("/<uuid:juror_id>")
class JurorView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.response(200, JurorOverview)
    def get(self, juror_id):
        """A juror: status (invited, accepted, declined, deactivated), load and progress per round
        (submitted, in progress, not started), conflicts of interest with their reasons."""
        with _db().session() as s:
            return overview(s, juror_id)

    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.arguments(JurorUpdate)
    @jurors.response(200, JurorOut)
    def patch(self, data, juror_id):
        """Change a juror (fields left out stay). 409 when the address is another juror's, or when
        ``version`` is given and the juror changed since. New conflicts are detected at once."""
        version = data.pop("version", None)
        return in_transaction(_db(), lambda s: juror_admin.update_juror(s, juror_id, data, _actor(), _now(),
                                                                       version=version))


@jurors.route("/<uuid:juror_id>/deactivate")
class DeactivateView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.arguments(DeactivateIn)
    @jurors.response(200, DeactivateOut)
    def post(self, data, juror_id):
        """Deactivate a juror: their open assignments (nothing submitted) are released and need
        another juror, their sessions and sign-in links stop working, assignment skips them.
        Again: nothing changes."""
        return in_transaction(_db(), lambda s: juror_admin.deactivate(s, juror_id, _actor(), _now(), data["reason"]))


@jurors.route("/<uuid:juror_id>/reactivate")
class ReactivateView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.response(200, JurorOut)
    def post(self, juror_id):
        """Let a deactivated juror sign in and be assigned again (released work does not come back)."""
        return in_transaction(_db(), lambda s: juror_admin.reactivate(s, juror_id, _actor(), _now()))


@jurors.route("/<uuid:juror_id>/reinvite")
class ReinviteView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.response(200, JurorOut)
    def post(self, juror_id):
        """Send the invitation again, with a new sign-in link (juror.invited: one more email). A
        juror who declined is asked again. 409 for a deactivated juror."""
        return in_transaction(_db(), lambda s: juror_admin.reinvite(s, juror_id, _actor(), _now()))


@jurors.route("/import")
class ImportView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.arguments(ImportIn)
    @jurors.response(200, ImportPreviewOut)
    def post(self, data):
        """Preview inviting jurors from a CSV: each line new, already a juror, or an error with its
        reasons. Nothing is written. 422 names every line in error (with the rows)."""
        with _db().session() as s:
            result = juror_import.preview(s, data["csv"])
            juror_import.refuse_errors(result)
            return result


@jurors.route("/import/confirm")
class ImportConfirmView(MethodView):
    @require_role("secretariat")
    @jurors.doc(security=SECURITY)
    @jurors.arguments(ImportConfirmIn)
    @jurors.response(201, ImportConfirmOut)
    def post(self, data):
        """Invite exactly the new lines of the preview the token came from (each gets juror.invited).
        409 when the CSV or the jurors changed since the preview, or when it was already confirmed."""
        return in_transaction(_db(), lambda s: juror_import.confirm(s, data["csv"], data["token"], _actor(), _now()))


blueprints: list = []  # the routes are on secretariat.jurors
