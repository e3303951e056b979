"""The secretariat's Applications pages in a real browser (Playwright + Debian's Chromium): a staff
member (an observer: reading is all these pages need) opens the list from the secretariat's home
page, filters it, sorts it, opens an application as submitted, comes back to the same filters and
downloads the CSV; on a phone (390 px) the list is one card per row and nothing scrolls sideways.
Screenshots go to docs/img/ (applications-*.png, applications-*-phone.png)."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.intake.demo import APPLICANTS, load_demo
from services.intake.handlers import HANDLERS, inviter
from services.intake.models import Application, inbox, outbox, staff_tables
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from shared.staff import store
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "img"
NO_SIDEWAYS_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def served(embedded_settings):
    """intake over real HTTP with the demo edition, and an observer's staff session."""
    stack = Stack(embedded_settings, services=("intake",))
    app = stack.apps["intake"]
    load_demo(app)
    db = app.extensions["prize"]["db"]
    with db.session() as s:
        kaohsiung = s.query(Application).filter(Application.title == "Hydrogen buses for the harbour").one()
    message = make_event("application.screened", {
        "application_id": kaohsiung.id, "reference": kaohsiung.reference, "eligible": True,
        "screened_at": datetime.now(timezone.utc)}, producer="review").to_message()
    InboxDispatcher(db, inbox, outbox, "intake", bind(HANDLERS, invite=inviter("http://127.0.0.1:8001")))(
        parse_message(json.loads(json.dumps(message, default=str))))
    now = datetime.now(timezone.utc)
    member = {"staff_id": str(uuid.uuid4()), "email": "oli@wego.example", "name": "Oli Observer", "language": "en",
              "role": "observer", "active": True, "version": 1, "changed_by": "test"}
    with db.session() as s, s.begin():
        store.apply_member(s, staff_tables, member, now)
        secret = store.open_session(s, staff_tables, member["staff_id"], "family-observer", now)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stack, f"http://127.0.0.1:{server.server_port}", secret
    server.shutdown()
    stack.stop()


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


def _shot(page, name: str) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)


def test_staff_filter_the_applications_open_one_as_submitted_and_download_the_csv(page, served):
    stack, base, secret = served
    page.context.add_cookies([{"name": "prize_staff_intake", "value": secret, "url": base}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(base + "/secretariat")
    page.get_by_role("link", name="Applications", exact=True).click()
    page.wait_for_url(base + "/secretariat/applications")
    assert page.locator("#applications tbody tr").count() == len(APPLICANTS)  # the demo's: one row each
    _shot(page, "applications-list")

    page.get_by_label("Status").select_option("submitted")
    page.get_by_label("Region").select_option("europe")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**status=submitted**")
    assert "region=europe" in page.url
    rows = page.locator("#applications tbody tr")
    assert rows.count() == 1 and "Urząd Miasta Lublin" in rows.first.inner_text()
    page.get_by_label("Region").select_option("")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(lambda url: "region=europe" not in url)
    page.get_by_role("link", name="Applicant").click()  # sort by the applicant's name
    page.wait_for_url("**sort=organisation**")
    organisations = [r.split("\n")[0] for r in page.locator("#applications tbody td[data-label=Applicant]").all_inner_texts()]
    assert organisations == sorted(organisations, key=str.lower) and len(organisations) == 4
    assert "1–4 of 4" in page.locator("#found").inner_text()
    _shot(page, "applications-filtered")
    filtered = page.url

    page.locator("#applications tbody tr", has_text="Kaohsiung").get_by_role("link").first.click()
    page.wait_for_url(lambda url: "/secretariat/applications/" in url and "back=" in url)
    assert "As submitted" in page.locator("#version").inner_text()
    assert page.locator("h1").inner_text() == "Hydrogen buses for the harbour"
    assert "Eligible" in page.locator("#stages + ol").inner_text()
    assert page.get_by_role("link", name="Download the checked documents (ZIP)").count() == 1
    _shot(page, "applications-record")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(page, "applications-record-phone")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="← Applications").click()
    page.wait_for_url(filtered)  # back to the same filters and order

    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("applications-all-submitted-")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Kaohsiung City Government (高雄市政府)" in text and "Prefeitura de Guarulhos" in text
    assert "Beyoğlu Belediyesi" not in text  # a draft: not in this filter
    assert len(text.strip().splitlines()) == 5


def test_the_list_is_one_card_per_row_on_a_phone_and_never_scrolls_sideways(page, served):
    stack, base, secret = served
    page.context.add_cookies([{"name": "prize_staff_intake", "value": secret, "url": base}])
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base + "/secretariat/applications")
    assert page.locator("#applications tbody tr").count() == len(APPLICANTS)  # the demo's: one row each
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    first = page.locator("#applications tbody tr").first.bounding_box()
    assert first["width"] <= 390
    assert page.locator("#applications tbody td").first.evaluate("e => getComputedStyle(e).display") == "block"
    _shot(page, "applications-list-phone")
    page.get_by_label("Status").select_option("draft")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**status=draft**")
    assert page.locator("#applications tbody tr").count() == sum(1 for *_, submit in APPLICANTS if not submit)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    _shot(page, "applications-filtered-phone")
