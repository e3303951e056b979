"""What every service's web app has: API docs, health, metrics, JSON errors, auth, logging.

Its JSON errors are in shared.web_errors and its input checks in shared.web_input; the names
callers use from them (json_error, NotBlank, NO_NUL_PATTERN, NOT_BLANK_PATTERN, ...) are
importable from here too.
"""
from __future__ import annotations

import functools
import os
import time
import uuid

from apispec import BasePlugin
from flask import Flask, current_app, g, render_template_string, request
from flask_smorest import Api, abort
from marshmallow import validate
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

from .auth import Principal, TokenError, read_token
from .staff import roles as staff_roles
from .bus import connect
from .config import Settings
from .db import Database
from . import tracing
from .logs import set_correlation
from .metrics import install_state_metrics
from .web_errors import ErrorSchema, _error_message, _install_errors, json_error
from .web_input import BODY_METHODS, NO_NUL_PATTERN, NOT_BLANK_PATTERN, NotBlank, _install_body_checks

__all__ = ["BODY_METHODS", "DOCS_PAGE", "ErrorSchema", "KNOWN_METHODS", "MAX_JSON_BODY", "NO_NUL_PATTERN",
           "NOT_BLANK_PATTERN", "NotBlank", "RulesPlugin", "SESSION_COOKIE", "ServiceApi", "create_service_app",
           "current_principal", "json_error", "require_role"]

MAX_JSON_BODY = 1024 * 1024  # API bodies are small; documents go straight to storage
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

DOCS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} API</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
code{background:#f3f3f3;padding:0 .2em;overflow-wrap:anywhere}.m{display:inline-block;min-width:4.5em;font-weight:bold}
li{margin:.3em 0}</style></head><body><main>
<h1>{{ title }} API <small>v{{ version }}</small></h1>
<p>The machine-readable description is at <a href="openapi.json"><code>/openapi.json</code></a>.
Send <code>Authorization: Bearer &lt;token&gt;</code>; errors come back as JSON with a
<code>message</code> and, for invalid input, field-level <code>errors</code>.</p>
<ul>{% for path, ops in paths %}{% for method, op in ops %}
<li><span class="m">{{ method|upper }}</span> <code>{{ path }}</code> {{ op.get('summary', '') }}</li>
{% endfor %}{% endfor %}</ul></main></body></html>"""


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



def create_service_app(service: str, settings: Settings, db: Database, *, title: str,
                       blueprints=(), test_config: dict | None = None) -> Flask:
    app = Flask(f"services.{service}", instance_relative_config=False)
    tracing.instrument_app(app, service)  # first, so the request's span holds every hook's work
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
    # the outbox, the queues and what the service adds (shared.metrics), read at scrape time
    app.extensions["prize"]["state_metrics"] = install_state_metrics(
        app.extensions["prize"]["metrics"], service, settings, db)
    _install_health(app, settings, db)
    _install_errors(app)

    @app.before_request
    def _correlation():
        given = request.headers.get("X-Correlation-ID", "")
        g.correlation_id = given if 0 < len(given) <= 100 else str(uuid.uuid4())
        set_correlation(g.correlation_id)
        tracing.note(**{"prize.correlation_id": g.correlation_id})

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
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers (prize web sets it): each writes its counts to a file there,
        # and a scrape, whichever worker answers it, adds up every worker's.
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
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


def current_db() -> Database:
    """The running service's Database, as its app.py wired it (for views; operations take it)."""
    return current_app.extensions["prize"]["db"]


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
        staff_loader = current_app.extensions["prize"].get("staff_loader")
        if token.startswith(STAFF_TOKEN_PREFIX) and staff_loader is not None:
            principal = staff_loader(token)  # a staff member's personal token (shared.staff)
            if principal is None:
                abort(401, message="token invalid, expired or revoked")
        elif "." in token or loader is None:
            # a signed token always has dots; opaque tokens never do
            try:
                principal = read_token(current_app.config["SECRET_KEY"], token)
            except TokenError as exc:
                abort(401, message=str(exc))
            if principal.role == "secretariat":  # an operator's token (prize token secretariat)
                principal = operator_principal(principal.subject)
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


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_TOKEN_PREFIX = "staff-"  # shared.staff.store.TOKEN_PREFIX


def operator_principal(name: str) -> Principal:
    """An operator's signed token: everything a staff administrator may do, recorded by name."""
    return Principal(role="secretariat", subject=name, staff_role="admin", actor=f"operator {name}")


def staff_need(need: str):
    """Decorator (under require_role): what a staff member's role must allow for this view, when
    not what its method says (reads need "read", the rest "write"; see shared.staff.roles)."""
    if need not in staff_roles.NEEDS:
        raise ValueError(f"unknown need {need!r}")

    def mark(view):
        view.staff_need = need
        return view
    return mark


def require_role(*roles: str):
    """Decorator: the caller must present a valid token of one of these roles.

    Staff (role "secretariat") also need a staff role that allows the view: reading for GET,
    changing for the other methods, unless the view says otherwise with staff_need."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                abort(401, message="sign-in required: send Authorization: Bearer <token>")
            if principal.role not in roles:
                abort(403, message=f"this needs the role {' or '.join(roles)}")
            if principal.role == "secretariat":
                need = getattr(view, "staff_need", None) or ("read" if request.method in SAFE_METHODS else "write")
                if not staff_roles.can(principal.staff_role, need):
                    abort(403, message=staff_roles.refusal(principal.staff_role, need))
            g.principal = principal
            return view(*args, **kwargs)
        return wrapper
    return decorate
