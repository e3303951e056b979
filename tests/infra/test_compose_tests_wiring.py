"""`make test-compose` runs tests/compose against docker-compose.yml; `make test` never collects it
(there is no Docker engine where the suite runs), and without Docker it fails rather than skips."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _collect_ignore(env: dict) -> str:
    code = "import tests.conftest as c; print(c.collect_ignore)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match, f"the Makefile has no {target} target"
    return match.group(1)


def test_only_make_test_compose_collects_the_compose_tests():
    env = {k: v for k, v in os.environ.items() if k != "PRIZE_TEST_COMPOSE"}
    env["PYTHONPATH"] = str(ROOT)
    assert _collect_ignore(env) == "['compose']"
    assert _collect_ignore(dict(env, PRIZE_TEST_COMPOSE="1")) == "[]"
    assert "PRIZE_TEST_COMPOSE=1" in _recipe("test-compose") and "tests/compose" in _recipe("test-compose")
    assert "PRIZE_TEST_COMPOSE" not in _recipe("test")


def test_the_compose_tests_fail_without_docker_and_never_skip(tmp_path):
    # a PATH with Python and no docker: what a machine without Docker sees
    env = dict(os.environ, PRIZE_TEST_COMPOSE="1", PYTHONPATH=str(ROOT), PATH=str(Path(sys.executable).parent))
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/compose"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0, out.stdout
    assert "docker is not installed" in out.stdout, out.stdout[-3000:]
    assert "skipped" not in out.stdout and re.search(r"\b2 errors?\b", out.stdout), out.stdout[-3000:]
