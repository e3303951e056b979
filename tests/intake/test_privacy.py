"""Each edition's privacy notice and the consent to it at registration (ops/privacy.py,
ops/consents.py, pages/privacy.py, pages/editions_privacy.py): the secretariat edits the notice
and its version goes up with who and when; registration without consent, or with a consent to
a version no longer shown, is refused on the page and the API; the consent rows keep the
version and the text's SHA-256; the notice reads in the applicant's language."""
from __future__ import annotations

import hashlib
import re
from html import escape
import uuid

import pytest
from sqlalchemy import select

from services.intake.models import Applicant, Consent
from tests.intake.test_edition_pages import _browser
from tests.support.stack import KAOHSIUNG, auth, open_call, register

BASE = "/secretariat/editions"
NEW = dict(KAOHSIUNG, contact_email="innovacion@bogota.example.co", organisation="Alcaldía de Bogotá",
           country="CO", city="Bogotá")


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _consents(stack) -> list[Consent]:
    with _db(stack).session() as s:
        return s.scalars(select(Consent).order_by(Consent.given_at)).all()


def _applicants(stack) -> int:
    with _db(stack).session() as s:
        return len(s.scalars(select(Applicant.id)).all())


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(browser, path: str) -> dict:
    html = browser.get(path).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return {"csrf_token": browser.csrf, "version": version}


# --- the secretariat writes the notice ----------------------------------------------------------

def test_the_secretariat_edits_the_notice_and_its_version_goes_up_with_who_and_when(stack, intake, sec):
    call = open_call(intake, sec)
    assert call["privacy_notice"]["version"] == 1 and call["privacy_notice"]["default"] is True
    assert "deleted automatically 30 days after the ceremony" in call["privacy_notice"]["text"]
    office = _browser(stack, "secretariat")
    path = f"{BASE}/{call['id']}/privacy"
    page = office.get(path).get_data(as_text=True)
    assert "Version 1</strong>:\nthe default notice" in page and "Who is responsible" in page  # the text to start from

    own = "WeGO's secretariat collects your contact details to run the prize.\n\nWrite to privacy@wego.example."
    r = office.post(path, data={**_form(office, path), "text": own})
    assert r.status_code == 303
    page = office.get(path).get_data(as_text=True)
    assert "Version 2</strong>:\nthe secretariat's own text" in page and f"last changed by {escape(office.who)}" in page
    body = intake.get(f"/api/calls/{call['id']}").get_json()["privacy_notice"]
    assert (body["version"], body["default"], body["text"], body["changed_by"]) == (2, False, own, office.who)
    assert body["changed_at"] and body["sha256"] == hashlib.sha256(own.encode()).hexdigest()
    [v2] = intake.get(f"/api/calls/{call['id']}/privacy-notice/versions").get_json()
    assert (v2["version"], v2["text"], v2["changed_by"]) == (2, own, office.who)

    # the same text again changes nothing; a form built on version 1 is refused, the typed text kept
    assert office.post(path, data={**_form(office, path), "text": own + "\n"}).status_code == 303
    assert intake.get(f"/api/calls/{call['id']}/privacy-notice").get_json()["version"] == 2
    stale = office.post(path, data={"csrf_token": office.csrf, "version": "1", "text": "Mine instead."})
    assert stale.status_code == 409 and "now version 2" in stale.get_data(as_text=True)
    assert "Mine instead." in stale.get_data(as_text=True)

    # the API changes it the same way; empty goes back to the default notice, a version of its own
    r = intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=auth(sec), json={"text": "", "version": 2})
    assert r.status_code == 200 and (r.get_json()["version"], r.get_json()["default"]) == (3, True)
    assert r.get_json()["changed_by"] == "operator test-secretariat"
    r = intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=auth(sec), json={"text": "x", "version": 2})
    assert r.status_code == 409 and r.get_json()["version"] == 3
    versions = intake.get(f"/api/calls/{call['id']}/privacy-notice/versions").get_json()
    assert [(v["version"], v["text"]) for v in versions] == [(3, ""), (2, own)]


def test_only_the_secretariat_changes_the_notice(stack, intake, sec):
    call = open_call(intake, sec)
    path = f"{BASE}/{call['id']}/privacy"
    for role in ("observer", "jury_chair"):
        browser = _browser(stack, role)
        assert browser.get(path).status_code == 200
        r = browser.post(path, data={**_form(browser, path), "text": "Hijacked"})
        assert r.status_code == 403
    _, token = register(intake)
    for headers in ({}, auth(token)):
        r = intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=headers, json={"text": "Hijacked"})
        assert r.status_code in (401, 403)
    assert intake.put(f"/api/calls/{uuid.uuid4()}/privacy-notice", headers=auth(sec), json={"text": "x"}).status_code == 404
    assert intake.get(f"/api/calls/{call['id']}/privacy-notice").get_json()["version"] == 1


def test_a_notice_too_long_is_refused_beside_the_field(stack, intake, sec):
    call = open_call(intake, sec)
    office = _browser(stack, "secretariat")
    path = f"{BASE}/{call['id']}/privacy"
    r = office.post(path, data={**_form(office, path), "text": "x" * 20_001})
    assert r.status_code == 422 and "at most 20000 characters (this has 20001)" in r.get_data(as_text=True)
    r = intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=auth(sec), json={"text": "x" * 20_001})
    assert r.status_code == 422 and "text" in r.get_json()["errors"]["json"]


# --- consent at registration ----------------------------------------------------------------

def test_registration_without_consent_is_refused_by_the_api_and_nothing_is_stored(stack, intake):
    body = {k: v for k, v in NEW.items() if k != "privacy_consent"}
    r = intake.post("/api/applicants", json=body)
    assert r.status_code == 422
    [message] = r.get_json()["errors"]["json"]["privacy_consent"]
    assert message.startswith("consent to the privacy notice is required to register") and "/api/privacy-notice" in message
    for wrong in ("1", True, 0, None):
        assert intake.post("/api/applicants", json={**body, "privacy_consent": wrong}).status_code == 422
    r = intake.post("/api/applicants", json={**body, "privacy_consent": 2})  # there is no version 2
    assert r.status_code == 422 and "current version (1)" in r.get_json()["errors"]["json"]["privacy_consent"][0]
    assert _applicants(stack) == 0 and _consents(stack) == []


def test_the_consent_is_recorded_with_the_version_read_and_the_texts_digest(stack, intake, sec):
    notice = intake.get("/api/privacy-notice").get_json()
    assert (notice["call_id"], notice["version"], notice["default"]) == (None, 1, True)  # before any edition
    assert intake.post("/api/applicants", json=NEW).status_code == 202
    [first] = _consents(stack)
    assert (first.purpose, first.call_id, first.notice_version, first.notice_sha256, first.client) == (
        "registration", None, 1, notice["sha256"], "127.0.0.1")

    # the newest published edition's notice applies once it is open; a draft's does not
    call = open_call(intake, sec)
    draft = intake.post("/api/calls", headers=auth(sec), json={"year": 2027, "theme": "Next", "opens_at":
                        "2027-01-01T00:00:00+09:00", "closes_at": "2027-06-01T00:00:00+09:00"}).get_json()
    for target in (call, draft):
        r = intake.put(f"/api/calls/{target['id']}/privacy-notice", headers=auth(sec), json={"text": "Ours."})
        assert r.status_code == 200
    current = intake.get("/api/privacy-notice").get_json()
    assert (current["call_id"], current["year"], current["version"]) == (call["id"], 2026, 2)
    other = dict(NEW, contact_email="smart@sd.example.kr")
    r = intake.post("/api/applicants", json={**other, "privacy_consent": 1})  # read before the change
    assert r.status_code == 422 and "current version (2)" in r.get_json()["message"]
    assert intake.post("/api/applicants", json={**other, "privacy_consent": 2}).status_code == 202
    second = _consents(stack)[1]
    assert (second.call_id, second.notice_version, second.notice_sha256) == (
        call["id"], 2, hashlib.sha256(b"Ours.").hexdigest())
    # a registered address registering again: the same answer, and nothing stored for it
    assert intake.post("/api/applicants", json={**other, "privacy_consent": 2}).status_code == 202
    assert len(_consents(stack)) == 2


def test_the_register_page_asks_for_consent_and_refuses_without_it(stack, intake, sec):
    page = intake.get("/register").get_data(as_text=True)
    box = re.search(r'<input type="checkbox" id="privacy_consent" name="privacy_consent" value="(\d+)" required', page)
    assert box and box.group(1) == "1" and 'href="/privacy">privacy notice</a> (version 1)' in page
    form = {k: NEW[k] for k in ("type", "organisation", "country", "city", "contact_name", "contact_email",
                                "language")}
    r = intake.post("/register", data={**form, "csrf_token": _csrf(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="privacy_consent-error"' in html and 'aria-invalid="true"' in html
    assert "Please tick the box to confirm that you have read the privacy notice" in html
    assert 'value="Alcaldía de Bogotá"' in html  # what was typed stays
    assert _applicants(stack) == 0

    call = open_call(intake, sec)  # the notice changes while the form is open
    intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=auth(sec), json={"text": "Ours."})
    r = intake.post("/register", data={**form, "privacy_consent": "1", "csrf_token": _csrf(page)})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "it is now version 2" in html and 'value="2" required' in html
    assert ' checked' not in html.split('id="privacy_consent"')[1].split(">")[0]  # to be ticked again
    r = intake.post("/register", data={**form, "privacy_consent": "2", "csrf_token": _csrf(page)})
    assert r.status_code == 202 and _applicants(stack) == 1
    [consent] = _consents(stack)
    assert (consent.purpose, consent.call_id, consent.notice_version) == ("registration", call["id"], 2)


# --- the applicant reads it -------------------------------------------------------------------

def test_the_privacy_page_reads_in_korean_and_every_portal_page_links_to_it(stack, intake, sec):
    korean = {"Accept-Language": "ko-KR,ko;q=0.9"}
    html = intake.get("/privacy", headers=korean).get_data(as_text=True)
    assert '<html lang="ko"' in html and "<h1>개인정보 처리방침</h1>" in html
    assert "비자·여권 정보는 시상식 30일 후 자동으로 파기합니다." in html
    assert "prize@wego-cities.org" in html and "개인정보보호위원회" in html and "Who is responsible" not in html
    english = intake.get("/privacy", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Visa and passport details are deleted automatically 30 days after the ceremony." in english
    for path in ("/", "/register", "/signin", "/privacy"):
        page = intake.get(path, headers=korean).get_data(as_text=True)
        assert '<footer class="site">' in page and '<a href="/privacy">개인정보 처리방침</a>' in page, path
        assert 'href="mailto:prize@wego-cities.org"' in page, path
    assert "<footer" not in intake.get("/secretariat/signin").get_data(as_text=True)  # not the staff's

    call = open_call(intake, sec)
    intake.put(f"/api/calls/{call['id']}/privacy-notice", headers=auth(sec),
               json={"text": "First paragraph,\nits second line.\n\n<b>Second</b> paragraph."})
    html = intake.get("/privacy/2026", headers=korean).get_data(as_text=True)
    assert "2026 서울스마트도시상, 제2판." in html  # the secretariat's own text is shown as written
    assert "<p>First paragraph,<br>its second line.</p>" in html and "<p>&lt;b&gt;Second&lt;/b&gt; paragraph.</p>" in html
    assert intake.get("/privacy/2031").status_code == 404  # no such edition (a draft's notice is not public)


def test_the_secretariats_address_and_the_days_are_configurable(tmp_path):
    from shared.config import load_settings
    from tests.conftest import embedded_env
    from tests.support.stack import Stack
    stack = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_SECRETARIAT_EMAIL="privacy@wego.example",
                                             PRIZE_TRAVEL_DATA_DAYS="14")), services=("intake",))
    try:
        html = stack.clients["intake"].get("/privacy").get_data(as_text=True)
        assert "deleted automatically 14 days after the ceremony" in html and "mailto:privacy@wego.example" in html
    finally:
        stack.stop()


@pytest.mark.parametrize("variable,value", [("PRIZE_SECRETARIAT_EMAIL", "secretariat"),
                                            ("PRIZE_SECRETARIAT_EMAIL", "a b@wego.example"),
                                            ("PRIZE_TRAVEL_DATA_DAYS", "-1"), ("PRIZE_TRAVEL_DATA_DAYS", "731"),
                                            ("PRIZE_TRAVEL_DATA_DAYS", "thirty")])
def test_a_bad_address_or_number_of_days_stops_start_up_naming_the_variable(tmp_path, variable, value):
    from shared.config import ConfigError, load_settings
    from tests.conftest import embedded_env
    with pytest.raises(ConfigError) as exc_info:
        load_settings(embedded_env(tmp_path / "var", **{variable: value}))
    assert exc_info.value.variable == variable
