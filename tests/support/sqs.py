"""Looking into SQS queues from a test: depth, and what a queue holds (taken off it)."""
from __future__ import annotations

import functools
import json

from shared import sqs, topology
from shared.bus import connect


@functools.lru_cache(maxsize=None)
def client(url: str):
    """One boto3 client per broker URL: making one costs a good part of a second on a busy machine."""
    return sqs.client(url)


def queue_url(url: str, queue_name: str) -> str:
    return client(url).get_queue_url(QueueName=sqs.sqs_name(queue_name))["QueueUrl"]


def queue_depth(url: str, queue_name: str) -> int:
    """Messages waiting plus messages received and not yet acknowledged (deleted)."""
    attrs = client(url).get_queue_attributes(
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
    sqs_client = client(url)
    for queue in topology.all_queues(namespace):
        try:
            sqs_client.delete_queue(QueueUrl=queue_url(url, queue.name))
        except sqs_client.exceptions.QueueDoesNotExist:
            pass
