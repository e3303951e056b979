"""Bounces, complaints and permanent failures (issue 5).

SES notifications arrive through SNS at POST /api/ses/notifications: the tests sign them with a
key and self-signed certificate of their own, served (the certificate fetch is replaced) only for
an https://sns.<region>.amazonaws.com URL, so a real signature check runs. A permanent bounce or
a complaint suppresses the address; a tampered message, a certificate from elsewhere or a
transient bounce does not. Then, end to end through notify's worker to a real SMTP server: an
address refused with 550, or suppressed, is not mailed, email.failed is published, and the same
email goes once to the applicant's second contact; with no contact left, the secretariat is told.
"""
from __future__ import annotations

import base64
import json
import smtplib
import time
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from services.notify.ops import sns
from services.notify.models import Delivery, Suppression
from shared.auth import issue_token
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.notify.test_notify_decisions import submitted
from tests.notify.test_notify_ses import deliveries, notify_events, publish
from tests.support.smtp import RecordingSMTPServer, _Handler
from tests.support.stack import Stack, auth, wait_until

CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:prize-ses-feedback"
SECRETARIAT = "prize@wego-cities.org"  # the address in the default PRIZE_MAIL_FROM


def _key_and_cert(common_name="sns.amazonaws.com"):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


KEY, PEM = _key_and_cert()
OTHER_KEY, _ = _key_and_cert("someone-else")


def sign(message: dict, key=KEY, version="1", cert_url=CERT_URL) -> dict:
    """Sign as SNS does: the documented fields, in order, as "Name\\nvalue\\n"."""
    message = dict(message, SignatureVersion=version, SigningCertURL=cert_url)
    if message["Type"] == "Notification":
        names = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    else:
        names = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    data = "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(key.sign(data, padding.PKCS1v15(), digest)).decode()
    return message


def now_stamp() -> str:
    """Now, as SNS writes its Timestamp (older messages are refused as stale)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def notification(ses: dict, message_id="5a1c2f8e-0000-4000-8000-000000000001") -> dict:
    return {"Type": "Notification", "MessageId": message_id, "TopicArn": TOPIC,
            "Message": json.dumps(ses), "Timestamp": now_stamp()}


def bounce(*addresses, kind="Permanent", sub="General"):
    return {"notificationType": "Bounce", "mail": {"messageId": "0100-ses-message-id"},
            "bounce": {"bounceType": kind, "bounceSubType": sub,
                       "bouncedRecipients": [{"emailAddress": a, "status": "5.1.1",
                                              "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
                                             for a in addresses]}}


def complaint(*addresses):
    return {"notificationType": "Complaint", "mail": {"messageId": "0100-ses-complained"},
            "complaint": {"complaintFeedbackType": "abuse",
                          "complainedRecipients": [{"emailAddress": a} for a in addresses]}}


@pytest.fixture
def certificate_server(monkeypatch):
    """The certificate fetch answers for CERT_URL only; every URL asked for is recorded."""
    fetched, visited = [], []

    def download(url):
        fetched.append(url)
        if url != CERT_URL:
            raise OSError("no such certificate")
        return PEM

    monkeypatch.setattr(sns, "_download", download)
    monkeypatch.setattr(sns, "_get", visited.append)
    monkeypatch.setattr(sns, "_cache", {})
    return fetched, visited


@pytest.fixture
def notify(tmp_path, certificate_server):
    stack = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_SES_TOPIC_ARNS=TOPIC)), services=("notify",))
    yield stack
    stack.stop()


def post(stack, body, content_type="text/plain; charset=UTF-8"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return stack.clients["notify"].post("/api/ses/notifications", data=data, content_type=content_type,
                                        headers={"x-amz-sns-message-type": "Notification"})


def suppressed(stack) -> dict:
    r = stack.clients["notify"].get("/api/suppressions", headers=auth(stack.secretariat_token()))
    assert r.status_code == 200, r.get_data(as_text=True)
    return {item["email"]: item for item in r.get_json()["items"]}


# --- the SNS endpoint ---------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["1", "2"])
def test_a_signed_permanent_bounce_suppresses_the_address(notify, certificate_server, version):
    r = post(notify, sign(notification(bounce("Ana.Lima@Guarulhos.example.br")), version=version))
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["suppressed"] == ["ana.lima@guarulhos.example.br"]
    entry = suppressed(notify)["ana.lima@guarulhos.example.br"]
    assert entry["reason"] == "bounce" and entry["source_message_id"] == "0100-ses-message-id"
    assert "5.1.1" in entry["detail"]
    # the same bounce again (SNS retries): still one entry; the certificate was fetched once
    assert post(notify, sign(notification(bounce("ana.lima@guarulhos.example.br")), version=version)).status_code == 200
    assert list(suppressed(notify)) == ["ana.lima@guarulhos.example.br"]
    assert certificate_server[0] == [CERT_URL]


def test_a_complaint_suppresses_the_address(notify):
    r = post(notify, sign(notification(complaint("ops@ryde.example.au"))), content_type="application/json")
    assert r.status_code == 200
    assert suppressed(notify)["ops@ryde.example.au"]["reason"] == "complaint"


def test_a_transient_bounce_suppresses_nothing(notify):
    r = post(notify, sign(notification(bounce("mei.lin@kcg.example.tw", kind="Transient", sub="MailboxFull"))))
    assert r.status_code == 200 and r.get_json()["suppressed"] == []
    assert suppressed(notify) == {}


def test_a_tampered_message_is_refused_and_suppresses_nothing(notify):
    message = sign(notification(bounce("innocent@seoul.example.kr")))
    message["Message"] = json.dumps(bounce("victim@seoul.example.kr"))
    r = post(notify, message)
    assert r.status_code == 403 and r.get_json()["code"] == 403
    # signed by another key, for the right certificate URL
    assert post(notify, sign(notification(bounce("victim@seoul.example.kr")), key=OTHER_KEY)).status_code == 403
    # no signature at all, an unknown version, a signature that is not base64
    unsigned = notification(bounce("victim@seoul.example.kr"))
    assert post(notify, unsigned).status_code == 403
    assert post(notify, dict(sign(unsigned), SignatureVersion="3")).status_code == 403
    assert post(notify, dict(sign(unsigned), Signature="%%%")).status_code == 403
    assert suppressed(notify) == {}


@pytest.mark.parametrize("url", [
    "https://evil.example.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com.evil.example.com/cert.pem",
    "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem",
    "https://s3.amazonaws.com/SimpleNotificationService-1.pem",
    "https://sns.us-east-1.amazonaws.com/not-a-certificate.txt",
])
def test_a_certificate_from_anywhere_else_is_refused_without_fetching_it(notify, certificate_server, url):
    r = post(notify, sign(notification(bounce("victim@seoul.example.kr")), cert_url=url))
    assert r.status_code == 403, r.get_data(as_text=True)
    assert certificate_server[0] == [] and suppressed(notify) == {}


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', "null"])
def test_a_malformed_body_is_a_400(notify, body):
    r = post(notify, body)
    assert r.status_code == 400 and r.mimetype == "application/json"


def test_a_subscription_is_confirmed_only_at_amazon(notify, certificate_server):
    confirm = {"Type": "SubscriptionConfirmation", "MessageId": "m-1", "Token": "tok", "TopicArn": TOPIC,
               "Message": "You have chosen to subscribe", "Timestamp": now_stamp(),
               "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=tok"}
    r = post(notify, sign(confirm))
    assert r.status_code == 200 and r.get_json() == {"confirmed": True}
    assert certificate_server[1] == [confirm["SubscribeURL"]]
    elsewhere = dict(confirm, SubscribeURL="https://evil.example.com/?Action=ConfirmSubscription")
    assert post(notify, sign(elsewhere)).status_code == 400
    tampered = dict(sign(confirm), SubscribeURL="https://sns.us-east-1.amazonaws.com/?Token=other")
    assert post(notify, tampered).status_code == 403
    assert certificate_server[1] == [confirm["SubscribeURL"]]


# --- the secretariat's list ---------------------------------------------------------------------

def test_only_the_secretariat_sees_and_clears_the_list(notify):
    post(notify, sign(notification(bounce("ana@guarulhos.example.br"))))
    client, secret = notify.clients["notify"], notify.settings.secret_key
    path = "/api/suppressions/ana@guarulhos.example.br"
    for headers, status in (({}, 401), (auth(issue_token(secret, "applicant", "a-1")), 403),
                            (auth(issue_token(secret, "juror", "j-1")), 403)):
        assert client.get("/api/suppressions", headers=headers).status_code == status
        r = client.delete(path, headers=headers)
        assert r.status_code == status and r.get_json()["code"] == status
    assert list(suppressed(notify)) == ["ana@guarulhos.example.br"]
    sec = auth(notify.secretariat_token())
    assert client.get("/api/suppressions?reason=complaint", headers=sec).get_json()["total"] == 0
    assert client.delete("/api/suppressions/ANA@guarulhos.example.br", headers=sec).status_code == 204
    assert suppressed(notify) == {}
    assert client.delete(path, headers=sec).status_code == 404


# --- sending: refused or suppressed → email.failed, the second contact, the secretariat -----------

class _RefusingHandler(_Handler):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.server.refused:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def picky_smtp():
    """A real SMTP server that refuses some recipients with 550 (``.refused``)."""
    server = RecordingSMTPServer()
    server.refused = set()
    server.controller = Controller(_RefusingHandler(server), hostname="127.0.0.1", port=server.port)
    server.start()
    yield server
    server.stop()


def to(smtp, address):
    return [m["message"] for m in list(smtp.messages) if m["to"] == [address]]


def notify_stack(tmp_path, smtp) -> Stack:
    return Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_MAIL_URL=smtp.url)), services=("notify",))


def test_an_address_refused_with_550_fails_and_the_second_contact_gets_the_email_once(tmp_path, picky_smtp):
    primary, secondary = "ana@guarulhos.example.br", "second@guarulhos.example.br"
    picky_smtp.refused.add(primary)
    stack = notify_stack(tmp_path, picky_smtp)
    try:
        _, event = submitted("SSCP-2026-GRU002", "Digital inclusion for elders", primary, "en")
        publish(stack, event)
        assert wait_until(lambda: to(picky_smtp, secondary), timeout=60), \
            [(d.recipient, d.status, d.last_error) for d in deliveries(stack)]
        [message] = to(picky_smtp, secondary)
        assert "SSCP-2026-GRU002" in str(message["Subject"])
        # the server has the email a moment before the worker has read its answer and recorded it
        assert wait_until(lambda: {d.recipient: d.status for d in deliveries(stack)}.get(secondary) == "sent",
                          timeout=10)
        rows = {d.recipient: d for d in deliveries(stack)}
        assert rows[primary].status == "failed" and "550" in rows[primary].last_error
        assert rows[secondary].status == "sent" and rows[secondary].template == "submission_ack"
        [failed] = notify_events(stack, "email.failed")
        assert failed["data"]["recipient"] == primary and failed["data"]["permanent"] is True
        # the worker sweeps on: nothing more to anyone, and the secretariat was not bothered
        time.sleep(1.0)
        assert len(to(picky_smtp, secondary)) == 1 and to(picky_smtp, primary) == []
        assert to(picky_smtp, SECRETARIAT) == [] and len(deliveries(stack)) == 2
    finally:
        stack.stop()


def test_a_suppressed_address_is_not_mailed_and_the_second_contact_is(tmp_path, picky_smtp):
    primary, secondary = "jiwoo.park@seoul.example.kr", "second@seoul.example.kr"
    stack = notify_stack(tmp_path, picky_smtp)
    try:
        db = stack.apps["notify"].extensions["prize"]["db"]
        with db.session() as s, s.begin():
            sns.suppress(s, primary, "bounce", "Permanent/General 5.1.1", "0100-earlier")
        _, event = submitted("SSCP-2026-SEL001", "스마트 버스 정류장", primary, "ko")
        publish(stack, event)
        assert wait_until(lambda: to(picky_smtp, secondary), timeout=60), \
            [(d.recipient, d.status, d.last_error) for d in deliveries(stack)]
        assert to(picky_smtp, primary) == []
        rows = {d.recipient: d for d in deliveries(stack)}
        assert rows[primary].status == "failed" and rows[primary].last_error.startswith("suppressed: bounce")
        assert rows[secondary].language == "ko"
        [failed] = notify_events(stack, "email.failed")
        assert failed["data"]["recipient"] == primary and "suppressed" in failed["data"]["error"]
    finally:
        stack.stop()


def test_with_no_contact_left_the_secretariat_is_alerted_once(tmp_path, picky_smtp):
    primary, secondary = "mei.lin@kcg.example.tw", "second@kcg.example.tw"
    picky_smtp.refused.update({primary, secondary})
    stack = notify_stack(tmp_path, picky_smtp)
    try:
        _, event = submitted("SSCP-2026-KHH003", "Buses", primary, "en")
        publish(stack, event)
        assert wait_until(lambda: to(picky_smtp, SECRETARIAT), timeout=60), \
            [(d.recipient, d.status, d.last_error) for d in deliveries(stack)]
        [alert] = to(picky_smtp, SECRETARIAT)
        text = picky_smtp.text_of(alert)
        assert secondary in str(alert["Subject"]) and primary in text and "submission_ack" in text
        assert {d["data"]["recipient"] for d in notify_events(stack, "email.failed")} == {primary, secondary}
        # the alert's row is marked sent just after the server's answer: wait for that commit
        settled = wait_until(lambda: all(d.status in ("sent", "failed") for d in deliveries(stack)), timeout=10)
        assert settled and sorted((d.template, d.status) for d in deliveries(stack)) == [
            ("delivery_failed_alert", "sent"), ("submission_ack", "failed"), ("submission_ack", "failed")]
    finally:
        stack.stop()


def test_smtp_refusal_is_what_the_backend_reports_as_permanent(picky_smtp):
    """The support server really refuses at RCPT with 550 (what the tests above rely on)."""
    picky_smtp.refused.add("x@y.example")
    with smtplib.SMTP("127.0.0.1", picky_smtp.port) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as exc:
        smtp.sendmail("a@b.example", ["x@y.example"], b"Subject: t\r\n\r\nhi")
    assert exc.value.recipients["x@y.example"][0] == 550


def test_the_suppression_check_reads_the_table(tmp_path):
    stack = Stack(load_settings(embedded_env(tmp_path / "var")), services=("notify",))
    try:
        db = stack.apps["notify"].extensions["prize"]["db"]
        with db.session() as s, s.begin():
            assert sns.suppress(s, " Foo@Example.org ", "failed") is True
            assert sns.suppress(s, "foo@example.org", "bounce") is False
        with db.session() as s:
            assert s.scalars(select(Suppression.email)).all() == ["foo@example.org"]
            assert s.scalars(select(Delivery.id)).all() == []
    finally:
        stack.stop()


# --- delivery notifications reconcile an email handed over by a worker that then died ----------

def delivered(key: str, ses_id="0100-ses-delivered"):
    """An SES Delivery notification that repeats the email's headers (the identity's "include
    original headers" setting), our X-Prize-Delivery-Key among them, folded as SES may send it."""
    return {"notificationType": "Delivery",
            "mail": {"messageId": ses_id, "headers": [
                {"name": "From", "value": "WeGO <prize@wego.example.org>"},
                {"name": "X-Prize-Delivery-Key", "value": key[:40] + "\r\n " + key[40:]}]},
            "delivery": {"recipients": ["mei.lin@kcg.example.tw"], "smtpResponse": "250 ok"}}


def test_ses_confirming_a_delivery_settles_an_unconfirmed_one_once(notify):
    from services.notify.models import outbox
    db = notify.apps["notify"].extensions["prize"]["db"]
    now = datetime.now(timezone.utc)
    key = "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c001:finalist_notice:mei.lin@kcg.example.tw"
    with db.session() as s, s.begin():
        s.add(Delivery(id="5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c0aa", key=key,
                       event_id="5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c001", event_type="results.released",
                       correlation_id="x", template="finalist_notice", language="en",
                       recipient="mei.lin@kcg.example.tw", subject="Finalist", body_text="t", body_html="h",
                       status="unconfirmed", attempts=2, last_error="may have arrived", created_at=now,
                       next_attempt_at=now, handed_at=now - timedelta(minutes=5)))

    def state():
        with db.session() as s:
            row = s.scalar(select(Delivery).where(Delivery.key == key))
            sent = s.scalar(select(func.count()).select_from(outbox).where(outbox.c.type == "email.sent"))
            return row.status, row.provider_message_id, row.handed_at, row.last_error, sent

    r = post(notify, sign(notification(delivered(key))))
    assert r.status_code == 200 and r.get_json() == {"confirmed": [key]}
    assert state() == ("sent", "0100-ses-delivered", None, None, 1)
    # SNS delivers at least once: the same notification again changes nothing
    r = post(notify, sign(notification(delivered(key))))
    assert r.status_code == 200 and r.get_json() == {"confirmed": []}
    assert state()[-1] == 1
    # a delivery we do not know, or one without our header: ignored, 200 (SNS would retry a 4xx)
    assert post(notify, sign(notification(delivered("nobody:x:y@z.example")))).get_json() == {"confirmed": []}
    plain = delivered(key)
    plain["mail"]["headers"] = []
    assert post(notify, sign(notification(plain))).status_code == 200
    # a forged one is refused before anything is read
    forged = sign(notification(delivered(key)))
    forged["Message"] = forged["Message"].replace("0100-ses-delivered", "0100-forged")
    assert post(notify, forged).status_code == 403
