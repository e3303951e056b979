"""An applicant's data rights in intake (issue 15): the My data page and GET /api/applicants/me/export
give one ZIP (data.json and the documents), each applicant only their own; erasure is asked for on
the same page once the edition is over for them, and the secretariat approves or refuses it on
/secretariat/erasure after reading what it erases. The whole flow across the three services,
with every database searched afterwards, is tests/e2e/test_data_rights.py."""
from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from services.intake.models import Applicant, ErasureRequest, StatusUpdate, outbox
from tests.intake.test_edition_pages import _browser as staff_browser
from tests.support.stack import (KAOHSIUNG, PDF, auth, open_call, open_signin_link, register, signin_events,
                                 start_draft, submit_application, upload_document)

OTHER = dict(KAOHSIUNG, organisation="Prefeitura de Guarulhos", country="BR", city="Guarulhos",
             contact_name="Ana Souza", contact_email="ana@guarulhos.example.br")


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _browser(stack, email: str):
    """A Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    assert open_signin_link(client, urlparse(signin_events(client, email)[-1]["url"]).path).status_code == 303
    return client


def _csrf(html: str) -> str:
    return re.findall(r'name="csrf_token" value="([^"]+)"', html)[-1]


def _zip(response) -> tuple[dict, dict]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("data.json")), files


def _stage(stack, application_id: str, *stages: str) -> None:
    with _db(stack).session() as s, s.begin():
        for stage in stages:
            s.add(StatusUpdate(event_id=str(uuid.uuid4()), application_id=application_id, stage=stage, detail="",
                               occurred_at=datetime.now(timezone.utc)))


@pytest.fixture
def call(stack):
    return open_call(stack.clients["intake"], stack.secretariat_token())


def test_the_export_holds_the_record_the_applications_and_the_documents_of_the_caller_only(stack, intake, call):
    _, token = register(intake, secondary_name="Chen Wei", secondary_email="chen.wei@kcg.example.tw")
    submitted = submit_application(intake, token, call["id"])
    draft = start_draft(intake, token, call["id"], category="human_centricity", title="Tablets for elders")
    upload_document(intake, token, draft["id"], kind="supporting_material", body=PDF + b"% draft",
                    filename="../../Lin's notes.pdf")
    _, other_token = register(intake, **{k: v for k, v in OTHER.items() if k != "type"})
    theirs = submit_application(intake, other_token, call["id"], title="Flood sensors")

    data, files = _zip(intake.get("/api/applicants/me/export", headers=auth(token)))
    assert data["applicant"]["contact_email"] == KAOHSIUNG["contact_email"]
    assert data["applicant"]["secondary_name"] == "Chen Wei"
    by_ref = {a["reference"]: a for a in data["applications"]}
    assert set(by_ref) == {submitted["reference"], draft["reference"]}
    mine = by_ref[submitted["reference"]]
    assert mine["status"] == "submitted" and mine["answers"] and mine["edition"] == 2026
    assert [s["stage"] for s in mine["status_history"]] == ["draft", "submitted"]
    assert data["sign_in"]["sessions"] and data["sign_in"]["links_and_codes_asked_for"]
    # each checked document is in the archive under its application, named safely, byte for byte
    for application in data["applications"]:
        for doc in application["documents"]:
            assert doc["file_in_this_archive"].startswith(f"documents/{application['reference']}/")
            assert files[doc["file_in_this_archive"]].startswith(b"%PDF")
    assert set(files) == {d["file_in_this_archive"] for a in data["applications"] for d in a["documents"]}
    assert any(name.endswith("Lin's notes.pdf") and ".." not in name for name in files)
    assert theirs["reference"] not in json.dumps(data) and OTHER["contact_email"] not in json.dumps(data)

    other_data, _ = _zip(intake.get("/api/applicants/me/export", headers=auth(other_token)))
    assert [a["reference"] for a in other_data["applications"]] == [theirs["reference"]]
    assert KAOHSIUNG["contact_email"] not in json.dumps(other_data)
    assert intake.get("/api/applicants/me/export").status_code == 401
    assert intake.get("/api/applicants/me/export", headers=auth(stack.secretariat_token())).status_code == 403


def test_the_my_data_page_downloads_the_same_zip_and_is_the_applicants_own(stack, intake, call):
    _, token = register(intake)
    submit_application(intake, token, call["id"])
    browser = _browser(stack, KAOHSIUNG["contact_email"])
    page = browser.get("/portal/my-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "1 application" in html and "1 document" in html
    assert 'href="/portal/my-data"' in browser.get("/portal").get_data(as_text=True)  # linked from the dashboard
    data, files = _zip(browser.get("/portal/my-data/export.zip"))
    assert data["applicant"]["contact_name"] == KAOHSIUNG["contact_name"] and len(files) == 1
    anonymous = stack.apps["intake"].test_client()
    for path in ("/portal/my-data", "/portal/my-data/export.zip"):
        r = anonymous.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/signin")
    assert anonymous.post("/portal/my-data/erasure", data={"confirm": "yes"}).status_code in (302, 403)


def test_erasure_waits_while_an_application_is_in_the_running(stack, intake, call):
    _, token = register(intake)
    application = submit_application(intake, token, call["id"])
    browser = _browser(stack, KAOHSIUNG["contact_email"])
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert "is still in the running" in html and application["reference"] in html and "ask-erasure" not in html
    r = browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"})
    assert r.status_code == 409 and application["reference"] in r.get_data(as_text=True)
    _stage(stack, application["id"], "eligible", "finalist")  # decided, not released: still waiting
    assert "is still in the running" in browser.get("/portal/my-data").get_data(as_text=True)
    _stage(stack, application["id"], "released:finalist", "winner", "released:award")
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert "What is erased" in html and "What is kept" in html and 'id="ask-erasure"' in html
    with _db(stack).session() as s:
        assert s.scalars(select(ErasureRequest)).all() == []


def test_asking_needs_the_confirmation_and_a_second_click_asks_once(stack, intake, call):
    _, token = register(intake)
    start_draft(intake, token, call["id"])  # a draft is out of the running: no wait
    browser = _browser(stack, KAOHSIUNG["contact_email"])
    html = browser.get("/portal/my-data").get_data(as_text=True)
    r = browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html)})
    assert r.status_code == 422 and "Tick the box" in r.get_data(as_text=True)
    assert browser.post("/portal/my-data/erasure", data={"csrf_token": "forged", "confirm": "yes"}).status_code == 403
    for _ in range(2):
        r = browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"})
        assert r.status_code == 303
    assert 'id="erasure-requested"' in browser.get("/portal/my-data").get_data(as_text=True)
    with _db(stack).session() as s:
        assert len(s.scalars(select(ErasureRequest)).all()) == 1


def _ask(stack, intake, call, email=KAOHSIUNG["contact_email"], **registration) -> tuple:
    """An applicant with a submitted application found ineligible (out of the running) and a
    draft, who asks for erasure: (browser, the submitted application, the draft, the request id)."""
    _, token = register(intake, contact_email=email, **registration)
    application = submit_application(intake, token, call["id"])
    draft = start_draft(intake, token, call["id"], category="human_centricity")
    _stage(stack, application["id"], "ineligible")
    browser = _browser(stack, email)
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"}).status_code == 303
    with _db(stack).session() as s:
        request_id = s.scalar(select(ErasureRequest.id).join(Applicant).where(Applicant.contact_email == email))
    return browser, application, draft, request_id


def _marker(html: str) -> str:
    return re.search(r'name="marker" value="([^"]+)"', html).group(1)


def test_the_secretariat_reads_what_goes_then_approves_once_and_the_applicant_is_gone(stack, intake, call):
    browser, application, draft, request_id = _ask(stack, intake, call)
    observer, secretariat = staff_browser(stack, "observer"), staff_browser(stack, "secretariat")
    assert stack.apps["intake"].test_client().get("/secretariat/erasure").status_code == 302  # to the staff sign-in
    assert browser.get("/secretariat/erasure").status_code == 302  # an applicant is no staff
    listing = observer.get("/secretariat/erasure").get_data(as_text=True)
    assert KAOHSIUNG["organisation"] in listing and "waiting for a decision" in listing
    page = secretariat.get(f"/secretariat/erasure/{request_id}").get_data(as_text=True)
    assert KAOHSIUNG["contact_email"] in page and application["reference"] in page and draft["reference"] in page
    assert "deleted (a draft never submitted)" in page and "erase-review" in page and "erase-notify" in page
    marker = _marker(page)

    r = observer.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": observer.csrf, "marker": marker})
    assert r.status_code == 403 and "can read but not" in r.get_data(as_text=True)
    # the applicant themselves is no staff: neither their session nor their token approves
    assert browser.post(f"/secretariat/erasure/{request_id}/approve", data={"marker": marker}).status_code in (302, 403)
    token = register(intake, **{k: v for k, v in OTHER.items() if k != "type"})[1]
    r = intake.post(f"/secretariat/erasure/{request_id}/approve", data={"marker": marker}, headers=auth(token))
    assert r.status_code == 403
    r = secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf,
                                                                            "marker": "stale"})
    assert r.status_code == 409 and "Nothing was erased" in r.get_data(as_text=True)
    # another applicant asking erases nobody but themselves, and only once the secretariat approves
    other = _browser(stack, OTHER["contact_email"])
    html = other.get("/portal/my-data").get_data(as_text=True)
    assert other.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"}).status_code == 303
    with _db(stack).session() as s:
        assert s.get(ErasureRequest, request_id).status == "requested"
        asked = {s.get(Applicant, r.applicant_id).contact_email for r in s.scalars(select(ErasureRequest))}
        assert asked == {KAOHSIUNG["contact_email"], OTHER["contact_email"]}
        assert s.scalars(select(Applicant).where(Applicant.erased_at.is_not(None))).all() == []

    r = secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf,
                                                                            "marker": marker})
    assert r.status_code == 303
    with _db(stack).session() as s:
        row = s.get(ErasureRequest, request_id)
        applicant = s.get(Applicant, row.applicant_id)
        assert row.status == "approved" and row.decided_by == secretariat.who and row.event_id
        assert applicant.erased_at and applicant.contact_email.endswith("@erased.invalid")
        assert applicant.organisation == KAOHSIUNG["organisation"]  # a city government is not a person
        bodies = s.scalars(select(outbox.c.body).where(outbox.c.type == "applicant.erased")).all()
    assert len(bodies) == 1
    event = json.loads(bodies[0])["data"]
    assert sorted(event["application_ids"]) == sorted([application["id"], draft["id"]])
    assert KAOHSIUNG["contact_name"] not in bodies[0] and KAOHSIUNG["contact_email"] not in bodies[0]
    # signed out for good: the session is gone, and a new sign-in link goes nowhere
    assert browser.get("/portal/my-data").status_code == 302
    assert intake.post("/api/signin", json={"email": KAOHSIUNG["contact_email"], "purpose": "api"}).status_code == 202
    assert signin_events(intake, KAOHSIUNG["contact_email"]) == []  # the old ones were erased, no new one
    assert intake.get(f"/api/applications/{draft['id']}", headers=auth(stack.secretariat_token())).status_code == 404

    again = secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf,
                                                                                "marker": marker})
    assert again.status_code == 303
    shown = secretariat.get(f"/secretariat/erasure/{request_id}").get_data(as_text=True)
    assert "approved already" in shown and "What intake erased" in shown
    with _db(stack).session() as s:
        assert len(s.scalars(select(outbox.c.event_id).where(outbox.c.type == "applicant.erased")).all()) == 1
    assert stack.secretariat_token() and storage_keys(stack, application["id"]) == []


def storage_keys(stack, application_id: str) -> list[str]:
    from services.intake.ops.documents import key_prefix, verified_prefix
    from shared.storage import open_storage
    settings = stack.settings
    store = open_storage(settings.storage_url, settings.secret_key)
    return store.list_keys(key_prefix(application_id)) + store.list_keys(verified_prefix(application_id))


def test_a_refusal_is_recorded_with_its_reason_and_the_applicant_may_ask_again(stack, intake, call):
    browser, _, _, request_id = _ask(stack, intake, call)
    secretariat = staff_browser(stack, "secretariat")
    r = secretariat.post(f"/secretariat/erasure/{request_id}/refuse", data={"csrf_token": secretariat.csrf, "reason": ""})
    assert r.status_code == 422 and "Give the reason" in r.get_data(as_text=True)
    reason = "An audit of the 2026 edition is open until March; ask again then."
    r = secretariat.post(f"/secretariat/erasure/{request_id}/refuse", data={"csrf_token": secretariat.csrf,
                                                                           "reason": reason})
    assert r.status_code == 303
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert reason in html and 'id="ask-erasure"' in html
    r = secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf,
                                                                            "marker": "x"})
    assert r.status_code == 409
    with _db(stack).session() as s:
        row = s.get(ErasureRequest, request_id)
        assert row.status == "refused" and row.decided_by == secretariat.who
        assert s.get(Applicant, row.applicant_id).erased_at is None
    assert secretariat.get(f"/secretariat/erasure/{uuid.uuid4()}").status_code == 404
    assert secretariat.get("/secretariat/erasure/not-an-id").status_code == 404


def test_an_individual_loses_name_city_and_content_and_another_applicant_keeps_everything(stack, intake):
    call = open_call(intake, stack.secretariat_token())
    _, other_token = register(intake, **{k: v for k, v in OTHER.items() if k != "type"})
    kept = submit_application(intake, other_token, call["id"], title="Flood sensors")
    _, token = register(intake, type="individual", organisation="Kim Min-ji", city="Suwon", contact_name="Kim Min-ji",
                        contact_email="minji@example.kr", country="KR")
    application = submit_application(intake, token, call["id"], category="leadership", title="Kim Min-ji's open data")
    _stage(stack, application["id"], "ineligible")
    browser = _browser(stack, "minji@example.kr")
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert "Your name and city, and the content of your applications." in html
    browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"})
    secretariat = staff_browser(stack, "secretariat")
    with _db(stack).session() as s:
        request_id = s.scalar(select(ErasureRequest.id))
    marker = _marker(secretariat.get(f"/secretariat/erasure/{request_id}").get_data(as_text=True))
    secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf, "marker": marker})
    sec = auth(stack.secretariat_token())
    record = intake.get(f"/api/applications/{application['id']}", headers=sec).get_json()
    assert record["title"] == "[erased]" and all(v == "" for v in record["answers"].values())
    with _db(stack).session() as s:
        person = s.scalar(select(Applicant).where(Applicant.erased_at.is_not(None)))
        assert (person.organisation, person.city, person.country) == ("[erased]", "[erased]", "KR")
        text = json.dumps([json.loads(b) for b in s.scalars(select(outbox.c.body))], ensure_ascii=False)
    assert "Kim Min-ji" not in text and "Suwon" not in text and "minji@example.kr" not in text
    theirs = intake.get(f"/api/applications/{kept['id']}", headers=sec).get_json()
    assert theirs["title"] == "Flood sensors" and OTHER["contact_email"] in text


def test_the_page_speaks_the_applicants_language(stack, intake, call):
    _, token = register(intake, language="ko")
    application = submit_application(intake, token, call["id"])
    browser = _browser(stack, KAOHSIUNG["contact_email"])
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert 'lang="ko"' in html and "내 개인정보 내려받기" in html and "신청서 1건" in html
    assert f"{application['reference']}(2026년)은 아직 심사 중입니다" in html
    _stage(stack, application["id"], "ineligible")
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert "삭제되는 정보" in html and "남는 정보" in html
    r = browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"})
    html = browser.get(r.headers["Location"]).get_data(as_text=True)
    assert "요청이 접수되었습니다" in html and "개인정보 삭제를 요청하셨습니다" in html


def test_a_ceremony_set_after_the_erasure_invites_nobody_erased(stack, intake, call):
    _, token = register(intake)
    application = submit_application(intake, token, call["id"])
    _stage(stack, application["id"], "eligible", "finalist", "released:finalist", "winner", "released:award")
    browser = _browser(stack, KAOHSIUNG["contact_email"])
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"}).status_code == 303
    secretariat = staff_browser(stack, "secretariat")
    with _db(stack).session() as s:
        request_id = s.scalar(select(ErasureRequest.id))
    marker = _marker(secretariat.get(f"/secretariat/erasure/{request_id}").get_data(as_text=True))
    secretariat.post(f"/secretariat/erasure/{request_id}/approve", data={"csrf_token": secretariat.csrf, "marker": marker})
    soon = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(stack.secretariat_token()), json={
        "starts_at": soon.isoformat(), "rsvp_by": (soon - timedelta(days=7)).isoformat(), "venue": "COEX, Seoul"})
    assert r.status_code == 200, r.get_json()
    guests = intake.get(f"/api/calls/{call['id']}/guests", headers=auth(stack.secretariat_token())).get_json()
    assert guests["guests"] == []
    with _db(stack).session() as s:
        assert s.scalars(select(outbox.c.event_id).where(outbox.c.type == "ceremony.invited")).all() == []
