"""The baseline of figure 10: `prize run` on the embedded stack as it was before the lean layout.

It migrates the three databases in this process, then hands honcho's stock Manager (which forks a
copy of this process to watch each child) a shell command per process: `prize web SERVICE`
(gunicorn, PRIZE_WEB_WORKERS worker processes, 2 by default) and `prize worker SERVICE`. Kept
here, not in the product, so that the bench measures the old way beside the new one in the same
run:

    python -m bench.old_run        # with the PRIZE_* variables of the stack to run
"""
from __future__ import annotations

import os
import shlex
import sys

from honcho.manager import Manager
from honcho.printer import Printer

from bench.common import prize_command
from shared.config import SERVICES, load_settings
from shared.migrations import upgrade


def main() -> int:
    settings = load_settings()
    for service in SERVICES:
        upgrade(service, settings.database_url(service))
    os.makedirs(settings.storage_url[len("file://"):], exist_ok=True)
    prize = " ".join(shlex.quote(part) for part in prize_command())
    manager = Manager(Printer(sys.stdout))
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    for service in SERVICES:
        manager.add_process(f"{service}-web", f"{prize} web {service}", env=env)
        manager.add_process(f"{service}-worker", f"{prize} worker {service}", env=env)
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
