"""Looking into SQS queues from a test: depth, and what a queue holds (taken off it)."""
from __future__ import annotations

import json

from shared import sqs, topology
from shared.bus import connect


def queue_url(url: str, queue_name: str) -> str:
    return sqs.client(url).get_queue_url(QueueName=sqs.sqs_name(queue_name))["QueueUrl"]


def queue_depth(url: str, queue_name: str) -> int:
    """Messages waiting plus messages received and not yet acknowledged (deleted)."""
    attrs = sqs.client(url).get_queue_attributes(
        QueueUrl=queue_url(url, queue_name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def drain(url: str, queue_name: str, limit: int = 1000) -> list[dict]:
    """Take every message off a queue (through kombu, acking each) and return bodies and headers."""
    out = []
    with connect(url) as conn:
        channel = conn.channel()
        while len(out) < limit:
            message = channel.basic_get(queue_name, no_ack=False)
            if message is None:
                break
            out.append({"body": json.loads(message.body), "headers": dict(message.headers or {})})
            message.ack()
    return out


def delete_queues(url: str, namespace: str) -> None:
    client = sqs.client(url)
    for queue in topology.all_queues(namespace):
        try:
            client.delete_queue(QueueUrl=queue_url(url, queue.name))
        except client.exceptions.QueueDoesNotExist:
            pass
