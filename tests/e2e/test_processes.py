"""End to end, as real processes started the way `prize run` starts them."""
from __future__ import annotations

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from shared.auth import issue_token
from tests.conftest import embedded_env, real_env
from tests.support.stack import PDF

PRIZE = str(Path(sys.executable).parent / "prize")


class RunningSystem:
    def __init__(self, env: dict, ports: dict, log_path: Path):
        self.env = dict(os.environ, **env)
        for svc, port in ports.items():
            self.env[f"PRIZE_{svc.upper()}_PORT"] = str(port)
        self.env["PRIZE_WEB_WORKERS"] = "1"
        self.ports = ports
        self.log_path = log_path
        self.proc = None

    def url(self, svc: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[svc]}{path}"

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([PRIZE, "run"], env=self.env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        pending = set(self.ports)
        while pending and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("prize run exited:\n" + self.log_path.read_text()[-3000:])
            for svc in list(pending):
                try:
                    if requests.get(self.url(svc, "/readyz"), timeout=2).status_code == 200:
                        pending.discard(svc)
                except requests.RequestException:
                    pass
            time.sleep(0.2)
        assert not pending, f"not ready: {pending}\n" + self.log_path.read_text()[-3000:]
        return self

    def __exit__(self, *exc):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text()


def sign_in_for_api(system: RunningSystem, email_address: str, read_texts) -> dict:
    """Ask for an API sign-in code, take it from the email, exchange it for a bearer token."""
    r = requests.post(system.url("intake", "/api/signin"), json={"email": email_address, "purpose": "api"})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 20
    code = None
    while code is None and time.monotonic() < deadline:
        found = [re.search(r"one-time code:\s+(\S+)", text) for text in read_texts()]
        code = next((m.group(1) for m in found if m), None)
        time.sleep(0.05)
    assert code, "no sign-in code arrived"
    r = requests.post(system.url("intake", "/api/signin/token"), json={"token": code})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def complete_over_http(system: RunningSystem, applicant: dict, app_id: str) -> None:
    """Answer every criterion and upload the application form, as the default terms require."""
    r = requests.get(system.url("intake", f"/api/applications/{app_id}"), headers=applicant)
    answers = {c["key"]: "Residents of every district shaped the programme." for c in r.json()["criteria"]}
    r = requests.patch(system.url("intake", f"/api/applications/{app_id}"), headers=applicant,
                       json={"answers": answers})
    assert r.status_code == 200, r.text
    r = requests.post(system.url("intake", f"/api/applications/{app_id}/documents"), headers=applicant, json={
        "kind": "application_form", "filename": "application-form.pdf", "content_type": "application/pdf",
        "size": len(PDF)})
    assert r.status_code == 201, r.text
    started = r.json()
    # the embedded file store is intake itself; its links use PRIZE_PUBLIC_URL, not this port
    url = urlsplit(started["upload"]["url"])
    r = requests.post(system.url("intake", f"{url.path}?{url.query}"), data=started["upload"]["fields"],
                      files={"file": ("application-form.pdf", PDF, "application/pdf")})
    assert r.status_code == 204, r.text
    r = requests.post(system.url("intake", f"/api/documents/{started['document']['id']}/complete"),
                      headers=applicant)
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text
    r = requests.get(system.url("intake", f"/api/applications/{app_id}"), headers=applicant)
    assert r.json()["missing"] == [], r.text


def submit_over_http(system: RunningSystem, secret: str, read_texts) -> dict:
    admin = {"Authorization": f"Bearer {issue_token(secret, 'secretariat', 'e2e')}"}
    r = requests.post(system.url("intake", "/api/calls"), headers=admin, json={
        "year": 2026, "theme": "Cities that include everyone", "time_zone": "Asia/Seoul",
        "opens_at": "2026-01-01T00:00:00+09:00", "closes_at": "2099-07-14T18:00:00+09:00"})
    assert r.status_code == 201, r.text
    call_id = r.json()["id"]
    assert requests.post(system.url("intake", f"/api/calls/{call_id}/open"), headers=admin).status_code == 200
    r = requests.post(system.url("intake", "/api/applicants"), json={
        "type": "city_government", "organisation": "Prefeitura de Guarulhos", "country": "BR",
        "city": "Guarulhos", "contact_name": "João Silva", "contact_email": "joao.silva@guarulhos.example.br",
        "language": "en", "privacy_consent": 1})
    assert r.status_code == 202, r.text
    applicant = sign_in_for_api(system, "joao.silva@guarulhos.example.br", read_texts)
    r = requests.post(system.url("intake", "/api/applications"), headers=applicant, json={
        "call_id": call_id, "category": "human_centricity", "title": "Digital inclusion for São Paulo's elders",
        "summary": "Tablets and tutors for residents over 70."})
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    complete_over_http(system, applicant, app_id)
    r = requests.post(system.url("intake", f"/api/applications/{app_id}/submit"), headers=applicant)
    assert r.status_code == 200, r.text
    return r.json()


def assert_review_knows(system: RunningSystem, secret: str, reference: str) -> None:
    admin = {"Authorization": f"Bearer {issue_token(secret, 'secretariat', 'e2e')}"}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        items = requests.get(system.url("review", "/api/applications"), headers=admin).json()["items"]
        if items:
            break
        time.sleep(0.1)
    assert [i["reference"] for i in items] == [reference]


@pytest.mark.e2e
@pytest.mark.rabbitmq
@pytest.mark.postgres
def test_submission_over_http_reaches_the_smtp_server_on_rabbitmq_and_postgres(
        tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server, free_port):
    env = real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url)
    ports = {svc: free_port() for svc in ("intake", "review", "notify")}
    with RunningSystem(env, ports, tmp_path / "prize-run.log") as system:
        application = submit_over_http(system, env["PRIZE_SECRET_KEY"], lambda: [
            smtp_server.text_of(m["message"]) for m in list(smtp_server.messages)])
        messages = smtp_server.wait_for(3)  # the registration's sign-in link, the API code, the ack
        assert_review_knows(system, env["PRIZE_SECRET_KEY"], application["reference"])
        time.sleep(1.0)  # anything sent twice would arrive by now
        messages = list(smtp_server.messages)
        output = system.output()
    assert len(messages) == 3, output[-3000:]
    acks = [m for m in messages if application["reference"] in m["message"]["Subject"]]
    assert len(acks) == 1
    msg = acks[0]["message"]
    assert all(m["to"] == ["joao.silva@guarulhos.example.br"] for m in messages)
    assert application["reference"] in msg["Subject"]
    body = smtp_server.text_of(msg)
    assert "Guarulhos" in body and application["reference"] in body
    assert "Human-CentriCity" in body
    # every service logged JSON lines carrying the application's correlation id
    for svc in ("intake", "review", "notify"):
        assert any(f'"service": "{svc}"' in line and application["id"] in line
                   for line in output.splitlines()), f"{svc} did not log the correlation id"
    for svc, port in ports.items():
        assert f"{svc:<7} http://127.0.0.1:{port}/" in output  # the banner says where each listens


@pytest.mark.e2e
def test_submission_over_http_lands_in_the_mailbox_folder_on_the_embedded_stack(tmp_path, free_port):
    var = tmp_path / "var"
    env = embedded_env(var)
    ports = {svc: free_port() for svc in ("intake", "review", "notify")}
    with RunningSystem(env, ports, tmp_path / "prize-run.log") as system:
        mailbox = var / "mailbox"

        def texts():
            return [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
                    .get_body(preferencelist=("plain",)).get_content() for f in mailbox.glob("*signin_link*.eml")]
        application = submit_over_http(system, env["PRIZE_SECRET_KEY"], texts)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not list(mailbox.glob("*submission_ack*.eml")):
            time.sleep(0.05)
        assert_review_knows(system, env["PRIZE_SECRET_KEY"], application["reference"])
        banner = system.output()
    files = list(mailbox.glob("*submission_ack*.eml"))
    assert len(files) == 1
    assert len(list(mailbox.glob("*signin_link*.eml"))) == 2  # on registration, and the API code
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "joao.silva@guarulhos.example.br"
    assert application["reference"] in msg["Subject"]
    assert "Guarulhos" in msg.get_body(preferencelist=("plain",)).get_content()
    for svc, port in ports.items():
        assert f"http://127.0.0.1:{port}/" in banner
    assert (var / "intake.sqlite").exists() and (var / "broker.sqlite").exists()
