"""``prize mail``: the emails notify wrote into the mailbox folder, decoded.

On the embedded stack notify's file mailer (services/notify/mail.py, ``PRIZE_MAIL_URL=file://...``)
writes each email as an .eml file: MIME, base64-encoded UTF-8, so neither its subject nor its
sign-in link can be grepped. This command lists them (times in UTC, from their Date header) and
prints the newest one decoded, its links numbered, so a person can copy a sign-in link.
"""
from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import click

# a URL's ASCII characters (RFC 3986); a Korean or Chinese word right after a link ends it
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


@dataclass
class Email:
    path: Path
    when: datetime | None = None  # the Date header, in UTC; None if it has none or it is unreadable
    sender: str = ""
    to: str = ""
    cc: str = ""
    addresses: list[str] = field(default_factory=list)  # To and Cc, lower-case, in order
    subject: str = ""
    text: str | None = None
    html: str | None = None
    problem: str | None = None  # why the file could not be read as an email
    file_time: datetime | None = None
    file_order: int = 0  # the file's modification time in ns: orders emails of the same second

    @property
    def readable(self) -> bool:
        return self.problem is None

    @property
    def moment(self) -> datetime:
        return self.when or self.file_time or datetime.fromtimestamp(0, timezone.utc)


def decoded_header(value) -> str:
    """A header as a person reads it: encoded words (=?utf-8?b?...?=) decoded, on one line."""
    if value is None:
        return ""
    try:
        text = str(make_header(decode_header(str(value))))
    except (LookupError, ValueError, UnicodeDecodeError):
        text = str(value)
    return " ".join(text.split())


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _bodies(msg: Message) -> tuple[str | None, str | None]:
    """The first text/plain and the first text/html part that are not attachments."""
    text = html = None
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and text is None:
            text = _part_text(part)
        elif kind == "text/html" and html is None:
            html = _part_text(part)
    return text, html


def _utc(date_header) -> datetime | None:
    if not date_header:
        return None
    try:
        moment = parsedate_to_datetime(str(date_header))
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000": UTC, says RFC 5322
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def read_email(path: Path) -> Email:
    """One .eml file, decoded; a file that is not a readable email comes back with ``problem`` set."""
    found = Email(path=path)
    try:
        stat = path.stat()
        found.file_order = stat.st_mtime_ns
        found.file_time = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
        msg = email.message_from_bytes(path.read_bytes())
        if not any(msg.get(h) for h in ("From", "To", "Date", "Subject")):
            found.problem = "not an email: no From, To, Date or Subject header"
            return found
        found.when = _utc(msg.get("Date"))
        found.sender = decoded_header(msg.get("From"))
        found.to, found.cc = decoded_header(msg.get("To")), decoded_header(msg.get("Cc"))
        found.addresses = [a.lower() for _, a in getaddresses([found.to, found.cc]) if a]
        found.subject = decoded_header(msg.get("Subject"))
        found.text, found.html = _bodies(msg)
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the listing
        found.problem = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return found


def read_mailbox(folder: Path) -> list[Email]:
    """Every .eml file of the folder, oldest first (Date header, then the file's time, then name)."""
    if not folder.is_dir():
        return []
    emails = [read_email(p) for p in folder.glob("*.eml")]
    return sorted(emails, key=lambda e: (e.moment, e.file_order, e.path.name))


class _Hrefs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href.strip())


def _trim(url: str) -> str:
    """A URL without the punctuation that ends its sentence, or a bracket it does not open."""
    while url and url[-1] in ".,;:!?'":
        url = url[:-1]
    for opening, closing in ("()", "[]"):
        while url.endswith(closing) and url.count(closing) > url.count(opening):
            url = url[:-1]
    return url


def links(text: str | None, html: str | None) -> list[str]:
    """Every http(s) URL of the text part, then the HTML part's link targets not already there."""
    found = [_trim(u) for u in _URL.findall(text or "")]
    if html:
        parser = _Hrefs()  # lenient: broken HTML gives the links it has
        parser.feed(html)
        parser.close()
        found += [h for h in parser.hrefs if h.lower().startswith(("http://", "https://"))]
    return list(dict.fromkeys(u for u in found if u))


def elsewhere(mail_url: str, notify_url: str) -> str:
    """The one line for a mail URL that is not a folder: where emails go (no password shown)."""
    parts = urlparse(mail_url)
    if parts.scheme == "ses":
        where = f"Amazon SES in {parts.netloc.rsplit('@', 1)[-1]}"
    else:
        try:
            port = parts.port
        except ValueError:
            port = None
        host = f"{parts.hostname or '127.0.0.1'}" + (f":{port}" if port else "")
        where = f"the SMTP server {host}" if parts.scheme == "smtp" else f"{parts.scheme}://{host}"
    return (f"Emails go to {where} (PRIZE_MAIL_URL), not to a folder; see each one on notify's outbox "
            f"page: {notify_url}/secretariat/outbox")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else f"{'(no date)':<20}"


def listing_line(found: Email) -> str:
    if not found.readable:
        return f"{_when(found.file_time)}  unreadable: {found.path.name} ({found.problem})"
    to = ", ".join(found.addresses) or "(no recipient)"
    return f"{_when(found.when)}  {to}  {found.subject or '(no subject)'}"


def full_text(found: Email) -> list[str]:
    """The email as a person reads it: headers, the text part, then its links numbered."""
    date = found.when.strftime("%Y-%m-%d %H:%M:%S UTC") if found.when else "(none)"
    lines = [f"File: {found.path}", f"From: {found.sender}", f"To: {found.to}"]
    if found.cc:
        lines.append(f"Cc: {found.cc}")
    lines += [f"Date: {date}", f"Subject: {found.subject}", ""]
    lines.append(found.text.rstrip() if found.text is not None else "(no text part)")
    found_links = links(found.text, found.html)
    lines += ["", "Links:" if found_links else "Links: none"]
    lines += [f"  [{n}] {url}" for n, url in enumerate(found_links, 1)]
    return lines


def _file_folder(mail_url: str) -> Path | None:
    """The folder of a file:// mail URL, as notify's mailer reads it; None for any other kind."""
    from services.notify.mail import FileMailbox, mailer_from_url
    try:
        mailer = mailer_from_url(mail_url)
    except ValueError:
        return None
    return mailer.folder if isinstance(mailer, FileMailbox) else None


def _show(emails: list[Email], last: int, folder: Path, address: str | None) -> None:
    shown = emails[-last:]
    where = f"to {address} " if address else ""
    click.echo(f"{len(emails)} email(s) {where}in {folder}, oldest first (times in UTC):")
    if len(emails) > len(shown):
        click.echo(f"  ... {len(emails) - len(shown)} earlier email(s) left out "
                   f"(--last {len(emails)} lists them all)")
    for found in shown:
        click.echo(f"  {listing_line(found)}")
    newest = next((e for e in reversed(emails) if e.readable), None)
    if newest is None:
        click.echo("No readable email to show.")
        return
    click.echo("")
    click.echo("The newest email, decoded:" if newest is emails[-1] else "The newest readable email, decoded:")
    for line in full_text(newest):
        click.echo(line)


@click.command("mail")
@click.option("--to", "address", metavar="ADDRESS", help="only the emails to (or cc) this address")
@click.option("--last", type=click.IntRange(min=1), default=20, show_default=True,
              help="list only the last N emails")
def mail(address, last):
    """The mailbox's emails, decoded, with their links.

    A line for each email in the mailbox folder (PRIZE_MAIL_URL=file://...), oldest first, then
    the newest in full: its text and its links numbered. Times are the emails' Date headers, in
    UTC. For your sign-in link: prize mail --to YOUR@ADDRESS"""
    from services.cli import _settings
    settings = _settings()
    folder = _file_folder(settings.mail_url)
    if folder is None:
        click.echo(elsewhere(settings.mail_url, settings.service_url("notify")))
        return
    emails = read_mailbox(folder)
    if not emails:
        click.echo(f"No emails in {folder} yet: notify writes them there while the services run (make run).")
        return
    if address:
        wanted = address.strip().lower()
        unreadable = sum(1 for e in emails if not e.readable)
        matching = [e for e in emails if wanted in e.addresses]
        if not matching:
            click.echo(f"No emails to {address} in {folder} ({len(emails) - unreadable} to other addresses"
                       f"{f', {unreadable} unreadable' if unreadable else ''}).")
            return
        _show(matching, last, folder, address)
        if unreadable:
            click.echo(f"({unreadable} unreadable file(s) in the folder left aside; prize mail without --to lists them)")
        return
    _show(emails, last, folder, None)
