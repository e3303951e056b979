"""notify's JSON API (secretariat): every email and what became of it."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import func, select

from shared.web import require_role

from .models import Delivery, Suppression
from .schemas import DeliveryOut, DeliveryPage, DeliveryQuery, SuppressionPage, SuppressionQuery
from .sns import blueprints as sns_blueprints

deliveries = Blueprint("deliveries", __name__, url_prefix="/api/deliveries",
                       description="Emails sent or owed (secretariat)")


def _db():
    return current_app.extensions["prize"]["db"]


@deliveries.route("")
class DeliveriesView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}])
    @deliveries.arguments(DeliveryQuery, location="query", unknown=RAISE)
    @deliveries.response(200, DeliveryPage)
    def get(self, query):
        """Deliveries, newest first, filtered by status, recipient or template."""
        q = select(Delivery)
        for key in ("status", "recipient", "template"):
            if key in query:
                q = q.where(getattr(Delivery, key) == query[key])
        with _db().session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            items = s.scalars(q.order_by(Delivery.created_at.desc(), Delivery.id)
                              .limit(query["limit"]).offset(query["offset"])).all()
        return {"total": total, "items": items}


@deliveries.route("/<uuid:delivery_id>")
class DeliveryView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}])
    @deliveries.response(200, DeliveryOut)
    def get(self, delivery_id):
        with _db().session() as s:
            row = s.get(Delivery, str(delivery_id))
        if row is None:
            abort(404, message=f"no delivery {delivery_id}")
        return row


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
        q = select(Suppression)
        if "reason" in query:
            q = q.where(Suppression.reason == query["reason"])
        with _db().session() as s:
            total = s.scalar(select(func.count()).select_from(q.subquery()))
            items = s.scalars(q.order_by(Suppression.created_at.desc(), Suppression.email)
                              .limit(query["limit"]).offset(query["offset"])).all()
        return {"total": total, "items": items}


@suppressions.route("/<string:email>")
class SuppressionView(MethodView):
    @require_role("secretariat")
    @suppressions.doc(security=[{"bearer": []}])
    @suppressions.response(204)
    def delete(self, email):
        """Clear an address: emails go to it again (those already failed are not resent)."""
        with _db().session() as s, s.begin():
            row = s.get(Suppression, email.strip().lower())
            if row is None:
                abort(404, message=f"{email} is not on the suppression list")
            s.delete(row)
        return None


blueprints = [deliveries, suppressions, *sns_blueprints]
