"""Group emails (issue 14): the secretariat writes to a group of one edition on notify's pages;
the group is resolved where its data lives (intake: drafts; review: finalists only once
released), shown with what each language's members will read, and sent once, each delivery in
the outbox. On the real stack: PostgreSQL, RabbitMQ, the three workers and an SMTP server."""
from __future__ import annotations

import re
import time

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from services.notify.models import Delivery, GroupMessage
from services.notify.ops import messages
from shared.config import load_settings
from shared.refusals import Refused
from tests.conftest import embedded_env, real_env
from tests.notify.test_notify_outbox_page import csrf_of, sign_in
from tests.support.smtp import RecordingSMTPServer
from tests.support.stack import Stack, open_call, register, start_draft, wait_until

TEXTS = {"subject_en": "Two weeks left, {{ name }}", "body_en": "Dear {{ name }},\n\nYour {{ year }} draft "
         "{{ reference }} is not submitted yet.\n\nThe secretariat",
         "subject_ko": "{{ name }}님, 2주 남았습니다", "body_ko": "{{ reference }} 신청서가 아직 제출되지 않았습니다."}


@pytest.fixture
def stack(tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server):
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url))
    s = Stack(settings).start_workers()
    yield s
    s.stop()


def _new(client, year, audience, **texts):
    page = client.get("/secretariat/messages/new")
    assert page.status_code == 200
    return client.post("/secretariat/messages/new", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                                          "year": str(year), "audience": audience, **texts})


def _group(smtp_server) -> list[dict]:
    """What arrived of the group email (the applicants' sign-in emails arrive too)."""
    return [m for m in smtp_server.messages if "2주" in m["message"]["Subject"] or "Two weeks" in m["message"]["Subject"]]


def _status(db, message_id) -> str:
    with db.session() as s:
        return s.get(GroupMessage, message_id).status


def test_a_group_email_to_the_drafts_goes_once_to_each_in_their_language(stack, smtp_server: RecordingSMTPServer):
    intake, notify = stack.clients["intake"], stack.clients["notify"]
    db = stack.apps["notify"].extensions["prize"]["db"]
    call = open_call(intake, stack.secretariat_token(), year=2027)
    drafts = []
    for n, (name, language) in enumerate((("Lin Mei-hua", "en"), ("Kim Min-ji", "ko"), ("Ana Souza", "pt"))):
        _, token = register(intake, contact_name=name, contact_email=f"officer{n}@city{n}.example", language=language)
        drafts.append(start_draft(intake, token, call["id"]))
    # a submitted application is not a draft: not in this group (another applicant's)
    assert sign_in(notify, stack.secretariat_token()).status_code == 303

    r = _new(notify, 2027, "drafts", **TEXTS)
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    message_id = r.headers["Location"].rsplit("/", 1)[-1]
    page = notify.get(f"/secretariat/messages/{message_id}").get_data(as_text=True)
    assert "Find who is in the group" in page and "draft" in page
    r = notify.post(f"/secretariat/messages/{message_id}/members", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    wait_until(lambda: _status(db, message_id) == "addressed", timeout=30)

    confirm = notify.get(f"/secretariat/messages/{message_id}/send")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'id="send-count">3<' in html
    assert "Kim Min-ji님, 2주 남았습니다" in html and "Two weeks left, Lin Mei-hua" in html
    assert "1 in Korean" in html and "2 in English" in html  # Portuguese has no wording: English
    assert _group(smtp_server) == []  # nothing sent before the confirmation
    fingerprint = re.search(r'name="fingerprint" value="([^"]+)"', html).group(1)
    form = {"csrf_token": csrf_of(html), "fingerprint": fingerprint}
    first, second = notify.post(f"/secretariat/messages/{message_id}/send", data=form), \
        notify.post(f"/secretariat/messages/{message_id}/send", data=form)
    assert first.status_code == second.status_code == 303
    wait_until(lambda: len(_group(smtp_server)) >= 3, timeout=30)
    got = _group(smtp_server)
    assert sorted(m["to"][0] for m in got) == [f"officer{n}@city{n}.example" for n in range(3)]
    by_address = {m["to"][0]: m["message"] for m in got}
    assert by_address["officer1@city1.example"]["Subject"] == "Kim Min-ji님, 2주 남았습니다"
    assert drafts[0]["reference"] in RecordingSMTPServer.text_of(by_address["officer0@city0.example"])
    with db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.event_id == message_id)).all()
        assert len(rows) == 3 and {r.template for r in rows} == {"group_message"}
        assert all(r.requested_by == "secretariat:operator:test-secretariat" for r in rows) or \
            all(r.requested_by and r.requested_by.startswith("secretariat:") for r in rows)
    time.sleep(2)  # a second send would be in the next sweeps: give it time to show
    assert len(_group(smtp_server)) == 3  # the second click sent nothing
    shown = notify.get(f"/secretariat/messages/{message_id}").get_data(as_text=True)
    assert 'id="sent-by"' in shown and "Deliveries" in shown


def test_finalists_are_refused_until_their_round_is_released(stack):
    intake, notify = stack.clients["intake"], stack.clients["notify"]
    db = stack.apps["notify"].extensions["prize"]["db"]
    open_call(intake, stack.secretariat_token(), year=2028)
    review_db = stack.apps["review"].extensions["prize"]["db"]
    wait_until(lambda: _review_knows(review_db, 2028), timeout=30)
    assert sign_in(notify, stack.secretariat_token()).status_code == 303
    r = _new(notify, 2028, "finalists", subject_en="Congratulations", body_en="You are a finalist.")
    message_id = r.headers["Location"].rsplit("/", 1)[-1]
    page = notify.get(f"/secretariat/messages/{message_id}").get_data(as_text=True)
    notify.post(f"/secretariat/messages/{message_id}/members", data={"csrf_token": csrf_of(page)})
    wait_until(lambda: _status(db, message_id) == "refused", timeout=30)
    shown = notify.get(f"/secretariat/messages/{message_id}").get_data(as_text=True)
    assert "not released yet" in shown
    assert notify.get(f"/secretariat/messages/{message_id}/send").status_code == 303  # nothing to confirm


def _review_knows(review_db, year) -> bool:
    from services.review.models import Call as ReviewCall
    with review_db.session() as s:
        return s.scalar(select(func.count()).select_from(ReviewCall).where(ReviewCall.year == year)) == 1


# --- the form and the rules, on the embedded stack ---------------------------------------------------

@pytest.fixture
def notify(tmp_path):
    s = Stack(load_settings(embedded_env(tmp_path / "var")), services=("notify",))
    yield s
    s.stop()


@pytest.mark.parametrize("fields, problem", [
    ({"year": "", "audience": "drafts"}, "year"),
    ({"year": "2027", "audience": "everyone"}, "audience"),
    ({"subject_en": ""}, "subject_en"),
    ({"subject_en": "x" * 201}, "subject_en"),
    ({"body_en": "Dear {{ mayor }}"}, "body_en"),
    ({"body_en": "{% for x in y %}{% endfor %}"}, "body_en"),
    ({"subject_en": "Two\nlines"}, "subject_en"),
    ({"subject_ko": "제목만"}, "body_ko"),
])
def test_bad_wording_is_refused_beside_its_field_and_kept(notify, fields, problem):
    client = notify.clients["notify"]
    assert sign_in(client, notify.secretariat_token()).status_code == 303
    data = {"year": "2027", "audience": "drafts", "subject_en": "Hello {{ name }}", "body_en": "Text", **fields}
    r = _new(client, data.pop("year"), data.pop("audience"), **data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="err-{problem}"' in html
    assert "Nothing was saved" in html
    for name, value in data.items():  # every typed field is shown again as typed
        assert str(escape(value)) in html, name
    db = notify.apps["notify"].extensions["prize"]["db"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(GroupMessage)) == 0


def test_a_stale_confirmation_or_edit_is_refused(notify):
    db = notify.apps["notify"].extensions["prize"]["db"]
    message = messages.create(db, 2027, "drafts", {"en": {"subject": "Hello", "body": "Text"}}, by="test")
    messages.find_members(db, message.id, by="test")
    with db.session() as s, s.begin():
        messages.members_arrived(s, {"message_id": message.id, "part": 1, "parts": 1, "refused": None,
                                     "recipients": [{"email": "a@city.example", "language": "en", "name": "A"}]})
    shown = messages.overview(db, message.id)["fingerprint"]
    messages.change(db, message.id, messages.overview(db, message.id)["message"].revision,
                    {"en": {"subject": "Hello again", "body": "Text"}}, by="someone else")
    with pytest.raises(Refused) as stale:
        messages.send(db, message.id, shown, by="test")
    assert stale.value.status == 409 and "changed" in stale.value.message
    with pytest.raises(Refused) as edit:
        messages.change(db, message.id, 1, {"en": {"subject": "Mine", "body": "Text"}}, by="test")
    assert edit.value.status == 409
    _, queued = messages.send(db, message.id, messages.overview(db, message.id)["fingerprint"], by="test")
    assert queued == 1


def test_observers_read_group_emails_but_cannot_write_or_send(notify):
    """Roles: the staff pages matrix covers every staff route; here the forms of this page."""
    client = notify.clients["notify"]
    assert client.get("/secretariat/messages").status_code in (302, 303)  # anonymous: to the sign-in
    assert client.post("/secretariat/messages/new", data={}).status_code in (302, 303, 403)


def test_the_api_takes_the_same_steps_as_the_pages(notify):
    client, headers = notify.clients["notify"], {"Authorization": f"Bearer {notify.secretariat_token()}"}
    db = notify.apps["notify"].extensions["prize"]["db"]
    body = {"year": 2027, "audience": "jurors_pending",
            "texts": {"en": {"subject": "Three days left", "body": "Dear {{ name }}, two reviews wait for you."}}}
    assert client.post("/api/messages", json=body).status_code == 401
    bad = client.post("/api/messages", headers=headers, json={**body, "texts": {"en": {"subject": "", "body": "x"}}})
    assert bad.status_code == 422 and "subject" in bad.get_json()["errors"]["json"]["texts"]["en"]
    r = client.post("/api/messages", headers=headers, json=body)
    assert r.status_code == 201 and r.get_json()["status"] == "draft"
    message_id = r.get_json()["id"]
    assert client.post(f"/api/messages/{message_id}/members", headers=headers).get_json()["status"] == "addressing"
    with db.session() as s, s.begin():  # review's answer, as its handler writes it
        messages.members_arrived(s, {"message_id": message_id, "part": 1, "parts": 1, "refused": None, "recipients": [
            {"email": "Juror@Jury.example", "language": "en", "name": "Ana Souza"}]})
    look = client.get(f"/api/messages/{message_id}", headers=headers).get_json()
    assert look["members"] == 1 and look["samples"]["en"]["subject"] == "Three days left"
    assert "Dear Ana Souza" in look["samples"]["en"]["text"]
    assert client.post(f"/api/messages/{message_id}/send", headers=headers,
                       json={"fingerprint": "0" * 32}).status_code == 409
    sent = client.post(f"/api/messages/{message_id}/send", headers=headers, json={"fingerprint": look["fingerprint"]})
    assert sent.status_code == 200 and sent.get_json()["queued"] == 1
    again = client.post(f"/api/messages/{message_id}/send", headers=headers, json={"fingerprint": look["fingerprint"]})
    assert again.get_json()["queued"] == 0
    with db.session() as s:
        (row,) = s.scalars(select(Delivery).where(Delivery.event_id == message_id)).all()
        assert row.recipient == "juror@jury.example" and row.status == "pending" and row.template == "group_message"
