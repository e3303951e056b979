"""A whole edition run by the secretariat in a real browser (issue 14's "done when"): Playwright
driving Debian's Chromium, the three services served over real HTTP on their own ports with their
workers running, every email going to a real SMTP server, on the embedded stack.

A staff member signs in by an emailed link and never pastes a token: they create the edition,
edit a criterion and open it; applicants register and submit through the API (one stays a draft)
while the secretariat follows the funnel on intake's dashboard; the secretariat reads an
application with its documents on review's screening list, screens it "not eligible" with the
email previewed (notify's page in a frame), undoes it, decides again and sees the email go out;
screens the others eligible; invites jurors from a CSV (each accepts on their own page, signed in
by the invitation's link); opens the finalist round and assigns jurors; the jurors score through
the jury API so that two applications tie at the cut; the secretariat closes the round deciding
the tie and releases the results; writes to the finalists on notify's pages (each gets the email
once); sets the ceremony and downloads the guest list.

Each main page is shot at 1280x900 and 390x844 into docs/img/ (edition-*.png); at 390 px no page
may scroll sideways.

The dashboard steps that another change turns into "preview, then confirm" (assigning, closing,
releasing) are the small functions ``assign_jurors``, ``close_with_tie`` and ``release``: adapt
them there."""
from __future__ import annotations

import csv
import io
import re
import threading
import time
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.intake.ops import staff as staff_ops
from services.review import jobs as review_jobs
from shared.config import load_settings
from tests.api.test_staff_accounts import _copied
from tests.conftest import embedded_env
from tests.support import browser
from tests.support.smtp import RecordingSMTPServer
from tests.support.stack import SERVICES, Stack, auth, register, start_draft, submit_application, wait_until

pytestmark = pytest.mark.e2e

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WIDE, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
SIDEWAYS = "[document.documentElement.scrollWidth, window.innerWidth]"

STAFF, STAFF_NAME = "seo.yuna@wego.example", "Seo Yuna"
YEAR = 2027
REASON = "The project started in 2019: this edition takes projects begun from 2021 on."

# (registration, category, title); the last one stays a draft
APPLICANTS = [
    ({"organisation": "Kaohsiung City Government", "country": "TW", "city": "高雄 Kaohsiung",
      "contact_name": "Lin Mei-hua", "contact_email": "mei.lin@kcg.example.tw"},
     "tech_innovacity", "Harbour hydrogen buses"),
    ({"organisation": "Urząd Miasta Lublin", "country": "PL", "city": "Lublin",
      "contact_name": "Zofia Wiśniewska", "contact_email": "zofia@lublin.example.pl"},
     "tech_innovacity", "Lublin digital twin"),
    ({"organisation": "Budapest Főváros", "country": "HU", "city": "Budapest", "type": "institution",
      "contact_name": "Kovács Ádám", "contact_email": "adam.kovacs@budapest.example.hu"},
     "tech_innovacity", "Smart street lighting"),
    ({"organisation": "Beyoğlu Belediyesi", "country": "TR", "city": "Beyoğlu",
      "contact_name": "Ayşe Yılmaz", "contact_email": "ayse@beyoglu.example.tr"},
     "human_centricity", "Accessible Beyoğlu"),
    ({"organisation": "Chiang Mai Municipality", "country": "TH", "city": "Chiang Mai",
      "contact_name": "Somchai Jaidee", "contact_email": "somchai@chiangmai.example.th"},
     "human_centricity", "Clean air for Chiang Mai"),
    ({"organisation": "City of Ryde", "country": "AU", "city": "Ryde",
      "contact_name": "Siobhán O'Connor", "contact_email": "siobhan@ryde.example.au"},
     "human_centricity", "Library makerspaces"),
]
INELIGIBLE, DRAFT = "Harbour hydrogen buses", "Library makerspaces"
# every juror gives these to every criterion: two tie at the cut of Tech-InnovaCity (one place)
SCORES = {"Lublin digital twin": 7, "Smart street lighting": 7, "Accessible Beyoğlu": 8,
          "Clean air for Chiang Mai": 5}
TIE_ADVANCES, TIE_STAYS = "Lublin digital twin", "Smart street lighting"
FINALISTS = {"zofia@lublin.example.pl", "ayse@beyoglu.example.tr"}
JURORS = {"kenji.sato@kyoto-u.example.jp": "Kenji Sato", "fatou.diop@ucad.example.sn": "Fatou Diop",
          "ana@guarulhos.example.br": "Ana Souza"}
JURORS_CSV = ("name,email,language,categories,country,organisation\n"
              "Kenji Sato,kenji.sato@kyoto-u.example.jp,en,tech_innovacity;human_centricity,JP,Kyoto University\n"
              "Fatou Diop,fatou.diop@ucad.example.sn,en,tech_innovacity;human_centricity,SN,Université Cheikh Anta Diop\n"
              "Ana Souza,ana@guarulhos.example.br,pt,tech_innovacity;human_centricity,BR,Guarulhos City Hall\n")
UNDO_SECONDS = 6  # long enough to press Undo on a busy machine, short enough to wait for the email
GROUP_SUBJECT = "See you in Seoul, {{ name }}"


@pytest.fixture
def served(tmp_path, smtp_server, free_port, monkeypatch):
    """The three services over real HTTP (each on its own port, which its settings know), their
    workers running, mailing to the SMTP server; screening emails held 6 seconds and review's
    worker looking for them every second. Yields (stack, {service: base URL})."""
    monkeypatch.setattr(review_jobs, "SCREENING_EVERY_SECONDS", 1.0)  # read when the worker is made
    ports = {svc: free_port() for svc in SERVICES}
    urls = {svc: f"http://127.0.0.1:{port}" for svc, port in ports.items()}
    settings = load_settings(embedded_env(
        tmp_path / "var", PRIZE_PUBLIC_URL=urls["intake"], PRIZE_MAIL_URL=smtp_server.url,
        PRIZE_REVIEW_PUBLIC_URL=urls["review"], PRIZE_NOTIFY_PUBLIC_URL=urls["notify"],
        PRIZE_SCREENING_UNDO_SECONDS=str(UNDO_SECONDS)))
    stack = Stack(settings).start_workers()
    servers = [make_server("127.0.0.1", ports[svc], stack.apps[svc], threaded=True) for svc in SERVICES]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield stack, urls
    for server in servers:
        server.shutdown()
        server.server_close()
    stack.stop()


@pytest.fixture
def new_page(playwright):
    """A browser of its own (its own cookies) for each person; all closed afterwards."""
    opened = []

    def _open():
        opened.append(browser.launch(playwright))
        page = opened[-1][0].new_page()
        page.set_viewport_size(WIDE)
        return page
    yield _open
    for context, profile in opened:
        browser.close(context, profile)


class Shots:
    """Each main page at 1280x900 and 390x844 into docs/img/edition-<name>(-phone).png; the pages
    that scroll sideways at 390 px are collected (the test fails on them at its end, after every
    step had its say)."""

    def __init__(self):
        self.sideways: list[tuple[str, str, int]] = []
        DOCS_IMG.mkdir(parents=True, exist_ok=True)

    def __call__(self, page, name: str) -> None:
        page.set_viewport_size(WIDE)
        page.screenshot(path=str(DOCS_IMG / f"edition-{name}.png"), full_page=True)
        page.set_viewport_size(PHONE)
        width, inner = page.evaluate(SIDEWAYS)
        if width > inner:
            self.sideways.append((name, page.url, width))
        page.screenshot(path=str(DOCS_IMG / f"edition-{name}-phone.png"), full_page=True)
        page.set_viewport_size(WIDE)


# --- mail ---------------------------------------------------------------------------------------

def mails_to(smtp_server: RecordingSMTPServer, address: str, subject: str | re.Pattern = "") -> list:
    with smtp_server.lock:
        found = [m["message"] for m in smtp_server.messages if address in m["to"]]
    if isinstance(subject, re.Pattern):
        return [m for m in found if subject.search(m["Subject"])]
    return [m for m in found if subject in m["Subject"]]


def latest_mail(smtp_server, address: str, subject: str | re.Pattern = "", timeout: float = 30.0):
    found = wait_until(lambda: mails_to(smtp_server, address, subject), timeout=timeout, interval=0.1)
    assert found, f"no email to {address} about {subject!r}"
    return found[-1]


def link_in(message, pattern: str) -> str:
    return re.search(pattern, RecordingSMTPServer.text_of(message)).group(0)


# --- the secretariat's browser -----------------------------------------------------------------

def sign_in_staff(page, smtp_server, urls) -> None:
    """Sign in at intake by the link emailed to the staff member (no token anywhere)."""
    page.goto(urls["intake"] + "/staff/signin")
    page.get_by_label("Your work email address").fill(STAFF)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    mail = latest_mail(smtp_server, STAFF, "Sign in to the Seoul Smart City Prize staff pages")
    page.goto(link_in(mail, r"http://\S+/staff/signin/\S+"))
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(urls["intake"] + "/secretariat")
    assert page.locator("nav.staff-bar .staff-name").inner_text() == STAFF_NAME


def reload_until(page, done, what: str, timeout: float = 30.0) -> None:
    """Reload the page until ``done()`` (workers carry events between the services)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: never shown on {page.url}"
        time.sleep(0.3)
        page.reload()


def flash_ok(page, text: str) -> None:
    page.locator(".flash.ok").filter(has_text=text).wait_for()


# --- step 1: the edition -------------------------------------------------------------------------

def create_edition(page, urls, shoot) -> str:
    page.get_by_role("link", name="Create an edition").click()
    page.wait_for_url(urls["intake"] + "/secretariat/editions/new")
    page.get_by_label("Year").fill(str(YEAR))
    page.get_by_label("Theme").fill("Cities that listen")
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("Applications open").fill("2026-11-01T09:00")
    page.get_by_label("Applications close").fill("2027-06-30T18:00")
    shoot(page, "1-new")
    page.get_by_role("button", name="Create the draft").click()
    flash_ok(page, f"The {YEAR} edition is created as a draft")
    call_id = re.search(r"/secretariat/editions/([0-9a-f-]{36})$", page.url).group(1)

    page.get_by_role("link", name="Edit Tech-InnovaCity").click()
    page.locator("#c1-weight").fill("2")
    page.locator("#c1-guidance").fill("Goals, target groups and the technology chosen\nHow residents took part")
    page.get_by_role("button", name="Save the category").click()
    flash_ok(page, "The category Tech-InnovaCity")
    assert "Project design (2.0, 500 words)" in page.locator("main").inner_text()
    shoot(page, "1-draft")

    page.get_by_role("link", name="Open the edition…").click()
    page.get_by_role("heading", name=f"Open the {YEAR} edition?").wait_for()
    shoot(page, "1-open-confirm")
    page.get_by_role("button", name=f"Open the {YEAR} edition").click()
    flash_ok(page, f"The {YEAR} edition is open")
    return call_id


# --- step 2: applicants (API) and the funnel --------------------------------------------------------

def applicants_apply(stack, call_id: str, applicants) -> dict[str, dict]:
    """The applicants register; all submit but DRAFT, which stays a draft. Returns title ->
    application."""
    intake = stack.clients["intake"]
    applications = {}
    for fields, category, title in applicants:
        _, token = register(intake, **{"type": "city_government", "language": "en", **fields})
        if title == DRAFT:
            applications[title] = start_draft(intake, token, call_id, category, title=title,
                                              summary="A makerspace in every library.")
        else:
            applications[title] = submit_application(intake, token, call_id, category, title=title,
                                                      summary=f"{title}: what the city did, with its residents.")
        applications[title]["contact_email"] = fields["contact_email"]
    return applications


def funnel(page) -> list[str]:
    return [page.locator(f"#funnel-{step}").inner_text() for step in ("registered", "drafts", "submitted", "eligible")]


def follow_the_funnel(stack, page, urls, call_id, shoot) -> dict[str, dict]:
    """Three applicants apply, the secretariat looks at the dashboard; three more, and again."""
    applications = applicants_apply(stack, call_id, APPLICANTS[:3])
    page.goto(f"{urls['intake']}/secretariat/editions/{call_id}/dashboard")
    assert funnel(page) == ["3", "3", "3", "0"]
    applications.update(applicants_apply(stack, call_id, APPLICANTS[3:]))
    page.reload()
    assert funnel(page) == ["6", "6", "5", "0"]  # one applicant has a draft only
    by_category = page.locator("#by-category").inner_text()
    assert "Tech-InnovaCity" in by_category and "Human-CentriCity" in by_category
    shoot(page, "2-dashboard")
    return applications


# --- steps 3 and 4: screening ----------------------------------------------------------------------

def read_an_application(page, urls, applications, shoot) -> None:
    page.goto(urls["review"] + "/secretariat/screening")
    page.wait_for_url(re.compile(re.escape(urls["review"]) + r"/secretariat/screening"))  # handed over from intake
    reload_until(page, lambda: "5 application(s): awaiting screening" in page.locator("#screening-count").inner_text(),
                 "five applications awaiting screening")
    assert DRAFT not in page.locator("#screening-list").inner_text()
    shoot(page, "3-screening-list")
    page.get_by_role("link", name=INELIGIBLE).click()
    page.wait_for_url(f"{urls['review']}/secretariat/applications/{applications[INELIGIBLE]['id']}")
    main = page.locator("main").inner_text()
    assert "Evidence from residents shaped it." in main  # the answers as submitted
    document = page.locator("section[aria-labelledby=documents-title] a", has_text="application-form.pdf")
    answer = page.request.get(urls["review"] + document.get_attribute("href"))
    assert answer.ok and answer.body().startswith(b"%PDF"), answer.status  # the checked copy
    shoot(page, "3-application")


def preview_and_confirm(page, eligible: bool, reason: str = "") -> None:
    page.get_by_role("radio", name="Eligible" if eligible else "Not eligible", exact=True).check()
    if reason:
        page.get_by_label("Reason the applicant will read").fill(reason)
    page.get_by_role("button", name="Preview the email").click()
    page.locator("#email-preview").wait_for()


def screen_not_eligible_and_undo(page, urls, applications, smtp_server, shoot) -> None:
    app = applications[INELIGIBLE]
    preview_and_confirm(page, eligible=False, reason=REASON)
    frame = page.frame_locator("#email-preview")
    frame.locator("#preview-text").wait_for()
    assert REASON in frame.locator("#preview-text").inner_text()  # notify's page, with the typed reason
    assert frame.locator("#preview-to").inner_text() == app["contact_email"]
    assert f"{app['contact_email']} will be emailed in English" in page.locator("#what-happens").inner_text()
    shoot(page, "4-preview")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{urls['review']}/secretariat/applications/{app['id']}")
    assert page.locator("#screening-stage").inner_text() == "Not eligible"
    page.get_by_role("button", name="Undo").click()  # while the email is held
    flash_ok(page, "Undone")
    assert page.locator("#screening-stage").inner_text() == "Awaiting screening"
    assert "never emailed" in page.locator("#screening-history").inner_text()
    assert mails_to(smtp_server, app["contact_email"], re.compile("eligib", re.I)) == []
    shoot(page, "4-undone")

    # decided again: this time the email goes once its window has passed
    preview_and_confirm(page, eligible=False, reason=REASON)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{urls['review']}/secretariat/applications/{app['id']}")
    reload_until(page, lambda: "emailed" in page.locator("#screening-history").inner_text(), "the email sent",
                 timeout=UNDO_SECONDS + 30)
    mail = latest_mail(smtp_server, app["contact_email"], re.compile("eligib", re.I))
    assert "2019" in RecordingSMTPServer.text_of(mail)  # the reason, as typed
    assert len([m for m in mails_to(smtp_server, app["contact_email"]) if mail["Subject"] == m["Subject"]]) == 1


def screen_the_others_eligible(page, urls, applications) -> None:
    for title, app in applications.items():
        if title in (INELIGIBLE, DRAFT):
            continue
        page.goto(f"{urls['review']}/secretariat/applications/{app['id']}")
        preview_and_confirm(page, eligible=True)
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url(f"{urls['review']}/secretariat/applications/{app['id']}")
        assert page.locator("#screening-stage").inner_text() == "Eligible", title


# --- step 5: jurors --------------------------------------------------------------------------------

def invite_jurors(page, urls, tmp_path, shoot) -> None:
    page.goto(urls["review"] + "/secretariat")
    page.get_by_role("link", name="Jurors: invite, edit, deactivate, their load and progress").click()
    page.get_by_role("link", name="Invite jurors from a CSV").click()
    path = tmp_path / "jurors.csv"
    path.write_text(JURORS_CSV, encoding="utf-8")
    page.get_by_label("A CSV file (UTF-8)").set_input_files(str(path))
    page.get_by_role("button", name="Preview").click()
    page.locator("#preview").wait_for()
    assert "3 new · 0 already juror(s), skipped · 0 with errors" in page.locator("main").inner_text()
    shoot(page, "5-jurors-preview")
    page.get_by_role("button", name="Invite 3 juror(s)").click()
    page.wait_for_url(urls["review"] + "/secretariat/jurors")
    assert "Invited 3 juror(s)" in page.locator("main").inner_text()
    shoot(page, "5-jurors")


def jurors_accept(new_page, urls, smtp_server, shoot) -> None:
    """Each juror opens the link of their invitation email and accepts on their page, in their
    language (Ana, of Guarulhos, reads Portuguese)."""
    said = {"en": ("Will you serve on the jury?", "Accept", "Accepted"),
            "pt": ("Aceita fazer parte do júri?", "Aceitar", "Aceito")}
    languages = dict(line.split(",")[1:3] for line in JURORS_CSV.splitlines()[1:])
    for n, (address, name) in enumerate(JURORS.items()):
        question, accept, accepted = said[languages[address]]
        invitation = latest_mail(smtp_server, address)
        juror = new_page()
        juror.goto(link_in(invitation, re.escape(urls["review"]) + r"/signin/\S+"))
        juror.get_by_role("button", name="Sign in", exact=True).click()
        juror.wait_for_url(urls["review"] + "/jury")
        assert question in juror.locator("#invitation").inner_text()
        assert juror.locator("html").get_attribute("lang") == languages[address]
        if n == 0:
            shoot(juror, "5-juror-invitation")
        juror.get_by_role("button", name=accept, exact=True).click()
        juror.wait_for_url(urls["review"] + "/jury")
        assert accepted in juror.locator("#invitation").inner_text(), name
        juror.context.close()


# --- steps 6 and 7: the finalist round (the dashboard's forms) ---------------------------------------

def open_the_round(page, urls) -> None:
    page.goto(urls["review"] + "/secretariat")
    form = page.locator("form", has=page.get_by_role("button", name="Open the round"))
    form.get_by_label("Round").select_option("finalist")
    form.get_by_label("Jurors per application").fill("2")
    form.get_by_label("Advance per category").fill("1")
    form.get_by_label("Reviews needed to rank").fill("2")
    form.get_by_role("button", name="Open the round").click()
    flash_ok(page, "Selection of finalists: round opened.")


def assign_jurors(page, applications: int, jurors: int, shoot=None) -> None:
    """Assign k jurors to each eligible application: the proposed assignment first (nothing
    saved), then "Save this assignment" saves exactly that."""
    page.locator("#round-finalist-section").get_by_role("link", name="Assign jurors").click()
    summary = page.locator("#assign-summary")
    summary.wait_for()
    assert f"{2 * applications} new assignment(s)" in summary.inner_text()
    if shoot:
        shoot(page, "6-assign-preview")
    page.get_by_role("button", name="Save this assignment").click()
    flash_ok(page, f"Assigned: {2 * applications} new assignment(s) over {applications} application(s); "
                   f"{jurors} juror(s) notified.")


def close_with_tie(page, advances: str, stays: str, shoot=None) -> None:
    """Close the round: its preview shows the cut with the tie (shot as ``7-ties``); closed with a
    decision for each of the tied."""
    page.locator("#round-finalist-section").get_by_role("link", name="Close the round").click()
    form = page.locator("#confirm-close")
    form.wait_for()
    ties = form.locator("table[id^=ties-]")
    assert ties.count() == 1
    tied = ties.inner_text()
    assert advances in tied and stays in tied
    ties.locator("tr", has_text=advances).get_by_label("Advance", exact=True).check()
    ties.locator("tr", has_text=stays).get_by_label("Do not advance").check()
    if shoot:
        shoot(page, "7-ties")
    form.get_by_role("button", name="Close the round").click()
    page.locator("#finalists").wait_for()
    flash_ok(page, "Round closed: 2 finalist(s)")


def release(page, year: int, shoot=None) -> None:
    """Release the finalist round's results: every email it causes is listed with notify's
    preview of each kind, and the edition's year must be typed (a wrong year releases nothing)."""
    page.locator("#round-finalist-section").get_by_role("link", name="Release the results").click()
    page.locator("#email-count").wait_for()
    page.frame_locator("iframe.email").first.locator("#preview-language").wait_for()
    if shoot:
        shoot(page, "7-release-preview")
    page.get_by_label("Type the edition's year").fill(str(year - 1))
    page.get_by_role("button", name="Release the results").click()
    assert f"type {year} to confirm" in page.locator("#year-error").inner_text()
    page.get_by_label("Type the edition's year").fill(str(year))
    page.get_by_role("button", name="Release the results").click()
    flash_ok(page, "Released:")
    assert "released" in page.locator("#round-finalist").inner_text()


def juror_api_token(review, smtp_server, address: str) -> str:
    """A juror signs in for the API: a one-time code by email, exchanged for a bearer token."""
    subject = "código de acesso" if address.startswith("ana@") else "sign-in code"  # Ana reads Portuguese
    before = len(mails_to(smtp_server, address, subject))
    r = review.post("/api/signin", json={"email": address, "purpose": "api"})
    assert r.status_code == 202, r.get_json()
    assert wait_until(lambda: len(mails_to(smtp_server, address, subject)) > before, timeout=30)
    code = re.search(r"^\s+(\S+)\s*$", RecordingSMTPServer.text_of(
        mails_to(smtp_server, address, subject)[-1]), re.M).group(1)
    r = review.post("/api/signin/token", json={"token": code})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["token"]


def jurors_score(stack, smtp_server) -> int:
    """Each juror scores their assignments through the jury API (SCORES per application, the
    same for every criterion) and submits. Returns how many reviews were submitted."""
    review, submitted = stack.clients["review"], 0
    for address in JURORS:
        headers = auth(juror_api_token(review, smtp_server, address))
        mine = review.get("/api/jury/assignments", headers=headers).get_json()
        for item in mine["rounds"][0]["assignments"]:
            application = review.get(f"/api/jury/applications/{item['application_id']}", headers=headers).get_json()
            keys = [c["key"] for c in application["criteria"]]
            score = SCORES[item["title"]]
            r = review.patch(f"/api/jury/assignments/{item['id']}", headers=headers, json={
                "scores": {k: score for k in keys}, "comments": {k: f"Scored {score}: the evidence." for k in keys},
                "revision": item["revision"]})
            assert r.status_code == 200, r.get_json()
            r = review.post(f"/api/jury/assignments/{item['id']}/submit", headers=headers,
                            json={"revision": r.get_json()["revision"]})
            assert r.status_code == 200, r.get_json()
            submitted += 1
    return submitted


# --- step 8: the finalists' group email ----------------------------------------------------------------

def write_to_the_finalists(page, urls, smtp_server, shoot) -> None:
    page.goto(urls["notify"] + "/secretariat/messages/new")
    page.get_by_label("Edition (year)").fill(str(YEAR))
    audience = page.get_by_label("To", exact=True)
    assert audience.locator("option[value=finalists]").inner_text().startswith("The finalists")
    audience.select_option("finalists")
    page.locator("#subject_en").fill(GROUP_SUBJECT)
    page.locator("#body_en").fill("Dear {{ name }},\n\n{{ reference }} is a finalist of {{ year }}: the "
                                  "ceremony invitation follows.\n\nThe secretariat")
    shoot(page, "8-message-new")
    page.get_by_role("button", name="Save as a draft").click()
    page.wait_for_url(re.compile(re.escape(urls["notify"]) + r"/secretariat/messages/[0-9a-f-]+$"))
    page.get_by_role("button", name="Find who is in the group").click()
    reload_until(page, lambda: page.locator("#members").count() > 0, "the finalists as recipients")
    assert page.locator("#members").inner_text().startswith("2")
    shoot(page, "8-message")
    page.get_by_role("link", name="Look at what sending will do").click()
    assert page.locator("#send-count").inner_text() == "2"
    recipients = page.locator("#recipients").inner_text()
    assert all(address in recipients for address in FINALISTS), recipients
    shoot(page, "8-message-send")
    page.get_by_role("button", name="Send 2 emails").click()
    page.locator("#sent-by").wait_for()
    subject = re.compile(r"^See you in Seoul, ")
    for address in FINALISTS:
        text = RecordingSMTPServer.text_of(latest_mail(smtp_server, address, subject))
        assert f"is a finalist of {YEAR}" in text and "{{" not in text, text  # the blanks filled in
    time.sleep(1.5)  # a second email would follow within the worker's next sweeps
    for address in FINALISTS:
        assert len(mails_to(smtp_server, address, subject)) == 1, address
    with smtp_server.lock:
        assert sum(bool(subject.search(m["message"]["Subject"])) for m in smtp_server.messages) == 2


# --- step 9: the ceremony and the guest list -------------------------------------------------------------

def set_the_ceremony(page, urls, call_id, shoot) -> None:
    page.goto(f"{urls['intake']}/secretariat/editions/{call_id}")
    page.get_by_role("link", name="Set the ceremony").click()
    page.get_by_label("Time zone").select_option("Asia/Seoul")
    page.get_by_label("Starts").fill("2027-10-10T18:00")
    page.get_by_label("Answers asked by").fill("2027-09-20T18:00")
    page.get_by_label("Venue").fill("COEX, Seoul")
    page.get_by_label("Address").fill("513 Yeongdong-daero, Gangnam-gu")
    shoot(page, "9-ceremony")
    page.get_by_role("button", name="Set the ceremony").click()
    flash_ok(page, "The ceremony is set for 10 October 2027, 18:00 (Asia/Seoul)")


def export_the_guests(page, urls, call_id, applications, shoot) -> None:
    page.get_by_role("link", name="Guest list").click()
    page.wait_for_url(f"{urls['intake']}/secretariat/calls/{call_id}/guests")
    reload_until(page, lambda: "2 invited" in page.locator("ul.summary").inner_text(), "two finalists invited")
    shoot(page, "9-guests")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the list (CSV, one line per person)").click()
    assert download.value.suggested_filename == f"ceremony-guests-{YEAR}.csv"
    assert download.value.url == f"{urls['intake']}/secretariat/calls/{call_id}/guests.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    text = str(rows)
    for title in (TIE_ADVANCES, "Accessible Beyoğlu"):
        assert applications[title]["reference"] in text, title
    assert applications[TIE_STAYS]["reference"] not in text


# --- the edition, start to finish -------------------------------------------------------------------

def test_the_secretariat_runs_a_whole_edition_in_the_browser(served, new_page, smtp_server, tmp_path):
    stack, urls = served
    shoot = Shots()
    staff_ops.add_member(stack.apps["intake"].extensions["prize"]["db"], STAFF, STAFF_NAME, "admin", "en",
                         "operator test")  # as `prize staff add` does
    for svc in ("review", "notify"):  # they learn of staff by events
        assert wait_until(lambda s=svc: _copied(stack, s, STAFF, active=True), timeout=30), svc
    page = new_page()
    sign_in_staff(page, smtp_server, urls)

    # 1. the edition
    call_id = create_edition(page, urls, shoot)

    # 2. applicants apply; the secretariat follows the funnel
    applications = follow_the_funnel(stack, page, urls, call_id, shoot)

    # 3 and 4. screening
    read_an_application(page, urls, applications, shoot)
    screen_not_eligible_and_undo(page, urls, applications, smtp_server, shoot)
    screen_the_others_eligible(page, urls, applications)
    page.goto(urls["review"] + "/secretariat/screening?state=all")
    assert "5 application(s): all" in page.locator("#screening-count").inner_text()

    # 5. jurors
    invite_jurors(page, urls, tmp_path, shoot)
    jurors_accept(new_page, urls, smtp_server, shoot)

    # 6. the finalist round: opened, assigned, scored to a tie at the cut
    open_the_round(page, urls)
    assign_jurors(page, applications=4, jurors=3, shoot=shoot)
    shoot(page, "6-dashboard-assigned")
    assert jurors_score(stack, smtp_server) == 8
    page.reload()
    assert "8 submitted, 0 pending" in page.locator("#round-finalist-section").inner_text()

    # 7. closed deciding the tie, released
    close_with_tie(page, TIE_ADVANCES, TIE_STAYS, shoot)
    finalists = page.locator("#finalists").inner_text()
    assert TIE_ADVANCES in finalists and "Accessible Beyoğlu" in finalists and TIE_STAYS not in finalists
    release(page, YEAR, shoot)
    shoot(page, "7-released")
    for title in (TIE_ADVANCES, "Accessible Beyoğlu"):  # the release reaches the finalists, once each
        app = applications[title]
        latest_mail(smtp_server, app["contact_email"], f"Finalist of the Seoul Smart City Prize {YEAR}")
    assert latest_mail(smtp_server, applications[TIE_STAYS]["contact_email"], "result of the selection of finalists")
    assert not mails_to(smtp_server, applications[TIE_STAYS]["contact_email"], "Finalist of")

    # 8. the finalists' email
    write_to_the_finalists(page, urls, smtp_server, shoot)

    # 9. the ceremony and its guest list
    set_the_ceremony(page, urls, call_id, shoot)
    export_the_guests(page, urls, call_id, applications, shoot)

    # the funnel at the end
    page.goto(f"{urls['intake']}/secretariat/editions/{call_id}/dashboard")
    reload_until(page, lambda: page.locator("#funnel-finalists").inner_text() == "2", "two finalists")
    assert page.locator("#funnel-eligible").inner_text() == "4"
    shoot(page, "9-dashboard-end")

    assert shoot.sideways == [], f"pages that scroll sideways at 390 px (name, url, scrollWidth): {shoot.sideways}"
