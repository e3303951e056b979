"""An applicant's documents and the PDF of the submission in a real browser (Playwright + Debian's
Chromium): the warning follows the upload without a reload, a refused file stays gone, delete and
replace, submit, download the PDF and read it back."""
from __future__ import annotations

import hashlib
import io
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.support import browser
from tests.support.stack import open_call, register, signin_events

pytestmark = pytest.mark.e2e

FIRST = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% first version\n%%EOF\n"
SECOND = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% second version, signed by the mayor\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
KOREAN = "시민들이 항구의 대기 오염을 가장 먼저 문제로 제기했습니다."
THAI = "ชาวเชียงใหม่มีส่วนร่วมในการออกแบบ"


@pytest.fixture
def page(playwright):
    context, profile = browser.launch(playwright)
    page = context.new_page()
    yield page
    browser.close(context, profile)


def _sign_in(page, stack, base: str, email: str) -> None:
    intake = stack.clients["intake"]
    assert intake.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlsplit(signin_events(intake, email)[-1]["url"])
    page.goto(base + link.path)
    page.get_by_role("button", name="Sign in", exact=True).click()
    assert page.url == base + "/portal"


def _upload(page, path, kind_label: str | None = None):
    if kind_label:
        page.get_by_label("Document", exact=True).select_option(label=kind_label)
    page.get_by_label("File", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload", exact=True).click()


def test_an_applicant_uploads_deletes_replaces_submits_and_downloads_the_pdf(page, portal_system, tmp_path):
    stack, base = portal_system
    open_call(stack.clients["intake"], stack.secretariat_token())
    email = "ana.souza@guarulhos.example.br"
    register(stack.clients["intake"], type="city_government", organisation="Prefeitura de Guarulhos",
             country="BR", city="Guarulhos", contact_name="Ana Souza", contact_email=email)
    _sign_in(page, stack, base, email)
    page.get_by_role("button", name="Start").click()
    page.get_by_label("Project title").fill("Guarulhos listens")
    page.get_by_label("Summary").fill("Neighbourhood assemblies on tablets, with partners in 서울 and เชียงใหม่.")
    areas = page.locator("textarea[data-criterion]").all()
    for area in areas:
        area.fill("Evidence from resident surveys shaped every step of the programme.")
    page.get_by_label("Your answer: 1. Problem recognition and innovation").fill(KOREAN)
    page.get_by_label("Your answer: 2. Project design").fill(THAI)
    expect(page.locator("#save-state")).to_have_text(re.compile(r"^Saved"))

    warning = page.locator("#missing-docs")
    expect(warning).to_have_text("Still required: Application form (PDF).")
    page.evaluate("() => { window.stillTheSamePage = true; }")  # gone if the page reloads

    first = tmp_path / "first-version.pdf"
    first.write_bytes(FIRST)
    _upload(page, first)
    expect(page.locator("#upload-state")).to_have_text("Uploaded and checked: first-version.pdf")
    expect(warning).to_have_count(0)  # the warning follows the upload, without a reload
    expect(page.locator("#document-list")).to_contain_text("first-version.pdf")

    fake = tmp_path / "not-really.pdf"
    fake.write_bytes(b"<!doctype html><script>alert(1)</script>")
    _upload(page, fake, "Supporting material")
    expect(page.locator("#upload-state")).to_contain_text("Not uploaded: the file was refused and removed")
    expect(page.locator("#document-list")).not_to_contain_text("not-really.pdf")

    photo = tmp_path / "harbour.png"
    photo.write_bytes(PNG)
    _upload(page, photo, "Supporting material")
    expect(page.locator("#upload-state")).to_have_text("Uploaded and checked: harbour.png")
    expect(page.locator("#document-list")).to_contain_text("harbour.png")
    page.get_by_role("button", name="Delete harbour.png").click()
    expect(page.locator("#upload-state")).to_have_text("Deleted harbour.png.")
    expect(page.locator("#document-list")).not_to_contain_text("harbour.png")

    page.get_by_role("button", name="Replace first-version.pdf").click()
    expect(page.locator("#upload-state")).to_contain_text("Replacing first-version.pdf")
    second = tmp_path / "second-version.pdf"
    second.write_bytes(SECOND)
    _upload(page, second)
    expect(page.locator("#upload-state")).to_have_text("Uploaded and checked: second-version.pdf")
    expect(page.locator("#document-list")).to_contain_text("second-version.pdf")
    expect(page.locator("#document-list")).not_to_contain_text("first-version.pdf")
    expect(warning).to_have_count(0)
    assert page.evaluate("() => window.stillTheSamePage") is True  # all of it without a reload
    page.locator("#documents").scroll_into_view_if_needed()
    widths = browser.desktop_and_phone(page, "portal-documents")
    assert widths[0] <= widths[1], "the edit page scrolls sideways on a phone"

    page.reload()  # and after a reload the page says the same: the refused and deleted files stay gone
    listed = page.locator("#document-list").inner_text()
    assert "second-version.pdf" in listed
    assert not any(name in listed for name in ("first-version.pdf", "not-really.pdf", "harbour.png"))

    page.get_by_role("button", name="Save and preview").click()
    expect(page.locator("main")).to_contain_text("second-version.pdf")
    assert hashlib.sha256(SECOND).hexdigest() in page.locator("main").inner_text()
    page.get_by_role("button", name="Submit application").click()
    assert page.url.endswith("/status")
    reference = re.search(r"SSCP-\d{4}-\w{6}", page.locator("main").inner_text()).group(0)
    widths = browser.desktop_and_phone(page, "portal-status-pdf")
    assert widths[0] <= widths[1], "the status page scrolls sideways on a phone"

    with page.expect_download() as caught:
        page.get_by_role("link", name=f"Download the PDF ({reference}.pdf)").click()
    download = caught.value
    assert download.suggested_filename == f"{reference}.pdf"
    data = open(download.path(), "rb").read()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    flat = "".join(text.split())
    assert reference in text and "Guarulhos listens" in text and "Prefeitura de Guarulhos" in text
    assert "".join(KOREAN.split()) in flat and THAI in flat
    assert hashlib.sha256(SECOND).hexdigest() in text and hashlib.sha256(FIRST).hexdigest() not in text
    assert "second-version.pdf" in text and "UTC" in text
