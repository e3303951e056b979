"""The broker topology, as data. Every process declares all of it at start-up.

kombu's virtual transports (the embedded SQLite broker, SQS) route in the client, so a
publisher must know every binding; on RabbitMQ declaring is idempotent and cheap.
"""
from __future__ import annotations

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
    ),
}


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


def service_queue(service: str, namespace: str = "") -> Queue:
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
        },
    )


def dead_letter_queue(service: str, namespace: str = "") -> Queue:
    name = dead_letter_queue_name(service, namespace)
    return Queue(name, exchange=dead_letter_exchange(namespace), routing_key=name, durable=True)


def all_queues(namespace: str = "") -> list[Queue]:
    queues = []
    for service in SUBSCRIPTIONS:
        queues.append(service_queue(service, namespace))
        queues.append(dead_letter_queue(service, namespace))
    return queues


def declare(channel, namespace: str = "") -> None:
    exchange(namespace)(channel).declare()
    dead_letter_exchange(namespace)(channel).declare()
    for queue in all_queues(namespace):
        queue(channel).declare()
