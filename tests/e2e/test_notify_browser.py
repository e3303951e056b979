"""The secretariat's outbox in a real browser (Playwright + Debian's Chromium): sign in, filter
the outbox, open one email (its HTML in the sandboxed frame) and resend it to a real SMTP server."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from shared.config import load_settings
from tests.conftest import embedded_env
from tests.notify.test_notify_outbox_page import add_delivery, rows
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    yield context.new_page()
    browser.close(context, profile)


@pytest.fixture
def notify_server(tmp_path, smtp_server):
    """notify's web app over real HTTP, its outbox holding a few emails, mailing to the SMTP server."""
    stack = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_MAIL_URL=smtp_server.url)), services=("notify",))
    db = stack.apps["notify"].extensions["prize"]["db"]
    for n in range(4):
        add_delivery(db, n)
    failed = add_delivery(db, 9, recipient="ana.souza@guarulhos.example.br", status="failed", sent_at=None, attempts=8,
                          subject="Application received: SSCP-2026-GRU004 — Guarulhos listens",
                          body_text="Dear Ana Souza,\nThank you for applying.\n",
                          body_html="<p>Dear <strong>Ana Souza</strong>, thank you for applying.</p>",
                          last_error="421 4.3.0 mailbox temporarily unavailable")
    server = make_server("127.0.0.1", 0, stack.apps["notify"], threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "stack": stack, "db": db, "failed": failed}
    server.shutdown()
    stack.stop()


def test_notify_secretariat_filters_the_outbox_opens_an_email_and_resends_it(page, notify_server, smtp_server):
    base = notify_server["base"]
    # staff sign in at intake (not served here); an operator pastes a token on notify's own form
    page.goto(base + "/secretariat/signin?next=/secretariat/outbox")
    page.get_by_label("Secretariat token").fill(notify_server["stack"].secretariat_token())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/secretariat/outbox")
    assert "5 emails" in page.locator("#count").inner_text()

    page.get_by_label("Status").select_option("failed")
    page.get_by_label("Recipient contains").fill("guarulhos")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**status=failed**")
    assert page.locator("#count").inner_text() == "1 email"
    assert "421 4.3.0 mailbox temporarily unavailable" in page.locator("tbody").inner_text()
    browser.screenshot(page, "notify-outbox-filtered")

    page.locator("tbody a").first.click()
    page.wait_for_url(f"{base}/secretariat/outbox/{notify_server['failed']}")
    assert page.locator("#subject").inner_text() == "Application received: SSCP-2026-GRU004 — Guarulhos listens"
    assert "Thank you for applying." in page.locator("#text").inner_text()
    frame = page.frame_locator("iframe.email-html")
    assert frame.locator("strong").inner_text() == "Ana Souza"  # the HTML, shown in its sandboxed frame
    browser.screenshot(page, "notify-outbox-email")

    page.get_by_role("button", name="Resend").click()
    page.locator(".flash.ok").filter(has_text="Resent to ana.souza@guarulhos.example.br.").wait_for()
    assert page.locator("#status").inner_text() == "sent"
    [message] = smtp_server.wait_for(1)
    assert message["to"] == ["ana.souza@guarulhos.example.br"]
    assert str(message["message"]["Subject"]) == "Application received: SSCP-2026-GRU004 — Guarulhos listens"
    assert len(rows(notify_server["db"])) == 6
    browser.screenshot(page, "notify-outbox-resent")
