"""notify's own figures on /metrics (shared.metrics reads them at scrape time)."""
from __future__ import annotations

import time
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .models import Delivery
from .ops.deliveries import STATUSES


class EmailsByStatus:
    """``prize_emails{status}``: every email notify owes or owed, by where it stands; each
    status has its series, 0 included, so an alert on ``failed`` has a series before the first
    failure.

    Counted on the index of ``deliveries.status``. The emails still to send, failed or
    unconfirmed are few and counted at each reading; the sent ones are nearly all the table
    (50,000 rows take ~18 ms to count on PostgreSQL) and are counted once a minute."""

    SENT = "sent"

    def __init__(self, sent_every: float = 60.0):
        self.sent_every = sent_every
        self._sent: int | None = None
        self._sent_at = 0.0

    def __call__(self, conn: Connection, service: str, now: datetime) -> list:
        others = [s for s in STATUSES if s != self.SENT]
        counts = dict.fromkeys(STATUSES, 0)
        counts.update(conn.execute(select(Delivery.status, func.count()).where(Delivery.status.in_(others))
                                   .group_by(Delivery.status)).all())
        if self._sent is None or time.monotonic() - self._sent_at >= self.sent_every:
            self._sent = conn.execute(select(func.count()).select_from(Delivery)
                                      .where(Delivery.status == self.SENT)).scalar_one()
            self._sent_at = time.monotonic()
        counts[self.SENT] = self._sent
        family = GaugeMetricFamily("prize_emails", "Emails by status: pending, sending, sent, failed, unconfirmed",
                                   labels=["service", "status"])
        for status, count in sorted(counts.items()):
            family.add_metric([service, status], count)
        return [family]
