"""intake's pages and downloads against a hostile page or file (issue 11, item 10, intake's half).

Pages: every page of intake (portal, sign-in, secretariat) says where its scripts, styles and
uploads may come from and go to, refuses to be framed (CSP frame-ancestors and, for browsers
without it, X-Frame-Options) and keeps its address from other sites (Referrer-Policy), as
review's and notify's pages do. On S3 the upload goes from the page straight to the bucket, so
the policy must let the page's script reach the bucket's origin, and nothing else.

Downloads: a file is checked to be what its declared type says (its first bytes), never what
its name says. The download is named with that type's extension (the applicant's stem kept), so
a PDF uploaded as ``evil.html`` is saved as ``evil.pdf``, not as a page a browser would open.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

import pytest
import requests

from shared.config import load_settings
from tests.conftest import embedded_env
from tests.intake.test_documents import PDF, PNG, post_file, prepare, start_upload
from tests.support.moto import moto_s3
from tests.support.stack import Stack, auth, open_signin_link, signin_events

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 40
BUCKET, PREFIX = "prize-documents", "docs"


@pytest.fixture
def s3(tmp_path):
    with moto_s3(BUCKET) as (endpoint, client):
        settings = load_settings(embedded_env(tmp_path / "var", PRIZE_STORAGE_URL=f"s3://{BUCKET}/{PREFIX}"))
        stack = Stack(settings, services=("intake",))
        try:
            yield stack, endpoint
        finally:
            stack.stop()


def _policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _browser(stack, email: str):
    """A Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    assert open_signin_link(client, urlsplit(signin_events(client, email)[-1]["url"]).path).status_code == 303
    return client


def _secretariat(stack):
    office = stack.apps["intake"].test_client()
    page = office.get("/secretariat/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = office.post("/secretariat/signin", data={"csrf_token": token, "token": stack.secretariat_token(),
                                                 "next": "/secretariat"})
    assert r.status_code == 303
    return office


def _assert_page_headers(response, referrer=("same-origin", "no-referrer")):
    where = response.request.path
    policy = _policy(response)
    assert policy.get("frame-ancestors") == ["'none'"], where
    assert policy.get("default-src") == ["'self'"], where
    assert policy.get("script-src") == ["'self'"], where  # no inline script, no other origin
    assert policy.get("object-src") == ["'none'"] and policy.get("base-uri") == ["'none'"], where
    # forms go to this site, and to review and notify (a staff sign-in ends with a hand-off there)
    assert policy.get("form-action") == ["'self'", "http://127.0.0.1:8002", "http://127.0.0.1:8003"], where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("Referrer-Policy") in referrer, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    return policy


def test_every_kind_of_intake_page_refuses_framing_and_names_its_sources(stack):
    ctx = prepare(stack)
    anonymous = stack.apps["intake"].test_client()
    pages = [anonymous.get("/"), anonymous.get("/register"), anonymous.get("/secretariat/signin"),
             anonymous.get("/portal/applications/00000000-0000-4000-8000-000000000000")]
    for response in pages:
        _assert_page_headers(response)
    # the sign-in pages keep their stricter referrer policy (a link's token must not leak)
    _assert_page_headers(anonymous.get("/signin"), referrer=("no-referrer",))

    applicant = _browser(stack, "mei.lin@kcg.example.tw")
    for path in ("/portal", f"/portal/applications/{ctx['app']}", f"/portal/applications/{ctx['app']}/preview",
                 "/portal/profile", "/portal/applications/00000000-0000-4000-8000-000000000000"):
        response = applicant.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        policy = _assert_page_headers(response)
        # the portal's own stylesheet and the style attributes of its forms
        assert "'self'" in policy["style-src"] and "'unsafe-inline'" in policy["style-src"]
    edit = applicant.get(f"/portal/applications/{ctx['app']}")
    assert "portal.js" in edit.get_data(as_text=True)
    assert "'self'" in _policy(edit)["connect-src"]  # the upload form's JSON calls

    starts = datetime.now(timezone.utc) + timedelta(days=30)
    r = ctx["intake"].put(f"/api/calls/{ctx['call']['id']}/ceremony", headers=auth(ctx["sec"]), json={
        "starts_at": starts.isoformat(), "rsvp_by": (starts - timedelta(days=10)).isoformat(),
        "time_zone": "Asia/Seoul", "venue": "COEX, Seoul"})
    assert r.status_code == 200, r.get_json()
    office = _secretariat(stack)
    for path in ("/secretariat", f"/secretariat/calls/{ctx['call']['id']}/guests", "/secretariat/contact-email"):
        response = office.get(path)
        assert response.status_code == 200, (path, response.status_code)
        _assert_page_headers(response)
    # the JSON API is not a page: its answers are not framed or rendered
    api = anonymous.get("/api/calls")
    assert "frame-ancestors" not in api.headers.get("Content-Security-Policy", "")


def test_on_s3_the_pages_may_send_uploads_to_the_bucket_and_nowhere_else(s3):
    stack, endpoint = s3
    ctx = prepare(stack)
    applicant = _browser(stack, "mei.lin@kcg.example.tw")
    edit = applicant.get(f"/portal/applications/{ctx['app']}")
    assert edit.status_code == 200
    policy = _assert_page_headers(edit)
    upload = start_upload(ctx["intake"], ctx["token"], ctx["app"])["upload"]
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(upload["url"]))
    assert origin.startswith(endpoint.rsplit(":", 1)[0])
    assert sorted(policy["connect-src"]) == sorted(["'self'", origin])


# --- a download is named with the checked type's extension ---

def _upload(ctx, filename, body, content_type):
    started = start_upload(ctx["intake"], ctx["token"], ctx["app"], filename=filename, content_type=content_type,
                           size=len(body))
    assert post_file(ctx["intake"], started["upload"], body, filename=filename).status_code == 204
    r = ctx["intake"].post(f"/api/documents/{started['document']['id']}/complete", headers=auth(ctx["token"]))
    assert r.status_code == 200 and r.get_json()["status"] == "verified", r.get_json()
    assert r.get_json()["filename"] == filename  # the list shows the name as the applicant gave it
    return started["document"]["id"]


def _names(disposition: str) -> tuple[str, str]:
    plain = re.search(r'filename="([^"]*)"', disposition).group(1)
    full = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
    return plain, full


CASES = [  # (uploaded as, bytes, declared and checked type, downloaded as)
    ("evil.html", PDF, "application/pdf", "evil.pdf"),
    ("高雄 plan.HTML", PDF, "application/pdf", "高雄 plan.pdf"),
    ("proposal", PDF, "application/pdf", "proposal.pdf"),
    ("scan.pdf", PNG, "image/png", "scan.png"),
    ("photo.JPEG", JPEG, "image/jpeg", "photo.JPEG"),  # already the type's extension: kept as given
    ("plan.pdf", PDF, "application/pdf", "plan.pdf"),
    ("report.svg.pdf.html", PDF, "application/pdf", "report.svg.pdf.pdf"),
]


def test_a_download_on_the_file_store_is_named_with_the_checked_types_extension(stack):
    ctx = prepare(stack)
    for uploaded, body, content_type, expected in CASES:
        doc_id = _upload(ctx, uploaded, body, content_type)
        r = ctx["intake"].get(f"/api/documents/{doc_id}/download", headers=auth(ctx["token"]))
        assert r.status_code == 302
        location = urlsplit(r.headers["Location"])
        got = ctx["intake"].get(f"{location.path}?{location.query}")
        assert got.status_code == 200 and got.data == body
        plain, full = _names(got.headers["Content-Disposition"])
        assert full == expected, (uploaded, full)
        assert plain.endswith(expected.rsplit(".", 1)[-1]), (uploaded, plain)
        assert got.mimetype == content_type


def test_a_download_from_s3_is_named_with_the_checked_types_extension(s3):
    stack, _ = s3
    ctx = prepare(stack)
    for uploaded, body, content_type, expected in CASES[:4]:
        started = start_upload(ctx["intake"], ctx["token"], ctx["app"], filename=uploaded,
                               content_type=content_type, size=len(body))
        fields = started["upload"]["fields"]
        sent = requests.post(started["upload"]["url"], data=fields, files={"file": (uploaded, body, content_type)},
                             timeout=30)
        assert sent.status_code == 204, sent.text
        r = ctx["intake"].post(f"/api/documents/{started['document']['id']}/complete", headers=auth(ctx["token"]))
        assert r.status_code == 200 and r.get_json()["status"] == "verified", r.get_json()
        r = ctx["intake"].get(f"/api/documents/{started['document']['id']}/download?format=json",
                              headers=auth(ctx["token"]))
        got = requests.get(r.get_json()["url"], timeout=30)
        assert got.status_code == 200 and got.content == body
        plain, full = _names(got.headers["Content-Disposition"])
        assert full == expected, (uploaded, full)
        assert got.headers["Content-Type"] == content_type
