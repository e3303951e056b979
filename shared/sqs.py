"""Amazon SQS as the broker: the transport's options, and the queues with their redrive policy.

``PRIZE_BROKER_URL=sqs://`` takes the credentials, the region and the endpoint from boto3's own
variables (AWS_ACCESS_KEY_ID..., AWS_REGION, AWS_ENDPOINT_URL), as S3 and SES do here. The URL's
query tunes the transport, e.g. ``sqs://?wait_time_seconds=1&visibility_timeout=60``:

- ``wait_time_seconds``: how long one ReceiveMessage waits on an empty queue (long polling; it
  bounds how long a worker takes to stop, and an idle worker makes one request per that many
  seconds);
- ``visibility_timeout``: how long a received message stays hidden before SQS gives it to another
  consumer, unless it was acknowledged (deleted) first; a worker that dies holding a message
  delays it by this much;
- ``region``: else AWS_REGION, AWS_DEFAULT_REGION, then eu-west-1.

kombu's SQS transport routes our topic exchange in the client (every process declares the whole
topology) and names each queue after ours with '.' turned to '-': ``review.events`` is the SQS
queue ``review-events``, ``ns.review.events.dead`` is ``ns-review-events-dead``.

kombu creates a queue it does not find, with no dead-letter redrive policy; ``ensure_queues``
(called by each worker as it starts) creates them or sets their attributes, whichever came first:
a message received ``max_redeliveries`` times without being acknowledged (its worker died on it,
over and over) is moved by SQS to the service's dead-letter queue, where ``prize dlq`` finds it.
"""
from __future__ import annotations

import json
import os
from urllib.parse import parse_qsl, urlsplit

from . import topology

WAIT_TIME_SECONDS = 10
VISIBILITY_TIMEOUT = 300
# Dead letters and a backlog both keep for the most SQS allows. On a standard queue a message's
# age counts from when it was first sent, so the dead-letter queue must keep them no shorter.
RETENTION_SECONDS = 14 * 24 * 3600
_OPTIONS = {"wait_time_seconds": int, "visibility_timeout": int, "region": str}


def is_sqs(url: str) -> bool:
    return url.startswith("sqs://")


def split_url(url: str) -> tuple[str, dict]:
    """The URL kombu gets (no query) and the options its query held."""
    url, _, query = url.partition("?")
    options = {}
    for key, value in parse_qsl(query):
        if key not in _OPTIONS:
            raise ValueError(f"unknown SQS option {key!r} in the broker URL (known: {', '.join(_OPTIONS)})")
        options[key] = _OPTIONS[key](value)
    return url, options


def region(options: dict | None = None) -> str:
    return ((options or {}).get("region") or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION") or "eu-west-1")


def transport_options(url: str, **overrides) -> tuple[str, dict]:
    """(url for kombu, its transport_options) for an sqs:// broker URL."""
    url, options = split_url(url)
    options.update({k: v for k, v in overrides.items() if v is not None})
    return url, {
        "region": region(options),
        "wait_time_seconds": options.get("wait_time_seconds", WAIT_TIME_SECONDS),
        "visibility_timeout": options.get("visibility_timeout", VISIBILITY_TIMEOUT),
        # After an empty long poll, poll again at once: the long poll was the wait.
        "polling_interval": 0,
        # kombu already base64-encodes the body inside its JSON envelope; encoding the envelope
        # again would leave an event of 147 KB room under SQS's 256 KB instead of 190 KB.
        "sqs_base64_encoding": False,
    }


def sqs_name(name: str) -> str:
    """The SQS queue kombu uses for one of our queue names (the same translation as kombu's)."""
    from kombu.transport.SQS import CHARS_REPLACE_TABLE
    return name.translate(CHARS_REPLACE_TABLE)


def client(url: str):
    """A boto3 SQS client for the broker URL: its host if it names one, else AWS_ENDPOINT_URL."""
    import boto3
    url, options = split_url(url)
    parts = urlsplit(url)
    kwargs = {"region_name": region(options)}
    if parts.hostname:
        kwargs["endpoint_url"] = f"http://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    if parts.username:
        kwargs.update(aws_access_key_id=parts.username, aws_secret_access_key=parts.password)
    return boto3.client("sqs", **kwargs)


def _ensure_queue(sqs, name: str, attributes: dict) -> str:
    """Create the queue with these attributes, or set them on the queue that exists."""
    try:
        queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        try:
            return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        except sqs.exceptions.QueueNameExists:  # another process created it meanwhile
            queue_url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
    return queue_url


def ensure_queues(url: str, namespace: str, max_receive_count: int) -> dict[str, str]:
    """Every service's queue and dead-letter queue of the namespace, with the redrive policy.

    Idempotent: run by every worker at start; returns {our queue name: SQS queue URL}."""
    sqs = client(url)
    _, options = transport_options(url)
    common = {"VisibilityTimeout": str(options["visibility_timeout"]),
              "MessageRetentionPeriod": str(RETENTION_SECONDS)}
    urls = {}
    for service in topology.SUBSCRIPTIONS:
        dead = topology.dead_letter_queue_name(service, namespace)
        urls[dead] = _ensure_queue(sqs, sqs_name(dead), common)
        arn = sqs.get_queue_attributes(QueueUrl=urls[dead], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        live = topology.queue_name(service, namespace)
        redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(max_receive_count)})
        urls[live] = _ensure_queue(sqs, sqs_name(live), dict(common, RedrivePolicy=redrive))
    return urls
