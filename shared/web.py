"""What every service's web app has: API docs, health, metrics, JSON errors, auth, logging."""
from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from urllib.parse import unquote_to_bytes

from apispec import BasePlugin
from flask import Flask, current_app, g, jsonify, render_template_string, request
from flask_smorest import Api, abort
from marshmallow import Schema, ValidationError, fields, validate
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .auth import Principal, TokenError, read_token
from .bus import connect
from .config import Settings
from .db import Database
from .refusals import Refused
from .logs import set_correlation

log = logging.getLogger("prize.web")

MAX_JSON_BODY = 1024 * 1024  # API bodies are small; documents go straight to storage
BODY_METHODS = {"POST", "PUT", "PATCH"}
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} API</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em}.m{display:inline-block;min-width:4.5em;font-weight:bold}
li{margin:.3em 0}</style></head><body>
<h1>{{ title }} API <small>v{{ version }}</small></h1>
<p>The machine-readable description is at <a href="openapi.json"><code>/openapi.json</code></a>.
Send <code>Authorization: Bearer &lt;token&gt;</code>; errors come back as JSON with a
<code>message</code> and, for invalid input, field-level <code>errors</code>.</p>
<ul>{% for path, ops in paths %}{% for method, op in ops %}
<li><span class="m">{{ method|upper }}</span> <code>{{ path }}</code> {{ op.get('summary', '') }}</li>
{% endfor %}{% endfor %}</ul></body></html>"""


class ErrorSchema(Schema):
    """The body of every error answer (documentation only: json_error and ServiceApi write it)."""
    code = fields.Integer(metadata={"description": "the HTTP status"})
    status = fields.String(metadata={"description": "the status's name"})
    message = fields.String(metadata={"description": "what went wrong, for a person"})
    errors = fields.Dict(metadata={"description": "for invalid input: where (json, query) → field → problems"})
    correlation_id = fields.String(metadata={"description": "on a 500 or 503: the id this request is logged with"})


# The before-request check refuses NUL in any text; a string the document does not otherwise
# constrain says so with this pattern, so a client (or a generator of test requests) knows.
NO_NUL_PATTERN = "^[^\\x00]*$"
# Text that is not blank as str.strip() sees it (its whitespace, which is not the regex's \s).
_SPACES = "".join(f"\\u{c:04x}" for c in range(0x3001) if chr(c).isspace())
NOT_BLANK_PATTERN = f"^[^\\x00]*[^\\x00{_SPACES}][^\\x00]*$"


class NotBlank(validate.Validator):
    """Text with something in it besides whitespace; documented as NOT_BLANK_PATTERN."""

    error = "must not be empty"

    def __call__(self, value):
        if not value.strip():
            raise ValidationError(self.error)
        return value


def _stated_limits(converter, field, ret, **_) -> dict:
    """What apispec leaves out of a field's description: that a Range may exclude its bounds
    (OpenAPI 3.0's boolean exclusiveMinimum/exclusiveMaximum), that text may not hold NUL, and
    that a NotBlank text needs more than whitespace."""
    extra = {}
    for validator in field.validators:
        if isinstance(validator, validate.Range) and "minimum" in ret and not validator.min_inclusive:
            extra["exclusiveMinimum"] = True
        if isinstance(validator, validate.Range) and "maximum" in ret and not validator.max_inclusive:
            extra["exclusiveMaximum"] = True
    if any(isinstance(v, NotBlank) for v in field.validators):
        extra["pattern"] = NOT_BLANK_PATTERN
    elif ret.get("type") == "string" and not {"pattern", "format", "enum", "anyOf", "oneOf"} & set(ret):
        extra["pattern"] = NO_NUL_PATTERN
    return extra


class RulesPlugin(BasePlugin):
    """Puts in the document what marshmallow's schemas know but apispec does not write.

    A schema's ``OPENAPI_RULES`` (a dict of JSON Schema keywords, e.g. ``anyOf``) joins its
    component: rules between fields that OpenAPI can say. A request body is documented as
    required only when its schema requires a field: webargs reads a missing JSON body as ``{}``,
    so a body without required fields may be left out and is accepted.
    """

    def init_spec(self, spec):
        self.spec = spec

    def schema_helper(self, name, definition, **kwargs):
        schema = kwargs.get("schema")
        rules = getattr(schema, "OPENAPI_RULES", None)
        return dict(rules) if rules else None

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if not body or not body.get("required"):
                continue
            for content in body.get("content", {}).values():
                component = self._component(content.get("schema"))
                if component is not None and not component.get("required"):
                    body["required"] = False

    def _component(self, schema):
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str):
            return None
        return self.spec.components.schemas.get(ref.rsplit("/", 1)[-1])


class ServiceApi(Api):
    """flask-smorest's Api whose error bodies always carry a ``message``, as the docs promise,
    and whose document states what the service checks (see RulesPlugin, _stated_limits)."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, **kwargs):
        kwargs.setdefault("spec_kwargs", {}).setdefault("extra_plugins", [RulesPlugin()])
        super().__init__(app, **kwargs)

    def _init_spec(self, **kwargs):
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(_stated_limits)

    def handle_http_exception(self, error):
        payload, status, headers = super().handle_http_exception(error)
        if "message" not in payload:
            payload["message"] = _error_message(payload.get("errors"), error)
        return payload, status, headers


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


def create_service_app(service: str, settings: Settings, db: Database, *, title: str,
                       blueprints=(), test_config: dict | None = None) -> Flask:
    app = Flask(f"services.{service}", instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_JSON_BODY,
        API_TITLE=title,
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}}},
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["prize"] = {"service": service, "settings": settings, "db": db}

    api = ServiceApi(app)
    for blp in blueprints:
        api.register_blueprint(blp)
    app.extensions["prize"]["api"] = api

    _install_metrics(app, service)
    _install_health(app, settings, db)
    _install_errors(app)

    @app.before_request
    def _correlation():
        given = request.headers.get("X-Correlation-ID", "")
        g.correlation_id = given if 0 < len(given) <= 100 else str(uuid.uuid4())
        set_correlation(g.correlation_id)

    @app.after_request
    def _echo_correlation(response):
        response.headers["X-Correlation-ID"] = g.get("correlation_id", "")
        return response

    _install_body_checks(app)  # after _correlation, so refused requests keep their id

    @app.get("/docs")
    def docs():
        spec = api.spec.to_dict()
        paths = [(p, [(m, op) for m, op in ops.items() if m in {"get", "post", "put", "patch", "delete"}])
                 for p, ops in sorted(spec.get("paths", {}).items())]
        return render_template_string(DOCS_PAGE, title=title, version=spec["info"]["version"], paths=paths)

    return app


def _install_health(app: Flask, settings: Settings, db: Database) -> None:
    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "service": app.extensions["prize"]["service"]}

    @app.get("/readyz")
    def readyz():
        checks = {}
        try:
            db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            conn = connect(settings.broker_url)
            try:
                conn.ensure_connection(max_retries=1, timeout=3)
            finally:
                conn.release()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


def _install_metrics(app: Flask, service: str) -> None:
    registry = CollectorRegistry()
    requests_total = Counter("prize_http_requests_total", "HTTP requests served",
                             ["service", "method", "endpoint", "status"], registry=registry)
    latency = Histogram("prize_http_request_seconds", "HTTP request latency",
                        ["service", "endpoint"], registry=registry)
    app.extensions["prize"]["metrics"] = registry

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _count(response):
        # Label values come from a fixed set, never from the request as sent: each new value is
        # a new series kept for the life of the process, so a made-up method or path would
        # otherwise grow the worker's memory and this page without bound.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        requests_total.labels(service, method, endpoint, str(response.status_code)).inc()
        if "started" in g:
            latency.labels(service, endpoint).observe(time.perf_counter() - g.started)
        return response

    @app.get("/metrics")
    def metrics():
        return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _install_body_checks(app: Flask) -> None:
    """Before any API view: a body must be JSON that parses, and its text must be storable.

    flask-smorest would read a non-JSON body as "no body" (a puzzling 422 about missing fields)
    and lets a JSON parser RecursionError through as a 500. PostgreSQL refuses NUL in text, and
    nothing can encode a lone surrogate: JSON's "\\ud800" escape parses into a Python str that
    every later step (SQLite, PostgreSQL, an email, a log line) fails to write as UTF-8.
    """
    @app.before_request
    def _check_body():
        if request.routing_exception is not None or not request.path.startswith("/api/"):
            return None  # 404/405 answer first; pages may take forms
        bad_args = _bad_query_args(request.query_string)
        if bad_args:
            return json_error(422, _problems_message("query arguments", bad_args), errors={"query": bad_args})
        if request.method not in BODY_METHODS:
            return None
        raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413
        if not raw:
            return None
        if not request.is_json:
            return json_error(415, "request body must be JSON (Content-Type: application/json), "
                                   f"not {request.mimetype or 'untyped'}")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            return json_error(400, f"request body is not valid JSON: {reason}",
                              errors={"json": ["Invalid JSON body."]})
        bad = _bad_text_paths(body)
        if bad:
            return json_error(422, _problems_message("text", bad), errors={"json": bad})
        return None


NUL = "may not contain NUL characters"
NOT_UTF8 = "must be valid UTF-8 text (a lone surrogate is not)"
NOT_UTF8_ARG = "must be valid UTF-8 text"
_SUMMARIES = {NUL: "may not contain NUL characters", NOT_UTF8: "must be valid UTF-8 (no lone surrogates)",
              NOT_UTF8_ARG: "must be valid UTF-8 text"}


def _problems_message(what: str, bad: dict[str, list[str]]) -> str:
    kinds = sorted({p for problems in bad.values() for p in problems}, key=list(_SUMMARIES).index)
    return f"{what} " + " and ".join(_SUMMARIES[k] for k in kinds)


def _text_problems(value: str) -> list[str]:
    problems = [NUL] if "\x00" in value else []
    if value.isascii():
        return problems
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.append(NOT_UTF8)
    return problems


def _printable_name(name: str) -> str:
    """A field name as the 422 can carry it: a lone surrogate in it shown as its escape."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _bad_query_args(query_string: bytes) -> dict[str, list[str]]:
    """Query arguments that hold NUL, or whose percent-decoded bytes are not UTF-8.

    Werkzeug keeps an undecodable escape such as %FF as the literal text "%FF", so a view would
    search for (or store) characters the client never meant; read the raw bytes instead.
    """
    found: dict[str, list[str]] = {}
    if not query_string:
        return found
    for pair in query_string.split(b"&"):
        if not pair:
            continue
        key, _, value = (unquote_to_bytes(part.replace(b"+", b" ")) for part in pair.partition(b"="))
        try:
            name = key.decode("utf-8")
            problems = _text_problems(name) + _text_problems(value.decode("utf-8"))
        except UnicodeDecodeError:
            name, problems = key.decode("utf-8", "backslashreplace"), [NOT_UTF8_ARG]
        if problems:
            known = found.setdefault(_printable_name(name), [])
            known += [p for p in problems if p not in known]
    return found


def _bad_text_paths(body) -> dict[str, list[str]]:
    """Dotted paths of the strings (keys or values) of a JSON document that hold NUL or a lone
    surrogate, each with its problems."""
    found: dict[str, list[str]] = {}
    stack = [("", body)]
    while stack:  # iterative: a document may be nested nearly as deep as the parser allows
        path, node = stack.pop()
        if isinstance(node, str):
            problems = _text_problems(node)
            if problems:
                found.setdefault(path or "_schema", []).extend(problems)
        elif isinstance(node, dict):
            for key, value in node.items():
                sub = f"{path}.{_printable_name(key)}" if path else _printable_name(key)
                problems = _text_problems(key)
                if problems:
                    found.setdefault(sub, []).extend(problems)
                stack.append((sub, value))
        elif isinstance(node, list):
            stack.extend((f"{path}.{i}" if path else str(i), v) for i, v in enumerate(node))
    return {path: list(dict.fromkeys(problems)) for path, problems in sorted(found.items())}


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


SESSION_COOKIE = "prize_session"
_UNSET = object()


def current_principal() -> Principal | None:
    """Who is calling: from ``Authorization: Bearer``, else from the session cookie, else None.

    Signed tokens (shared.auth) are read here. Anything else, an opaque bearer token or the
    session cookie (``prize_session``, or the service's ``app.extensions["prize"]["session_cookie"]``
    as shared.signin sets it), goes to the service's ``principal_loader`` when it has one
    (``app.extensions["prize"]["principal_loader"]``, a callable ``(token, source)`` with
    source ``"bearer"`` or ``"cookie"`` that returns a Principal or None and may abort, e.g.
    403 for a cookie request without its CSRF token). A bearer token nobody recognises is a
    401; a cookie nobody recognises is ignored (the caller is anonymous), so a stale cookie
    sends a page visitor to sign in again instead of showing an error.
    """
    cached = g.get("_prize_principal", _UNSET)
    if cached is not _UNSET:
        return cached
    loader = current_app.extensions["prize"].get("principal_loader")
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            abort(401, message="Authorization header must be 'Bearer <token>'")
        if "." in token or loader is None:
            # a signed token always has dots; opaque tokens never do
            try:
                principal = read_token(current_app.config["SECRET_KEY"], token)
            except TokenError as exc:
                abort(401, message=str(exc))
        else:
            principal = loader(token, "bearer")
            if principal is None:
                abort(401, message="token invalid")
    else:
        # a service may name its cookie (shared.signin.SignIn.cookie_name): ports share cookies
        cookie = request.cookies.get(current_app.extensions["prize"].get("session_cookie", SESSION_COOKIE))
        principal = loader(cookie, "cookie") if cookie and loader is not None else None
    g._prize_principal = principal
    return principal


def require_role(*roles: str):
    """Decorator: the caller must present a valid token of one of these roles."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                abort(401, message="sign-in required: send Authorization: Bearer <token>")
            if principal.role not in roles:
                abort(403, message=f"this needs the role {' or '.join(roles)}")
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper
    return decorate
