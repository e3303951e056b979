"""A real OpenID Connect provider for tests: node runs oidc_provider/provider.js (the npm package
oidc-provider) on a free port, with one confidential client and the accounts in ``ACCOUNTS``.

``running_provider()`` starts it (after ``npm ci`` when node_modules is missing), waits until its
discovery document answers, yields a ``RunningProvider`` and stops it. The root conftest's
``oidc_provider`` fixture is one such provider for the whole session. Without node or npm the test
is skipped, saying what to install; with CI=true it fails instead.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
import requests

from shared.config import OidcSettings

FOLDER = Path(__file__).resolve().parent / "oidc_provider"
IN_CI = os.environ.get("CI", "").lower() == "true"
CLIENT_ID = "prize-staff-test"
CLIENT_SECRET = "prize-staff-test-secret"
# Nothing listens there: the test's "browser" stops at the redirect and hands its query to finish().
REDIRECT_URI = "http://127.0.0.1:9/staff/oidc/callback"
ACCOUNTS = [
    {"login": "chair", "email": "  Chair@Example.ORG ", "email_verified": True, "name": "Ji-woo Park"},
    {"login": "unverified", "email": "unverified@example.org", "email_verified": False, "name": "Not Verified"},
    {"login": "no-email", "name": "No Email"},
]


@dataclass(frozen=True)
class RunningProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    redirect_uri: str = REDIRECT_URI

    def settings(self, **changes) -> OidcSettings:
        values = dict(issuer=self.issuer, client_id=self.client_id, client_secret=self.client_secret,
                      label="Test Provider")
        values.update(changes)
        return OidcSettings(**values)

    def authorize(self, authorization_url: str, login: str | None = None, *, deny: bool = False) -> dict:
        """What a person's browser does at the provider: follow the authorization URL, sign in as
        ``login`` (or press "Deny"), and give back the query arguments of the redirect to us."""
        with requests.Session() as browser:
            response = browser.get(authorization_url, allow_redirects=False, timeout=10)
            for _ in range(12):
                if response.status_code >= 400:
                    raise AssertionError(f"the provider answered {response.status_code}: {response.text[:500]}")
                location = response.headers.get("Location")
                if location is None:  # the provider's sign-in page
                    action = _form_action(response.text, "abort" if deny else "login")
                    response = browser.post(urljoin(response.url, action), data={"login": login or ""},
                                            allow_redirects=False, timeout=10)
                    continue
                location = urljoin(response.url, location)
                if location.startswith(self.redirect_uri):
                    return dict(parse_qsl(urlsplit(location).query))
                response = browser.get(location, allow_redirects=False, timeout=10)
        raise AssertionError(f"no redirect back to {self.redirect_uri}; last page: {response.text[:500]}")


def _form_action(page: str, which: str) -> str:
    match = re.search(rf'<form method="post" action="([^"]+/{which})"', page)
    if not match:
        raise AssertionError(f"the provider's page has no {which} form: {page[:500]}")
    return match.group(1)


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _install() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("the OpenID Connect tests need node (20 or later) and npm: apt-get install nodejs npm")
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=FOLDER,
                              capture_output=True, text=True, timeout=300)
        if done.returncode:
            _unavailable(f"npm ci in {FOLDER} failed: {done.stderr[-1000:]}")
    return node, npm


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_discovery(issuer: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the OpenID Connect provider exited with {process.returncode}: {log.read()[-2000:]}")
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the OpenID Connect provider at {issuer} did not answer within 30 seconds")


@contextmanager
def running_provider(accounts: list[dict] = ACCOUNTS, *, claims_in_id_token: bool = False):
    """A provider on a free port until the block ends. ``claims_in_id_token`` puts email and name
    into the ID token itself; by default they come from the userinfo endpoint only, as the
    specification has it for the code flow (``conformIdTokenClaims``)."""
    node, _ = _install()
    port = _free_port()
    env = {**os.environ, "OIDC_CLIENT_ID": CLIENT_ID, "OIDC_CLIENT_SECRET": CLIENT_SECRET,
           "OIDC_REDIRECT_URIS": REDIRECT_URI, "OIDC_ACCOUNTS": json.dumps(accounts),
           "OIDC_CLAIMS_IN_ID_TOKEN": "1" if claims_in_id_token else ""}
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([node, "provider.js", str(port)], cwd=FOLDER, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            issuer = f"http://127.0.0.1:{port}"
            _wait_for_discovery(issuer, process, log)
            yield RunningProvider(issuer)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
