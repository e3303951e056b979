"""The README as a newcomer follows it: `make run`, `prize demo`, each printed link opened in
Chromium lands signed in on that person's page, `prize mail` shows the demo's emails, and the API
examples run as written.

The shell blocks come from README.md itself (each marked with an HTML comment `<!-- newcomer:
NAME -->` on the line before it), so the README cannot drift from what works. They run in this
checkout with a fresh var folder and free ports (PRIZE_*_PORT: the examples follow them).
"""
from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_run_layout import SERVICES, prize_run, run_env

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- newcomer: ([\w-]+) -->\n```sh\n(.*?)^```", re.M | re.S)
PERSON = re.compile(r"^  (admin|secretariat|juror|applicant)\s+(.+)\n\s+(http://\S+)\n\s+try: (.+)$", re.M)
KAOHSIUNG, LUBLIN = "mei.lin@kcg.demo.example.tw", "zofia.wisniewska@lublin.demo.example.pl"


def readme_blocks() -> dict[str, str]:
    return {name: body for name, body in MARKER.findall((ROOT / "README.md").read_text(encoding="utf-8"))}


def sh(script: str, env: dict, timeout: float = 180) -> subprocess.CompletedProcess:
    """A README block as pasted into bash in the project folder: any failing command fails it."""
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory):
    """`make run` started from the README's block, every service ready; stopped afterwards."""
    import socket
    ports = {}
    for svc in SERVICES:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports[svc] = s.getsockname()[1]
    tmp = tmp_path_factory.mktemp("newcomer")
    env = run_env(tmp, ports)
    blocks = readme_blocks()
    log_path = tmp / "make-run.log"
    started = time.monotonic()
    # the first make run of a fresh clone installs .venv first: up to a few minutes
    with prize_run(env, ports, log_path, command=["bash", "-c", blocks["run"]], cwd=ROOT, ready_within=300):
        yield {"env": env, "ports": ports, "blocks": blocks, "log": log_path, "started": started, "var": tmp / "var"}


def _people(output: str) -> list[dict]:
    return [{"role": m[0], "name": m[1].strip(), "url": m[2], "hint": m[3]} for m in PERSON.findall(output)]


def _open(context, url: str):
    """Open a link from the terminal as a person would: the page, then its Sign in button."""
    page = context.new_page()
    page.goto(url)
    button = page.get_by_role("button", name=re.compile("sign in|로그인|entrar", re.I))
    if "/signin/" in page.url and button.count():
        with page.expect_navigation():
            button.first.click()
    return page


@pytest.mark.e2e
def test_make_run_then_demo_signs_each_person_in_on_their_page(newcomer):
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, DOCS_IMG, FLAGS, screenshot
    ports, env = newcomer["ports"], newcomer["env"]
    banner = newcomer["log"].read_text()
    for svc in SERVICES:  # make run printed the three addresses and the next command
        assert f"http://127.0.0.1:{ports[svc]}/" in banner, banner[:2000]
    assert "prize demo" in banner
    # once all three are ready, one line with the address to open (the banner has scrolled away)
    ready = rf"^ready after [\d.]+ s: open http://127\.0\.0\.1:{ports['intake']}/ - next, in a second shell here: " \
            r"\S*prize demo$"
    deadline = time.monotonic() + 10  # the line's own look at /readyz may come a moment after ours
    while not re.search(ready, banner, re.M) and time.monotonic() < deadline:
        time.sleep(0.2)
        banner = newcomer["log"].read_text()
    assert re.search(ready, banner, re.M), banner[-3000:]
    done = sh(newcomer["blocks"]["demo"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 applications screened eligible, 2 jurors, the finalist round assigned" in done.stdout, done.stdout
    people = _people(done.stdout)
    assert [p["role"] for p in people] == ["admin", "secretariat", "juror", "applicant", "applicant"], done.stdout
    intake, review = f"http://127.0.0.1:{ports['intake']}", f"http://127.0.0.1:{ports['review']}"
    expected = [  # where each lands, and what says it is them
        (f"{intake}/secretariat", "WeGO Secretariat (demo)"),
        (f"{intake}/secretariat", "Park Ji-won (demo)"),
        (f"{review}/jury", "Dr. Kim Soo-jin"),
        (f"{intake}/portal", "Hydrogen buses for the harbour"),
        (f"{intake}/portal", "Lublin Digital Twin"),
    ]
    first_signed_in = None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for person, (landing, shown) in zip(people, expected):
                context = browser.new_context()
                page = _open(context, person["url"])
                assert page.url.split("?")[0].rstrip("/") == landing, (person, page.url)
                assert shown in page.inner_text("body"), (person, page.inner_text("body")[:1500])
                first_signed_in = first_signed_in or time.monotonic()
                screenshot(page, f"first-ten-minutes-{person['role']}-{person['name'].split()[0]}")
                if person["role"] == "juror":  # assignments to score, not an empty page
                    assert page.locator("a[href*='/jury/applications/']").count() >= 1
                    page.set_viewport_size({"width": 1100, "height": 700})
                    page.screenshot(path=str(DOCS_IMG / "first-ten-minutes-juror.png"))
                if "Kaohsiung" in person["name"]:
                    assert page.locator("html").get_attribute("lang") == "ko"
                # a link works once: opened again in another browser it signs nobody in
                again = _open(browser.new_context(), person["url"])
                assert shown not in again.inner_text("body"), person
                context.close()
            # fresh links later, and they work as well
            later = sh(f"{PRIZE_CMD} demo --links", env)
            assert later.returncode == 0, later.stderr
            fresh = _people(later.stdout)
            assert [p["url"] for p in fresh] and not {p["url"] for p in fresh} & {p["url"] for p in people}
            page = _open(browser.new_context(), fresh[2]["url"])
            assert page.url.startswith(f"{review}/jury") and "Dr. Kim Soo-jin" in page.inner_text("body")
        finally:
            browser.close()
    print(f"\nfirst signed-in page {first_signed_in - newcomer['started']:.1f} s after `make run` started")


PRIZE_CMD = ".venv/bin/prize"


@pytest.mark.e2e
def test_production_prints_no_link(newcomer):
    env = dict(newcomer["env"], PRIZE_ENV="production", PRIZE_SECRET_KEY="a-production-secret-for-this-test")
    done = sh(f"{PRIZE_CMD} demo --links", env)
    assert done.returncode == 1
    assert "http" not in done.stdout and "never printed with PRIZE_ENV=production" in done.stderr


@pytest.mark.e2e
def test_prize_mail_shows_the_demos_emails_decoded_and_a_requested_link_signs_in(newcomer):
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, FLAGS
    env, blocks = newcomer["env"], newcomer["blocks"]
    assert sh(f"{PRIZE_CMD} demo", env).returncode == 0  # (again: adds nothing; the emails are there)
    # what Kaohsiung has received, in Korean, decoded
    deadline = time.monotonic() + 60
    while True:
        done = sh(blocks["mail"], env)
        if (done.returncode == 0 and len(re.findall(r"^  \d{4}-\d\d-\d\d \d\d:\d\d UTC  " + re.escape(KAOHSIUNG),
                                                    done.stdout, re.M)) >= 3) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert done.returncode == 0, done.stderr
    assert "Hydrogen buses for the harbour" in done.stdout, done.stdout
    assert re.search(r"Subject: .*[\uac00-\ud7a3]", done.stdout), done.stdout  # a Korean subject, decoded
    # a link asked for the normal way, read with prize mail, opened in the browser
    done = sh(blocks["signin"], env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    link = re.search(r"^\s*\[1\] (http://\S+/signin/\S+)$", done.stdout, re.M)
    assert link, done.stdout
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = _open(browser.new_context(), link[1])
            assert page.url.rstrip("/").endswith("/portal") and "Lublin Digital Twin" in page.inner_text("body")
        finally:
            browser.close()


@pytest.mark.e2e
def test_the_readme_api_examples_run_as_written(newcomer):
    blocks = newcomer["blocks"]
    done = sh(blocks["api"] + "\n" + blocks["ceremony"], newcomer["env"], timeout=240)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    lines = done.stdout.split()
    for word in ("open", "verified", "submitted", "sent"):
        assert word in lines, done.stdout


def test_every_readme_example_for_the_embedded_stack_is_one_this_file_runs():
    """A shell block that talks to `make run`'s services or runs prize demo or mail must carry a
    `<!-- newcomer: NAME -->` marker (and so be run above), or it could rot unnoticed."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    marked = set(readme_blocks().values())
    for block in re.findall(r"^```(?:sh|bash)\n(.*?)^```", text, re.M | re.S):
        if re.search(r"PRIZE_INTAKE_PORT|localhost:800|127\.0\.0\.1:800|prize (demo|mail)|\$INTAKE", block):
            assert block in marked, block[:300]
    assert {"run", "demo", "mail", "signin", "api", "ceremony"} <= set(readme_blocks())
