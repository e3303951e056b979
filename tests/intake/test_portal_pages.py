"""Portal pages through the Flask client: what each applicant sees, and only their own."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse


from services.intake.models import StatusUpdate
from tests.support.stack import KAOHSIUNG, open_call, open_signin_link, register, signin_events, submit_application


def _browser_session(stack, email: str):
    """A second Flask client signed in through the emailed link, like a browser."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlparse(signin_events(client, email)[-1]["url"]).path
    assert open_signin_link(client, link).status_code == 303
    return client


def _status_update(stack, application_id: str, stage: str, detail: str = "") -> None:
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        s.add(StatusUpdate(event_id=str(uuid.uuid4()), application_id=application_id, stage=stage,
                           detail=detail, occurred_at=datetime.now(timezone.utc)))


def test_portal_status_page_shows_screening_but_hides_unreleased_decisions(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    application = submit_application(intake, token, call["id"], title="Hydrogen buses")
    browser = _browser_session(stack, KAOHSIUNG["contact_email"])
    path = f"/portal/applications/{application['id']}/status"

    _status_update(stack, application["id"], "eligible", "meets the rules")
    _status_update(stack, application["id"], "finalist")
    page = browser.get(path).get_data(as_text=True)
    assert "Eligible" in page and "meets the rules" in page
    assert "Finalist" not in page  # decided, but not released yet

    _status_update(stack, application["id"], "released:finalist")
    page = browser.get(path).get_data(as_text=True)
    assert "Finalist" in page


def test_portal_pages_of_another_applicants_application_look_missing(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    application = submit_application(intake, token, call["id"], title="<script>alert(1)</script>")
    owner = _browser_session(stack, KAOHSIUNG["contact_email"])
    register(intake, contact_email="ana@guarulhos.example.br", city="Guarulhos", country="BR")
    other = _browser_session(stack, "ana@guarulhos.example.br")
    for suffix in ("", "/preview", "/status"):
        path = f"/portal/applications/{application['id']}{suffix}"
        assert other.get(path).status_code == 404
        assert other.get(f"/portal/applications/{uuid.uuid4()}{suffix}").status_code == 404
    assert other.post(f"/portal/applications/{application['id']}/submit").status_code in (403, 404)
    page = owner.get(f"/portal/applications/{application['id']}/status").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_portal_pages_send_an_anonymous_visitor_to_sign_in(stack):
    client = stack.apps["intake"].test_client()
    for path in ("/portal", f"/portal/applications/{uuid.uuid4()}", f"/portal/applications/{uuid.uuid4()}/status"):
        r = client.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/signin")
