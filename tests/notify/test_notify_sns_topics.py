"""SNS pinned to our topics (issue 11, item 4).

A signature proves a message came from SNS, not that it came from our topic: anybody can subscribe
our endpoint to a topic of their own and publish a "permanent bounce" of any address. The
messages here are signed for real (tests/notify/test_notify_bounces.py's key and
certificate, served for an https://sns.<region>.amazonaws.com URL only), so each refusal below is
a refusal of a correctly signed message: from a topic not in PRIZE_SES_TOPIC_ARNS, with no topic
configured, or older than sns.MAX_AGE. And the signing certificate is fetched once, not per
message, in a cache that stays small.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.notify.ops import sns
from shared.config import load_settings
from tests.conftest import embedded_env
from tests.notify.test_notify_bounces import (CERT_URL, PEM, TOPIC, _key_and_cert, bounce,
                                                   certificate_server, notification, post, sign,
                                                   suppressed)
from tests.support.stack import Stack

__all__ = ["certificate_server"]  # the fixture, imported for the tests below

SECOND = "arn:aws:sns:eu-west-1:123456789012:prize-ses-complaints"
ATTACKER = "arn:aws:sns:us-east-1:666666666666:prize-ses-feedback"  # same name, someone else's account


def _stack(tmp_path, **env) -> Stack:
    return Stack(load_settings(embedded_env(tmp_path / "var", **env)), services=("notify",))


@pytest.fixture
def notify(tmp_path, certificate_server):
    stack = _stack(tmp_path, PRIZE_SES_TOPIC_ARNS=f"{TOPIC},{SECOND}")
    yield stack
    stack.stop()


def stamp(at: datetime) -> str:
    """SNS's Timestamp format: 2026-07-14T09:00:00.123Z."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def subscription(topic: str, token: str = "tok") -> dict:
    return {"Type": "SubscriptionConfirmation", "MessageId": f"m-{token}", "Token": token, "TopicArn": topic,
            "Message": f"You have chosen to subscribe to the topic {topic}", "Timestamp": stamp(datetime.now(timezone.utc)),
            "SubscribeURL": f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic}"
                            f"&Token={token}"}


def test_a_forged_topic_suppresses_nobody_and_its_subscription_is_not_confirmed(notify, certificate_server):
    fetched, visited = certificate_server
    victims = ["mei.lin@kcg.example.tw", "ana.lima@guarulhos.example.br"]
    confirm = post(notify, sign(subscription(ATTACKER)))
    forged = post(notify, sign(dict(notification(bounce(*victims)), TopicArn=ATTACKER)))
    complained = post(notify, sign(dict(notification(bounce(victims[0])), TopicArn="arn:aws:sns:us-east-1:1:x")))
    lost = [a for a in victims if a in suppressed(notify)]
    print(f"\nforged topic: {len(lost)} of {len(victims)} addresses suppressed, "
          f"{len(visited)} foreign subscriptions confirmed, {len(fetched)} certificates fetched for them")
    for r in (confirm, forged, complained):
        assert r.status_code == 403, r.get_data(as_text=True)
        assert "is not one of PRIZE_SES_TOPIC_ARNS" in r.get_json()["message"]
    assert lost == [] and visited == []
    assert fetched == []  # refused before the certificate is fetched: a stranger cannot make us fetch

    # our two topics work as before
    assert post(notify, sign(subscription(TOPIC))).get_json() == {"confirmed": True}
    assert post(notify, sign(subscription(SECOND, "t2"))).get_json() == {"confirmed": True}
    assert len(visited) == 2
    r = post(notify, sign(notification(bounce(victims[0]))))
    assert r.status_code == 200 and r.get_json()["suppressed"] == [victims[0]]
    r = post(notify, sign(dict(notification(bounce(victims[1])), TopicArn=SECOND)))
    assert r.status_code == 200 and r.get_json()["suppressed"] == [victims[1]]


def test_a_signed_message_that_names_our_topic_but_was_sent_to_another_is_refused(notify):
    # the TopicArn is part of what SNS signs: moving a foreign topic's message to ours breaks it
    message = sign(dict(notification(bounce("mei.lin@kcg.example.tw")), TopicArn=ATTACKER))
    message["TopicArn"] = TOPIC
    assert post(notify, message).status_code == 403
    assert suppressed(notify) == {}


def test_with_no_topic_configured_every_sns_message_is_refused(tmp_path, certificate_server, caplog):
    stack = _stack(tmp_path)
    try:
        r = post(stack, sign(notification(bounce("mei.lin@kcg.example.tw"))))
        assert r.status_code == 403
        assert "PRIZE_SES_TOPIC_ARNS is not set" in r.get_json()["message"]
        assert post(stack, sign(subscription(TOPIC))).status_code == 403
        assert suppressed(stack) == {} and certificate_server == ([], [])
        assert any("PRIZE_SES_TOPIC_ARNS" in rec.getMessage() and rec.levelname == "WARNING"
                   for rec in caplog.records if rec.name == "prize.notify.sns")
    finally:
        stack.stop()


@pytest.mark.parametrize("age,status", [
    (timedelta(minutes=59), 200),
    (timedelta(minutes=61), 403),
    (timedelta(days=200), 403),
    (-timedelta(minutes=4), 200),   # a sender's clock a little ahead
    (-timedelta(minutes=30), 403),  # not yet sent
])
def test_a_stale_or_future_message_is_refused(notify, age, status):
    message = dict(notification(bounce("mei.lin@kcg.example.tw")),
                   Timestamp=stamp(datetime.now(timezone.utc) - age))
    r = post(notify, sign(message))
    assert r.status_code == status, r.get_data(as_text=True)
    if status == 403:
        assert "Timestamp" in r.get_json()["message"] and suppressed(notify) == {}
    else:
        assert list(suppressed(notify)) == ["mei.lin@kcg.example.tw"]


@pytest.mark.parametrize("value", ["yesterday", "", "2026-13-40T99:00:00Z", 1765000000])
def test_a_timestamp_that_is_no_time_is_refused(notify, value):
    assert post(notify, sign(dict(notification(bounce("mei.lin@kcg.example.tw")), Timestamp=value))).status_code == 403
    assert suppressed(notify) == {}


def test_the_stale_check_is_the_modules_constant(notify, monkeypatch):
    monkeypatch.setattr(sns, "MAX_AGE", timedelta(minutes=5))
    message = dict(notification(bounce("mei.lin@kcg.example.tw")),
                   Timestamp=stamp(datetime.now(timezone.utc) - timedelta(minutes=6)))
    assert post(notify, sign(message)).status_code == 403


def test_the_certificate_is_fetched_once_and_the_cache_stays_bounded(monkeypatch):
    fetched = []

    def download(url):
        fetched.append(url)
        return PEM

    monkeypatch.setattr(sns, "_download", download)
    monkeypatch.setattr(sns, "_cache", {})
    for _ in range(50):
        sns.certificate(CERT_URL)
    assert fetched == [CERT_URL]
    urls = [f"https://sns.us-east-1.amazonaws.com/SimpleNotificationService-{i:04d}.pem" for i in range(300)]
    for url in urls:
        sns.certificate(url)
        sns.certificate(CERT_URL)  # in steady use: never the one evicted
    print(f"\n{len(urls) + 1} certificate URLs: {len(fetched)} fetches, cache of {len(sns._cache)} "
          f"(bound {sns.CERT_CACHE_SIZE})")
    assert len(sns._cache) <= sns.CERT_CACHE_SIZE < 300
    assert fetched.count(CERT_URL) == 1 and len(fetched) == len(urls) + 1


def test_an_expired_certificate_is_not_trusted(notify, monkeypatch):
    key, pem = _key_and_cert()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    now = datetime.now(timezone.utc)
    old = x509.load_pem_x509_certificate(pem)
    expired = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(days=400)).not_valid_after(now - timedelta(days=1))
               .sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    url = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-expired.pem"
    monkeypatch.setattr(sns, "_download", lambda u: expired)
    r = post(notify, sign(notification(bounce("mei.lin@kcg.example.tw")), key=key, cert_url=url))
    assert r.status_code == 403 and "expired" in r.get_json()["message"]
    assert suppressed(notify) == {}


def test_a_notification_that_is_not_json_inside_is_still_ignored(notify):
    message = dict(notification({}), Message="not json")
    assert post(notify, sign(message)).get_json() == {"ignored": "not an SES notification"}
