"""What the browser tests share: Playwright driving Debian's Chromium (tests/support/browser.py)."""
from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import threading
import time

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI
from tests.support import browser
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def playwright():
    if not os.path.exists(browser.CHROMIUM):
        message = f"Chromium not found at {browser.CHROMIUM}; install it with: apt-get install chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        yield p


@pytest.fixture
def portal_system(embedded_settings):
    """intake over real HTTP (links in emails point at it), with the intake and notify workers:
    emails land in the mailbox folder."""
    stack = Stack(embedded_settings)
    server = make_server("127.0.0.1", 0, stack.apps["intake"], threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = dataclasses.replace(embedded_settings, public_url=base)
    stack.apps["intake"].extensions["prize"]["settings"] = settings
    stack.settings = settings
    stack.start_workers(("intake", "notify"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield stack, base
    server.shutdown()
    stack.stop()


def mail_to(stack, address: str, subject_part: str, timeout: float = 30.0):
    """The first email in the mailbox folder to ``address`` whose subject has ``subject_part``."""
    folder = stack.settings.var_dir / "mailbox"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.eml")) if folder.exists() else []:
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if msg["To"] == address and subject_part in msg["Subject"]:
                return msg
        time.sleep(0.1)
    raise AssertionError(f"no email to {address} about {subject_part!r}")
