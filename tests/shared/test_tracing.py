"""Traces (shared/tracing.py): one application's submission is one trace, from intake's HTTP
request through the outbox row, the relay's publish and review's and notify's handlers to the
SMTP send; read from the SDK's in-memory exporter. Off (no OTEL_* variables), nothing is made."""
from __future__ import annotations

import http.server
import threading
import uuid

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import select

from services.intake.models import outbox as intake_outbox
from services.review.models import outbox as review_outbox
from shared import tracing
from shared.config import load_settings
from shared.outbox import record
from tests.conftest import embedded_env, env_for, real_env
from tests.notify.test_notify_decisions import submitted
from tests.support.stack import Stack, migrate, open_call, register, submit_application, unpublished, wait_until

OTEL_VARIABLES = ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_PROTOCOL")


@pytest.fixture
def no_otel(monkeypatch):
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    tracing.uninstall()
    yield
    tracing.uninstall()


@pytest.fixture
def spans(no_otel):
    """Every service's spans into memory, as each one ends."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.uninstall()
    provider.shutdown()


def _one(found: list, what: str):
    assert len(found) == 1, f"{what}: {[s.name for s in found]}"
    return found[0]


def _named(spans, name: str, service: str | None = None) -> list:
    return [s for s in spans if s.name == name
            and (service is None or s.instrumentation_scope.name == f"prize.{service}")]


def _child_of(span, parent) -> bool:
    return (span.parent is not None and span.parent.span_id == parent.context.span_id
            and span.context.trace_id == parent.context.trace_id)


@pytest.mark.parametrize("kind", ["embedded", pytest.param("real", marks=[pytest.mark.rabbitmq, pytest.mark.postgres])])
def test_a_submission_is_one_trace_from_the_request_to_the_smtp_send(request, kind, tmp_path, spans, smtp_server):
    """On the embedded stack (SQLite, kombu's producer) and the real one (PostgreSQL's one-statement
    guarded write, RabbitMQ's confirmed publish straight to the channel)."""
    stack = Stack(load_settings(env_for(request, tmp_path / "var", kind, PRIZE_MAIL_URL=smtp_server.url)))
    stack.start_workers()
    try:
        intake = stack.clients["intake"]
        call = open_call(intake, stack.secretariat_token())
        _, token = register(intake, contact_email="mei.lin@kcg.example.tw")
        application = submit_application(intake, token, call["id"])
        http = _one([s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER
                     and s.name == "POST /api/applications/<uuid:application_id>/submit"], "the submit request")
        trace_id = http.context.trace_id

        def in_trace():
            return [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
        # a process span ends after what its handler runs after the commit: the email
        assert wait_until(lambda: _named(in_trace(), "process application.submitted", "notify")
                          and _named(in_trace(), "process application.submitted", "review"))
        chain = in_trace()
        create = _one(_named(chain, "create application.submitted", "intake"), "the outbox row")
        publish = _one(_named(chain, "publish application.submitted", "intake"), "the relay's publish")
        review = _one(_named(chain, "process application.submitted", "review"), "review's handler")
        notify = _one(_named(chain, "process application.submitted", "notify"), "notify's handler")
        smtp = _one(_named(chain, "smtp send", "notify"), "the acknowledgement's SMTP send")
        assert _child_of(create, http) and _child_of(publish, create)
        assert _child_of(review, publish) and _child_of(notify, publish)
        assert _child_of(smtp, notify)
        assert (create.kind, publish.kind, review.kind, smtp.kind) == (
            SpanKind.PRODUCER, SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.CLIENT)
        assert publish.attributes["messaging.message.id"] == review.attributes["messaging.message.id"]
        assert publish.attributes["messaging.system"] == {"embedded": "sqlite", "real": "rabbitmq"}[kind]
        assert publish.attributes["messaging.destination.name"].endswith("prize.events")
        assert review.attributes["messaging.destination.name"].endswith("review.events")  # after the namespace
        assert notify.attributes["messaging.consumer.group.name"] == "notify"
        assert smtp.attributes["server.port"] == smtp_server.port
        assert http.attributes["prize.correlation_id"]  # the request's, as its log lines show it
        # the application's id follows it through every service (the events' correlation id)
        assert {s.attributes["messaging.message.conversation_id"] for s in (create, publish, review, notify)} == {
            application["id"]}
        assert all(s.status.status_code is not StatusCode.ERROR for s in chain)
        # the row keeps the context of the span that wrote it
        db = stack.apps["intake"].extensions["prize"]["db"]
        with db.engine.connect() as conn:
            stored = conn.execute(select(intake_outbox.c.traceparent).where(
                intake_outbox.c.type == "application.submitted")).scalar_one()
        assert stored.startswith(f"00-{trace_id:032x}-{create.context.span_id:016x}-")  # then the flags
        assert application["status"] == "submitted"
        assert [m for m in smtp_server.messages if m["to"] == ["mei.lin@kcg.example.tw"]
                and application["reference"] in str(m["message"]["Subject"])]
    finally:
        stack.stop()


@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_a_batch_of_events_keeps_each_ones_trace(tmp_path, spans, smtp_server, pg_database_urls, rabbitmq_url,
                                                 namespace, monkeypatch):
    """Messages waiting when notify's worker starts are handled in one transaction (the batch path
    of EventConsumer.flush): each still has its own process span, under its own publish span."""
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url))
    stack = Stack(settings, services=("review", "notify")).start_workers(["review"])
    batches = []
    try:
        db = stack.apps["review"].extensions["prize"]["db"]
        with tracing.tracer("review").start_as_current_span("five submissions") as root, \
                db.session() as s, s.begin():
            for n in range(5):
                record(s, review_outbox, submitted(f"SSCP-2026-00000{n}", "Buses", f"officer{n}@city.example", "en")[1])
        assert wait_until(lambda: unpublished(db, review_outbox) == 0)
        from services.notify import app as notify_app
        real_create_worker = notify_app.create_worker

        def create_worker(settings):
            worker = real_create_worker(settings=settings)
            many = worker.dispatcher.many
            worker.dispatcher.many = lambda events: (batches.append(len(events)), many(events))[1]
            return worker
        monkeypatch.setattr(notify_app, "create_worker", create_worker)
        stack.start_workers(["notify"])
        assert wait_until(lambda: len(_named(spans.get_finished_spans(), "process application.submitted",
                                             "notify")) == 5)
    finally:
        stack.stop()
    assert sum(batches) == 5 and max(batches) > 1, batches  # the batch path, not one by one
    finished = spans.get_finished_spans()
    for n, create in enumerate(sorted(_named(finished, "create application.submitted"),
                                      key=lambda s: s.attributes["messaging.message.id"])):
        assert _child_of(create, root)
        publish = _one([s for s in _named(finished, "publish application.submitted") if _child_of(s, create)], "publish")
        notify = _one([s for s in _named(finished, "process application.submitted", "notify")
                       if _child_of(s, publish)], "notify's handler")
        _one([s for s in _named(finished, "smtp send") if _child_of(s, notify)], "its email")
        assert notify.attributes["messaging.system"] == "rabbitmq"
        assert notify.attributes["messaging.message.id"] == create.attributes["messaging.message.id"]


def test_off_without_otel_variables_nothing_is_made_and_the_outbox_still_works(tmp_path, no_otel):
    # Were anything to fall back on OpenTelemetry's global provider, it would land here.
    leaked = InMemorySpanExporter()
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        globally = TracerProvider()
        globally.add_span_processor(SimpleSpanProcessor(leaked))
        trace.set_tracer_provider(globally)
    stack = Stack(load_settings(embedded_env(tmp_path / "var")), services=("intake", "notify")).start_workers()
    try:
        intake = stack.clients["intake"]
        register(intake, contact_email="mei.lin@kcg.example.tw")  # a sign-in link, then a code: emails
        db = stack.apps["intake"].extensions["prize"]["db"]
        assert wait_until(lambda: unpublished(db, intake_outbox) == 0)
        with db.engine.connect() as conn:
            rows = conn.execute(select(intake_outbox.c.type, intake_outbox.c.traceparent,
                                       intake_outbox.c.tracestate)).all()
        assert {r.type for r in rows} >= {"applicant.registered", "signin.requested"}
        assert all(r.traceparent is None and r.tracestate is None for r in rows)
        notify = stack.workers["notify"]
        assert wait_until(lambda: notify.consumer.handled >= 2)
        assert tracing.tracer("intake") is None and tracing.tracer("notify") is None
        assert not getattr(stack.apps["intake"], "_is_instrumented_by_opentelemetry", False)
    finally:
        stack.stop()
    assert leaked.get_finished_spans() == ()


def test_the_variables_turn_traces_on_and_off(no_otel):
    assert not tracing.wanted({})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})
    assert tracing.provider_from_env("intake") is None


class _Collector(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        self.received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_with_an_otlp_endpoint_the_spans_go_there_by_otlp_over_http(tmp_path, no_otel, monkeypatch):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from services.intake.app import create_app
    _Collector.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
    try:
        settings = load_settings(embedded_env(tmp_path / "var"))
        migrate(settings, ("intake",))
        app = create_app(settings=settings, test_config={"TESTING": True})
        marker = str(uuid.uuid4())
        assert app.test_client().get("/api/calls", headers={"X-Correlation-ID": marker}).status_code == 200
        assert app.test_client().get("/healthz").status_code == 200  # probes: no span
        assert tracing.provider("intake").force_flush(10_000)
        app.extensions["prize"]["db"].dispose()
    finally:
        server.shutdown()
    assert {path for path, _ in _Collector.received} == {"/v1/traces"}
    spans = []
    for _, body in _Collector.received:
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
            for scope in resource.scope_spans:
                spans += [(attributes["service.name"], s.name,
                           {a.key: a.value.string_value for a in s.attributes}) for s in scope.spans]
    assert [(service, name) for service, name, _ in spans] == [("prize-intake", "GET /api/calls")]
    assert spans[0][2]["prize.correlation_id"] == marker


class _Delivered:
    """What kombu hands the consumer, as far as EventConsumer reads it."""

    def __init__(self, headers: dict):
        self.headers, self.delivery_info, self.acked = headers, {"routing_key": "application.withdrawn"}, False

    def ack(self):
        self.acked = True


def test_a_batch_that_fails_marks_its_spans_and_each_event_is_traced_again_alone(tmp_path, spans, embedded_settings):
    """EventConsumer.flush: the batch's transaction fails on its third event; the three are then
    handled one by one, each in a process span of its own under the context its message carried;
    what a handler writes and runs after its commit is in that span."""
    from sqlalchemy import MetaData
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    from shared.bus import EventConsumer
    from shared.db import Database
    from shared.events import make_event
    from shared.inbox import InboxDispatcher, define_inbox
    from shared.outbox import define_outbox
    metadata = MetaData()
    inbox, outbox = define_inbox(metadata), define_outbox(metadata)
    db = Database(f"sqlite:///{tmp_path / 'review.sqlite'}", "review")
    metadata.create_all(db.engine)

    def withdrawn(reference):
        return make_event("application.withdrawn", {"application_id": str(uuid.uuid4()), "reference": reference,
                                                    "withdrawn_at": "2026-06-01T00:00:00+00:00"}, producer="review")

    def handler(uow, event):
        if event.data["reference"].endswith("2"):
            raise RuntimeError("the third is bad")
        uow.emit(withdrawn(event.data["reference"] + "-copy"))
        uow.after_commit(after_commit)

    def after_commit():
        with tracing.client_span("review", "after commit"):
            pass

    consumer = EventConsumer(embedded_settings.broker_url, "review",
                             InboxDispatcher(db, inbox, outbox, "review", {"application.withdrawn": handler}))
    parents, delivered = [], []
    for n in range(3):
        with tracing.tracer("intake").start_as_current_span(f"producer {n}") as parent:
            headers: dict = {}
            TraceContextTextMapPropagator().inject(headers)
        parents.append(parent)
        delivered.append(_Delivered(headers))
        consumer.on_message(withdrawn(f"SSCP-2026-00000{n}").to_message(), delivered[-1])
    assert len(consumer._pending) == 3
    consumer.flush()
    consumer.requeue.close()
    finished = spans.get_finished_spans()
    for n, parent in enumerate(parents):
        processed = [s for s in _named(finished, "process application.withdrawn") if _child_of(s, parent)]
        batch, alone = processed  # in the batch (rolled back), then on its own
        assert batch.status.status_code is StatusCode.ERROR
        if n == 2:
            assert alone.status.status_code is StatusCode.ERROR
            assert [e.name for e in alone.events] == ["exception"]
            continue
        assert alone.status.status_code is not StatusCode.ERROR and delivered[n].acked
        _one([s for s in _named(finished, "after commit") if _child_of(s, alone)], "the after-commit step")
        create = _one([s for s in _named(finished, "create application.withdrawn") if _child_of(s, alone)], "row")
        with db.engine.connect() as conn:
            stored = conn.execute(select(outbox.c.traceparent).where(
                outbox.c.event_id == create.attributes["messaging.message.id"])).scalar_one()
        assert stored.startswith(f"00-{create.context.trace_id:032x}-{create.context.span_id:016x}-")
    assert delivered[2].acked  # sent back to the queue's tail for another attempt
    db.dispose()
