"""The JSON errors of every service's web app: their body, json_error, and the handlers that map
HTTP errors, shared.refusals.Refused, a database gone away and the unexpected to them."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, request
from marshmallow import INCLUDE, Schema, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .refusals import Refused

log = logging.getLogger("prize.web")


class ErrorSchema(Schema):
    """The body of every error answer (documentation only: json_error and ServiceApi write it)."""
    code = fields.Integer(metadata={"description": "the HTTP status"})
    status = fields.String(metadata={"description": "the status's name"})
    message = fields.String(metadata={"description": "what went wrong, for a person"})
    errors = fields.Dict(metadata={"description": "for invalid input: where (json, query) → field → problems"})
    correlation_id = fields.String(metadata={"description": "on a 500 or 503: the id this request is logged with"})
    version = fields.Integer(metadata={"description": "on a 409 for a stale version: the object's version now"})

    class Meta:
        # A refusal may carry details of its own beside these (what was refused and why, per item):
        # documented as allowed, so a client reads them without the document forbidding them.
        unknown = INCLUDE



def _error_message(errors, error) -> str:
    if isinstance(errors, dict) and errors:
        parts = []
        for location, problems in errors.items():
            names = ", ".join(map(str, problems)) if isinstance(problems, dict) else "; ".join(map(str, problems))
            parts.append(f"{location}: {names}")
        return "invalid input in " + "; ".join(parts) + " (see errors)"
    return error.description or error.name


def json_error(status: int, message: str, **extra):
    body = {"code": status, "status": HTTP_STATUS_CODES.get(status, "Error"), "message": message}
    body.update(extra)
    return jsonify(body), status


def _abort_message(exc, default: str) -> str:
    """The message given to flask-smorest's abort(), else ``default``."""
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return default


def _install_errors(app: Flask) -> None:
    @app.errorhandler(413)
    def too_large(exc):
        return json_error(413, f"request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes")

    @app.errorhandler(405)
    def not_allowed(exc):
        response, status = json_error(405, f"{request.method} is not allowed on {request.path}")
        valid = getattr(exc, "valid_methods", None)
        if valid:
            response.headers["Allow"] = ", ".join(valid)
        return response, status

    @app.errorhandler(404)
    def not_found(exc):
        message = getattr(exc, "description", None) or "not found"
        if message.startswith("The requested URL was not found"):
            message = f"no such resource: {request.path}"
        return json_error(404, _abort_message(exc, message))

    @app.errorhandler(Refused)
    def refused(exc: Refused):
        # An operation said no; pages map it to their own error where a blueprint handles it first.
        body = exc.body()
        return json_error(exc.status, body.pop("message"), **body)

    @app.errorhandler(OperationalError)
    def database_unavailable(exc):
        # The database went away (a restart, a failover, a connection killed a moment after
        # its last use, so before its idle ping) or stayed locked past the wait: a moment later
        # the same request finds a fresh connection (the failed one was dropped from the pool).
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    type(getattr(exc, "orig", None) or exc).__name__)
        response, status = json_error(503, "the database is unavailable for a moment; please try again",
                                      correlation_id=g.get("correlation_id"))
        response.headers["Retry-After"] = "1"
        return response, status

    @app.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, HTTPException):
            return json_error(exc.code or 500, exc.description or exc.name)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error; it has been logged with this request's correlation id",
                          correlation_id=g.get("correlation_id"))
