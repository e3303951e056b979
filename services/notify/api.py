"""notify's JSON API (secretariat): every email and what became of it."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import func, select

from shared.web import require_role

from .models import Delivery
from .schemas import DeliveryOut, DeliveryPage, DeliveryQuery

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


blueprints = [deliveries]
