"""The ses:// mail backend: notify's worker sends through boto3 to a moto server over real HTTP.

End to end: an application.submitted event on the broker → notify's worker → SES SendRawEmail
at moto → the delivery row ``sent`` with the SES MessageId, and moto holds our exact message.
An unverified sender fails for good (email.failed); SES out of reach is retried until it is back.
The mapping of SES's error codes is checked with botocore's Stubber.
"""
from __future__ import annotations

import email
import email.policy
import json

import boto3
import pytest
import requests
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber
from sqlalchemy import select

from services.notify.mail import (Outgoing, PermanentMailError, SesMailer, TransientMailError,
                                  mailer_from_url)
from services.notify.models import Delivery, outbox
from shared.bus import Publisher
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.shared.test_bus_rabbitmq import submitted_event
from tests.support.moto import ENV, _free_port
from tests.support.stack import Stack, wait_until
from tests.support.tcpproxy import TcpProxy

REGION = "us-east-1"
SENDER = "prize@wego-cities.org"  # the address in the default PRIZE_MAIL_FROM


@pytest.fixture
def moto_server(monkeypatch):
    """(endpoint, ses client) of a moto server on a free port, with the sender verified; the AWS_*
    environment points boto3 at it, as it would at SES."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SES", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        # moto's state lives in this process and outlives a server: start from nothing
        requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        client = boto3.session.Session().client("ses", region_name=REGION, endpoint_url=endpoint)
        client.verify_email_identity(EmailAddress=SENDER)
        yield endpoint, client
    finally:
        server.stop()


def sent_at_moto(endpoint: str) -> list[dict]:
    """The raw messages moto's SES accepted (moto's documented state dump)."""
    data = requests.get(f"{endpoint}/moto-api/data.json", timeout=10).json()
    return data.get("ses", {}).get("RawMessage", [])


def notify_stack(tmp_path, **env) -> Stack:
    settings = load_settings(embedded_env(tmp_path / "var", PRIZE_MAIL_URL=f"ses://{REGION}", **env))
    return Stack(settings, services=("notify",))


def publish(stack: Stack, event) -> None:
    """As intake's relay would: the event onto the (embedded) broker, then notify's worker starts.

    Published first because the broker's SQLite file is created by whoever opens it first, and
    two openers at once can find it locked (a start-up race of the embedded broker, not SES's).
    """
    publisher = Publisher(stack.settings.broker_url, stack.settings.namespace)
    try:
        publisher.publish(event)
    finally:
        publisher.close()
    stack.start_workers()


def deliveries(stack: Stack) -> list[Delivery]:
    db = stack.apps["notify"].extensions["prize"]["db"]
    with db.session() as s:
        rows = s.scalars(select(Delivery)).all()
        s.expunge_all()
        return rows


def notify_events(stack: Stack, type_: str) -> list[dict]:
    db = stack.apps["notify"].extensions["prize"]["db"]
    with db.session() as s:
        bodies = s.scalars(select(outbox.c.body).where(outbox.c.type == type_)).all()
    return [json.loads(b) if isinstance(b, str) else b for b in bodies]


def settled(stack: Stack, *statuses: str):
    rows = deliveries(stack)
    return rows if rows and all(r.status in statuses for r in rows) else None


def test_the_acknowledgement_goes_through_ses_and_its_message_id_is_recorded(tmp_path, moto_server):
    endpoint, _ = moto_server
    stack = notify_stack(tmp_path)
    try:
        event = submitted_event("Hydrogen buses for Lublin")
        recipient = event.data["applicant"]["contact_email"]
        publish(stack, event)
        rows = wait_until(lambda: settled(stack, "sent"), timeout=60)
        assert rows, f"no delivery was sent: {[(r.status, r.last_error) for r in deliveries(stack)]}"
        [row] = rows
        assert (row.template, row.recipient, row.attempts) == ("submission_ack", recipient, 1)

        [raw] = sent_at_moto(endpoint)
        assert row.provider_message_id == raw["id"] and raw["id"]
        assert raw["source"] == SENDER
        assert recipient in raw["destinations"]
        message = email.message_from_string(raw["raw_data"], policy=email.policy.default)
        assert message["To"] == recipient
        assert message["Subject"] == row.subject and event.data["reference"] in row.subject
        # the very message the other backends write (the long header is folded, as it is for them)
        assert message["X-Prize-Delivery-Key"].strip() == row.key
        assert "Seoul Smart City Prize" in message["From"]
        assert event.data["reference"] in message.get_body(preferencelist=("plain",)).get_content()

        [sent] = notify_events(stack, "email.sent")
        assert sent["data"]["provider_message_id"] == raw["id"]
        assert notify_events(stack, "email.failed") == []
    finally:
        stack.stop()


def test_an_unverified_sender_fails_for_good_instead_of_retrying(tmp_path, moto_server):
    endpoint, _ = moto_server
    stack = notify_stack(tmp_path, PRIZE_MAIL_FROM="Prize <prize@not-verified.example>")
    try:
        publish(stack, submitted_event())
        rows = wait_until(lambda: settled(stack, "failed"), timeout=60)
        assert rows, f"not failed: {[(r.status, r.last_error) for r in deliveries(stack)]}"
        [row] = rows
        assert row.attempts == 1 and "MessageRejected" in row.last_error
        assert row.provider_message_id is None
        [failed] = notify_events(stack, "email.failed")
        assert failed["data"]["delivery_key"] == row.key and failed["data"]["permanent"] is True
        assert sent_at_moto(endpoint) == []
    finally:
        stack.stop()


def test_ses_out_of_reach_is_retried_and_the_email_arrives_once(tmp_path, moto_server, monkeypatch):
    endpoint, _ = moto_server
    proxy = TcpProxy(int(endpoint.rsplit(":", 1)[1]))  # not started yet: connections are refused
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    stack = notify_stack(tmp_path)
    try:
        publish(stack, submitted_event())
        rows = wait_until(lambda: (lambda r: r if r and r[0].status == "pending" else None)(deliveries(stack)),
                          timeout=60)
        assert rows, f"not pending: {[(r.status, r.last_error) for r in deliveries(stack)]}"
        assert "EndpointConnectionError" in rows[0].last_error
        assert notify_events(stack, "email.failed") == []
        proxy.start()  # SES is back: the retry sweep sends it
        rows = wait_until(lambda: settled(stack, "sent"), timeout=60)
        assert rows, f"not sent after SES came back: {[(r.status, r.last_error) for r in deliveries(stack)]}"
        [raw] = sent_at_moto(endpoint)
        assert rows[0].provider_message_id == raw["id"] and rows[0].attempts >= 2
        assert notify_events(stack, "email.failed") == []
    finally:
        stack.stop()
        proxy.stop()


# --- the mapping of SES's answers, with botocore's Stubber --------------------------------------

OUT = Outgoing(key="e1:submission_ack:anna@lublin.example.eu", sender="Seoul Smart City Prize <prize@wego-cities.org>",
               recipient="anna@lublin.example.eu", subject="Your application", text="Thanks", html="<p>Thanks</p>")


@pytest.fixture
def stubbed():
    client = boto3.session.Session().client("ses", region_name=REGION, aws_access_key_id="x",
                                            aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield SesMailer(REGION, client=client), stubber


def test_a_send_returns_ses_message_id(stubbed):
    mailer, stubber = stubbed
    stubber.add_response("send_raw_email", {"MessageId": "0100-abc"})
    assert mailer.send(OUT) == "0100-abc"
    assert mailer.already_sent(OUT.key) is False


@pytest.mark.parametrize("code,status,expected", [
    ("Throttling", 400, TransientMailError),
    ("ServiceUnavailable", 503, TransientMailError),
    ("InternalFailure", 500, TransientMailError),
    ("TooManyRequestsException", 429, TransientMailError),
    ("MessageRejected", 400, PermanentMailError),
    ("MailFromDomainNotVerifiedException", 400, PermanentMailError),
    ("InvalidParameterValue", 400, PermanentMailError),
])
def test_ses_errors_map_to_transient_or_permanent(stubbed, code, status, expected):
    mailer, stubber = stubbed
    stubber.add_client_error("send_raw_email", service_error_code=code, service_message="no", http_status_code=status)
    with pytest.raises(expected, match=code):
        mailer.send(OUT)


def test_no_connection_is_transient():
    class Unreachable:
        def send_raw_email(self, **kwargs):
            raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")
    with pytest.raises(TransientMailError):
        SesMailer(REGION, client=Unreachable()).send(OUT)


def test_mailer_from_url_needs_a_region():
    mailer = mailer_from_url("ses://eu-west-1")
    assert isinstance(mailer, SesMailer) and mailer.region == "eu-west-1"
    for url in ("ses://", "ses:///x", "ses://nowhere"):
        with pytest.raises(ValueError, match="AWS region"):
            mailer_from_url(url)
