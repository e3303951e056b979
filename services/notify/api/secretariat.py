"""notify's JSON API (secretariat): every email and what became of it, resending one, the
suppression list, and the wording of the email templates per edition (stored overrides of the
files). Views parse, call one operation and shape the answer; refusals (shared.refusals.Refused)
reach shared.web's JSON error by themselves."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE

from shared.web import require_role

from ..ops import deliveries as ops
from ..ops import suppressions as suppression_list
from ..ops import editions
from ..web import _db, web_sender
from .schemas import (DeliveryOut, DeliveryPage, DeliveryQuery, OverrideIn, OverrideOut, PreviewOut, PreviewQuery,
                      ResendOut, SuppressionPage, SuppressionQuery, TemplateList)

deliveries = Blueprint("deliveries", __name__, url_prefix="/api/deliveries",
                       description="Emails sent or owed (secretariat)")


@deliveries.route("")
class DeliveriesView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}])
    @deliveries.arguments(DeliveryQuery, location="query", unknown=RAISE)
    @deliveries.response(200, DeliveryPage)
    def get(self, query):
        """Deliveries, newest first, filtered by status, recipient or template."""
        return ops.page_of_deliveries(_db(), query, query["limit"], query["offset"])


@deliveries.route("/<uuid:delivery_id>")
class DeliveryView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}])
    @deliveries.response(200, DeliveryOut)
    def get(self, delivery_id):
        return ops.get(_db(), str(delivery_id))


@deliveries.route("/<uuid:delivery_id>/resend")
class ResendView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}], responses={"409": {"description": "the address is suppressed"}})
    @deliveries.response(201, ResendOut)
    def post(self, delivery_id):
        """Send this email again, as it was rendered, as a new delivery; 409 if its address is on
        the suppression list."""
        row, status = ops.resend(web_sender(), str(delivery_id), g.principal.who)
        return {"status": status, "delivery": row}


suppressions = Blueprint("suppressions", __name__, url_prefix="/api/suppressions",
                         description="Addresses not mailed: bounced, complained or refused for good (secretariat)")


@suppressions.route("")
class SuppressionsView(MethodView):
    @require_role("secretariat")
    @suppressions.doc(security=[{"bearer": []}])
    @suppressions.arguments(SuppressionQuery, location="query", unknown=RAISE)
    @suppressions.response(200, SuppressionPage)
    def get(self, query):
        """The suppression list, newest first: no email goes to these addresses."""
        return suppression_list.page_of_suppressions(_db(), query.get("reason"), query["limit"], query["offset"])


@suppressions.route("/<string:email>")
class SuppressionView(MethodView):
    @require_role("secretariat")
    @suppressions.doc(security=[{"bearer": []}])
    @suppressions.response(204)
    def delete(self, email):
        """Clear an address: emails go to it again (those already failed are not resent)."""
        suppression_list.clear(_db(), email)
        return None


email_templates = Blueprint("templates", __name__, url_prefix="/api/templates",
                            description="The wording of the emails, per edition (secretariat)")


@email_templates.route("")
class TemplatesView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(200, TemplateList)
    def get(self):
        """Every email template: what it is for (title, purpose, audience, the events that send it, its
        variables), its languages and the editions whose wording is overridden."""
        return {"items": editions.listing(_db())}


@email_templates.route("/<string:name>/<string:language>/preview")
class PreviewView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.arguments(PreviewQuery, location="query", unknown=RAISE)
    @email_templates.response(200, PreviewOut)
    def get(self, query, name, language):
        """The email rendered with sample data: the edition's override if any, else the file."""
        editions.require_known(name, language)
        return editions.preview_of(_db(), name, language, query.get("edition"))


@email_templates.route("/<string:name>/<string:language>/editions/<int:edition>")
class OverrideView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(200, OverrideOut)
    def get(self, name, language, edition):
        """The sources used for this edition: the stored override, else the file's."""
        editions.require_known(name, language, edition)
        found = editions.edition_sources(_db(), name, language, edition)
        return found if isinstance(found, dict) else _override_out(found)

    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}],
                         responses={"403": {"description": "not an administrator: raw Jinja is theirs (and operators')"}})
    @email_templates.arguments(OverrideIn)
    @email_templates.response(200, OverrideOut)
    def put(self, body, name, language, edition):
        """Store this edition's wording (raw Jinja: administrators and operators only; the rest of
        the secretariat words emails on notify's template page); 422 naming every problem if it is
        broken (nothing stored)."""
        if not editions.may_write_raw(g.principal.staff_role):
            abort(403, message=editions.raw_refusal(g.principal.staff_role))
        editions.require_known(name, language, edition)
        row = editions.save(_db(), name, language, edition, body["text_source"], body["html_source"],
                            by=f"secretariat:{g.principal.who}")
        return _override_out(row)

    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(204)
    def delete(self, name, language, edition):
        """Back to the file for this edition."""
        editions.require_known(name, language, edition)
        if not editions.remove_override(_db(), name, language, edition):
            abort(404, message=f"{name}.{language} has no override for {edition}")
        return None


def _override_out(row) -> dict:
    return {"template": row.template, "language": row.language, "edition": row.edition, "overridden": True,
            "text_source": row.text_source, "html_source": row.html_source, "version": row.version,
            "updated_at": row.updated_at, "updated_by": row.updated_by}


blueprints = [deliveries, suppressions, email_templates]
