"""A moto S3 server on a free port, and the environment boto3 needs to reach it."""
from __future__ import annotations

import os
import socket
from contextlib import contextmanager

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1", "AWS_SESSION_TOKEN": "testing"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def _point_boto3_at(endpoint: str) -> dict:
    """Credentials and AWS_ENDPOINT_URL for the moto server; returns what they replaced."""
    saved = {k: os.environ.get(k) for k in [*ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update(ENV, AWS_ENDPOINT_URL=endpoint)
    return saved


def _restore(saved: dict) -> None:
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@contextmanager
def moto_s3(bucket: str = "prize-documents"):
    """Yield (endpoint_url, boto3 client) with ``bucket`` created; the AWS_* environment is set
    for the duration, so code that calls boto3.client("s3") finds the server by itself."""
    from moto.server import ThreadedMotoServer
    import boto3

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    saved = _point_boto3_at(endpoint)
    try:
        client = boto3.client("s3")
        client.create_bucket(Bucket=bucket)
        yield endpoint, client
    finally:
        _restore(saved)
        server.stop()


@contextmanager
def moto_s3_process(bucket: str = "prize-documents"):
    """Like moto_s3, but the server runs in a child process, so what it stores does not count
    towards this process's memory (for measuring intake alone)."""
    import subprocess
    import sys
    import time
    import boto3

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    saved = _point_boto3_at(endpoint)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the moto server did not start")
                time.sleep(0.1)
        client = boto3.client("s3")
        client.create_bucket(Bucket=bucket)
        yield endpoint, client
    finally:
        _restore(saved)
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def moto_server():
    """A moto server (every AWS service, SQS included) on a free port; yields its endpoint URL.
    Leaves the environment alone: an sqs:// URL can carry the endpoint and the credentials."""
    import logging

    from moto.server import ThreadedMotoServer

    # a line per request (an SQS long poll each second) would bury a failing test's own log
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def sqs_broker_url(endpoint: str, **options) -> str:
    """PRIZE_BROKER_URL for the moto server at ``endpoint``: short long polls, as tests want."""
    from urllib.parse import urlencode, urlsplit
    options.setdefault("wait_time_seconds", 1)
    host = urlsplit(endpoint).netloc
    return f"sqs://{ENV['AWS_ACCESS_KEY_ID']}:{ENV['AWS_SECRET_ACCESS_KEY']}@{host}?{urlencode(options)}"
