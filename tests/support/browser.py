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
