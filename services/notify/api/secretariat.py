"""notify's JSON API (secretariat): every email and what became of it, resending one, and the
wording of the email templates per edition (stored overrides of the files)."""
from __future__ import annotations

from datetime import timedelta

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import RAISE
from sqlalchemy import func, select

from shared.web import require_role

from . import templates
from .delivery import ResendRefused, Sender, resend
from .mail import mailer_from_url
from .models import Delivery, Suppression, TemplateOverride
from .schemas import (DeliveryOut, DeliveryPage, DeliveryQuery, OverrideIn, OverrideOut, PreviewOut, PreviewQuery,
                      ResendOut, SuppressionPage, SuppressionQuery, TemplateList)
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


def web_sender() -> Sender:
    """The web app's own Sender (a resend is sent at once, from the request)."""
    prize = current_app.extensions["prize"]
    if "sender" not in prize:
        settings = prize["settings"]
        prize["sender"] = Sender(prize["db"], mailer_from_url(settings.mail_url), settings.mail_from,
                                 retry_for=timedelta(hours=settings.mail_retry_hours))
    return prize["sender"]


@deliveries.route("/<uuid:delivery_id>/resend")
class ResendView(MethodView):
    @require_role("secretariat")
    @deliveries.doc(security=[{"bearer": []}], responses={"409": {"description": "the address is suppressed"}})
    @deliveries.response(201, ResendOut)
    def post(self, delivery_id):
        """Send this email again, as it was rendered, as a new delivery; 409 if its address is on
        the suppression list."""
        try:
            row, status = resend(web_sender(), str(delivery_id))
        except LookupError:
            abort(404, message=f"no delivery {delivery_id}")
        except ResendRefused as exc:
            abort(409, message=f"not resent: {exc}")
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


email_templates = Blueprint("templates", __name__, url_prefix="/api/templates",
                            description="The wording of the emails, per edition (secretariat)")


def _known(name: str, language: str, edition: int | None = None) -> None:
    if language not in templates.available().get(name, []):
        abort(404, message=f"no email template {name} in language {language}")
    # checked before any query: a number past the database's integer range is a 500 there
    if edition is not None and not templates.is_edition(edition):
        abort(404, message=f"no edition {edition}: an edition is a year from 2000 to 2999")


@email_templates.route("")
class TemplatesView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(200, TemplateList)
    def get(self):
        """Every email template, its languages and the editions whose wording is overridden."""
        with _db().session() as s:
            stored = templates.overrides_by_template(s)
            items = [{"name": name, "languages": [
                {"language": lang, "overridden": [
                    {"edition": o.edition, "version": o.version, "updated_at": o.updated_at, "updated_by": o.updated_by}
                    for o in stored.get((name, lang), [])]} for lang in languages]}
                for name, languages in templates.available().items()]
        return {"items": items}


@email_templates.route("/<string:name>/<string:language>/preview")
class PreviewView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.arguments(PreviewQuery, location="query", unknown=RAISE)
    @email_templates.response(200, PreviewOut)
    def get(self, query, name, language):
        """The email rendered with sample data: the edition's override if any, else the file."""
        _known(name, language)
        try:
            with _db().session() as s:
                return templates.preview(s, name, language, query.get("edition"))
        except templates.TemplateProblem as exc:
            abort(422, message=str(exc), errors={"json": exc.problems})


@email_templates.route("/<string:name>/<string:language>/editions/<int:edition>")
class OverrideView(MethodView):
    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(200, OverrideOut)
    def get(self, name, language, edition):
        """The sources used for this edition: the stored override, else the file's."""
        _known(name, language, edition)
        with _db().session() as s:
            row = s.get(TemplateOverride, (name, language, edition))
            if row is not None:
                return _override_out(row)
        text, html = templates.file_sources(name, language)
        return {"template": name, "language": language, "edition": edition, "overridden": False,
                "text_source": text, "html_source": html}

    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.arguments(OverrideIn)
    @email_templates.response(200, OverrideOut)
    def put(self, body, name, language, edition):
        """Store this edition's wording; 422 naming every problem if it is broken (nothing stored)."""
        _known(name, language, edition)
        try:
            with _db().session() as s, s.begin():
                row = templates.save_override(s, name, language, edition, body["text_source"], body["html_source"],
                                              by=f"secretariat:{g.principal.subject}")
                return _override_out(row)
        except templates.TemplateProblem as exc:
            abort(422, message=f"the template is not saved: {exc}", errors={"json": exc.problems})

    @require_role("secretariat")
    @email_templates.doc(security=[{"bearer": []}])
    @email_templates.response(204)
    def delete(self, name, language, edition):
        """Back to the file for this edition."""
        _known(name, language, edition)
        with _db().session() as s, s.begin():
            if not templates.delete_override(s, name, language, edition):
                abort(404, message=f"{name}.{language} has no override for {edition}")
        return None


def _override_out(row) -> dict:
    return {"template": row.template, "language": row.language, "edition": row.edition, "overridden": True,
            "text_source": row.text_source, "html_source": row.html_source, "version": row.version,
            "updated_at": row.updated_at, "updated_by": row.updated_by}


blueprints = [deliveries, suppressions, email_templates, *sns_blueprints]
