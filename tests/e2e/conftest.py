"""What the browser tests share: Playwright driving Debian's Chromium (tests/support/browser.py)."""
from __future__ import annotations

import os

import pytest

from tests.conftest import IN_CI
from tests.support import browser


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
