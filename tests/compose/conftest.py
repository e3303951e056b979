"""docker-compose.yml brought up by pytest-docker, for tests/compose only.

Only `make test-compose` runs these (it sets PRIZE_TEST_COMPOSE=1; tests/conftest.py leaves this
folder out of every other run, `make test` included, since most machines, this one and CI among
them, have no Docker engine). Without Docker they fail, saying so: they never skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROJECT = f"prize-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(COMPOSE_FILE)


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return PROJECT  # its own containers, network and volumes, removed afterwards


@pytest.fixture(scope="session")
def docker_setup():
    if shutil.which("docker") is None:
        pytest.fail("make test-compose needs Docker with its compose plugin: docker is not installed")
    for args, missing in ((["compose", "version"], "the docker compose plugin is not installed"),
                          (["info"], "no Docker engine answers")):
        probe = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            pytest.fail(f"make test-compose needs Docker with its compose plugin: {missing}\n"
                        f"{probe.stdout}{probe.stderr}")
    # --wait: until every healthcheck passes (the web apps' /readyz, the workers' heartbeat)
    # and the one-shot migrate exited 0
    return ["up --build --detach --wait --wait-timeout 600"]


@pytest.fixture(scope="session")
def docker_cleanup():
    return ["down --volumes --remove-orphans"]


@pytest.fixture(scope="session")
def compose(docker_services):
    return docker_services


def compose_command(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`docker compose ARGS` on the stack under test."""
    return subprocess.run(["docker", "compose", "-f", str(COMPOSE_FILE), "-p", PROJECT, *args],
                          capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
