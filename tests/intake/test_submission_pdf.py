"""The PDF of a submitted application: what it holds (read back with pypdf: answers in Korean and
Thai, each document's SHA-256, the submission time in the call's zone and in UTC), where it is
kept (with the documents), who may download it, and the worker that makes it and tries again."""
from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.intake import jobs
from services.intake.models import SubmissionCopy, outbox
from services.intake.ops import submission_copy
from shared.storage import FileStorage
from tests.intake.test_documents import PDF, PNG, db_of
from tests.intake.test_portal_documents import browser_session, page_csrf
from tests.support.stack import (Stack, answer_every_criterion, auth, open_call, register, start_draft,
                                 submit_application, upload_document)

KOREAN = "시민들이 항구의 대기 오염을 가장 먼저 문제로 제기했습니다."
THAI = "ชาวเชียงใหม่มีส่วนร่วมในการออกแบบระบบขนส่งสาธารณะ"
ORGANISATION = "서울특별시 Seoul Metropolitan Government"
CRITERION_1 = "Problem recognition and innovation"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeezed(text: str) -> str:
    return "".join(text.split())  # a line break inside a long answer must not hide it


def _submitted(stack, **applicant):
    """An applicant (API and browser) with an application submitted over the page: answers in
    Korean and Thai, a PDF and a PNG."""
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    email = applicant.setdefault("contact_email", "mayor.office@seoul.example.kr")
    _, token = register(intake, organisation=ORGANISATION, city="서울 Seoul", country="KR", **applicant)
    app_id = start_draft(intake, token, call["id"], title="Clean air for the harbour")["id"]
    answers = answer_every_criterion(intake, token, app_id, text="Evidence from residents shaped it.")
    keys = [c["key"] for c in answers["criteria"]]
    r = intake.patch(f"/api/applications/{app_id}", headers=auth(token),
                     json={"answers": {keys[0]: KOREAN, keys[1]: THAI}})
    assert r.status_code == 200, r.get_json()
    documents = [upload_document(intake, token, app_id, filename="신청서 application.pdf"),
                 upload_document(intake, token, app_id, kind="supporting_material", body=PNG,
                                 filename="harbour.png", content_type="image/png")]
    browser = browser_session(stack, email)
    csrf = page_csrf(browser, f"/portal/applications/{app_id}/preview")
    r = browser.post(f"/portal/applications/{app_id}/submit", data={"csrf_token": csrf})
    assert r.status_code == 302 and r.headers["Location"].endswith("/status"), r.get_data(as_text=True)
    return {"intake": intake, "call": call, "token": token, "app": app_id, "browser": browser, "documents": documents}


def _download(client, app_id: str) -> tuple[bytes, dict]:
    r = client.get(f"/portal/applications/{app_id}/submission.pdf")
    assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store", r.get_data(as_text=True)[:300]
    where = urlsplit(r.headers["Location"])
    got = client.get(f"{where.path}?{where.query}")
    assert got.status_code == 200
    return got.data, got.headers


def _submitted_event(stack, app_id: str) -> dict:
    with db_of(stack).engine.connect() as conn:
        body = conn.execute(outbox.select().where(outbox.c.type == "application.submitted",
                                                  outbox.c.correlation_id == app_id)).one().body
    return json.loads(body)["data"]


def test_the_pdf_holds_the_answers_in_korean_and_thai_the_hashes_and_both_times(stack):
    ctx = _submitted(stack)
    status = ctx["browser"].get(f"/portal/applications/{ctx['app']}/status").get_data(as_text=True)
    assert f'href="/portal/applications/{ctx["app"]}/submission.pdf"' in status

    data, headers = _download(ctx["browser"], ctx["app"])  # the worker has not run: made now
    event = _submitted_event(stack, ctx["app"])
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"].startswith(f'attachment; filename="{event["reference"]}.pdf"')
    text = pdf_text(data)
    flat = squeezed(text)
    assert squeezed(KOREAN) in flat and squeezed(THAI) in flat
    assert event["reference"] in text and ORGANISATION in text and "Tech-InnovaCity" in text
    assert f"1. {CRITERION_1}" in text and "2. Project design" in text
    for document in ctx["documents"]:
        assert document["sha256"] in text and document["filename"] in text
    assert hashlib.sha256(PDF).hexdigest() in text and hashlib.sha256(PNG).hexdigest() in text
    submitted = datetime.fromisoformat(event["submitted_at"])
    seoul = submitted.astimezone(ZoneInfo("Asia/Seoul"))
    assert f"{seoul:%Y-%m-%d %H:%M:%S} Asia/Seoul (UTC+09:00)" in text
    assert f"{submitted.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M:%S} UTC" in text

    # kept with the documents, once: a second download serves the same file
    with db_of(stack).session() as s:
        copy = s.get(SubmissionCopy, ctx["app"])
    store = stack.apps["intake"].extensions["prize"]["storage"]
    assert copy.storage_key.startswith(f"submissions/{ctx['app']}/") and store.stat(copy.storage_key)[0] == len(data)
    assert copy.sha256 == hashlib.sha256(data).hexdigest()
    assert _download(ctx["browser"], ctx["app"])[0] == data


def test_the_pdf_speaks_the_applicants_language_where_the_pages_do(stack):
    ctx = _submitted(stack, language="ko")
    text = pdf_text(_download(ctx["browser"], ctx["app"])[0])
    assert "접수번호" in text and "Reference" not in text  # the headings; the answers are as written
    assert squeezed(KOREAN) in squeezed(text)


def test_only_the_owner_downloads_the_pdf(stack):
    ctx = _submitted(stack)
    path = f"/portal/applications/{ctx['app']}/submission.pdf"
    register(ctx["intake"], contact_email="ana@guarulhos.example.br", city="Guarulhos", country="BR")
    other = browser_session(stack, "ana@guarulhos.example.br")
    assert other.get(path).status_code == 404
    assert other.get("/portal/applications/0f0f0f0f-0000-4000-8000-000000000000/submission.pdf").status_code == 404
    anonymous = stack.apps["intake"].test_client().get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/signin")
    # a draft has no PDF yet, even for its owner: back to the draft, saying when it comes
    draft = start_draft(ctx["intake"], ctx["token"], ctx["call"]["id"], category="human_centricity")
    r = ctx["browser"].get(f"/portal/applications/{draft['id']}/submission.pdf")
    assert r.status_code == 303 and f"/portal/applications/{draft['id']}" in r.headers["Location"]
    assert "made when it is submitted" in ctx["browser"].get(r.headers["Location"]).get_data(as_text=True)
    # the status page's link is not on the draft's status page
    page = ctx["browser"].get(f"/portal/applications/{draft['id']}/status").get_data(as_text=True)
    assert "submission.pdf" not in page


def test_the_worker_makes_each_pdf_once_and_keeps_it_with_the_documents(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    first = submit_application(intake, token, call["id"])
    second = submit_application(intake, token, call["id"], category="human_centricity")
    db, store = db_of(stack), stack.apps["intake"].extensions["prize"]["storage"]
    assert jobs.submission_copies(db, store) == 2
    assert jobs.submission_copies(db, store) == 0  # made once
    for application in (first, second):
        with db.session() as s:
            copy = s.get(SubmissionCopy, application["id"])
        assert store.stat(copy.storage_key) is not None
        assert application["reference"] in pdf_text(b"".join(store.iter_chunks(copy.storage_key)))
    assert len(store.list_keys("submissions/")) == 2


def test_a_pdf_that_could_not_be_stored_is_made_at_a_later_pass(stack, tmp_path, monkeypatch):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    application = submit_application(intake, token, call["id"])
    db, store = db_of(stack), stack.apps["intake"].extensions["prize"]["storage"]
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the store's folder should be")
    broken = FileStorage(blocked, "secret")
    monkeypatch.setattr(submission_copy, "RETRY_FIRST", 0.0)
    assert jobs.submission_copies(db, broken) == 0  # the store refused: logged, nothing recorded
    with db.session() as s:
        assert s.get(SubmissionCopy, application["id"]) is None
    assert jobs.submission_copies(db, store) == 1  # the next pass makes it
    with db.session() as s:
        assert store.stat(s.get(SubmissionCopy, application["id"]).storage_key) is not None


def test_a_failing_application_waits_longer_and_does_not_hold_up_the_others(stack, tmp_path):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    application = submit_application(intake, token, call["id"])
    db, store = db_of(stack), stack.apps["intake"].extensions["prize"]["storage"]
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("x")
    try:
        assert jobs.submission_copies(db, FileStorage(blocked, "secret")) == 0
        assert jobs.submission_copies(db, store) == 0  # waiting: tried again after RETRY_FIRST seconds
        other = submit_application(intake, token, call["id"], category="human_centricity")
        assert jobs.submission_copies(db, store) == 1
        with db.session() as s:
            assert s.get(SubmissionCopy, other["id"]) is not None
        # the owner's download does not wait for the worker's next try
        browser = browser_session(stack, "mei.lin@kcg.example.tw")
        assert _download(browser, application["id"])[0].startswith(b"%PDF-")
    finally:
        submission_copy._failures.clear()


@pytest.mark.parametrize("field", ["summary", "title"])
def test_text_that_looks_like_html_is_printed_as_text(stack, field):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    draft = start_draft(intake, token, call["id"])
    value = '<img src="file:///etc/passwd"> & <b>bold</b>'
    assert intake.patch(f"/api/applications/{draft['id']}", headers=auth(token),
                        json={field: value}).status_code == 200
    from tests.support.stack import complete_draft
    complete_draft(intake, token, draft["id"])
    assert intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)).status_code == 200
    copy = submission_copy.make_copy(db_of(stack), stack.apps["intake"].extensions["prize"]["storage"], draft["id"])
    store = stack.apps["intake"].extensions["prize"]["storage"]
    assert value in pdf_text(b"".join(store.iter_chunks(copy.storage_key)))


@pytest.fixture
def pg_intake(real_settings):
    st = Stack(real_settings, services=("intake",))
    yield st
    st.stop()


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_the_worker_makes_each_pdf_once_on_postgresql(pg_intake):
    test_the_worker_makes_each_pdf_once_and_keeps_it_with_the_documents(pg_intake)


@pytest.fixture
def s3_intake(tmp_path):
    from shared.config import load_settings
    from tests.conftest import embedded_env
    from tests.intake.test_documents_s3 import BUCKET, PREFIX
    from tests.support.moto import moto_s3
    with moto_s3(BUCKET) as (_endpoint, client):
        stack = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_STORAGE_URL=f"s3://{BUCKET}/{PREFIX}")),
                      services=("intake",))
        try:
            yield stack, client
        finally:
            stack.stop()


def test_the_pdf_is_kept_in_s3_beside_the_documents(s3_intake):
    """On S3 the PDF is an object under the prefix, served by a presigned link named after the reference."""
    import requests

    from tests.intake.test_documents import prepare
    from tests.intake.test_documents_s3 import BUCKET, PREFIX, send
    stack, client = s3_intake
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    answer_every_criterion(intake, token, ctx["app"])
    r = intake.post(f"/api/applications/{ctx['app']}/documents", headers=auth(token), json={
        "kind": "proposal", "filename": "plan.html", "content_type": "application/pdf", "size": len(PDF)})
    started = r.get_json()
    assert send(started["upload"], PDF).status_code == 204
    assert intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token)).status_code == 200
    r = intake.post(f"/api/applications/{ctx['app']}/submit", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    reference = r.get_json()["reference"]
    db, store = db_of(stack), stack.apps["intake"].extensions["prize"]["storage"]
    assert jobs.submission_copies(db, store) == 1
    [key] = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/submissions/")["Contents"]]
    assert key.startswith(f"{PREFIX}/submissions/{ctx['app']}/") and key.endswith(".pdf")
    got = requests.get(submission_copy.download_url(db, store, ctx["app"]), timeout=30)
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith(f'attachment; filename="{reference}.pdf"')
    text = pdf_text(got.content)
    assert reference in text and "plan.pdf" in text and hashlib.sha256(PDF).hexdigest() in text
    # the document itself downloads as .pdf, whatever the applicant called it
    link = intake.get(f"/api/documents/{started['document']['id']}/download", headers=auth(token)).headers["Location"]
    assert requests.get(link, timeout=30).headers["Content-Disposition"].startswith('attachment; filename="plan.pdf"')
