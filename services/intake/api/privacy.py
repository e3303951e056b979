"""intake's JSON API of the privacy notice that applies now: the one a registration consents to
(``privacy_consent`` of ``POST /api/applicants``). Each edition's notice is with the calls
(secretariat.py)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from ..ops import privacy as ops_privacy
from ..web import _db
from .schemas_privacy import PrivacyNoticeOut, notice_out

privacy = Blueprint("privacy", __name__, url_prefix="/api/privacy-notice",
                    description="The privacy notice applicants read and consent to")


@privacy.route("")
class CurrentNoticeView(MethodView):
    @privacy.response(200, PrivacyNoticeOut)
    def get(self):
        """The notice a registration consents to: the latest published edition's, or the default
        notice (version 1) before any edition is published. Anyone may read it."""
        return notice_out(ops_privacy.current_notice(_db()))
