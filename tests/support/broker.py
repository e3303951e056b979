from __future__ import annotations

from kombu import Connection

from shared import topology


def delete_topology(url: str, namespace: str) -> None:
    """Remove a test's queues and exchanges from RabbitMQ."""
    try:
        with Connection(url, connect_timeout=3) as conn:
            channel = conn.channel()
            for queue in topology.all_queues(namespace):
                channel.queue_delete(queue.name)
            channel.exchange_delete(topology.exchange(namespace).name)
            channel.exchange_delete(topology.dead_letter_exchange(namespace).name)
    except Exception:
        pass


def queue_depth(url: str, queue_name: str) -> int:
    with Connection(url, connect_timeout=3) as conn:
        channel = conn.channel()
        _, count, _ = channel.queue_declare(queue_name, passive=True)
        return count


def drain(url: str, queue_name: str, limit: int = 100000) -> list[dict]:
    """Take every message off a queue (acking them) and return their bodies."""
    out = []
    with Connection(url, connect_timeout=3) as conn:
        channel = conn.channel()
        while len(out) < limit:
            msg = channel.basic_get(queue_name, no_ack=True)
            if msg is None:
                break
            import json
            out.append({"body": json.loads(msg.body), "headers": dict(msg.headers or {})})
    return out
