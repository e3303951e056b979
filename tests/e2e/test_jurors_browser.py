"""Managing jurors in a real browser (Playwright + Debian's Chromium): the secretariat invites
jurors from a CSV file through the preview, sees them listed with their status and load, opens a
juror's page; an invited juror opens the invitation's link and accepts on their page. Every page
at 390 px wide has no sideways scroll. Screenshots go to docs/img/ (jurors-*.png, and
jurors-*-phone.png at 390x844)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from services.review.models import Juror
from shared.auth import issue_token
from tests.review.test_review_pages import Review
from tests.support import browser
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

WIDE = browser.DESKTOP
CSV = ("name,email,language,categories,country,organisation\n"
       "Ewa Kowalska,ewa.kowalska@lublin-tech.example.pl,en,tech_innovacity;human_centricity,PL,Lublin University of Technology\n"
       "Kenji Sato,kenji.sato@kyoto-u.example.jp,en,leadership,JP,Kyoto University\n"
       "Ana Souza,ana@guarulhos.example.br,pt,tech_innovacity,BR,Guarulhos City Hall\n")


def shots(page, name: str) -> None:
    """The page at 1280x900 and at 390x844 (where nothing may scroll sideways), into docs/img/."""
    scroll_width, width = browser.desktop_and_phone(page, f"jurors-{name}")
    assert scroll_width <= width, f"{name}: scrolls sideways at 390 px"


@pytest.fixture
def contexts(playwright):
    opened = [browser.launch(playwright) for _ in range(2)]
    yield [context.new_page() for context, _ in opened]
    for context, profile in opened:
        browser.close(context, profile)


@pytest.fixture
def review_server(embedded_settings):
    """review over real HTTP: one call, two applications, one juror assigned."""
    stack = Stack(embedded_settings, services=("review",))
    review = Review(stack.apps["review"])
    call_id = review.open_call()
    review.submit(call_id, title="Hydrogen buses for the harbour")
    review.submit(call_id, title="Lublin electric buses", country="PL", organisation="City of Lublin",
                  email="smart@lublin.example.pl", city="Lublin")
    review.invite("Ana Souza", "ana@guarulhos.example.br", "BR", "Guarulhos City Hall")
    review.screen_all(call_id)
    review.assign(review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1))
    server = make_server("127.0.0.1", 0, stack.apps["review"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield review, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    stack.stop()


def test_the_secretariat_imports_jurors_from_a_csv_and_a_juror_accepts(contexts, review_server, tmp_path):
    office, juror_page = contexts
    review, base = review_server
    office.set_viewport_size(WIDE)
    office.goto(f"{base}/secretariat/signin")
    office.get_by_label("Secretariat token").fill(issue_token(review.secret, "secretariat", "prize office"))
    office.get_by_role("button", name="Sign in").click()
    office.wait_for_url(f"{base}/secretariat")
    office.get_by_role("link", name="Jurors: invite, edit, deactivate, their load and progress").click()
    office.wait_for_url(f"{base}/secretariat/jurors")
    office.get_by_role("link", name="Invite jurors from a CSV").click()

    # the CSV file, previewed: two new jurors, one already a juror; nothing written yet
    path = tmp_path / "jurors.csv"
    path.write_text(CSV, encoding="utf-8")
    office.get_by_label("A CSV file (UTF-8)").set_input_files(str(path))
    office.get_by_role("button", name="Preview").click()
    preview = office.locator("#preview")
    preview.wait_for()
    assert "2 new · 1 already juror(s), skipped · 0 with errors" in office.locator("main").inner_text()
    assert preview.locator("tr", has_text="Ana Souza").get_by_text("Already a juror").is_visible()
    with review.db.session() as s:
        assert len(s.scalars(select(Juror)).all()) == 1
    shots(office, "import-preview")

    office.get_by_role("button", name="Invite 2 juror(s)").click()
    office.wait_for_url(f"{base}/secretariat/jurors")
    main = office.locator("main").inner_text()
    assert "Invited 2 juror(s); 1 already juror(s), skipped." in main and "3 juror(s)" in main
    shots(office, "list")
    office.get_by_role("link", name="Ewa Kowalska").click()
    assert "Same country" in office.locator("main").inner_text()  # Lublin's application: a conflict, with its reason
    shots(office, "detail")

    # Ewa opens her invitation's link and accepts on her page
    with review.db.session() as s:
        ewa = s.scalar(select(Juror).where(Juror.email == "ewa.kowalska@lublin-tech.example.pl")).id
    juror_page.set_viewport_size(WIDE)
    juror_page.goto(base + review.invitation_path(ewa))
    juror_page.get_by_role("button", name="Sign in", exact=True).click()
    juror_page.wait_for_url(f"{base}/jury")
    assert "Will you serve on the jury?" in juror_page.locator("#invitation").inner_text()
    shots(juror_page, "juror-invitation")
    juror_page.get_by_role("button", name="Accept").click()
    juror_page.wait_for_url(f"{base}/jury")
    assert "Thank you for accepting" in juror_page.locator("main").inner_text()
    assert "Accepted" in juror_page.locator("#invitation").inner_text()
    shots(juror_page, "juror-accepted")

    office.goto(f"{base}/secretariat/jurors")
    row = office.locator("tr", has_text="Ewa Kowalska")
    assert "Accepted" in row.inner_text()
