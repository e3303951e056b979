"""JSON logs; every line carries the service and the correlation id of the work at hand."""
from __future__ import annotations

import contextlib
import contextvars
import logging
import sys

from pythonjsonlogger.json import JsonFormatter

_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar("correlation_id", default=None)


def current_correlation_id() -> str | None:
    return _correlation.get()


@contextlib.contextmanager
def correlation(correlation_id: str | None):
    token = _correlation.set(correlation_id)
    try:
        yield
    finally:
        _correlation.reset(token)


def set_correlation(correlation_id: str | None):
    return _correlation.set(correlation_id)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.correlation_id = _correlation.get()
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter(service))
    handler.setFormatter(JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(service)s %(correlation_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("amqp", "kombu", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel("WARNING")
