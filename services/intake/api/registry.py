"""intake's JSON API of the secretariat's registry, beside the Applications pages: the same list
with the same arguments (paged, the total in the body) and one application as submitted."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from shared.web import require_role

from ..ops import registry, registry_record
from ..web import _db
from .schemas_registry import RecordOut, RegistryArgs, RegistryPageOut

registry_api = Blueprint("secretariat_applications", __name__, url_prefix="/api/secretariat/applications",
                         description="The secretariat's registry of applicants and applications")


@registry_api.route("")
class RegistryView(MethodView):
    @require_role("secretariat")
    @registry_api.doc(security=[{"bearer": []}])
    @registry_api.arguments(RegistryArgs, location="query")
    @registry_api.response(200, RegistryPageOut)
    def get(self, args):
        """Applicants and their applications: search, filter, sort; 50 a page, with the total."""
        found = registry.search(_db(), registry.RegistryQuery(**args))
        return {"items": found.items, "total": found.total, "page": found.page, "pages": found.pages,
                "page_size": found.page_size}


@registry_api.route("/<uuid:application_id>")
class RecordView(MethodView):
    @require_role("secretariat")
    @registry_api.doc(security=[{"bearer": []}])
    @registry_api.response(200, RecordOut)
    @registry_api.alt_response(404, description="no such application")
    def get(self, application_id):
        """One application as submitted (the content review received), or the draft as it stands."""
        return registry_record.read_record(_db(), application_id)
