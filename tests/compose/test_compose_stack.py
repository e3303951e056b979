"""The end-to-end path on the compose stack: the images built from infra/Dockerfile, PostgreSQL,
RabbitMQ and Mailpit in containers. An applicant registers and submits over HTTP, review lists the
application, and the acknowledgement reaches Mailpit (read through its API), once.

Run with `make test-compose` (Docker needed; not part of `make test`).
"""
from __future__ import annotations

import json
import os
import time

import requests
import yaml

from tests.compose.conftest import compose_command
from tests.e2e.test_processes import assert_review_knows, submit_over_http
from tests.infra.test_compose_file import COMPOSE_FILE, environment_of

SERVICES = ("intake", "review", "notify")
PORTS = {"intake": 8001, "review": 8002, "notify": 8003}
APPLICANT = "joao.silva@guarulhos.example.br"


class ComposeStack:
    """What tests/e2e/test_processes.py's helpers need of a running system: its URLs."""

    def __init__(self, services, ip: str):
        self.ports = {svc: services.port_for(f"{svc}-web", port) for svc, port in PORTS.items()}
        self.mailpit = f"http://{ip}:{services.port_for('mailpit', 8025)}"
        self.ip = ip

    def url(self, svc: str, path: str) -> str:
        return f"http://{self.ip}:{self.ports[svc]}{path}"

    def messages(self) -> list[dict]:
        r = requests.get(f"{self.mailpit}/api/v1/messages", params={"limit": 200}, timeout=10)
        r.raise_for_status()
        return r.json()["messages"]

    def text_of(self, message_id: str) -> str:
        r = requests.get(f"{self.mailpit}/api/v1/message/{message_id}", timeout=10)
        r.raise_for_status()
        return r.json()["Text"]

    def texts(self) -> list[str]:
        return [self.text_of(m["ID"]) for m in self.messages()]


def secret_key() -> str:
    """The key the containers sign with: the shell's PRIZE_SECRET_KEY, else the file's default."""
    container = yaml.safe_load(COMPOSE_FILE.read_text())["services"]["intake-web"]
    return os.environ.get("PRIZE_SECRET_KEY") or environment_of(container)["PRIZE_SECRET_KEY"]


def test_every_container_is_up_and_the_workers_report_alive(compose, docker_ip):
    stack = ComposeStack(compose, docker_ip)
    for svc in SERVICES:
        r = requests.get(stack.url(svc, "/readyz"), timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    ps = compose_command("ps", "--all", "--format", "json")
    assert ps.returncode == 0, ps.stderr
    lines = [json.loads(line) for line in ps.stdout.splitlines() if line.strip()]
    rows = {row["Service"]: row for row in (lines[0] if lines and isinstance(lines[0], list) else lines)}
    for svc in SERVICES:
        for role in ("web", "worker"):
            assert rows[f"{svc}-{role}"]["Health"] == "healthy", rows[f"{svc}-{role}"]
        run = compose_command("exec", "-T", f"{svc}-worker", "prize", "worker-health", svc)
        assert run.returncode == 0, run.stdout + run.stderr
    assert rows["migrate"]["State"] == "exited" and rows["migrate"]["ExitCode"] == 0, rows["migrate"]


def test_a_submission_reaches_review_and_its_acknowledgement_reaches_mailpit_once(compose, docker_ip):
    stack = ComposeStack(compose, docker_ip)
    before = {m["ID"] for m in stack.messages()}
    application = submit_over_http(stack, secret_key(), stack.texts)
    assert_review_knows(stack, secret_key(), application["reference"])
    deadline = time.monotonic() + 60
    acks = []
    while time.monotonic() < deadline and not acks:
        acks = [m for m in stack.messages()
                if m["ID"] not in before and application["reference"] in m["Subject"]]
        time.sleep(0.5)
    assert acks, "no acknowledgement reached Mailpit"
    time.sleep(3)  # anything sent twice would arrive by now
    acks = [m for m in stack.messages() if m["ID"] not in before and application["reference"] in m["Subject"]]
    assert len(acks) == 1, [m["Subject"] for m in acks]
    assert [to["Address"] for to in acks[0]["To"]] == [APPLICANT]
    body = stack.text_of(acks[0]["ID"])
    assert "Guarulhos" in body and application["reference"] in body
    # its link starts with PRIZE_PUBLIC_URL, which the shell may set
    public = (os.environ.get("PRIZE_PUBLIC_URL") or f"http://localhost:{PORTS['intake']}").rstrip("/")
    assert f"{public}/portal/applications/{application['id']}/status" in body, body
