"""How long to wait before trying again: one email refused for now (``retry_backoff``), and the
mail server as a whole (``ServerBackoff``). Times are given by the caller (ops/deliveries.py's
clock), so a test that moves that clock moves these too."""
from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta

BACKOFF_FIRST = 30.0  # seconds; each retry waits between half of it and all of it, then doubles
BACKOFF_CAP = 3600.0


def retry_backoff(attempts: int) -> timedelta:
    """Wait before retrying one email the server refused for now: 15-30 s after the first
    attempt, doubling up to an hour, with jitter so that a batch refused together spreads out."""
    longest = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(longest / 2, longest))


class ServerBackoff:
    """The mail server as a whole, as this process sees it.

    When it fails for everyone (``server_failed``), or refuses ``STREAK`` different emails in a
    row for now (``recipient_refused``: a server answering 451 to every RCPT looks like that),
    sending pauses: 5 s, doubling up to 2 minutes (short enough for a 15-minute sign-in link to
    go out soon after the server is back). One email is tried when the pause ends; a success
    ends it. Kept in memory: each worker finds out for itself, at the cost of one attempt.
    """
    FIRST = 5.0
    CAP = 120.0
    STREAK = 3

    def __init__(self):
        self._lock = threading.Lock()
        self.until: datetime | None = None
        self._pause = 0.0
        self._streak = 0

    def paused(self, now: datetime) -> datetime | None:
        """Until when sending is paused, or None."""
        until = self.until
        return until if until is not None and now < until else None

    def server_failed(self, now: datetime) -> datetime:
        with self._lock:
            self._pause = self.FIRST if not self._pause else min(self.CAP, self._pause * 2)
            self.until = now + timedelta(seconds=self._pause)
            self._streak = 0
            return self.until

    def recipient_refused(self, now: datetime) -> datetime | None:
        with self._lock:
            self._streak += 1
            if self._streak < self.STREAK:
                return None
        return self.server_failed(now)

    def succeeded(self) -> None:
        with self._lock:
            self.until, self._pause, self._streak = None, 0.0, 0
