"""notify's own figures on /metrics (shared.metrics reads them at scrape time)."""
from __future__ import annotations

from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .models import Delivery
from .ops.deliveries import STATUSES


def emails_by_status(conn: Connection, service: str, now: datetime) -> list:
    """``prize_emails{status}``: every email notify owes or owed, by where it stands. One
    statement on the index of ``deliveries.status``; each status has its series, 0 included, so
    an alert on ``failed`` has a series to look at before the first failure."""
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(conn.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
    family = GaugeMetricFamily("prize_emails", "Emails by status: pending, sending, sent, failed, unconfirmed",
                               labels=["service", "status"])
    for status, count in sorted(counts.items()):
        family.add_metric([service, status], count)
    return [family]
