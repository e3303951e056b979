"""The documents on the applicant's own pages (edit, preview), through the Flask client: what is
listed, deleting with a plain form, replacing, and downloads named by the checked type."""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlparse, urlsplit

from services.intake.models import Document
from tests.intake.test_documents import HTML, PDF, PNG, db_of, post_file
from tests.support.stack import (KAOHSIUNG, answer_every_criterion, auth, open_call, open_signin_link, register,
                                 signin_events, start_draft, upload_document)


def browser_session(stack, email: str):
    """A Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlparse(signin_events(client, email)[-1]["url"]).path
    assert open_signin_link(client, link).status_code == 303
    return client


def page_csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def applicant_with_draft(stack, **applicant):
    """An open call, an applicant (API token and browser), a draft; and a second applicant's browser."""
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake, **applicant)
    draft = start_draft(intake, token, call["id"])
    owner = browser_session(stack, applicant.get("contact_email", KAOHSIUNG["contact_email"]))
    register(intake, contact_email="ana@guarulhos.example.br", city="Guarulhos", country="BR")
    other = browser_session(stack, "ana@guarulhos.example.br")
    return {"intake": intake, "call": call, "token": token, "app": draft["id"], "owner": owner, "other": other}


def begin_upload(intake, token, app_id, *, expect=201, **fields):
    """POST /api/applications/<id>/documents with these fields (a PDF of the proposal by default)."""
    body = {"kind": "application_form", "filename": "plan.pdf", "content_type": "application/pdf",
            "size": len(PDF), **fields}
    r = intake.post(f"/api/applications/{app_id}/documents", headers=auth(token), json=body)
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def edit_path(ctx) -> str:
    return f"/portal/applications/{ctx['app']}"


def _refused_upload(ctx) -> dict:
    started = begin_upload(ctx["intake"], ctx["token"], ctx["app"], filename="not-really.pdf", size=len(HTML))
    assert post_file(ctx["intake"], started["upload"], HTML).status_code == 204
    r = ctx["intake"].post(f"/api/documents/{started['document']['id']}/complete", headers=auth(ctx["token"]))
    assert r.status_code == 422 and "refused and removed" in r.get_json()["message"]
    return started["document"]


def test_a_file_refused_and_removed_stays_gone_after_a_reload(stack):
    ctx = applicant_with_draft(stack)
    _refused_upload(ctx)
    # the page it was uploaded from is reloaded: the refused file is not listed again
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    assert "not-really.pdf" not in html
    assert 'id="missing-docs"' in html and "Still required" in html
    preview = ctx["owner"].get(edit_path(ctx) + "/preview").get_data(as_text=True)
    assert "not-really.pdf" not in preview


def test_the_still_required_warning_has_a_place_the_page_script_refreshes(stack):
    ctx = applicant_with_draft(stack)
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    assert re.search(r'<div id="document-state"[^>]*>', html)
    assert re.search(r'id="missing-docs"[^>]*>\s*Still required: Application form \(PDF\)', html)
    upload_document(ctx["intake"], ctx["token"], ctx["app"])
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    assert "Still required" not in html and "application-form.pdf" in html


def test_the_edit_page_deletes_a_document_with_a_plain_form(stack):
    ctx = applicant_with_draft(stack)
    doc = upload_document(ctx["intake"], ctx["token"], ctx["app"])
    store = stack.apps["intake"].extensions["prize"]["storage"]
    key = _key(stack, doc["id"])
    assert store.stat(key) is not None
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    action = f"/portal/documents/{doc['id']}/delete"
    assert f'action="{action}"' in html and 'aria-label="Delete application-form.pdf"' in html

    # someone else, a missing document, a missing token: nothing happens
    theirs = ctx["other"].post(action, data={"csrf_token": page_csrf(ctx["other"], "/portal")})
    assert theirs.status_code == 404
    assert ctx["owner"].post(action, data={}).status_code == 403
    missing = "/portal/documents/0f0f0f0f-0000-4000-8000-000000000000/delete"
    assert ctx["owner"].post(missing, data={"csrf_token": page_csrf(ctx["owner"], edit_path(ctx))}).status_code == 404

    r = ctx["owner"].post(action, data={"csrf_token": page_csrf(ctx["owner"], edit_path(ctx))})
    assert r.status_code == 303 and r.headers["Location"].endswith(edit_path(ctx) + "#documents")
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    assert "Deleted application-form.pdf." in html and "Still required" in html
    assert ctx["intake"].get(f"/api/documents/{doc['id']}", headers=auth(ctx["token"])).status_code == 404
    assert store.stat(key) is None


def _key(stack, document_id: str) -> str:
    with db_of(stack).session() as s:
        return s.get(Document, document_id).storage_key


def test_a_submitted_applications_documents_cannot_be_deleted_from_the_page(stack):
    ctx = applicant_with_draft(stack)
    doc = upload_document(ctx["intake"], ctx["token"], ctx["app"])
    answer_every_criterion(ctx["intake"], ctx["token"], ctx["app"])
    csrf = page_csrf(ctx["owner"], edit_path(ctx))
    assert ctx["intake"].post(f"/api/applications/{ctx['app']}/submit", headers=auth(ctx["token"])).status_code == 200
    action = f"/portal/documents/{doc['id']}/delete"
    r = ctx["owner"].post(action, data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["Location"].endswith("/status")
    assert "documents can no longer change" in ctx["owner"].get(r.headers["Location"]).get_data(as_text=True)
    assert ctx["intake"].get(f"/api/documents/{doc['id']}", headers=auth(ctx["token"])).status_code == 200


def test_the_preview_lists_the_checked_documents(stack):
    ctx = applicant_with_draft(stack)
    upload_document(ctx["intake"], ctx["token"], ctx["app"], filename="高雄 plan.pdf")
    upload_document(ctx["intake"], ctx["token"], ctx["app"], kind="supporting_material", body=PNG,
                    filename="harbour.png", content_type="image/png")
    html = ctx["owner"].get(edit_path(ctx) + "/preview").get_data(as_text=True)
    assert "高雄 plan.pdf" in html and "harbour.png" in html
    assert "Application form (PDF)" in html and "Supporting material" in html
    assert hashlib.sha256(PDF).hexdigest() in html  # what the applicant can check against their copy
    assert ctx["other"].get(edit_path(ctx) + "/preview").status_code == 404


def test_a_download_is_named_by_the_checked_type_not_the_applicants_name(stack):
    ctx = applicant_with_draft(stack)
    doc = upload_document(ctx["intake"], ctx["token"], ctx["app"], filename="evil.html")
    path = f"/portal/documents/{doc['id']}"
    assert f'href="{path}"' in ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    r = ctx["owner"].get(path)
    assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store"
    where = urlsplit(r.headers["Location"])
    got = ctx["owner"].get(f"{where.path}?{where.query}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith('attachment; filename="evil.pdf"')
    assert ".html" not in got.headers["Content-Disposition"]
    # another applicant's document looks missing
    assert ctx["other"].get(path).status_code == 404
    assert ctx["other"].get("/portal/documents/0f0f0f0f-0000-4000-8000-000000000000").status_code == 404


def test_replacing_a_document_keeps_the_old_one_until_the_new_one_passes(stack):
    ctx = applicant_with_draft(stack)
    intake, token = ctx["intake"], ctx["token"]
    old = upload_document(intake, token, ctx["app"], filename="first.pdf")
    old_key = _key(stack, old["id"])
    store = stack.apps["intake"].extensions["prize"]["storage"]

    # a replacement that fails the check leaves the old document as it was
    started = begin_upload(intake, token, ctx["app"], filename="bad.pdf", size=len(HTML), replaces=old["id"])
    assert started["document"]["replaces"] == old["id"]
    post_file(intake, started["upload"], HTML)
    assert intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token)).status_code == 422
    assert intake.get(f"/api/documents/{old['id']}", headers=auth(token)).get_json()["status"] == "verified"

    body = PDF + b"% second version\n"
    started = begin_upload(intake, token, ctx["app"], filename="second.pdf", size=len(body), replaces=old["id"])
    post_file(intake, started["upload"], body)
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 200 and r.get_json()["status"] == "verified"
    assert intake.get(f"/api/documents/{old['id']}", headers=auth(token)).status_code == 404
    assert store.stat(old_key) is None
    listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
    assert [(d["filename"], d["status"]) for d in listed if d["status"] == "verified"] == [("second.pdf", "verified")]
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    assert "second.pdf" in html and "first.pdf" not in html


def test_a_replacement_must_name_a_document_of_the_same_application_and_kind(stack):
    ctx = applicant_with_draft(stack)
    intake, token = ctx["intake"], ctx["token"]
    photo = upload_document(intake, token, ctx["app"], kind="supporting_material", body=PNG,
                            filename="p.png", content_type="image/png")
    body = begin_upload(intake, token, ctx["app"], replaces=photo["id"], expect=422)
    assert "replaces" in body["errors"]["json"] and "supporting_material" in body["message"]
    body = begin_upload(intake, token, ctx["app"], replaces="0f0f0f0f-0000-4000-8000-000000000000", expect=422)
    assert "replaces" in body["errors"]["json"]
    # another applicant's document is just as unknown
    _, theirs = register(intake, contact_email="smart@taipei.example.tw", organisation="Taipei City")
    their_app = start_draft(intake, theirs, ctx["call"]["id"])["id"]
    their_doc = upload_document(intake, theirs, their_app)
    body = begin_upload(intake, token, ctx["app"], replaces=their_doc["id"], expect=422)
    assert body["message"] == "replaces: no document 0f0f0f0f-0000-4000-8000-000000000000 of this application" \
        .replace("0f0f0f0f-0000-4000-8000-000000000000", their_doc["id"])


def test_each_answer_box_is_labelled_with_its_criterion(stack):
    ctx = applicant_with_draft(stack)
    html = ctx["owner"].get(edit_path(ctx)).get_data(as_text=True)
    labels = re.findall(r'<label for="answer-([\w-]+)">([^<]+)</label>', html)
    assert len(labels) == 6
    assert labels[0][1] == "Your answer: 1. Problem recognition and innovation"
    assert len({text for _, text in labels}) == 6 and "Your answer</label>" not in html


def test_an_upload_sent_with_the_browsers_session_cookie_reaches_the_file_store(stack):
    """The browser's upload carries its session cookie: nothing may read the multipart body (a
    CSRF lookup of the signed-in person) before the store's own streaming parser does."""
    ctx = applicant_with_draft(stack)
    started = begin_upload(ctx["intake"], ctx["token"], ctx["app"])
    r = post_file(ctx["owner"], started["upload"], PDF)
    assert r.status_code == 204, r.get_data(as_text=True)
    r = ctx["intake"].post(f"/api/documents/{started['document']['id']}/complete", headers=auth(ctx["token"]))
    assert r.status_code == 200 and r.get_json()["status"] == "verified"


def test_the_edit_and_preview_pages_speak_korean_and_portuguese(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    for language, email, words in (("ko", "mayor@seoul.example.kr", ("임시 저장", "답변: 1. ", "아직 필요한 문서: ", "미리 보기: ")),
                                   ("pt", "ana@guarulhos.example.br", ("Salvar rascunho", "Sua resposta: 1. ",
                                                                       "Ainda falta enviar: ", "Pré-visualização: "))):
        _, token = register(intake, contact_email=email, language=language)
        draft = start_draft(intake, token, call["id"])
        upload_document(intake, token, draft["id"], kind="supporting_material", body=PNG, filename="p.png",
                        content_type="image/png")
        client = browser_session(stack, email)
        edit = client.get(f"/portal/applications/{draft['id']}").get_data(as_text=True)
        preview = client.get(f"/portal/applications/{draft['id']}/preview").get_data(as_text=True)
        assert f'<html lang="{language}"' in edit and all(w in edit + preview for w in words), language
        assert "Save draft" not in edit and "Before you can submit" not in preview
