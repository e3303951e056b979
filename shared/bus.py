"""The message bus: a publisher with publisher confirms and a consumer with manual acks.

Both work on every kombu transport we support (RabbitMQ, SQS, the embedded SQLite broker).
"""
from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from typing import Callable, Iterable

import amqp
from kombu import Connection, Producer
from kombu.mixins import ConsumerMixin
from marshmallow import ValidationError

from . import sqlite_transport  # noqa: F401  (registers the sqlite:// transport)
from . import sqs, topology, tracing
from .events import Event, parse_message
from .logs import correlation

log = logging.getLogger("prize.bus")

ATTEMPTS_HEADER = "x-prize-attempts"
# The content type of a message that could not be decoded, kept so a replay can resend it as it came.
CONTENT_TYPE_HEADER = "x-prize-content-type"


def broker_url(url: str) -> str:
    # The embedded default used to be written sqla+sqlite://; both mean our SQLite transport.
    return url.replace("sqla+sqlite://", "sqlite://", 1) if url.startswith("sqla+sqlite://") else url


def connect(url: str, **kwargs) -> Connection:
    """``region`` and ``wait_time_seconds`` override what an sqs:// URL says (see shared.sqs);
    other brokers ignore them."""
    url = broker_url(url)
    options = {}
    region, wait = kwargs.pop("region", None), kwargs.pop("wait_time_seconds", None)
    if sqs.is_sqs(url):
        url, options = sqs.transport_options(url, region=region, wait_time_seconds=wait)
    return Connection(url, connect_timeout=5, transport_options=options, **kwargs)


class ConfirmTimeout(Exception):
    pass


class Publisher:
    """Publishes batches; returns only when the broker has confirmed every message.

    On RabbitMQ the channel is in confirm mode and a whole batch is published before
    waiting for the acks (one round trip per batch, not per message). Any nack, timeout or
    connection error raises, and the caller (the outbox relay) publishes the batch again.
    """

    def __init__(self, url: str, namespace: str = "", *, confirm_timeout: float = 10.0,
                 kind: topology.QueueKind = topology.CLASSIC):
        self.url = url
        self.namespace = namespace
        self.kind = kind  # the queues' type, as every process declares them (PRIZE_QUEUE_TYPE)
        self.confirm_timeout = confirm_timeout
        self._conn: Connection | None = None
        self._producer: Producer | None = None
        self._confirms = False
        self._sent = 0
        self._acked = 0
        self._nacked = False

    def _on_ack(self, tag, multiple):
        self._acked = max(self._acked, tag)

    def _on_nack(self, tag, multiple):
        self._nacked = True

    def _ensure(self) -> Producer:
        if self._producer is not None:
            return self._producer
        conn = connect(self.url)
        conn.connect()  # fail fast: the relay has its own backoff, and the rows wait
        channel = conn.channel()
        topology.declare(channel, self.namespace, self.kind)
        self._confirms = conn.transport.driver_type == "amqp"
        if self._confirms:
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            self._sent = self._acked = 0
            self._nacked = False
        self._conn = conn
        self._channel = channel
        self._producer = Producer(channel, exchange=topology.exchange(self.namespace))
        # kombu treats exchange="" as "the producer's own exchange", so reaching a queue by
        # name through the default exchange needs a producer whose own exchange is that one.
        self._direct = Producer(channel)
        return self._producer

    def publish_many(self, messages: Iterable[tuple]) -> int:
        """Publish (routing_key, body, correlation_id[, message_id[, headers]]); raise unless all
        confirmed.

        ``body`` is a dict, or a str that is already the JSON to send; ``headers`` (or None) the
        message's headers (the outbox relay's trace context).
        """
        producer = self._ensure()
        count = 0
        exchange = producer.exchange.name
        for item in messages:
            routing_key, body, correlation_id = item[:3]
            message_id = item[3] if len(item) > 3 else (body.get("id") if isinstance(body, dict) else None)
            headers = item[4] if len(item) > 4 else None
            if isinstance(body, dict):
                body = json.dumps(body)
            if self._confirms:
                # Straight to the AMQP channel: kombu's Producer adds about as much CPU per
                # message as the broker round trip we saved by batching the confirms.
                self._channel.basic_publish(
                    amqp.Message(body, content_type="application/json", content_encoding="utf-8",
                                 delivery_mode=2, message_id=message_id, correlation_id=correlation_id,
                                 application_headers=headers),
                    exchange=exchange, routing_key=routing_key)
            else:
                producer.publish(body, routing_key=routing_key, content_type="application/json",
                                 content_encoding="utf-8", delivery_mode=2, message_id=message_id,
                                 correlation_id=correlation_id, headers=headers, retry=False)
            count += 1
        if self._confirms and count:
            self._sent += count
            deadline = time.monotonic() + self.confirm_timeout
            while self._acked < self._sent and not self._nacked:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.reset()
                    raise ConfirmTimeout(f"broker confirmed {self._acked} of {self._sent} messages")
                try:
                    self._conn.drain_events(timeout=left)
                except socket.timeout:
                    continue
            if self._nacked:
                self.reset()
                raise ConfirmTimeout("broker refused (nacked) a message")
        return count

    def publish(self, event: Event) -> None:
        self.publish_many([(event.routing_key, event.to_message(), event.correlation_id)])

    def send_to_queue(self, queue: str, body: dict | str, headers: dict, content_type: str | None = None) -> None:
        """Publish straight to one queue through the default exchange (retries, dead letters).

        With ``content_type``, ``body`` is text sent as it is, under that type: a replayed letter
        that never decoded goes back as it came, to fail (or, once fixed, pass) the same way."""
        self._ensure()
        if content_type:
            self._direct.publish(body, routing_key=queue, content_type=content_type, content_encoding="utf-8",
                                 delivery_mode=2, headers=headers, retry=False)
        else:
            self._direct.publish(body, routing_key=queue, serializer="json",
                                 delivery_mode=2, headers=headers, retry=False)
        if self._confirms:
            self._sent += 1
            deadline = time.monotonic() + self.confirm_timeout
            while self._acked < self._sent:
                if time.monotonic() > deadline or self._nacked:
                    self.reset()
                    raise ConfirmTimeout("broker did not confirm a requeued message")
                try:
                    self._conn.drain_events(timeout=1)
                except socket.timeout:
                    pass

    def reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:
                pass
        self._conn = None
        self._producer = None
        self._direct = None

    close = reset


Dispatcher = Callable[[Event], None]


class EventConsumer(ConsumerMixin):
    """Consumes one service's queue; acks only after the handler's transaction committed.

    Messages that arrive together are handled together, in one database transaction (one
    commit per batch instead of one per message); a batch that fails is handled again one
    message at a time. A handler that raises is tried again (the message goes back to the tail of the queue with
    an attempt counter, so the next message flows) and after ``max_attempts`` it is moved to
    the service's dead-letter queue with the error. A message that does not parse is dead-
    lettered at once: retrying it cannot help.
    """

    def __init__(self, url: str, service: str, dispatch: Dispatcher, *, namespace: str = "",
                 max_attempts: int = 5, prefetch_count: int = 50, batch_size: int = 50,
                 batch_wait: float = 0.002, kind: topology.QueueKind = topology.CLASSIC):
        self.connection = connect(url)
        self.service = service
        self.dispatch = dispatch
        self.namespace = namespace
        self.kind = kind
        self.max_attempts = max_attempts
        self.prefetch_count = prefetch_count
        self.queue = topology.service_queue(service, namespace, kind)
        self.dead_letter_queue = topology.dead_letter_queue_name(service, namespace)
        self.requeue = Publisher(url, namespace, kind=kind)
        self.handled = 0
        self.dead_lettered = 0
        # Batches need a dispatcher that can handle several events in one transaction.
        self.batch_size = min(batch_size, prefetch_count) if hasattr(dispatch, "many") else 1
        self.batch_wait = batch_wait
        self._pending: list = []
        self._flush_each_receive = sqs.is_sqs(url)

    def get_consumers(self, Consumer, channel):
        topology.declare(channel, self.namespace, self.kind)
        return [Consumer(queues=[self.queue], callbacks=[self.on_message], accept=["json"],
                         prefetch_count=self.prefetch_count, on_decode_error=self.on_decode_error)]

    def on_decode_error(self, message, exc) -> None:
        raw = message.body
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        self._dead_letter({"undecodable": body}, message, f"cannot decode: {exc}", 1,
                          {CONTENT_TYPE_HEADER: message.content_type or ""})

    def on_message(self, body, message) -> None:
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        try:
            event = parse_message(body, tracing.carrier(message.headers))
        except ValidationError as exc:
            self._dead_letter(body, message, f"invalid message: {exc.messages}", attempts)
            return
        if self.batch_size > 1 and attempts == 1:
            self._pending.append((event, body, message, attempts))
            if len(self._pending) >= self.batch_size:
                self.flush()
        else:
            self._handle_one(event, body, message, attempts)

    def flush(self) -> None:
        """Handle the messages held so far: in one transaction, or one by one if that fails."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        if len(batch) > 1:
            try:
                self.dispatch.many([item[0] for item in batch])
            except Exception as exc:
                log.warning("a batch of %d failed (%s: %s); handling them one by one",
                            len(batch), type(exc).__name__, exc)
            else:
                for _event, _body, message, _attempts in batch:
                    message.ack()
                self.handled += len(batch)
                return
        for item in batch:
            self._handle_one(*item)

    def _handle_one(self, event, body, message, attempts: int) -> None:
        with correlation(event.correlation_id):
            try:
                self.dispatch(event)
            except Exception as exc:
                if attempts >= self.max_attempts:
                    log.exception("handler failed for %s %s, attempt %d: dead-lettering",
                                  event.type, event.id, attempts)
                    self._dead_letter(body, message, f"{type(exc).__name__}: {exc}", attempts)
                else:
                    log.warning("handler failed for %s %s, attempt %d of %d: %s",
                                event.type, event.id, attempts, self.max_attempts, exc)
                    self._retry(body, message, attempts)
                return
            self.handled += 1
            message.ack()

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """kombu's loop, plus: when no message arrives for ``batch_wait``, handle what we hold."""
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            while not self.should_stop:
                self.on_iteration()
                try:
                    conn.drain_events(timeout=self.batch_wait if self._pending else safety_interval)
                    if self._flush_each_receive:
                        self.flush()  # SQS: one receive (up to 10) is the batch; another would long-poll
                except socket.timeout:
                    if self._pending:
                        self.flush()
                    else:
                        conn.heartbeat_check()
                except OSError:
                    self._pending = []  # never acked: the broker delivers them again
                    if not self.should_stop:
                        raise
                yield
            self.flush()

    def _retry(self, body, message, attempts: int) -> None:
        headers = dict(message.headers or {})
        headers[ATTEMPTS_HEADER] = attempts
        headers.setdefault("x-prize-routing-key", message.delivery_info.get("routing_key"))
        # Publish the copy first: a crash between the two leaves a duplicate, never a loss.
        self.requeue.send_to_queue(self.queue.name, body, headers)
        message.ack()

    def _dead_letter(self, body, message, error: str, attempts: int, extra: dict | None = None) -> None:
        headers = dict(message.headers or {})
        headers.update(extra or {})
        headers.update({
            ATTEMPTS_HEADER: attempts,
            "x-prize-error": error[:2000],
            "x-prize-queue": self.queue.name,
            "x-prize-routing-key": headers.get("x-prize-routing-key")
            or message.delivery_info.get("routing_key"),
            "x-prize-dead-at": time.time(),
        })
        self.requeue.send_to_queue(self.dead_letter_queue, body, headers)
        message.ack()
        self.dead_lettered += 1

    @contextlib.contextmanager
    def establish_connection(self):
        # kombu's default backoff grows to 30 s between tries; a broker that comes back
        # should see its consumers within a few seconds.
        with self.create_connection() as conn:
            conn.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                   interval_start=0.5, interval_step=0.5, interval_max=3)
            yield conn

    def on_connection_error(self, exc, interval):
        log.warning("broker connection lost, reconnecting in %ss: %s", interval, exc)
