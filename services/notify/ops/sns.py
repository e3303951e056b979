"""SES bounces and complaints, delivered by Amazon SNS: verified, then put on the suppression list.

SNS posts a JSON document with ``Content-Type: text/plain``; :class:`SnsContentType` (WSGI,
installed by the app, api/sns.py) presents it as JSON so the common body checks parse it (malformed → 400).
Each message is signed: the certificate is fetched only from ``https://sns.<region>.amazonaws.com``
(any other URL is refused, so nobody can sign with a key of their own), cached, and the
signature over the documented canonical string is checked (SignatureVersion 1: SHA1withRSA,
2: SHA256withRSA). Anything unsigned, tampered with or signed by someone else is a 403.

A valid signature only proves the message came through SNS: anybody can subscribe this endpoint to
a topic of their own and publish a forged bounce. So only the topics of ``PRIZE_SES_TOPIC_ARNS``
are heard (checked before anything is fetched; none configured: every message is refused, with a
warning in the log), a subscription to any other topic is not confirmed, and a message whose
signed Timestamp is older than :data:`MAX_AGE` (SNS stops retrying an HTTP endpoint within an
hour) is refused, so a captured message cannot be replayed later.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.events import make_event
from shared.outbox import record
from shared.db import Database
from shared.refusals import Refused

from ..models import Delivery, outbox
from .suppressions import suppress

log = logging.getLogger("prize.notify.sns")

# https://sns.<region>.amazonaws.com/<something>.pem, and nothing else
_CERT_HOST = re.compile(r"sns\.[a-z]{2}(-[a-z]+)+-\d{1,2}\.amazonaws\.com")
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}

# SNS's total retry time for an HTTP endpoint is at most an hour; anything older is a replay.
MAX_AGE = timedelta(hours=1)
MAX_SKEW = timedelta(minutes=5)  # how far ahead of ours the signer's clock may be

# SNS signs with one certificate per region at a time, rotated rarely: a few entries suffice, and
# the bound keeps a flood of made-up (but existing) certificate URLs from growing the process.
CERT_CACHE_SIZE = 32
_cache: dict[str, x509.Certificate] = {}  # least recently used first
_cache_lock = threading.Lock()


class NotHeard(Exception):
    """The message is not to be acted on (403)."""


class SignatureError(NotHeard):
    """The message is not provably from SNS."""


class StaleMessage(NotHeard):
    """Signed by SNS, but too old (or too far in the future) to be taken as new."""


class ForeignTopic(NotHeard):
    """From a topic that is not one of ours."""


class CertificateUnavailable(Exception):
    """The signing certificate could not be fetched just now."""


def allowed_certificate_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (parts.scheme == "https" and parts.port is None and not parts.username
            and bool(_CERT_HOST.fullmatch(parts.hostname or ""))
            and parts.path.endswith(".pem") and not parts.query)


def _download(url: str) -> bytes:
    """The certificate's PEM (tests replace this)."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - https, host checked
        return response.read(64 * 1024)


def _get(url: str) -> None:
    """Visit SubscribeURL to confirm a subscription (tests replace this)."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - https, host checked
        response.read(64 * 1024)


def certificate(url: str) -> x509.Certificate:
    if not allowed_certificate_url(url):
        raise SignatureError(f"SigningCertURL {url!r} is not an https://sns.<region>.amazonaws.com certificate")
    with _cache_lock:
        cert = _cache.pop(url, None)
        if cert is not None:
            _cache[url] = cert  # most recently used now (plain dicts keep insertion order)
    if cert is None:
        try:
            pem = _download(url)
        except OSError as exc:
            raise CertificateUnavailable(f"could not fetch {url}: {exc}") from exc
        try:
            cert = x509.load_pem_x509_certificate(pem)
        except ValueError as exc:
            raise SignatureError(f"{url} is not a PEM certificate") from exc
        with _cache_lock:
            _cache[url] = cert
            while len(_cache) > CERT_CACHE_SIZE:
                del _cache[next(iter(_cache))]
    now = datetime.now(timezone.utc)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        with _cache_lock:
            _cache.pop(url, None)
        raise SignatureError(f"the signing certificate {url} is valid only from {cert.not_valid_before_utc} "
                             f"to {cert.not_valid_after_utc}: expired or not yet valid")
    return cert


def canonical(message: dict) -> bytes:
    fields = _FIELDS.get(message.get("Type"))
    if fields is None:
        raise SignatureError(f"unknown message Type {message.get('Type')!r}")
    out = []
    for name in fields:
        value = message.get(name)
        if value is None and name == "Subject":
            continue  # optional in a Notification
        if not isinstance(value, str):
            raise SignatureError(f"{name} missing")
        out.append(f"{name}\n{value}\n")
    return "".join(out).encode("utf-8")


def verify(message: dict) -> None:
    """Raise SignatureError unless ``message`` is signed by SNS's certificate."""
    algorithm = _HASHES.get(str(message.get("SignatureVersion")))
    if algorithm is None:
        raise SignatureError(f"unsupported SignatureVersion {message.get('SignatureVersion')!r}")
    signature, cert_url = message.get("Signature"), message.get("SigningCertURL")
    if not isinstance(signature, str) or not isinstance(cert_url, str):
        raise SignatureError("Signature and SigningCertURL are required")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError("Signature is not base64") from exc
    data = canonical(message)
    key = certificate(cert_url).public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signing certificate has no RSA key")
    try:
        key.verify(raw, data, padding.PKCS1v15(), algorithm())
    except InvalidSignature as exc:
        raise SignatureError("signature does not match") from exc
    fresh(message["Timestamp"], datetime.now(timezone.utc))


def fresh(stamp: str, now: datetime) -> None:
    """Raise StaleMessage unless the signed ``Timestamp`` is within MAX_AGE before ``now``."""
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        at = None
    if at is None or at.tzinfo is None:
        raise StaleMessage(f"Timestamp {stamp[:40]!r} is not an ISO 8601 time with its zone")
    if at < now - MAX_AGE:
        raise StaleMessage(f"Timestamp {stamp} is more than {MAX_AGE} old: SNS no longer retries it, "
                           "so it is a replay")
    if at > now + MAX_SKEW:
        raise StaleMessage(f"Timestamp {stamp} is in the future")


def pinned(message: dict, topics: tuple[str, ...]) -> None:
    """Raise ForeignTopic unless the message's TopicArn is one of ``topics``."""
    topic = message.get("TopicArn")
    if not topics:
        raise ForeignTopic("PRIZE_SES_TOPIC_ARNS is not set, so no SNS topic is trusted")
    if topic not in topics:
        shown = topic[:300] if isinstance(topic, str) else topic
        raise ForeignTopic(f"topic {shown!r} is not one of PRIZE_SES_TOPIC_ARNS")


def _addresses(ses: dict) -> tuple[str | None, list[tuple[str, str]]]:
    """(reason, [(address, detail)]) from an SES notification: permanent bounces and complaints only."""
    kind = ses.get("notificationType") or ses.get("eventType")
    if kind == "Bounce":
        bounce = ses.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return None, []  # Transient / Undetermined: SES retries; nothing to remember
        sub = bounce.get("bounceSubType") or ""
        return "bounce", [(r.get("emailAddress"), " ".join(filter(None, (
            f"Permanent/{sub}", r.get("status"), r.get("diagnosticCode")))))
            for r in bounce.get("bouncedRecipients") or [] if isinstance(r, dict)]
    if kind == "Complaint":
        complaint = ses.get("complaint") or {}
        detail = "complaint" + (f": {complaint['complaintFeedbackType']}"
                                if complaint.get("complaintFeedbackType") else "")
        return "complaint", [(r.get("emailAddress"), detail)
                             for r in complaint.get("complainedRecipients") or [] if isinstance(r, dict)]
    return None, []


def _delivered_key(ses: dict) -> str | None:
    """The delivery key of an SES "Delivery" notification, from the X-Prize-Delivery-Key header
    SES repeats in it (the identity's "include original headers" setting), else None."""
    if (ses.get("notificationType") or ses.get("eventType")) != "Delivery":
        return None
    mail = ses.get("mail") if isinstance(ses.get("mail"), dict) else {}
    for header in mail.get("headers") or []:
        if isinstance(header, dict) and str(header.get("name", "")).lower() == "x-prize-delivery-key":
            value = "".join(str(header.get("value", "")).split())  # unfolded
            return value[:200] or None
    return None


def confirm_delivered(session: Session, key: str, provider_message_id: str | None, at: datetime) -> bool:
    """SES says it delivered the email of delivery ``key``: record it as sent (once), also when
    the attempt that handed it over died before recording it (``unconfirmed``). True if this
    changed the row."""
    row = session.scalar(select(Delivery).where(Delivery.key == key).with_for_update())
    if row is None or row.status == "sent":
        return False
    row.status, row.sent_at, row.handed_at, row.last_error = "sent", at, None, None
    row.provider_message_id = (provider_message_id or row.provider_message_id or "")[:300] or None
    record(session, outbox, make_event("email.sent", {
        "delivery_key": row.key, "event_id": row.event_id, "template": row.template,
        "recipient": row.recipient, "provider_message_id": row.provider_message_id or "ses", "sent_at": at,
    }, producer="notify", correlation_id=row.correlation_id))
    return True


# --- what the endpoint does with a message ---------------------------------------------------------

def receive(db: Database, message: dict, topics: tuple[str, ...]) -> dict:
    """Act on one SNS message posted to the endpoint and say what was done; Refused (403) if it is
    not provably from one of ``topics`` through SNS, (503) if that cannot be checked just now."""
    try:
        # the topic first: a stranger's topic gets no certificate fetched and no URL visited
        pinned(message, topics)
        verify(message)
    except (ForeignTopic, StaleMessage) as exc:
        log.warning("SNS message refused: %s", exc)
        raise Refused(403, f"SNS message refused: {exc}") from exc
    except SignatureError as exc:
        log.warning("SNS message refused: %s", exc)
        raise Refused(403, f"SNS signature not verified: {exc}") from exc
    except CertificateUnavailable as exc:
        log.warning("SNS message not verified yet: %s", exc)
        raise Refused(503, "the SNS signing certificate could not be fetched; try again") from exc
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        return confirm_subscription(message)
    if kind != "Notification":
        return {"ignored": kind}
    try:
        ses = json.loads(message["Message"])
    except ValueError:
        ses = None
    if not isinstance(ses, dict):
        return {"ignored": "not an SES notification"}
    return take_notification(db, ses)


def confirm_subscription(message: dict) -> dict:
    """Visit the SubscribeURL of a (verified) subscription to one of our topics."""
    url = message["SubscribeURL"]
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not (host == "amazonaws.com" or host.endswith(".amazonaws.com")):
        raise Refused(400, "SubscribeURL is not an https amazonaws.com address")
    try:
        _get(url)
    except OSError as exc:
        raise Refused(503, f"could not confirm the subscription: {exc}") from exc
    log.info("SNS subscription to %s confirmed", message.get("TopicArn"))
    return {"confirmed": True}


def take_notification(db: Database, ses: dict) -> dict:
    """An SES notification: a delivery confirmed, or addresses to suppress (bounces, complaints)."""
    reason, addresses = _addresses(ses)
    mail = ses.get("mail") if isinstance(ses.get("mail"), dict) else {}
    source = mail.get("messageId") if isinstance(mail.get("messageId"), str) else None
    key = _delivered_key(ses)
    if key is not None:
        with db.session() as s, s.begin():
            confirmed = confirm_delivered(s, key, source, datetime.now(timezone.utc))
        if confirmed:
            log.info("SES confirmed delivery %s", key)
        return {"confirmed": [key] if confirmed else []}
    added = []
    try:
        with db.session() as s, s.begin():
            for address, detail in addresses:
                if isinstance(address, str) and "@" in address and len(address) <= 320:
                    if suppress(s, address, reason, detail, source):
                        added.append(address.strip().lower())
    except IntegrityError as exc:
        # the same address suppressed by a concurrent notification: SNS retries a non-2xx
        raise Refused(409, "a concurrent notification suppressed the same address; try again") from exc
    if added:
        log.info("suppressed after SES %s: %s", reason, ", ".join(added))
    return {"suppressed": added}
