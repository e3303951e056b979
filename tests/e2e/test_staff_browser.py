"""Staff accounts in a real browser (Playwright + Debian's Chromium), the three services served over
real HTTP on their own ports, emails going to a real SMTP server, on the embedded and the real stack:
an admin signs in by an emailed link and invites a member and an observer; the member signs in once
and walks intake, review and notify through the bar (hand-offs, no second sign-in); the observer
reads every service and each write is refused; deactivating the member ends their three open tabs."""
from __future__ import annotations

import re
import threading
import time

import pytest
from werkzeug.serving import make_server

from services.intake.ops import staff as staff_ops
from shared.config import load_settings
from tests.api.test_staff_accounts import _copied
from tests.conftest import env_for
from tests.support import browser
from tests.support.stack import SERVICES, Stack, open_call, wait_until

pytestmark = pytest.mark.e2e

ADMIN, MEMBER, OBSERVER = "ada@wego.example", "min@wego.example", "oli@wego.example"
REFUSED = "can read but not change anything"
INVITED = "You are invited to the Seoul Smart City Prize staff pages"


@pytest.fixture(params=["embedded", "real"])
def served(request, tmp_path, smtp_server, free_port):
    """The three services over real HTTP (each on its own port, which its settings know), their
    workers running, mailing to the SMTP server. Yields (stack, {service: base URL}, stack kind)."""
    ports = {svc: free_port() for svc in SERVICES}
    urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
    settings = load_settings(env_for(
        request, tmp_path / "var", request.param, PRIZE_PUBLIC_URL=urls["intake"], PRIZE_MAIL_URL=smtp_server.url,
        PRIZE_REVIEW_PUBLIC_URL=urls["review"], PRIZE_NOTIFY_PUBLIC_URL=urls["notify"]))
    stack = Stack(settings).start_workers()
    servers = [make_server("127.0.0.1", ports[svc], stack.apps[svc], threaded=True) for svc in SERVICES]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stack, urls, request.param
    for server in servers:
        server.shutdown()
        server.server_close()
    stack.stop()


@pytest.fixture
def new_page(playwright):
    """Opens a browser of its own (its own cookies) for each person; closes them all afterwards."""
    opened = []

    def _open():
        opened.append(browser.launch(playwright))
        return opened[-1][0].new_page()
    yield _open
    for context, profile in opened:
        browser.close(context, profile)


def mailed_link(smtp_server, address: str, subject: str, timeout: float = 30.0) -> str:
    """The sign-in link in the text of the latest email that reached the SMTP server for ``address``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [m["message"] for m in smtp_server.wait_for(1, 0.1) if address in m["to"]]
        if mine:
            assert mine[-1]["Subject"] == subject
            return re.search(r"http://\S+/staff/signin/\S+", smtp_server.text_of(mine[-1])).group(0)
        time.sleep(0.1)
    raise AssertionError(f"no email reached {address}")


def sign_in_by_link(page, link: str, intake: str, name: str) -> None:
    page.goto(link)  # opening the link shows a button; pressing it signs in
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(intake + "/secretariat")
    assert_bar(page, name)


def assert_bar(page, name: str) -> None:
    assert page.locator("nav.staff-bar .staff-name").inner_text() == name
    assert page.locator("input[name=email]").count() == 0  # no sign-in form


def invite(page, intake: str, name: str, email: str, role: str) -> None:
    page.goto(intake + "/secretariat/staff")
    form = page.locator("form", has=page.get_by_role("button", name="Invite"))
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label(f"{role}:").check()
    form.get_by_role("button", name="Invite").click()
    page.locator(".flash.ok").filter(has_text=f"{name} is invited as {role}").wait_for()


def click_bar(page, label: str, url: str) -> list[str]:
    """Follow a link of the staff bar to ``url``; return the URLs the browser went through."""
    went: list[str] = []

    def seen(request):
        if request.is_navigation_request():
            went.append(request.url)
    page.on("request", seen)
    page.locator("nav.staff-bar").get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(url)
    page.remove_listener("request", seen)
    return went


def refused(page, press) -> None:
    """Pressing a write button as an observer: a 403 page saying the role only reads."""
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        press()
    assert answer.value.status == 403
    assert REFUSED in page.locator("main").inner_text()


def test_staff_sign_in_once_walk_the_services_and_deactivation_ends_every_tab(served, new_page, smtp_server):
    stack, urls, kind = served
    intake = urls["intake"]
    staff_ops.add_member(stack.apps["intake"].extensions["prize"]["db"], ADMIN, "Ada Admin", "admin", "en",
                         "operator test")
    open_call(stack.clients["intake"], stack.secretariat_token())  # review shows a form once it hears of it

    admin = new_page()
    admin.goto(intake + "/staff/signin")
    admin.get_by_label("Your work email address").fill(ADMIN)
    admin.get_by_role("button", name="Email me a sign-in link").click()
    admin.get_by_role("heading", name="Check your inbox").wait_for()
    sign_in_by_link(admin, mailed_link(smtp_server, ADMIN, "Sign in to the Seoul Smart City Prize staff pages"), intake, "Ada Admin")
    assert "(Administrator)" in admin.locator("nav.staff-bar").inner_text()
    browser.screenshot(admin, f"staff-{kind}-admin-signed-in")
    invite(admin, intake, "Min Secretariat", MEMBER, "Secretariat")
    invite(admin, intake, "Oli Observer", OBSERVER, "Observer")
    browser.screenshot(admin, f"staff-{kind}-admin-invited")
    for svc in ("review", "notify"):  # they learn of staff by events
        for email in (MEMBER, OBSERVER):
            assert wait_until(lambda s=svc, e=email: _copied(stack, s, e, active=True)), (svc, email)

    tabs = member_walks_the_services(new_page, smtp_server, urls, kind)
    observer_reads_and_is_refused(new_page(), smtp_server, urls, kind)

    admin.goto(intake + "/secretariat/staff")
    admin.get_by_role("button", name="Deactivate Min Secretariat").click()
    admin.locator(".flash.ok").filter(has_text="Min Secretariat is Secretariat, deactivated").wait_for()
    member_is_signed_out_everywhere(tabs, urls, kind)


def member_walks_the_services(new_page, smtp_server, urls, kind) -> dict:
    """The member signs in by the invitation and follows the bar: review, notify, back to intake.
    Returns one open tab per service."""
    page = new_page()
    sign_in_by_link(page, mailed_link(smtp_server, MEMBER, INVITED), urls["intake"], "Min Secretariat")
    went = click_bar(page, "Review", urls["review"] + "/secretariat")
    assert any("/staff/go?" in u for u in went) and any("/staff/handoff?t=" in u for u in went), went
    assert not any("/staff/signin" in u for u in went), went
    assert_bar(page, "Min Secretariat")
    browser.screenshot(page, f"staff-{kind}-member-on-review")
    click_bar(page, "Emails", urls["notify"] + "/secretariat/outbox")
    assert_bar(page, "Min Secretariat")
    browser.screenshot(page, f"staff-{kind}-member-on-notify")
    click_bar(page, "Editions and guests", urls["intake"] + "/secretariat")
    assert_bar(page, "Min Secretariat")
    tabs = {"intake": page}
    for svc, path in (("review", "/secretariat"), ("notify", "/secretariat/outbox")):
        tabs[svc] = page.context.new_page()
        assert tabs[svc].goto(urls[svc] + path).status == 200
        assert tabs[svc].url == urls[svc] + path  # this service's own session: no redirect
        assert_bar(tabs[svc], "Min Secretariat")
    return tabs


def observer_reads_and_is_refused(page, smtp_server, urls, kind) -> None:
    sign_in_by_link(page, mailed_link(smtp_server, OBSERVER, INVITED), urls["intake"], "Oli Observer")
    for svc, path in (("intake", "/secretariat"), ("review", "/secretariat"), ("notify", "/secretariat/outbox")):
        assert page.goto(urls[svc] + path).status == 200, svc
        assert page.url == urls[svc] + path
        assert_bar(page, "Oli Observer")
        assert "(Observer)" in page.locator("nav.staff-bar").inner_text()

    page.goto(urls["intake"] + "/secretariat/contact-email")
    page.get_by_label("Current sign-in address").fill("mei.lin@kcg.example.tw")
    page.get_by_label("New sign-in address").fill("mei.lin@kaohsiung.example.tw")
    page.get_by_label("Reason").fill("The mayor's office wrote.")
    refused(page, page.get_by_role("button", name="Move the sign-in address").click)
    browser.screenshot(page, f"staff-{kind}-observer-refused-intake")

    page.goto(urls["notify"] + "/secretariat/outbox")
    page.locator("tbody a").first.click()  # an invitation email: a delivery
    page.wait_for_url(re.compile(re.escape(urls["notify"]) + r"/secretariat/outbox/[0-9a-f-]+$"))
    refused(page, page.get_by_role("button", name="Resend").click)
    browser.screenshot(page, f"staff-{kind}-observer-refused-notify")

    deadline = time.monotonic() + 20
    while page.goto(urls["review"] + "/secretariat") and not page.get_by_role("button", name="Open the round").count():
        assert time.monotonic() < deadline, "review never showed the opened call"
        time.sleep(0.3)
    refused(page, page.get_by_role("button", name="Open the round").click)
    browser.screenshot(page, f"staff-{kind}-observer-refused-review")


def member_is_signed_out_everywhere(tabs, urls, kind) -> None:
    """intake refuses the next click at once; review and notify once their workers hear of it."""
    signin = re.compile(re.escape(urls["intake"]) + r"/staff/signin(\?.*)?$")
    tabs["intake"].locator("nav.staff-bar").get_by_role("link", name="My API tokens").click()
    tabs["intake"].wait_for_url(signin)
    for svc in ("review", "notify"):
        deadline = time.monotonic() + 20
        tabs[svc].reload()
        while not signin.match(tabs[svc].url):
            assert time.monotonic() < deadline, f"{svc} still lets the deactivated member in: {tabs[svc].url}"
            time.sleep(0.3)
            tabs[svc].reload()
    for svc, page in tabs.items():
        page.get_by_role("heading", name="Staff sign-in").wait_for()
        assert page.locator("nav.staff-bar").count() == 0, svc
        browser.screenshot(page, f"staff-{kind}-member-deactivated-{svc}")
