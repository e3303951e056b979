"""Mail backends, chosen by ``PRIZE_MAIL_URL``: a local mailbox folder, or SMTP.

Every message carries a Message-ID derived from the delivery key, so a resend after a crash
can be recognised downstream.
"""
from __future__ import annotations

import os
import smtplib
import socket
import tempfile
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlparse


class TransientMailError(Exception):
    """Try again later: the server is down or said 4xx."""


class PermanentMailError(Exception):
    """Do not try again: the server said 5xx for this address or message."""


@dataclass
class Outgoing:
    key: str
    sender: str
    recipient: str
    subject: str
    text: str
    html: str


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
    msg.attach(MIMEText(m.text, "plain", "utf-8"))
    msg.attach(MIMEText(m.html, "html", "utf-8"))
    return msg


class FileMailbox:
    """Writes each email as an .eml file named after its delivery key: idempotent by nature."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, key: str) -> Path:
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
        return self.folder / f"{safe}.eml"

    def already_sent(self, key: str) -> bool:
        return self._path(key).exists()

    def send(self, m: Outgoing) -> str:
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

    def already_sent(self, key: str) -> bool:
        return False  # SMTP cannot tell us; a resend after a crash is counted instead

    def send(self, m: Outgoing) -> str:
        msg = build_message(m)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if all(400 <= c < 500 for c in codes):
                raise TransientMailError(str(exc))
            raise PermanentMailError(str(exc))
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TransientMailError(f"{exc.smtp_code} {exc.smtp_error!r}")
            raise PermanentMailError(f"{exc.smtp_code} {exc.smtp_error!r}")
        except (OSError, socket.timeout, smtplib.SMTPException) as exc:
            raise TransientMailError(f"{type(exc).__name__}: {exc}")
        return msg["Message-ID"]


def mailer_from_url(url: str):
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return FileMailbox(Path(unquote(parsed.path)))
    if parsed.scheme == "smtp":
        return SmtpMailer(parsed.hostname or "127.0.0.1", parsed.port or 25)
    raise ValueError(f"mail backend {parsed.scheme}:// is not available yet")
