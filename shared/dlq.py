"""Dead letters: look at them, and send them back to their queue once the cause is fixed."""
from __future__ import annotations

import json
from dataclasses import dataclass

from . import topology
from .bus import ATTEMPTS_HEADER, Publisher, connect


@dataclass
class DeadLetter:
    event_id: str | None
    type: str | None
    error: str
    attempts: int
    routing_key: str | None
    body: object


def _as_dead_letter(message) -> DeadLetter:
    headers = dict(message.headers or {})
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
    return DeadLetter(
        event_id=body.get("id") if isinstance(body, dict) else None,
        type=body.get("type") if isinstance(body, dict) else None,
        error=str(headers.get("x-prize-error", "")),
        attempts=int(headers.get(ATTEMPTS_HEADER, 0) or 0),
        routing_key=headers.get("x-prize-routing-key"),
        body=body,
    )


def peek(url: str, service: str, namespace: str = "", limit: int = 100) -> list[DeadLetter]:
    """Read up to ``limit`` dead letters without removing them."""
    out = []
    with connect(url) as conn:
        channel = conn.channel()
        topology.declare(channel, namespace)
        queue = topology.dead_letter_queue(service, namespace).bind(channel)
        while len(out) < limit:
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                break
            out.append(_as_dead_letter(message))
        channel.close()  # unacknowledged: they stay in the queue
    return out


def replay(url: str, service: str, namespace: str = "", limit: int | None = None,
           event_id: str | None = None) -> int:
    """Move dead letters back to the service's queue with a fresh attempt count."""
    live = topology.queue_name(service, namespace)
    publisher = Publisher(url, namespace)
    moved = 0
    keep = []
    try:
        with connect(url) as conn:
            channel = conn.channel()
            topology.declare(channel, namespace)
            queue = topology.dead_letter_queue(service, namespace).bind(channel)
            while limit is None or moved < limit:
                message = queue.get(no_ack=False, accept=["json"])
                if message is None:
                    break
                letter = _as_dead_letter(message)
                if event_id and letter.event_id != event_id:
                    keep.append(message)
                    continue
                headers = {k: v for k, v in (message.headers or {}).items()
                           if not k.startswith("x-prize-") or k == "x-prize-routing-key"}
                headers["x-prize-replayed"] = True
                publisher.send_to_queue(live, letter.body, headers)
                message.ack()  # only after the broker confirmed the copy
                moved += 1
            for message in keep:
                message.reject(requeue=True)
    finally:
        publisher.close()
    return moved
