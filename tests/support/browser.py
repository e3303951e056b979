"""Playwright driving Debian's Chromium, headless, with the flags this network-less machine needs."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = os.environ.get("PRIZE_TEST_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("PRIZE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))


def launch(playwright):
    """A persistent context in a fresh user-data folder (Chromium stalls without one here)."""
    profile = tempfile.mkdtemp(prefix="prize-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
        viewport={"width": 1100, "height": 900})
    context.set_default_timeout(15000)
    return context, profile


def close(context, profile) -> None:
    context.close()
    shutil.rmtree(profile, ignore_errors=True)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def desktop_and_phone(page, name: str) -> tuple[int, int]:
    """Whole-page screenshots into docs/img/: ``name``.png at 1280x900 and ``name``-phone.png at
    390x844. Returns (scrollWidth, innerWidth) on the phone, for the caller's no-sideways-scroll
    assertion; the page is left at desktop size."""
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(DOCS_IMG / f"{name}.png"), full_page=True)
    page.set_viewport_size(PHONE)
    widths = tuple(page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))
    page.screenshot(path=str(DOCS_IMG / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    return widths
