"""The broker topology, as data. Every process declares all of it at start-up.

kombu's virtual transports (the embedded SQLite broker, SQS) route in the client, so a
publisher must know every binding; on RabbitMQ declaring is idempotent and cheap.
"""
from __future__ import annotations

from dataclasses import dataclass

from amqp.exceptions import PreconditionFailed
from kombu import Exchange, Queue, binding

EXCHANGE = "prize.events"
DEAD_LETTER_EXCHANGE = "prize.dead-letter"

# Which event types each service consumes: one line per subscription.
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "intake": (
        "application.screened",
        "application.advanced",
        "application.eliminated",
        "award.decided",
        "results.released",
        "message.requested",
        "email.failed",
        "address.opted_out",
    ),
    "review": (
        "call.opened",
        "application.submitted",
        "application.withdrawn",
        "staff.changed",
        "staff.token_changed",
        "staff.signed_out",
        "message.requested",
        "applicant.erased",
    ),
    "notify": (
        "application.submitted",
        "signin.requested",
        "juror.invited",
        "review.assigned",
        "review.reminder",
        "application.draft_reminder",
        "application.screened",
        "application.advanced",
        "application.eliminated",
        "award.decided",
        "results.released",
        "ceremony.invited",
        "ceremony.rsvp_received",
        "ceremony.rsvp_reminder",
        "ceremony.changed",
        "applicant.updated",
        "staff.changed",
        "staff.token_changed",
        "staff.signed_out",
        "message.addressed",
        "applicant.erased",
        "outreach.invited",
        "outreach.reminder",
        "outreach.opted_out",
        # the edition's events (issue 17)
        "event.invited",
        "event.rsvp_received",
    ),
}


QUEUE_TYPES = ("classic", "quorum")
# A dead-letter queue has no dead-letter route of its own: past its delivery limit a letter would be
# dropped. RabbitMQ 4 gives every quorum queue a limit of 20 unless told, and each letter that
# `prize dlq list` reads goes back with one delivery more, so the dead-letter queues get a limit no
# one reaches (-1 means "no limit" only from RabbitMQ 4 on).
DEAD_LETTER_DELIVERY_LIMIT = 1_000_000


@dataclass(frozen=True)
class QueueKind:
    """The RabbitMQ queue type of every queue, and for quorum queues the delivery limit: how many
    times RabbitMQ hands a message out again after a consumer died (or lost its connection)
    holding it, before it dead-letters the message itself. Other transports ignore both."""
    type: str = "classic"
    delivery_limit: int | None = None

    def arguments(self, dead_letter_queue: bool = False) -> dict:
        if self.type != "quorum":
            return {}
        limit = DEAD_LETTER_DELIVERY_LIMIT if dead_letter_queue else self.delivery_limit
        args = {"x-queue-type": "quorum"}
        if limit is not None:
            args["x-delivery-limit"] = limit
        if not dead_letter_queue:
            # at-least-once: RabbitMQ keeps a letter until the dead-letter queue confirmed it
            # (the default, at-most-once, may lose it); it needs reject-publish for overflow
            args.update({"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"})
        return args


CLASSIC = QueueKind()


def queue_kind(settings) -> QueueKind:
    """The queues PRIZE_QUEUE_TYPE asks for; a quorum queue's delivery limit is PRIZE_MAX_REDELIVERIES."""
    if settings.queue_type == "quorum":
        return QueueKind("quorum", settings.max_redeliveries)
    return CLASSIC


class TopologyMismatch(Exception):
    """A queue exists on the broker with other arguments than ours (another PRIZE_QUEUE_TYPE or
    PRIZE_MAX_REDELIVERIES). Not an AMQP channel error, so kombu's consumer loop does not retry it
    for ever: the worker stops with this one line (the relay logs it and tries again)."""

    def __init__(self, queue: str, kind: QueueKind, reply: str):
        super().__init__(
            f"configuration error: PRIZE_QUEUE_TYPE is {kind.type} but the queue {queue} exists on the broker "
            f"with other arguments ({reply.split(' - ', 1)[-1]}); to change the queue type (or a quorum queue's "
            "delivery limit, PRIZE_MAX_REDELIVERIES), drain the queues (stop the web processes, let the old "
            "workers empty them), stop the workers and delete the queues (start-up declares them again), "
            "or use a new PRIZE_NAMESPACE")


def _name(namespace: str, name: str) -> str:
    return f"{namespace}.{name}" if namespace else name


def exchange(namespace: str = "") -> Exchange:
    return Exchange(_name(namespace, EXCHANGE), type="topic", durable=True)


def dead_letter_exchange(namespace: str = "") -> Exchange:
    return Exchange(_name(namespace, DEAD_LETTER_EXCHANGE), type="direct", durable=True)


def queue_name(service: str, namespace: str = "") -> str:
    return _name(namespace, f"{service}.events")


def dead_letter_queue_name(service: str, namespace: str = "") -> str:
    return queue_name(service, namespace) + ".dead"


def service_queue(service: str, namespace: str = "", kind: QueueKind = CLASSIC) -> Queue:
    ex = exchange(namespace)
    dlq = dead_letter_queue_name(service, namespace)
    return Queue(
        queue_name(service, namespace),
        bindings=[binding(ex, routing_key=key) for key in SUBSCRIPTIONS[service]],
        durable=True,
        # RabbitMQ dead-letters what a consumer rejects; our consumer also sends poison
        # messages to the dead-letter queue itself, which works on every transport.
        queue_arguments={
            "x-dead-letter-exchange": dead_letter_exchange(namespace).name,
            "x-dead-letter-routing-key": dlq,
            **kind.arguments(),
        },
    )


def dead_letter_queue(service: str, namespace: str = "", kind: QueueKind = CLASSIC) -> Queue:
    name = dead_letter_queue_name(service, namespace)
    return Queue(name, exchange=dead_letter_exchange(namespace), routing_key=name, durable=True,
                 queue_arguments=kind.arguments(dead_letter_queue=True) or None)


def all_queues(namespace: str = "", kind: QueueKind = CLASSIC) -> list[Queue]:
    queues = []
    for service in SUBSCRIPTIONS:
        queues.append(service_queue(service, namespace, kind))
        queues.append(dead_letter_queue(service, namespace, kind))
    return queues


def declare(channel, namespace: str = "", kind: QueueKind = CLASSIC) -> None:
    exchange(namespace)(channel).declare()
    dead_letter_exchange(namespace)(channel).declare()
    for queue in all_queues(namespace, kind):
        try:
            queue(channel).declare()
        except PreconditionFailed as exc:
            raise TopologyMismatch(queue.name, kind, str(exc)) from exc
