"""The endpoint Amazon SNS posts SES's bounces, complaints and deliveries to (public, signed:
ops/sns.py checks the topic, the signature and the age, and acts on the message)."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint, abort

from shared.web import NO_NUL_PATTERN

from ..ops import sns as ops
from ..web import _db

PATH = "/api/ses/notifications"


class SnsContentType:
    """WSGI middleware: a POST to the SNS endpoint is JSON whatever its Content-Type says."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST":
            environ["CONTENT_TYPE"] = "application/json"
        return self.wsgi_app(environ, start_response)


sns = Blueprint("ses_notifications", __name__, url_prefix="/api/ses",
                description="Amazon SES bounces and complaints, delivered by SNS (public, signed)")


@sns.route("/notifications")
class SesNotificationsView(MethodView):
    @sns.response(200)
    @sns.doc(requestBody={"required": True, "content": {"application/json": {"schema": {
        "type": "object", "additionalProperties": {"type": "string", "pattern": NO_NUL_PATTERN},
        "description": "the SNS message, its fields all text (SNS sends it as text/plain)"}}}})
    def post(self):
        """An SNS message: a subscription to confirm, or an SES bounce or complaint notification.

        Public (SNS sends no token): its topic, its SNS signature and its age are what is checked.
        """
        message = request.get_json(silent=True)
        if not isinstance(message, dict):
            abort(400, message="an SNS message is a JSON object")
        return ops.receive(_db(), message, current_app.extensions["prize"]["settings"].ses_topic_arns)


blueprints = [sns]
