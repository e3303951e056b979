from __future__ import annotations

import threading

from shared.bus import EventConsumer


class RunningConsumer:
    """An EventConsumer on a thread, stopped on exit."""

    def __init__(self, consumer: EventConsumer):
        self.consumer = consumer
        self.thread = threading.Thread(target=consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self.consumer

    def __exit__(self, *exc):
        self.consumer.should_stop = True
        self.thread.join(timeout=10)
        self.consumer.requeue.close()
