"""Traces (OpenTelemetry): one application's submission is one trace, across the three services.

Off unless the standard ``OTEL_*`` variables ask for it (``OTEL_TRACES_EXPORTER=otlp`` or
``console``, or an ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``;
``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off). Off, no span is made and
nothing is stored or sent: each place below asks ``tracer(service)`` and gets None.

On, each service has its own tracer provider (resource ``service.name`` = ``prize-<service>``,
unless ``OTEL_SERVICE_NAME`` names it) exporting by OTLP over HTTP in batches. The spans:

- the HTTP request (Flask's instrumentation), in intake, review and notify;
- ``create <event type>``: the event's outbox row, written in the request's (or handler's)
  transaction; its W3C context (``traceparent``, ``tracestate``) is stored with the row;
- ``publish <event type>``: the relay's publish of that row, a child of the row's span; the
  message carries the publish span's context in its headers;
- ``process <event type>``: a consumer's handler of the event (and what it runs after its
  commit, such as notify's email), a child of the publish span;
- ``smtp send``: notify handing an email to the SMTP server.

Tests and embedding programs give all services one provider with ``install(provider)`` (an
in-memory exporter, say) and take it back with ``uninstall()``; OpenTelemetry's global provider
is never set, so many apps in one process do not fight over it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger("prize.tracing")

_PROPAGATOR = TraceContextTextMapPropagator()
_NOTHING = contextlib.nullcontext({})
_lock = threading.Lock()
_installed = None  # a provider given by install(): every service's
_providers: dict[str, object] = {}  # each service's provider from the environment, or None (off)
_tracers: dict[str, Tracer | None] = {}
# Requests that are not worth a trace: probes, the metrics scrape, static files.
EXCLUDED_URLS = r"/healthz$,/readyz$,/metrics$,/static/"


def install(provider) -> None:
    """Make ``provider`` every service's (tests: an in-memory exporter); replaces the environment's."""
    global _installed
    with _lock:
        _installed = provider
        _tracers.clear()


def uninstall() -> None:
    """Back to the environment's choice (read again at the next use)."""
    global _installed
    with _lock:
        _installed = None
        _providers.clear()
        _tracers.clear()


def wanted(environ=None) -> bool:
    """Whether the ``OTEL_*`` variables ask for traces."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return bool(exporter or env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def _exporter(name: str):
    if name in ("", "otlp"):
        if os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf").startswith("grpc"):
            log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=grpc: only http/protobuf is installed; sending that")
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        return OTLPSpanExporter()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
        return ConsoleSpanExporter()
    log.warning("OTEL_TRACES_EXPORTER=%s is not one we know (otlp, console, none): traces are off", name)
    return None


def provider_from_env(service: str):
    """A tracer provider for ``service`` as the ``OTEL_*`` variables describe it, or None (off)."""
    if not wanted():
        return None
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower().split(",")[0])
    if exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    attributes = {"service.namespace": "prize", "prize.service": service}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = f"prize-{service}"
    provider = TracerProvider(resource=Resource.create(attributes))  # OTEL_TRACES_SAMPLER applies
    provider.add_span_processor(BatchSpanProcessor(exporter))
    log.info("traces of %s exported by %s", service, type(exporter).__name__)
    return provider


def provider(service: str):
    """The provider of ``service``'s spans, or None when traces are off."""
    if _installed is not None:
        return _installed
    with _lock:
        if service not in _providers:
            _providers[service] = provider_from_env(service)
        return _providers[service]


def setup(service: str) -> bool:
    """Read the ``OTEL_*`` variables for ``service`` (once; logged); True if its traces are on."""
    return provider(service) is not None


def tracer(service: str) -> Tracer | None:
    """``service``'s tracer, or None when traces are off (the fast path: one dict lookup)."""
    try:
        return _tracers[service]
    except KeyError:
        p = provider(service)
        found = p.get_tracer(f"prize.{service}") if p is not None else None
        _tracers[service] = found
        return found


def instrument_app(app, service: str) -> bool:
    """Give each HTTP request of ``app`` a span (Flask's instrumentation), if traces are on."""
    if not setup(service):
        return False
    p = provider(service)
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    FlaskInstrumentor.instrument_app(app, tracer_provider=p, excluded_urls=EXCLUDED_URLS, enable_commenter=False)
    return True


def note(**attributes) -> None:
    """Add attributes to the current span, if there is one being recorded."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)


# The W3C trace context, as stored with an outbox row and sent in a message's headers.

def carrier(headers) -> dict | None:
    """The trace context in a message's headers (``traceparent``, ``tracestate``), or None."""
    if not headers or "traceparent" not in headers:
        return None
    found = {"traceparent": str(headers["traceparent"])}
    if headers.get("tracestate"):
        found["tracestate"] = str(headers["tracestate"])
    return found


def _parent(stored: dict | None):
    return _PROPAGATOR.extract(stored) if stored else None


def _context_of(span) -> dict:
    headers: dict = {}
    _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
    return headers


def broker_attributes(url: str, destination: str) -> dict:
    """Semantic-convention attributes of a broker and a destination (exchange or queue)."""
    scheme = url.split(":", 1)[0].lower()
    system = {"amqp": "rabbitmq", "amqps": "rabbitmq", "pyamqp": "rabbitmq", "sqs": "aws_sqs"}.get(scheme, scheme)
    return {"messaging.system": system, "messaging.destination.name": destination}


def creating(event):
    """Around the writing of ``event``'s outbox row: a ``create`` span, child of the current one,
    and as the value the row's trace columns (``traceparent``, ``tracestate``); {} when off."""
    t = tracer(event.producer)
    return _NOTHING if t is None else _creating(t, event)


@contextlib.contextmanager
def _creating(t: Tracer, event):
    with t.start_as_current_span(f"create {event.type}", kind=SpanKind.PRODUCER, attributes={
            "messaging.operation.type": "create", "messaging.operation.name": "create",
            "messaging.destination.name": event.routing_key, "messaging.message.id": str(event.id),
            "messaging.message.conversation_id": event.correlation_id}) as span:
        stored = _context_of(span)
        yield {"traceparent": stored.get("traceparent"), "tracestate": stored.get("tracestate")}


class Publishing:
    """The relay's ``publish`` spans of one batch: one per row, each a child of its row's stored
    context (a root where the row has none); ``headers(row)`` is what its message carries."""

    def __init__(self, service: str, attributes: dict):
        self.tracer = tracer(service)
        self.attributes = attributes
        self.rabbitmq = attributes.get("messaging.system") == "rabbitmq"
        self.spans: list = []

    def headers(self, row) -> dict | None:
        if self.tracer is None:
            return None
        stored = {"traceparent": row.traceparent, "tracestate": row.tracestate} if row.traceparent else None
        if stored and not stored["tracestate"]:
            del stored["tracestate"]
        attributes = {**self.attributes, "messaging.operation.type": "send", "messaging.operation.name": "publish",
                      "messaging.message.id": row.event_id, "messaging.message.conversation_id": row.correlation_id}
        if self.rabbitmq:
            attributes["messaging.rabbitmq.destination.routing_key"] = row.routing_key
        span = self.tracer.start_span(f"publish {row.routing_key}", context=_parent(stored), kind=SpanKind.PRODUCER,
                                      attributes=attributes)
        self.spans.append(span)
        return _context_of(span)

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        for span in self.spans:
            if exc is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{kind.__name__}: {exc}"))
            span.end()
        return False


class Processing:
    """A consumer's ``process`` spans: one per event, a child of the context its message carried;
    kept open from the handler to the end of what it runs after the commit (``resume``)."""

    def __init__(self, service: str, attributes: dict | None = None):
        self.tracer = tracer(service)
        self.service = service
        self.attributes = attributes or {}
        self.spans: dict = {}

    def handling(self, event):
        if self.tracer is None:
            return _NOTHING
        span = self.tracer.start_span(f"process {event.type}", context=_parent(event.trace), kind=SpanKind.CONSUMER,
                                      attributes={**self.attributes, "messaging.operation.type": "process",
                                                  "messaging.operation.name": "process",
                                                  "messaging.consumer.group.name": self.service,
                                                  "messaging.message.id": str(event.id),
                                                  "messaging.message.conversation_id": event.correlation_id})
        self.spans[str(event.id)] = span
        return trace.use_span(span, end_on_exit=False)

    def resume(self, event):
        span = self.spans.get(str(event.id))
        return _NOTHING if span is None else trace.use_span(span, end_on_exit=False)

    def fail(self, exc: BaseException) -> None:
        """The batch's transaction did not commit: none of its events was handled."""
        for span in self.spans.values():
            span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))

    def end(self) -> None:
        for span in self.spans.values():
            span.end()
        self.spans.clear()


def client_span(service: str, name: str, **attributes):
    """A client call's span (``smtp send``) as a context manager; nothing when traces are off."""
    t = tracer(service)
    if t is None:
        return _NOTHING
    return t.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes)
