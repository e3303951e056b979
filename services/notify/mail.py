"""Mail backends, chosen by ``PRIZE_MAIL_URL``: a local mailbox folder, SMTP, or Amazon SES.

Every message carries a Message-ID derived from the delivery key, so a resend after a crash
can be recognised downstream.

Each backend's ``send(m, check=None, handed=None)`` calls ``check`` once the provider accepted
the envelope and before any of the message goes (it raises to stop the send), and ``handed``
once the message has gone as far as we can see before the provider's answer: for SMTP, after
the final dot of DATA; for SES, just before the API call, which is all one step.
"""
from __future__ import annotations

import os
import smtplib
import socket
import tempfile
import threading
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, parseaddr
from pathlib import Path
from urllib.parse import unquote, urlparse

from shared import tracing
from shared.config import AWS_REGION


class TransientMailError(Exception):
    """Try again later: the server is down or said 4xx."""


class PermanentMailError(Exception):
    """Do not try again: the server said 5xx for this address or message."""


class ServerUnavailable(TransientMailError):
    """Try again later, and not with the next message either: the server itself is failing (no
    connection, 421, a refused sender, SES throttling or down), whoever the email is for."""


@dataclass
class Outgoing:
    key: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    headers: dict | None = None  # e.g. List-Unsubscribe (ops/optout.py)


def build_message(m: Outgoing) -> MIMEMultipart:
    # email.mime (the compat32 API) rather than EmailMessage: measured at a quarter of the CPU
    # per message, which is most of notify's work per email.
    msg = MIMEMultipart("alternative")
    msg["From"] = m.sender
    msg["To"] = m.recipient
    msg["Subject"] = str(Header(m.subject, "utf-8")) if not m.subject.isascii() else m.subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<{m.key.replace(':', '.').replace('@', '.at.')}@prize.wego-cities.org>"
    msg["X-Prize-Delivery-Key"] = m.key
    for name, value in (m.headers or {}).items():
        msg[name] = value
    msg.attach(MIMEText(m.text, "plain", "utf-8"))
    msg.attach(MIMEText(m.html, "html", "utf-8"))
    return msg


class _SMTP(smtplib.SMTP):
    """smtplib's client, calling ``check`` once the server accepted the envelope (sender and
    recipient), before DATA, and ``handed`` once the message and its final dot are sent, before
    the server's answer is read: only a crash between those two moments leaves the outcome
    unknown (the server may have kept the message); before the dot it has nothing."""
    check = None
    handed = None
    _in_data = False

    def data(self, msg):
        if self.check is not None:
            self.check()
        self._in_data = True
        try:
            return super().data(msg)
        finally:
            self._in_data = False

    def send(self, s):
        super().send(s)
        # smtplib sends the whole quoted message and its "." line in one call, then reads the reply
        if self._in_data and isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self._in_data = False
            if self.handed is not None:
                self.handed()


class FileMailbox:
    """Writes each email as an .eml file named after its delivery key: idempotent by nature."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
        return self.folder / f"{safe}.eml"

    can_tell = True  # already_sent answers for sure

    def already_sent(self, key: str) -> bool:
        return self._path(key).exists()

    def send(self, m: Outgoing, check=None, handed=None) -> str:
        if check is not None:
            check()  # the last look before the message goes, as for the other backends
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(m.key)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(build_message(m)))
        os.replace(tmp, path)  # atomic: a reader never sees half an email
        return path.name


class SmtpMailer:
    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.host, self.port, self.timeout = host, port, timeout

    can_tell = False

    def already_sent(self, key: str) -> bool:
        return False  # SMTP cannot tell us: see delivery.Sender.deliver for what is done instead

    def send(self, m: Outgoing, check=None, handed=None) -> str:
        """Send one message (see the module's docstring for ``check`` and ``handed``)."""
        msg = build_message(m)
        try:
            with tracing.client_span("notify", "smtp send", **{
                    "server.address": self.host, "server.port": self.port, "prize.mail.key": m.key}), \
                    _SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.check, smtp.handed = check, handed
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if 421 in codes:  # "service not available, closing channel"
                raise ServerUnavailable(str(exc))
            if all(400 <= c < 500 for c in codes):
                raise TransientMailError(str(exc))
            raise PermanentMailError(str(exc))
        except smtplib.SMTPResponseException as exc:
            text = f"{exc.smtp_code} {exc.smtp_error!r}"
            if exc.smtp_code == 421 or (400 <= exc.smtp_code < 500 and isinstance(
                    exc, (smtplib.SMTPConnectError, smtplib.SMTPHeloError, smtplib.SMTPSenderRefused))):
                # the greeting, HELO or our own sender refused: no recipient would fare better
                raise ServerUnavailable(text)
            if 400 <= exc.smtp_code < 500:
                raise TransientMailError(text)
            raise PermanentMailError(text)
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            # no connection, a timeout, a dropped line: the server, not this message
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}")
        return msg["Message-ID"]


# SES error codes (SES v1 and v2 spellings) that mean "not now": retried with backoff.
_SES_TRANSIENT = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestThrottled",
    "ServiceUnavailable", "ServiceUnavailableException", "InternalFailure", "InternalServiceError",
    "RequestTimeout", "RequestTimeoutException",
}


class SesMailer:
    """Amazon SES through boto3 (the SES API's SendRawEmail), so the exact MIME message that the
    other backends write, with its Message-ID and X-Prize-Delivery-Key headers, is what is sent.

    Credentials and the endpoint come from boto3's usual sources (AWS_ACCESS_KEY_ID and friends,
    a profile or an instance role; AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_SES for a stand-in such
    as moto). The sender (``PRIZE_MAIL_FROM``) must be a verified identity in the region.
    botocore's own retries are off: a failed send is retried by the delivery sweep, with backoff,
    without holding up other emails.
    """

    def __init__(self, region: str, client=None, timeout: float = 10.0):
        self.region = region
        self.timeout = timeout
        self._client = client
        self._lock = threading.Lock()

    def _ses(self):
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config
                    config = Config(connect_timeout=self.timeout, read_timeout=3 * self.timeout,
                                    retries={"mode": "standard", "total_max_attempts": 1})
                    # a session of our own: boto3's default session is not safe across threads
                    self._client = boto3.session.Session().client("ses", region_name=self.region,
                                                                  config=config)
        return self._client

    can_tell = False

    def already_sent(self, key: str) -> bool:
        return False  # SES cannot tell us either

    def send(self, m: Outgoing, check=None, handed=None) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        msg = build_message(m)
        if check is not None:
            check()
        if handed is not None:
            handed()  # one call hands it over: from here a crash leaves the outcome unknown
        try:
            # Source is the bare address (bounces go there; a display name that is not ASCII
            # would need encoding); the From header keeps the name.
            answer = self._ses().send_raw_email(Source=parseaddr(m.sender)[1] or m.sender,
                                                Destinations=[m.recipient],
                                                RawMessage={"Data": msg.as_bytes()})
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            text = f"SES {code}: {error.get('Message', '')}".strip()
            if code in _SES_TRANSIENT or status >= 500 or status == 429:
                raise ServerUnavailable(text)  # throttled or down: for every recipient alike
            # MessageRejected, MailFromDomainNotVerified(Exception), InvalidParameterValue (a bad
            # address), AccountSendingPaused, ...: sending the same message again will not help.
            raise PermanentMailError(text)
        except (BotoCoreError, OSError) as exc:
            # no connection, a timeout, no credentials yet: nothing about this message is wrong
            raise ServerUnavailable(f"SES {type(exc).__name__}: {exc}")
        return answer["MessageId"]


def mailer_from_url(url: str):
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileMailbox(Path(unquote(parsed.path)))
    if parsed.scheme == "smtp":
        return SmtpMailer(parsed.hostname or "127.0.0.1", parsed.port or 25)
    if parsed.scheme == "ses":
        region = parsed.netloc
        if not AWS_REGION.fullmatch(region):
            raise ValueError(f"ses:// needs an AWS region, such as ses://eu-west-1, got {url!r}")
        return SesMailer(region)
    raise ValueError(f"mail backend {parsed.scheme}:// is not available yet")
