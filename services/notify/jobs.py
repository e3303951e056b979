"""notify's timed work (the worker's periodic jobs): thin entry points over ops."""
from __future__ import annotations

from .ops import deliveries

RETRY_EVERY_SECONDS = 5.0  # how often the worker sends what is due and ends what expired


def retry_deliveries(sender: deliveries.Sender) -> int:
    """Send the deliveries whose time has come (retries, any a crash left behind) and end the
    waiting ones that expired: one sweep (ops/deliveries.sweep)."""
    return deliveries.sweep(sender)
