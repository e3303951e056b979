"""Application documents on the embedded file store: signed upload, check, signed download,
the API's refusals, and who may see what. (S3 through moto: test_documents_s3.py.)"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import tracemalloc
from urllib.parse import parse_qs, urlsplit

import pytest

from services.intake.ops.documents import missing_documents
from services.intake.models import Application, Call, Document
from shared.storage import FileStorage
from tests.support.stack import Stack, answer_every_criterion, auth, open_call, register

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
HTML = b"<!doctype html><script>alert(document.cookie)</script>"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
CALL_DOCUMENTS = [{"key": "proposal", "title": "Project proposal", "required": True},
                  {"key": "photos", "title": "Photos", "required": False}]
UNKNOWN_ID = "0f0f0f0f-0000-4000-8000-000000000000"


# ---- helpers shared with test_documents_s3.py ----

def db_of(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def prepare(stack, max_upload_bytes: int = 1024 * 1024):
    """An open call asking for documents, an applicant with a draft, and a second applicant."""
    intake = stack.clients["intake"]
    sec = stack.secretariat_token()
    call = open_call(intake, sec)
    with db_of(stack).session() as s, s.begin():
        row = s.get(Call, call["id"])
        row.documents, row.max_upload_bytes = CALL_DOCUMENTS, max_upload_bytes
    _, token = register(intake)
    _, other = register(intake, organisation="Taipei City", contact_email="smart@taipei.example.tw")
    app_id = new_draft(intake, token, call["id"])
    return {"intake": intake, "sec": sec, "call": call, "token": token, "other": other, "app": app_id}


def new_draft(intake, token, call_id, category="tech_innovacity") -> str:
    r = intake.post("/api/applications", json={"call_id": call_id, "category": category,
                                               "title": "Hydrogen buses", "summary": "Clean mobility."},
                    headers=auth(token))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def start_upload(intake, token, app_id, *, kind="proposal", filename="plan.pdf",
                 content_type="application/pdf", size=len(PDF), expect=201):
    r = intake.post(f"/api/applications/{app_id}/documents", headers=auth(token),
                    json={"kind": kind, "filename": filename, "content_type": content_type, "size": size})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def app_row(stack, app_id):
    with db_of(stack).session() as s:
        application = s.get(Application, app_id)
        return missing_documents(s, application, s.get(Call, application.call_id))


# ---- the file store through the Flask app ----

def post_file(intake, upload, body: bytes, filename="plan.pdf", content_type=None, **field_overrides):
    """POST the form the way a browser does: the fields, then the file."""
    parts = urlsplit(upload["url"])
    fields = dict(upload["fields"], **field_overrides)
    data = {**fields, "file": (io.BytesIO(body), filename, content_type or fields["Content-Type"])}
    return intake.post(f"{parts.path}?{parts.query}", data=data, content_type="multipart/form-data")


@pytest.fixture
def pg_stack(real_settings):
    st = Stack(real_settings, services=("intake",))
    yield st
    st.stop()


@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_upload_check_and_download_on_postgresql(pg_stack):
    test_upload_check_and_download_on_the_file_store(pg_stack)


def test_upload_check_and_download_on_the_file_store(stack):
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    assert app_row(stack, ctx["app"]) == ["proposal"]
    name = '..\\高雄 "plan"\r\n v2.pdf'  # a path, quotes, a header break
    started = start_upload(intake, token, ctx["app"], filename=name)
    doc = started["document"]
    assert doc["status"] == "pending" and doc["kind"] == "proposal"
    assert started["upload"]["fields"]["key"].startswith(f"applications/{ctx['app']}/")

    r = post_file(intake, started["upload"], PDF)
    assert r.status_code == 204, r.get_json()
    r = intake.post(f"/api/documents/{doc['id']}/complete", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    # the form is still within its TTL, but a checked file cannot be swapped through it
    assert post_file(intake, started["upload"], HTML).status_code == 403
    assert r.get_json()["status"] == "verified"
    assert r.get_json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert app_row(stack, ctx["app"]) == []

    listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
    assert [d["id"] for d in listed] == [doc["id"]]

    for who in (token, ctx["sec"]):
        r = intake.get(f"/api/documents/{doc['id']}/download", headers=auth(who))
        assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store"
        got = intake.get(urlsplit(r.headers["Location"]).path + "?" + urlsplit(r.headers["Location"]).query)
        assert got.status_code == 200 and got.data == PDF
        disposition = got.headers["Content-Disposition"]
        assert disposition.startswith('attachment; filename="')
        assert "\r" not in disposition and "\n" not in disposition and "../" not in disposition.split(";")[1]
        assert "filename*=UTF-8''" in disposition and "%E9%AB%98%E9%9B%84" in disposition
        assert got.headers["X-Content-Type-Options"] == "nosniff"
    r = intake.get(f"/api/documents/{doc['id']}/download?format=json", headers=auth(token))
    assert r.status_code == 200 and "/storage/download?" in r.get_json()["url"]


def test_the_file_store_checks_the_signed_policy(stack):
    ctx = prepare(stack, max_upload_bytes=4096)
    intake, token = ctx["intake"], ctx["token"]
    upload = start_upload(intake, token, ctx["app"])["upload"]
    store = stack.apps["intake"].extensions["prize"]["storage"]
    assert isinstance(store, FileStorage)
    stray = f"applications/{ctx['app']}/somewhere-else"

    assert post_file(intake, upload, PDF, key=stray).status_code == 403
    assert post_file(intake, upload, PDF, **{"Content-Type": "text/html"}).status_code == 403
    r = post_file(intake, upload, PDF + b"x" * 5000)
    assert r.status_code == 413 and "limit is 4096 bytes" in r.get_json()["message"]
    assert post_file(intake, upload, b"").status_code == 400
    tampered = dict(upload, url=upload["url"].replace("signature=", "signature=00"))
    assert post_file(intake, tampered, PDF).status_code == 403
    # a policy signed correctly but expired
    query = parse_qs(urlsplit(upload["url"]).query)
    policy = json.loads(base64.urlsafe_b64decode(query["policy"][0]))
    policy["expiration"] = int(time.time()) - 1
    sealed, signature = store._seal(policy)
    expired = dict(upload, url=f"/storage/upload?policy={sealed}&signature={signature}")
    assert post_file(intake, expired, PDF).status_code == 403
    assert store.list_keys(f"applications/{ctx['app']}/") == []
    assert not any((store.root / ".incoming").iterdir())  # refused uploads leave nothing behind


def test_a_file_whose_bytes_lie_is_removed_and_the_reason_reported(stack):
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"], filename="totally-a.pdf", size=len(HTML))
    assert post_file(intake, started["upload"], HTML).status_code == 204  # the store cannot tell
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 422
    assert "not .pdf" in r.get_json()["message"] and r.get_json()["errors"]["file"]
    store = stack.apps["intake"].extensions["prize"]["storage"]
    assert store.stat(started["upload"]["fields"]["key"]) is None
    listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
    assert listed[0]["status"] == "rejected" and "not .pdf" in listed[0]["rejection_reason"]
    assert intake.get(f"/api/documents/{started['document']['id']}/download",
                      headers=auth(token)).status_code == 409
    # completing again keeps the answer
    assert intake.post(f"/api/documents/{started['document']['id']}/complete",
                       headers=auth(token)).status_code == 422
    # a zip that is not the declared Office type
    started = start_upload(intake, token, ctx["app"], filename="a.docx", content_type=DOCX_TYPE, size=30)
    post_file(intake, started["upload"], b"PK\x03\x04" + b"\x00" * 26 + b"xl/workbook.xml")
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 422 and "zip archive but not .docx" in r.get_json()["message"]


def test_the_api_refuses_what_the_rules_refuse(stack):
    ctx = prepare(stack, max_upload_bytes=1000)
    intake, token, app_id = ctx["intake"], ctx["token"], ctx["app"]
    body = start_upload(intake, token, app_id, content_type="text/html", expect=415)
    assert "content_type" in body["errors"]["json"]
    body = start_upload(intake, token, app_id, size=1001, expect=413)
    assert "size" in body["errors"]["json"]
    body = start_upload(intake, token, app_id, kind="video", expect=422)
    assert "kind" in body["errors"]["json"]
    body = start_upload(intake, token, app_id, size=-1, expect=422)
    assert "size" in body["errors"]["json"]
    r = intake.post(f"/api/applications/{app_id}/documents", headers=auth(token), json={"kind": "proposal"})
    assert r.status_code == 422 and {"filename", "content_type", "size"} <= set(r.get_json()["errors"]["json"])
    # the secretariat reads but does not upload for an applicant
    start_upload(intake, ctx["sec"], app_id, expect=403)

    # delete while a draft
    doc = start_upload(intake, token, app_id)["document"]
    assert intake.delete(f"/api/documents/{doc['id']}", headers=auth(token)).status_code == 204
    assert intake.get(f"/api/documents/{doc['id']}", headers=auth(token)).status_code == 404

    # a submitted application's documents are frozen
    started = start_upload(intake, token, app_id, kind="photos", filename="p.png", content_type="image/png",
                           size=len(PNG))
    doc = started["document"]
    assert post_file(intake, started["upload"], PNG).status_code == 204
    proposal = start_upload(intake, token, app_id)  # submission may require it, verified
    assert post_file(intake, proposal["upload"], PDF).status_code == 204
    assert intake.post(f"/api/documents/{proposal['document']['id']}/complete",
                       headers=auth(token)).status_code == 200
    answer_every_criterion(intake, token, app_id)  # the default terms require every answer
    assert intake.post(f"/api/applications/{app_id}/submit", headers=auth(token)).status_code == 200
    # a pending document cannot be verified once the content is frozen
    start_upload(intake, token, app_id, expect=409)
    assert intake.delete(f"/api/documents/{doc['id']}", headers=auth(token)).status_code == 409
    assert intake.post(f"/api/documents/{doc['id']}/complete", headers=auth(token)).status_code == 409


def test_only_the_owner_and_the_secretariat_see_documents(stack):
    ctx = prepare(stack)
    intake, token, other = ctx["intake"], ctx["token"], ctx["other"]
    started = start_upload(intake, token, ctx["app"])
    post_file(intake, started["upload"], PDF)
    doc_id = started["document"]["id"]
    assert intake.post(f"/api/documents/{doc_id}/complete", headers=auth(other)).status_code == 404
    assert intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token)).status_code == 200

    calls = [("get", "/api/applications/{app}/documents", None),
             ("post", "/api/applications/{app}/documents",
              {"kind": "proposal", "filename": "a.pdf", "content_type": "application/pdf", "size": 10}),
             ("get", "/api/documents/{doc}", None),
             ("post", "/api/documents/{doc}/complete", None),
             ("get", "/api/documents/{doc}/download", None),
             ("delete", "/api/documents/{doc}", None)]
    for method, template, body in calls:
        real = template.format(app=ctx["app"], doc=doc_id)
        missing = template.format(app=UNKNOWN_ID, doc=UNKNOWN_ID)
        kwargs = {"json": body} if body else {}
        theirs = getattr(intake, method)(real, headers=auth(other), **kwargs)
        absent = getattr(intake, method)(missing, headers=auth(other), **kwargs)
        assert theirs.status_code == absent.status_code == 404, (method, template)
        assert theirs.get_json()["message"].replace(ctx["app"], "X").replace(doc_id, "X") == \
            absent.get_json()["message"].replace(UNKNOWN_ID, "X"), (method, template)
        assert getattr(intake, method)(real, **kwargs).status_code == 401, (method, template)
        assert getattr(intake, method)(real, headers=auth("not-a-token"), **kwargs).status_code == 401
    # nothing changed for the owner
    assert intake.get(f"/api/documents/{doc_id}", headers=auth(token)).get_json()["status"] == "verified"
    with db_of(stack).session() as s:
        assert s.query(Document).count() == 1


def test_a_large_upload_to_the_file_store_streams_to_disk(stack, capsys):
    ctx = prepare(stack, max_upload_bytes=64 * 1024 * 1024)
    intake, token = ctx["intake"], ctx["token"]
    size = 48 * 1024 * 1024
    body = PDF + b"\x00" * (size - len(PDF))
    started = start_upload(intake, token, ctx["app"], size=size)
    tracemalloc.start()
    try:
        r = post_file(intake, started["upload"], body)
        assert r.status_code == 204, r.get_json()
        r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
        assert r.status_code == 200, r.get_json()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    with capsys.disabled():
        print(f"\n[file store] {size / 2**20:.0f} MiB upload + check: peak Python allocations in intake "
              f"{peak / 2**20:.1f} MiB (the test client's request body excluded)")
    assert peak < 16 * 1024 * 1024  # bytes pass through in chunks, never whole


OTHER_PDF = b"%PDF-1.4\n% not the file that was checked\n%%EOF\n"


def _download_file_store(intake, token, document_id) -> bytes:
    r = intake.get(f"/api/documents/{document_id}/download", headers=auth(token))
    assert r.status_code == 302, r.get_json()
    location = urlsplit(r.headers["Location"])
    got = intake.get(f"{location.path}?{location.query}")
    assert got.status_code == 200
    return got.data


def test_a_signed_upload_form_serves_once_and_the_checked_file_stays(stack):
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"])
    doc_id, upload = started["document"]["id"], started["upload"]
    assert post_file(intake, upload, PDF).status_code == 204
    r = post_file(intake, upload, OTHER_PDF)  # before the check: the form is used up already
    assert r.status_code == 403 and "already uploaded" in r.get_json()["message"]
    r = intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token))
    checked = r.get_json()["sha256"]
    assert r.status_code == 200 and checked == hashlib.sha256(PDF).hexdigest()

    store = stack.apps["intake"].extensions["prize"]["storage"]
    with db_of(stack).session() as s:
        kept = s.get(Document, doc_id).storage_key
    assert kept.startswith(f"verified/applications/{ctx['app']}/{doc_id}/")
    assert store.list_keys(f"applications/{ctx['app']}/") == []  # moved out of the form's reach
    assert store.stat(kept) == (len(PDF), "application/pdf")

    for body in (OTHER_PDF, HTML):  # within the TTL, after the check: still refused
        r = post_file(intake, upload, body)
        assert r.status_code == 403 and "already uploaded" in r.get_json()["message"]
    assert store.list_keys(f"applications/{ctx['app']}/") == []
    for who in (token, ctx["sec"]):
        got = _download_file_store(intake, who, doc_id)
        assert got == PDF and hashlib.sha256(got).hexdigest() == checked
    listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
    assert [(d["id"], d["status"], d["sha256"]) for d in listed] == \
        [(doc_id, "verified", hashlib.sha256(PDF).hexdigest())]

    # Even a file put at the upload key behind the form's back is not what is served,
    # and the application's next check sweeps it.
    store.path(upload["fields"]["key"]).write_bytes(HTML)
    assert _download_file_store(intake, token, doc_id) == PDF
    again = intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token)).get_json()
    assert again["status"] == "verified" and again["sha256"] == hashlib.sha256(PDF).hexdigest()
    photo = start_upload(intake, token, ctx["app"], kind="photos", filename="p.png", content_type="image/png",
                         size=len(PNG))
    assert post_file(intake, photo["upload"], PNG).status_code == 204
    assert intake.post(f"/api/documents/{photo['document']['id']}/complete", headers=auth(token)).status_code == 200
    assert store.list_keys(f"applications/{ctx['app']}/") == []
    assert _download_file_store(intake, token, doc_id) == PDF

    # deleting the document removes the checked file
    assert intake.delete(f"/api/documents/{doc_id}", headers=auth(token)).status_code == 204
    assert store.stat(kept) is None
    assert len(store.list_keys(f"verified/applications/{ctx['app']}/")) == 1  # the photo's


def test_a_refused_upload_cannot_be_replaced_through_its_form(stack):
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"], size=len(HTML))
    assert post_file(intake, started["upload"], HTML).status_code == 204
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 422
    assert post_file(intake, started["upload"], PDF).status_code == 403
    store = stack.apps["intake"].extensions["prize"]["storage"]
    assert store.list_keys(f"applications/{ctx['app']}/") == []
    assert store.list_keys(f"verified/applications/{ctx['app']}/") == []


def test_used_form_markers_are_dropped_once_no_form_can_be_valid(stack):
    import os
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    first = start_upload(intake, token, ctx["app"])
    assert post_file(intake, first["upload"], PDF).status_code == 204
    store = stack.apps["intake"].extensions["prize"]["storage"]
    [marker] = (store.root / ".claimed").iterdir()
    old = time.time() - 16 * 60 - 300
    os.utime(marker, (old, old))
    second = start_upload(intake, token, ctx["app"], kind="photos")
    assert post_file(intake, second["upload"], PDF).status_code == 204
    assert len(list((store.root / ".claimed").iterdir())) == 1  # the stale one went
    assert not marker.exists()  # by then the first form has expired: its policy refuses it
