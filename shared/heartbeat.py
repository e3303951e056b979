"""A worker's heartbeat: a file the worker touches while it is alive, which ``prize worker-health``
reads for docker compose's healthcheck and Kubernetes' liveness probe.

A file rather than an HTTP port: a worker serves nothing, and a server thread inside it would
answer while the consumer loop is stuck. The file is touched from the consumer loop itself
(kombu calls ``on_iteration`` at least once a second while connected, so a worker waiting for
a broker that is down stops beating), and only while the worker's other threads (outbox relay,
timed jobs) are alive. It lives in ``$PRIZE_VAR_DIR/heartbeat/<service>-worker``: one file per
service, so on one machine (``prize run``) each worker has its own; in a container or a pod
there is only one worker anyway.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger("prize.worker")

BEAT_EVERY_SECONDS = 5.0
# The age past which the worker counts as dead: several missed beats, so that one long batch
# (a slow SMTP server, a database hiccup) does not make it look dead.
MAX_AGE_SECONDS = 30.0


def heartbeat_path(var_dir: Path, service: str) -> Path:
    return Path(var_dir) / "heartbeat" / f"{service}-worker"


class Heartbeat:
    def __init__(self, path: Path, alive: Callable[[], bool], every: float = BEAT_EVERY_SECONDS):
        self.path = Path(path)
        self.alive = alive
        self.every = every
        self._last = float("-inf")
        self._warned = False

    def beat(self) -> None:
        """Touch the file if the last touch is ``every`` seconds old and the worker is alive."""
        now = time.monotonic()
        if now - self._last < self.every or not self.alive():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch()  # creates it, or sets its time to now
        except OSError as exc:  # never let the heartbeat stop the worker it reports on
            if not self._warned:
                log.warning("cannot write the heartbeat %s: %s", self.path, exc)
                self._warned = True
            return
        self._last = now

    def clear(self) -> None:
        """A worker that stops says so at once, rather than after MAX_AGE_SECONDS."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError:
            pass


def check(path: Path, max_age: float = MAX_AGE_SECONDS) -> tuple[bool, str]:
    """(alive, one line saying why) for the heartbeat file at ``path``."""
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat at {path}: the worker is not running (or not yet)"
    except OSError as exc:
        return False, f"cannot read the heartbeat {path}: {exc}"
    if age > max_age:
        return False, f"heartbeat {path} is {age:.1f}s old (more than {max_age:g}s): the worker is stuck"
    return True, f"heartbeat {age:.1f}s old"
