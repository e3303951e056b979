"""Application documents on S3, against a moto server over real HTTP.

moto does not enforce presigned-POST policies: it stores oversize files, files under another
application's key and text/html alike. So these tests check two things: the policy intake
hands out carries every condition (real S3 enforces them), and an upload that breaks them
anyway is caught by intake's check, removed from the bucket and reported.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import tracemalloc
import uuid
from datetime import datetime, timezone

import pytest
import requests

from shared.config import load_settings
from tests.conftest import embedded_env
from tests.intake.test_documents import PDF, new_draft, prepare, start_upload
from tests.support.moto import moto_s3, moto_s3_process
from tests.support.stack import Stack, auth

BUCKET, PREFIX = "prize-documents", "docs"


@pytest.fixture
def s3(tmp_path):
    with moto_s3(BUCKET) as (endpoint, client):
        settings = load_settings(embedded_env(tmp_path / "var", PRIZE_STORAGE_URL=f"s3://{BUCKET}/{PREFIX}"))
        stack = Stack(settings, services=("intake",))
        try:
            yield stack, client
        finally:
            stack.stop()


def send(upload, body: bytes, filename="plan.pdf", content_type=None, **field_overrides):
    """The browser's side: a multipart POST straight to the bucket."""
    fields = dict(upload["fields"], **field_overrides)
    files = {"file": (filename, body, content_type or fields["Content-Type"])}
    return requests.post(upload["url"], data=fields, files=files, timeout=30)


def keys(client, prefix=PREFIX + "/"):
    return [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def test_the_policy_carries_every_condition(s3):
    stack, _ = s3
    ctx = prepare(stack, max_upload_bytes=5 * 1024 * 1024)
    before = time.time()
    upload = start_upload(ctx["intake"], ctx["token"], ctx["app"])["upload"]
    fields = upload["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    prefix = f"{PREFIX}/applications/{ctx['app']}/"
    assert {"bucket": BUCKET} in conditions
    assert {"key": fields["key"]} in conditions and fields["key"].startswith(prefix)
    assert ["starts-with", "$key", prefix] in conditions
    assert ["content-length-range", 1, 5 * 1024 * 1024] in conditions
    assert {"Content-Type": "application/pdf"} in conditions and fields["Content-Type"] == "application/pdf"
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before + 14 * 60 <= expires.timestamp() <= time.time() + 15 * 60 + 1
    assert {"x-amz-signature", "x-amz-credential", "x-amz-algorithm"} <= set(fields)


def test_upload_check_and_download_end_to_end(s3):
    stack, client = s3
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"], filename='高雄 "plan".pdf')
    r = send(started["upload"], PDF)
    assert r.status_code == 204, r.text
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["sha256"] == hashlib.sha256(PDF).hexdigest() and r.get_json()["size"] == len(PDF)

    r = intake.get(f"/api/documents/{started['document']['id']}/download", headers=auth(ctx["sec"]))
    assert r.status_code == 302
    url = r.headers["Location"]
    assert "X-Amz-Expires=300" in url
    got = requests.get(url, timeout=30)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["Content-Disposition"] == \
        'attachment; filename="plan_.pdf"; filename*=UTF-8\'\'%E9%AB%98%E9%9B%84%20%22plan%22.pdf'

    # deleting the draft's document removes the object
    assert intake.delete(f"/api/documents/{started['document']['id']}", headers=auth(token)).status_code == 204
    assert keys(client) == []


@pytest.mark.parametrize("case", ["oversize", "wrong content type", "bytes that lie", "nothing uploaded"])
def test_an_upload_that_breaks_the_policy_is_caught_and_removed(s3, case):
    stack, client = s3
    ctx = prepare(stack, max_upload_bytes=1000)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"])
    upload, key = started["upload"], started["upload"]["fields"]["key"]
    if case == "oversize":
        r = send(upload, PDF + b"\x00" * 2000)
        reason = "the limit is 1000 bytes"
    elif case == "wrong content type":
        r = send(upload, PDF, content_type="text/html", **{"Content-Type": "text/html"})
        reason = "stored as text/html"
    elif case == "bytes that lie":
        r = send(upload, b"<!doctype html><script>alert(1)</script>", filename="plan.pdf")
        reason = "not .pdf"
    else:
        r = None
        reason = "no file was uploaded"
    if r is not None:
        assert r.status_code == 204, r.text  # moto takes it: the check must not
        assert keys(client) == [key]
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 422 and reason in r.get_json()["message"], r.get_json()
    assert keys(client) == []
    listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
    assert listed[0]["status"] == "rejected" and reason in listed[0]["rejection_reason"]


def test_an_upload_under_another_applications_key_is_swept(s3):
    stack, client = s3
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    victim = new_draft(intake, ctx["other"], ctx["call"]["id"])
    started = start_upload(intake, token, ctx["app"])
    stray = f"{PREFIX}/applications/{victim}/{uuid.uuid4()}"
    assert send(started["upload"], PDF, key=stray).status_code == 204
    r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
    assert r.status_code == 422 and "no file was uploaded" in r.get_json()["message"]
    assert keys(client) == [stray]  # not this application's to judge ...
    theirs = start_upload(intake, ctx["other"], victim)
    assert send(theirs["upload"], PDF).status_code == 204
    assert intake.post(f"/api/documents/{theirs['document']['id']}/complete",
                       headers=auth(ctx["other"])).status_code == 200
    # ... swept at its owner's next check, which keeps only the checked copy of their upload
    [kept] = keys(client)
    assert kept.startswith(f"{PREFIX}/verified/applications/{victim}/{theirs['document']['id']}/")


class _StreamedForm:
    """A multipart body of a large zero-filled PDF, produced as it is read (flat memory)."""

    def __init__(self, fields: dict, size: int, content_type: str):
        self.boundary = uuid.uuid4().hex
        head = b"".join(f'--{self.boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                        for k, v in fields.items())
        head += (f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n").encode() + PDF
        self.parts = [head, size - len(PDF), f"\r\n--{self.boundary}--\r\n".encode()]
        self.length = len(head) + size - len(PDF) + len(self.parts[2])
        self.zeros = b"\x00" * (1024 * 1024)

        self.pieces = self._pieces()
        self.pending = b""

    def __len__(self):  # requests sends a Content-Length for it, not chunks
        return self.length

    def _pieces(self):
        yield self.parts[0]
        left = self.parts[1]
        while left:
            n = min(left, len(self.zeros))
            yield self.zeros[:n]
            left -= n
        yield self.parts[2]

    def read(self, size=-1):
        while size < 0 or len(self.pending) < size:
            piece = next(self.pieces, None)
            if piece is None:
                break
            self.pending += piece
        cut = len(self.pending) if size < 0 else size
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out


def _rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from /proc")
def test_memory_of_intake_for_a_200_mb_upload(tmp_path, capsys):
    """Not an assertion on time: prints how much intake's process grows for a 200 MB file."""
    size = 200 * 1024 * 1024
    with moto_s3_process(BUCKET) as (_, client):  # moto's copy of the file is not ours
        settings = load_settings(embedded_env(tmp_path / "var", PRIZE_STORAGE_URL=f"s3://{BUCKET}/{PREFIX}"))
        stack = Stack(settings, services=("intake",))
        try:
            ctx = prepare(stack, max_upload_bytes=256 * 1024 * 1024)
            intake, token = ctx["intake"], ctx["token"]
            rss_before = _rss()
            tracemalloc.start()
            started = start_upload(intake, token, ctx["app"], size=size)
            _, peak_start = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            form = _StreamedForm(started["upload"]["fields"], size, "application/pdf")
            r = requests.post(started["upload"]["url"], data=form, timeout=300, headers={
                "Content-Type": f"multipart/form-data; boundary={form.boundary}"})
            assert r.status_code == 204, r.text
            rss_uploaded = _rss()
            tracemalloc.reset_peak()
            r = intake.post(f"/api/documents/{started['document']['id']}/complete", headers=auth(token))
            assert r.status_code == 200, r.get_json()
            assert r.get_json()["size"] == size
            _, peak_check = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_after = _rss()
        finally:
            stack.stop()
    mib = 2 ** 20
    with capsys.disabled():
        print(f"\n[s3/moto] 200 MiB upload straight to the bucket: intake process RSS "
              f"{rss_before / mib:.0f} -> {rss_uploaded / mib:.0f} MiB after the upload "
              f"(+{(rss_uploaded - rss_before) / mib:.1f}), -> {rss_after / mib:.0f} MiB after the check "
              f"(+{(rss_after - rss_before) / mib:.1f} in all); peak Python allocations: "
              f"presign {peak_start / mib:.2f} MiB, streaming check {peak_check / mib:.2f} MiB")
    assert peak_check < 32 * mib  # streamed in chunks, never the whole file


def _stored(stack, document_id):
    from tests.intake.test_documents import db_of
    from services.intake.models import Document
    with db_of(stack).session() as s:
        return s.get(Document, document_id).storage_key


def _app_keys(client, app_id):
    """The application's objects, uploads and checked copies (the moto backend outlives a test)."""
    return sorted(keys(client, f"{PREFIX}/applications/{app_id}/")
                  + keys(client, f"{PREFIX}/verified/applications/{app_id}/"))


def _download(intake, token, document_id) -> bytes:
    r = intake.get(f"/api/documents/{document_id}/download", headers=auth(token))
    assert r.status_code == 302, r.get_json()
    got = requests.get(r.headers["Location"], timeout=30)
    assert got.status_code == 200
    return got.content


OTHER_PDF = b"%PDF-1.4\n% not the file that was checked\n%%EOF\n"
HTML_BODY = b"<!doctype html><script>alert(1)</script>"
PNG_BODY = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def test_a_presigned_form_posted_again_after_the_check_changes_nothing(s3):
    """Real S3 accepts a presigned POST again until it expires: the checked bytes must stay."""
    stack, client = s3
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"])
    doc_id, upload = started["document"]["id"], started["upload"]
    assert send(upload, PDF).status_code == 204

    def app_keys():
        return _app_keys(client, ctx["app"])
    r = intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token))
    assert r.status_code == 200 and r.get_json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    kept = _stored(stack, doc_id)
    assert kept.startswith(f"verified/applications/{ctx['app']}/{doc_id}/")
    assert app_keys() == [f"{PREFIX}/{kept}"]  # the upload itself is gone
    # the policy's prefix cannot reach the checked copy
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    [prefix] = [c[2] for c in policy["conditions"] if isinstance(c, list) and c[0] == "starts-with"]
    assert not f"{PREFIX}/{kept}".startswith(prefix)

    for body in (OTHER_PDF, HTML_BODY):  # the same form, within its TTL: moto (and S3) take it
        assert send(upload, body).status_code == 204
        for who in (token, ctx["sec"]):
            got = _download(intake, who, doc_id)
            assert got == PDF and hashlib.sha256(got).hexdigest() == r.get_json()["sha256"]
        # completing again does not look at the new upload
        again = intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token)).get_json()
        assert again["status"] == "verified" and again["sha256"] == hashlib.sha256(PDF).hexdigest()
        listed = intake.get(f"/api/applications/{ctx['app']}/documents", headers=auth(token)).get_json()
        assert [(d["id"], d["status"], d["sha256"], d["size"]) for d in listed] == \
            [(doc_id, "verified", hashlib.sha256(PDF).hexdigest(), len(PDF))]
    assert app_keys() == sorted([f"{PREFIX}/{kept}", upload["fields"]["key"]])

    # the application's next check sweeps the re-posted file; the checked one stays
    photo = start_upload(intake, token, ctx["app"], kind="photos", filename="p.png", content_type="image/png",
                         size=len(PNG_BODY))
    assert send(photo["upload"], PNG_BODY).status_code == 204
    assert intake.post(f"/api/documents/{photo['document']['id']}/complete", headers=auth(token)).status_code == 200
    assert app_keys() == sorted([f"{PREFIX}/{kept}", f"{PREFIX}/{_stored(stack, photo['document']['id'])}"])
    assert _download(intake, token, doc_id) == PDF

    # deleting the document removes its copy and anything posted again with its form
    assert send(upload, OTHER_PDF).status_code == 204
    assert intake.delete(f"/api/documents/{doc_id}", headers=auth(token)).status_code == 204
    assert app_keys() == [f"{PREFIX}/{_stored(stack, photo['document']['id'])}"]



@pytest.mark.parametrize("when", ["after the copy", "before the copy"])
def test_a_file_swapped_while_the_check_runs_is_never_the_one_kept(s3, when):
    """The check hashes the copy it keeps: a swap of the upload during the check either comes
    too late (the copy is already taken) or is itself what gets checked (and refused)."""
    stack, client = s3
    ctx = prepare(stack)
    intake, token = ctx["intake"], ctx["token"]
    started = start_upload(intake, token, ctx["app"])
    doc_id, upload = started["document"]["id"], started["upload"]
    assert send(upload, PDF).status_code == 204

    def app_keys():
        return _app_keys(client, ctx["app"])
    store = stack.apps["intake"].extensions["prize"]["storage"]
    real_copy = store.copy

    def copy_with_a_swap(key, new_key, size=None):
        if when == "before the copy":
            assert send(upload, HTML_BODY).status_code == 204
        real_copy(key, new_key, size=size)
        if when == "after the copy":
            assert send(upload, HTML_BODY).status_code == 204

    store.copy = copy_with_a_swap
    try:
        r = intake.post(f"/api/documents/{doc_id}/complete", headers=auth(token))
    finally:
        del store.copy
    if when == "after the copy":
        assert r.status_code == 200 and r.get_json()["sha256"] == hashlib.sha256(PDF).hexdigest()
        assert _download(intake, token, doc_id) == PDF
        assert app_keys() == [f"{PREFIX}/{_stored(stack, doc_id)}"]  # the swapped-in upload went too
    else:
        # the swapped-in bytes are what was copied, so they are what was checked: refused
        assert r.status_code == 422 and r.get_json()["errors"]["file"]
        assert app_keys() == []
        assert intake.get(f"/api/documents/{doc_id}/download", headers=auth(token)).status_code == 409
