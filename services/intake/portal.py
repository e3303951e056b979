"""The applicant portal: server-rendered pages (being built)."""
from __future__ import annotations

blueprints: list = []
