"""Fixtures of the in-process integration tests: intake alone, on the embedded stack."""
from __future__ import annotations

import pytest

from tests.support.stack import Stack


@pytest.fixture
def stack(embedded_settings):
    """intake's app in this process (files that need all three services define their own)."""
    s = Stack(embedded_settings, services=("intake",))
    yield s
    s.stop()


@pytest.fixture
def intake(stack):
    return stack.clients["intake"]


@pytest.fixture
def sec(stack):
    return stack.secretariat_token()
