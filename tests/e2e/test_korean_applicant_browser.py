"""A Korean city officer's whole path in a real browser (Playwright + Debian's Chromium), every
page in Korean: the language switch, registration with consent, sign-in, a draft with documents
uploaded, deleted and replaced, submission, the PDF read back (Korean included), another draft
withdrawn, their data downloaded, erasure asked for and approved by the secretariat, and then no
service's database holds the officer's name or address.

"Every page in Korean" is checked against the catalogue itself: no English message of the
template (shared/locales/messages.pot) may show on a page the officer reads, and every page says
``<html lang="ko">``. Buttons and links are found by their Korean names, read from the Korean
catalogue, so a page that fell back to English fails here."""
from __future__ import annotations

import io
import json
import re
import zipfile
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from babel.messages.pofile import read_po
from playwright.sync_api import expect
from pypdf import PdfReader

from shared.i18n import LOCALES, TEMPLATE
from tests.e2e.test_data_rights import _everything, _where
from tests.intake.test_edition_pages import _browser as staff_client
from tests.intake.test_my_data import _stage
from tests.support import browser
from tests.support.stack import open_call, signin_events, wait_until

pytestmark = pytest.mark.e2e

NAME, EMAIL = "김서연", "seoyeon.kim@suwon.example.kr"
SECOND_NAME, SECOND_EMAIL = "박지훈", "jihoon.park@suwon.example.kr"
ANSWER = "수원시는 시민 참여형 스마트 버스 정류장으로 대기 오염을 줄였습니다."
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% signed by the mayor of Suwon\n%%EOF\n"
PDF_AGAIN = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% the final version\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40

AXE = Axe()


def _catalogue(path):
    with open(path, "rb") as fh:
        return read_po(fh, locale="ko" if path.suffix == ".po" else None)


KO = {m.id: m.string for m in _catalogue(LOCALES / "ko" / "LC_MESSAGES" / "messages.po") if m.id}
# The English sentences of the pages (long enough not to be a name or a code by chance).
ENGLISH = sorted(m.id for m in _catalogue(TEMPLATE)
                 if isinstance(m.id, str) and len(m.id) >= 14 and "%(" not in m.id and " " in m.id)


def ko(message: str, **values) -> str:
    """The Korean of an English message of the pages (KeyError: not in the catalogue)."""
    return KO[message] % values if values else KO[message]


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


def _in_korean(page) -> None:
    """This page speaks Korean: its lang says so and no English sentence of the pages shows; and
    axe-core finds nothing on it in Korean either."""
    assert page.locator("html").get_attribute("lang") == "ko", page.url
    shown = page.locator("body").inner_text()
    left = [sentence for sentence in ENGLISH if sentence in shown]
    assert left == [], f"English left on {page.url}: {left}"
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


def _register_in_korean(page, base: str) -> None:
    page.goto(base + "/register")
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Language", exact=True).select_option("ko")
    page.get_by_role("button", name="Change", exact=True).click()
    _in_korean(page)
    page.locator("#type").select_option("city_government")
    page.locator("#organisation").fill("수원특례시청")
    page.locator("#country").select_option("KR")
    assert page.locator("#country option:checked").inner_text() == "대한민국"  # the country's Korean name
    page.locator("#city").fill("수원")
    page.locator("#contact_name").fill(NAME)
    page.locator("#contact_email").fill(EMAIL)
    page.locator("#secondary_name").fill(SECOND_NAME)
    page.locator("#secondary_email").fill(SECOND_EMAIL)
    page.get_by_role("button", name=ko("Register and send me a sign-in link")).click()
    # no consent yet: the summary takes focus and links to the box
    summary = page.locator("[role=alert][tabindex='-1']").first
    expect(summary).to_be_focused()
    _in_korean(page)
    page.locator("#privacy_consent").check()
    page.get_by_role("button", name=ko("Register and send me a sign-in link")).click()
    _in_korean(page)


def _sign_in(page, stack, base: str) -> None:
    link = urlsplit(wait_until(lambda: signin_events(stack.clients["intake"], EMAIL), timeout=10)[-1]["url"])
    page.goto(base + link.path)
    _in_korean(page)
    page.locator("main form button[type=submit]").click()
    assert page.url == base + "/portal"
    _in_korean(page)


def _upload(page, path, kind: str | None = None) -> None:
    if kind:
        page.locator("#document-kind").select_option(kind)
    page.locator("#document-file").set_input_files(str(path))
    page.locator("#document-upload").click()


def _write_and_submit(page, tmp_path) -> str:
    page.get_by_role("button", name=ko("Start")).first.click()
    _in_korean(page)
    page.locator("#title").fill("시민과 함께 만드는 스마트 정류장")
    page.locator("#summary").fill("수원의 버스 정류장 200곳에 대기질 센서를 설치했습니다.")
    for area in page.locator("textarea[data-criterion]").all():
        area.fill(ANSWER)
    first = page.locator("textarea[data-criterion]").first
    label = page.locator(f"label[for='{first.get_attribute('id')}']").inner_text()
    assert label.startswith(ko("Your answer: %(criterion)s", criterion="1. ")), label  # its own label
    warning = page.locator("#missing-docs")
    expect(warning).to_be_visible()
    page.evaluate("() => { window.stillTheSamePage = true; }")
    (tmp_path / "application-form.pdf").write_bytes(PDF)
    _upload(page, tmp_path / "application-form.pdf")
    expect(warning).to_have_count(0)  # the warning follows the upload without a reload
    (tmp_path / "bus-stop.png").write_bytes(PNG)
    _upload(page, tmp_path / "bus-stop.png", "supporting_material")
    expect(page.locator("#document-list")).to_contain_text("bus-stop.png")
    page.get_by_role("button", name=ko("Delete %(name)s", name="bus-stop.png")).click()
    expect(page.locator("#document-list")).not_to_contain_text("bus-stop.png")
    page.get_by_role("button", name=ko("Replace %(name)s", name="application-form.pdf")).click()
    (tmp_path / "application-form-final.pdf").write_bytes(PDF_AGAIN)
    _upload(page, tmp_path / "application-form-final.pdf")
    expect(page.locator("#document-list")).to_contain_text("application-form-final.pdf")
    expect(page.locator("#document-list")).not_to_contain_text("application-form.pdf ")
    assert page.evaluate("() => window.stillTheSamePage") is True
    _in_korean(page)
    browser.desktop_and_phone(page, "portal-edit-ko")
    page.get_by_role("button", name=ko("Save and preview")).click()
    _in_korean(page)
    expect(page.locator("main")).to_contain_text("application-form-final.pdf")
    page.get_by_role("button", name=ko("Submit application")).click()
    assert page.url.endswith("/status")
    _in_korean(page)
    browser.desktop_and_phone(page, "portal-status-ko")
    return re.search(r"SSCP-\d{4}-\w{6}", page.locator("main").inner_text()).group(0)


def _pdf_holds_the_korean_answer(page, stack, reference: str) -> None:
    with page.expect_download() as caught:
        page.locator("a[href$='/submission.pdf']").click()
    data = open(caught.value.path(), "rb").read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    flat = "".join(text.split())
    assert reference in text and "".join(ANSWER.split()) in flat and "수원특례시청" in flat
    assert "UTC" in text


def _withdraw_another_draft(page, base: str) -> None:
    page.goto(base + "/portal")
    page.get_by_role("button", name=ko("Start")).first.click()  # the next category offered
    page.goto(base + "/portal")
    drafts_before = page.get_by_role("link", name=ko("Withdraw this draft…")).count()
    assert drafts_before == 1
    page.get_by_role("link", name=ko("Withdraw this draft…")).click()
    _in_korean(page)
    page.get_by_role("button", name=ko("Withdraw and delete the draft")).click()
    assert page.url == base + "/portal"
    _in_korean(page)
    assert page.get_by_role("link", name=ko("Withdraw this draft…")).count() == 0


def _my_data_and_erasure(page, stack, base: str, application_id: str) -> None:
    page.get_by_role("link", name=ko("My data")).click()
    _in_korean(page)
    with page.expect_download() as caught:
        page.locator("a[href$='export.zip']").click()
    archive = zipfile.ZipFile(io.BytesIO(open(caught.value.path(), "rb").read()))
    data = json.loads(archive.read("data.json"))
    assert data["applicant"]["contact_name"] == NAME
    assert any(n.endswith("application-form-final.pdf") for n in archive.namelist())
    _stage(stack, application_id, "ineligible")  # the edition is over for this application
    page.reload()
    page.locator("input[type=checkbox]").last.check()
    page.locator("form[action$='/erasure'] button[type=submit]").click()
    _in_korean(page)
    staff = staff_client(stack, "secretariat")
    host = urlsplit(base).hostname
    page.context.add_cookies([{"name": "prize_staff_intake", "value": staff.get_cookie("prize_staff_intake").value,
                               "domain": host, "path": "/"}])
    page.goto(base + "/secretariat/erasure")
    assert page.locator("html").get_attribute("lang") == "en"  # the staff's pages are English
    page.get_by_role("link", name=re.compile(r"\d{4} \d\d:\d\d UTC")).click()
    page.get_by_role("button", name=re.compile("Approve")).click()
    assert "Approved" in page.locator("#erasure-status").inner_text()


def test_a_korean_officer_applies_withdraws_a_draft_and_is_erased_everywhere(page, portal_system, tmp_path):
    stack, base = portal_system
    stack.start_workers(("review",))  # review takes the application and, later, the erasure
    call = open_call(stack.clients["intake"], stack.secretariat_token())
    assert len(call["categories"]) >= 2

    _register_in_korean(page, base)
    _sign_in(page, stack, base)
    reference = _write_and_submit(page, tmp_path)
    application_id = page.url.rsplit("/", 2)[-2]
    _pdf_holds_the_korean_answer(page, stack, reference)
    _withdraw_another_draft(page, base)
    # before the erasure, each service holds the officer: intake, review's copy, notify's emails
    held = wait_until(lambda: {svc for svc, *_ in _where(_everything(stack), EMAIL)} >= {"intake", "review", "notify"}
                      and {svc for svc, *_ in _where(_everything(stack), EMAIL)}, timeout=30)
    assert held == {"intake", "review", "notify"}
    _my_data_and_erasure(page, stack, base, application_id)

    # Once every service has handled the erasure, none holds the officer's names or addresses.
    needles = (NAME, EMAIL, SECOND_NAME, SECOND_EMAIL, EMAIL.split("@")[0])

    def nobody_left():
        cells = _everything(stack)
        return all(not _where(cells, needle) for needle in needles)

    try:
        wait_until(nobody_left, timeout=60)
    except AssertionError:
        cells = _everything(stack)
        raise AssertionError({needle: _where(cells, needle) for needle in needles}) from None
