"""`prize web` with several gunicorn workers: /metrics counts every worker's requests, whichever
worker answers the scrape (prometheus_client's multiprocess mode, its files in a directory
`prize web` makes and removes). Without it each scrape shows one worker's counts, and
Prometheus reads the alternation as counters resetting.

A real `prize web intake --workers 2` process on the embedded stack.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from shared.config import load_settings
from tests.conftest import embedded_env
from tests.support.stack import migrate

PRIZE = str(Path(sys.executable).parent / "prize")
REQUESTS = 300


def _healthz_count(base: str) -> float:
    page = requests.get(f"{base}/metrics", timeout=10).text
    return sum(s.value for family in text_string_to_metric_families(page) for s in family.samples
               if s.name == "prize_http_requests_total" and s.labels["endpoint"] == "/healthz")


def test_metrics_add_up_every_workers_requests(tmp_path, free_port):
    env = {**os.environ, **embedded_env(tmp_path / "var")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["TMPDIR"] = str(tmp_path / "tmp")  # where prize web makes its metrics directory
    (tmp_path / "tmp").mkdir()
    migrate(load_settings(env), ("intake",))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "web.log").open("w")
    proc = subprocess.Popen([PRIZE, "web", "intake", "--port", str(port), "--workers", "2", "--threads", "2"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or a worker still starting
                pass
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "web.log").read_text()
            time.sleep(0.2)
        made = list((tmp_path / "tmp").glob("prize-intake-metrics-*"))
        assert len(made) == 1, made
        metrics_dir = made[0]

        before = _healthz_count(base)  # the start-up's own checks

        def ping(_):
            with requests.Session() as s:  # a connection each: the two workers share them
                return s.get(f"{base}/healthz", timeout=10).status_code
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(ping, range(REQUESTS))) == {200}

        # both workers served some (one file of counts each), and every scrape counts them all
        assert len(list(metrics_dir.glob("counter_*.db"))) == 2, sorted(metrics_dir.iterdir())
        counts = [_healthz_count(base) for _ in range(12)]
        assert counts == [before + REQUESTS] * 12, (before, counts)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    assert not metrics_dir.exists(), "prize web left its metrics directory behind"
