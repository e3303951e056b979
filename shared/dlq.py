"""Dead letters: look at them, and send them back to their queue once the cause is fixed."""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from . import topology
from .bus import ATTEMPTS_HEADER, CONTENT_TYPE_HEADER, Publisher, connect

# Which replay run last sent a letter back. The worker copies headers onto its retries and onto
# the dead letter, so a letter that fails again carries it back into the dead-letter queue and
# the same run can tell its own replays from the letters it has not seen yet.
RUN_HEADER = "x-prize-replayed"
REPLAYS_HEADER = "x-prize-replays"
# On SQS: a look ends one long poll of this many seconds after the last letter, and the letters
# looked at but left (kombu gives them back as the connection closes) are hidden that long.
SQS_WAIT = 1
BROKER_MOVED = "moved here by the broker: received too many times without an acknowledgement (a worker died on it?)"


@dataclass
class DeadLetter:
    event_id: str | None
    type: str | None
    error: str
    attempts: int
    routing_key: str | None
    body: object
    replays: int = 0

    @property
    def undecodable(self) -> bool:
        """The worker could not even decode it: ``body`` holds the text as it arrived."""
        return (isinstance(self.body, dict) and set(self.body) == {"undecodable"}
                and self.error.startswith("cannot decode"))

    def summary(self) -> str:
        """The error in one short line fit for a terminal or a ticket: see ``short_error``."""
        return short_error(self.error)


@dataclass
class Replay:
    found: int  # letters in the dead-letter queue when the run started
    sent_back: int
    again: int  # letters this run sent back that had already failed again before it finished
    left: int  # letters in the dead-letter queue when the run finished


_EMAIL = re.compile(r"[^\s@'\"(),;:<>\[\]]+@[^\s@'\"(),;:<>\[\]]+")
# The parts of SQLAlchemy's and the drivers' messages that quote the statement or its values.
_SQL_PARTS = re.compile(r"\[SQL:.*?\]|\[parameters:.*?\]|\(Background on this error at:[^)]*\)", re.S)
_KEY_VALUES = re.compile(r"(Key \([^)]*\))=\([^)]*\)")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]+")


def short_error(error: str, width: int = 160) -> str:
    """The error's class and the first line of its message, with no personal data: a handler's
    error may quote the failing SQL with its parameters or name a person's address, and a list
    of dead letters ends up in terminals, tickets and chat."""
    text = _SQL_PARTS.sub(" ", error or "")
    first = next((line for line in text.splitlines() if line.strip()), "")
    first = _KEY_VALUES.sub(r"\1=(…)", first)
    first = _EMAIL.sub("<address>", first)
    first = " ".join(_CONTROLS.sub(" ", first).split())
    return first if len(first) <= width else first[:width - 1] + "…"


def _as_dead_letter(message) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
    return DeadLetter(
        event_id=body.get("id") if isinstance(body, dict) else None,
        type=body.get("type") if isinstance(body, dict) else None,
        # No error of ours: the broker moved it here itself (SQS's redrive policy, a quorum queue's
        # delivery limit) after it was received that many times and never acknowledged.
        error=str(headers.get("x-prize-error", "")) or _broker_reason(headers),
        attempts=int(headers.get(ATTEMPTS_HEADER, 0) or 0),
        routing_key=headers.get("x-prize-routing-key") or _first_death(headers).get("routing-keys", [None])[0],
        body=body,
        replays=int(headers.get(REPLAYS_HEADER, 0) or 0),
    )


def _first_death(headers: dict) -> dict:
    deaths = headers.get("x-death") or [{}]
    return deaths[0] if isinstance(deaths[0], dict) else {}


def _broker_reason(headers: dict) -> str:
    """Why RabbitMQ itself dead-lettered a letter: a quorum queue's delivery limit (the consumer
    died or lost its connection that many times holding it), or a message refused outright."""
    reason = headers.get("x-first-death-reason") or _first_death(headers).get("reason")
    if not reason:
        return BROKER_MOVED
    queue = headers.get("x-first-death-queue") or _first_death(headers).get("queue") or "its queue"
    return f"dead-lettered by RabbitMQ: {reason} in {queue}"


def _depth(channel, queue_name: str) -> int:
    return int(channel.queue_declare(queue=queue_name, passive=True).message_count or 0)


def peek(url: str, service: str, namespace: str = "", limit: int = 100,
         kind: topology.QueueKind = topology.CLASSIC) -> list[DeadLetter]:
    """Read up to ``limit`` dead letters without removing them."""
    out = []
    with connect(url, wait_time_seconds=SQS_WAIT) as conn:
        channel = conn.channel()
        topology.declare(channel, namespace, kind)
        queue = topology.dead_letter_queue(service, namespace, kind).bind(channel)
        while len(out) < limit:
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                break
            out.append(_as_dead_letter(message))
        channel.close()  # unacknowledged: they stay in the queue
    return out


def replay(url: str, service: str, namespace: str = "", limit: int | None = None,
           event_id: str | None = None, kind: topology.QueueKind = topology.CLASSIC) -> Replay:
    """Move dead letters back to the service's queue with a fresh attempt count.

    One run looks at no more letters than the queue held when it started, and never sends back
    a letter it already sent back: with the worker running, a letter whose cause is not fixed
    returns to the dead-letter queue while the run is still going, and taking it again would
    spend its retries over and over (and a run would only end when the worker fell behind)."""
    live = topology.queue_name(service, namespace)
    dead = topology.dead_letter_queue_name(service, namespace)
    run = uuid.uuid4().hex
    publisher = Publisher(url, namespace, kind=kind)
    moved = again = 0
    keep = []
    try:
        with connect(url, wait_time_seconds=SQS_WAIT) as conn:
            channel = conn.channel()
            topology.declare(channel, namespace, kind)
            queue = topology.dead_letter_queue(service, namespace, kind).bind(channel)
            found = budget = _depth(channel, dead)
            while budget > 0 and (limit is None or moved < limit):
                message = queue.get(no_ack=False, accept=["json"])
                if message is None:
                    break
                budget -= 1
                headers = dict(message.headers or {})
                letter = _as_dead_letter(message)
                if headers.get(RUN_HEADER) == run:
                    again += 1
                    keep.append(message)
                    continue
                if event_id and letter.event_id != event_id:
                    keep.append(message)
                    continue
                out = {k: v for k, v in headers.items()
                       if not k.startswith("x-prize-") or k == "x-prize-routing-key"}
                out[RUN_HEADER] = run
                out[REPLAYS_HEADER] = letter.replays + 1
                if letter.undecodable:
                    # As it arrived: the worker decodes it (after a fix) or dead-letters it again
                    # with the same body and the same error, not an error about our wrapper.
                    publisher.send_to_queue(live, letter.body["undecodable"], out,
                                            content_type=headers.get(CONTENT_TYPE_HEADER) or "application/json")
                else:
                    publisher.send_to_queue(live, letter.body, out)
                message.ack()  # only after the broker confirmed the copy
                moved += 1
            # RabbitMQ and SQS count only the letters nobody holds, and RabbitMQ puts a rejected
            # letter back in its count a moment after the reject: count before handing ours back.
            # The embedded broker counts held letters too, and its reject is immediate.
            left = _depth(channel, dead)
            if conn.transport.driver_type in ("amqp", "sqs"):
                left += len(keep)
            for message in keep:
                message.reject(requeue=True)
    finally:
        publisher.close()
    return Replay(found=found, sent_back=moved, again=again, left=left)


def waiting(url: str, services, namespace: str = "", kind: topology.QueueKind = topology.CLASSIC) -> dict[str, int]:
    """How many dead letters wait in each service's dead-letter queue (a passive look: nothing
    is taken). For a dashboard's count; ``prize dlq`` shows and replays them."""
    counts = {}
    with connect(url) as conn:
        conn.ensure_connection(max_retries=1)  # a dashboard says "unknown" rather than waiting
        channel = conn.channel()
        topology.declare(channel, namespace, kind)
        for service in services:
            counts[service] = _depth(channel, topology.dead_letter_queue_name(service, namespace))
        channel.close()
    return counts
