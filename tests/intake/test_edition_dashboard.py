"""The secretariat's landing page of an edition (issue 14, dashboard): the funnel from
registered to winners counted from intake's own records and the decisions review told it of,
by category, country and type; the deadlines coming; the emails notify gave up on (email.failed);
the dead letters waiting in each service's queue, counted on the real broker. On both stacks."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from services.intake import handlers
from services.intake.models import StatusUpdate, outbox
from shared.bus import Publisher
from shared.config import load_settings
from shared.events import make_event, parse_message
from shared.inbox import UnitOfWork
from shared.staff import store
from shared import topology
from tests.conftest import env_for
from tests.support.stack import Stack, auth, complete_new_draft, open_call, register, start_draft

NOW = datetime.now(timezone.utc)


@pytest.fixture(params=["embedded", "real"])
def intake(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("intake",))
    yield s
    s.stop()


def _staff_browser(stack, role="observer"):
    app = stack.apps["intake"]
    tables = __import__("services.intake.models", fromlist=["staff_tables"]).staff_tables
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": role.title(), "language": "en",
              "role": role, "active": True, "version": 1, "changed_by": "test"}
    with app.extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, tables, member, NOW)
        secret = store.open_session(s, tables, member["staff_id"], "family-" + role, NOW)
    client = app.test_client()
    client.set_cookie("prize_staff_intake", secret)
    return client


def _decide(db, application_id, *stages):
    with db.session() as s, s.begin():
        for n, stage in enumerate(stages):
            s.add(StatusUpdate(event_id=str(uuid.uuid4()), application_id=application_id, stage=stage, detail="",
                               occurred_at=NOW + timedelta(seconds=n)))


def _count(html: str, step: str) -> int:
    return int(re.search(rf'id="funnel-{step}">(\d+)<', html).group(1))


def test_the_funnel_counts_each_step_by_category_country_and_type(intake):
    client, token = intake.clients["intake"], intake.secretariat_token()
    db = intake.apps["intake"].extensions["prize"]["db"]
    call = open_call(client, token, year=2027)
    _, kaohsiung = register(client)
    _, seoul = register(client, organisation="Seoul Digital Foundation", type="institution", country="KR",
                        city="Seoul", contact_name="Kim Min-ji", contact_email="minji@sdf.example.kr")
    register(client, organisation="Lisboa", country="PT", city="Lisboa", contact_name="Ana Souza",
             contact_email="ana@lisboa.example.pt")  # registered during the call, nothing started
    a = complete_new_draft(client, kaohsiung, call["id"])
    assert client.post(f"/api/applications/{a['id']}/submit", headers=auth(kaohsiung)).status_code == 200
    b = complete_new_draft(client, seoul, call["id"], category="human_centricity")
    assert client.post(f"/api/applications/{b['id']}/submit", headers=auth(seoul)).status_code == 200
    start_draft(client, seoul, call["id"], category="tech_innovacity")
    _decide(db, a["id"], "eligible", "finalist", "winner")
    _decide(db, b["id"], "eligible", "not_advanced")

    r = _staff_browser(intake).get(f"/secretariat/editions/{call['id']}/dashboard")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html[:1000]
    assert [_count(html, s) for s in ("registered", "drafts", "submitted", "eligible", "finalists", "winners")] == \
        [3, 3, 2, 2, 1, 1]
    category = re.search(r'id="by-category".*?</table>', html, re.S).group(0)
    assert re.search(r"Human-CentriCity</th>\s*<td[^>]*>0</td>\s*<td[^>]*>1</td>\s*<td[^>]*>1</td>\s*<td[^>]*>1</td>"
                     r"\s*<td[^>]*>0</td>", category), category
    country = re.search(r'id="by-country".*?</table>', html, re.S).group(0)
    assert re.search(r"KR</th>\s*<td[^>]*>1</td>\s*<td[^>]*>2</td>", country)  # one applicant, two applications
    assert "PT</th>" in country and "<meter" in html and "<caption>" in html


def test_deadlines_failures_and_dead_letters_are_shown(intake):
    client, token = intake.clients["intake"], intake.secretariat_token()
    db = intake.apps["intake"].extensions["prize"]["db"]
    call = open_call(client, token, year=2027)
    failed = make_event("email.failed", {"delivery_key": "k1", "event_id": str(uuid.uuid4()),
                                         "template": "finalist_notice", "recipient": "gone@city.example",
                                         "error": "550 mailbox unavailable", "permanent": True, "failed_at": NOW},
                        producer="notify")
    failed = parse_message(failed.to_message())  # as intake's consumer reads it off the broker
    for _ in range(2):  # a redelivery is counted once
        with db.session() as s, s.begin():
            handlers.email_failed(UnitOfWork(s, outbox, "intake", None), failed)
    settings = intake.settings
    publisher = Publisher(settings.broker_url, settings.namespace)
    try:
        publisher.send_to_queue(topology.dead_letter_queue_name("review", settings.namespace),
                                {"poison": True}, {})
    finally:
        publisher.close()
    html = _staff_browser(intake).get(f"/secretariat/editions/{call['id']}/dashboard").get_data(as_text=True)
    assert "The call closes" in html and "(Asia/Seoul)" in html
    assert re.search(r'id="failures"><strong>1</strong> email failed', html)
    assert "gone@city.example" in html and "/secretariat/outbox?status=failed" in html
    assert re.search(r"<strong>0</strong> in intake, <strong>1</strong> in review, <strong>0</strong> in notify", html)
    assert "prize dlq list SERVICE" in html


def test_only_staff_see_the_dashboard(intake):
    client, token = intake.clients["intake"], intake.secretariat_token()
    call = open_call(client, token, year=2027)
    path = f"/secretariat/editions/{call['id']}/dashboard"
    _, applicant_token = register(client)
    assert client.get(path).status_code in (302, 303)  # to the staff sign-in
    assert client.get(path, headers=auth(applicant_token)).status_code == 403
    staff = _staff_browser(intake)
    assert staff.get(f"/secretariat/editions/{uuid.uuid4()}/dashboard").status_code == 404
    assert staff.get("/secretariat").get_data(as_text=True).count("/dashboard") == 1  # linked from the home


def test_the_api_gives_the_pages_figures(intake):
    client, token = intake.clients["intake"], intake.secretariat_token()
    call = open_call(client, token, year=2027)
    _, kaohsiung = register(client)
    a = complete_new_draft(client, kaohsiung, call["id"])
    assert client.post(f"/api/applications/{a['id']}/submit", headers=auth(kaohsiung)).status_code == 200
    _decide(intake.apps["intake"].extensions["prize"]["db"], a["id"], "eligible")
    path = f"/api/calls/{call['id']}/dashboard"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auth(kaohsiung)).status_code == 403
    assert client.get(f"/api/calls/{uuid.uuid4()}/dashboard", headers=auth(token)).status_code == 404
    body = client.get(path, headers=auth(token)).get_json()
    assert [(s["step"], s["count"]) for s in body["funnel"]] == [
        ("registered", 1), ("drafts", 1), ("submitted", 1), ("eligible", 1), ("finalists", 0), ("winners", 0)]
    assert body["by_country"] == [{"key": "TW", "title": "TW", "counts": {
        "registered": 1, "drafts": 1, "submitted": 1, "eligible": 1, "finalists": 0, "winners": 0}}]
    assert body["dead_letters"] == {"intake": 0, "review": 0, "notify": 0}
    assert body["deadlines"][0]["what"] == "The call closes" and body["deadlines"][0]["time_zone"] == "Asia/Seoul"
    html = _staff_browser(intake).get(f"/secretariat/editions/{call['id']}/dashboard").get_data(as_text=True)
    assert [_count(html, s["step"]) for s in body["funnel"]] == [s["count"] for s in body["funnel"]]
