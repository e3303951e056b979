"""Opting out (issue 17) in notify: the invitation to apply arrives at a real SMTP server with its
registration link, the unsubscribe link and RFC 8058's headers; the one-click POST opts the address
out and intake marks the prospect (address.opted_out through the broker); then an opted-out
address in every kind of email: the invitation, the reminder and a group email are not sent
(failed deliveries saying why), a sign-in link still is. Embedded stack: intake and notify with
their workers, an SMTP server."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.intake.models import Prospect
from services.intake.models import outbox as intake_outbox
from services.notify.models import Delivery, GroupMessage, GroupMessageRecipient, OptOut
from services.notify.ops import messages, optout
from shared.config import load_settings
from shared.events import make_event
from shared.outbox import record
from tests.conftest import embedded_env
from tests.intake.test_outreach_invite import add_prospect
from tests.shared.test_contracts import EVENT_GUEST
from tests.support.stack import Stack, auth, open_call, wait_until

NOW = datetime.now(timezone.utc)


@pytest.fixture
def stack(tmp_path, smtp_server):
    s = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_MAIL_URL=smtp_server.url)),
              services=("intake", "notify")).start_workers()
    yield s
    s.stop()


def _db(stack, service):
    return stack.apps[service].extensions["prize"]["db"]


def _deliveries(stack, template: str) -> list[Delivery]:
    with _db(stack, "notify").session() as s:
        return s.scalars(select(Delivery).where(Delivery.template == template)).all()


def test_the_invitation_arrives_with_its_link_and_the_one_click_unsubscribe_reaches_intake(stack, smtp_server):
    intake, notify = stack.clients["intake"], stack.clients["notify"]
    sec = stack.secretariat_token()
    call = open_call(intake, sec)
    pid = add_prospect(stack, "a.nowak@lublin.example.pl", language="pt")
    r = intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(sec), json={"prospect_ids": [pid]})
    assert r.status_code == 201, r.get_json()
    [arrived] = smtp_server.wait_for(1)
    msg = arrived["message"]
    assert arrived["to"] == ["a.nowak@lublin.example.pl"]
    assert msg["Subject"] == "Convite para se candidatar ao Prêmio Cidade Inteligente de Seul 2026"
    text = smtp_server.text_of(msg)
    assert "Prezado(a) Agnieszka Nowak" in text and "City of Lublin" in text
    link = next(line.strip() for line in text.splitlines() if "/portal/register?invitation=" in line)
    assert link.startswith(stack.settings.public_url)
    unsubscribe = msg["List-Unsubscribe"].strip().strip("<>")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.startswith(stack.settings.notify_public_url + "/unsubscribe/") and unsubscribe in text
    assert f'href="{unsubscribe}"' in msg.get_body(("html",)).get_content()

    # the link the email carries opens the filled form on intake
    page = intake.get(link.split(stack.settings.public_url, 1)[1])
    assert page.status_code == 200 and 'value="City of Lublin"' in page.get_data(as_text=True)

    # a mail client's one-click unsubscribe (RFC 8058): no CSRF token, no cookie
    path = unsubscribe.split(stack.settings.notify_public_url, 1)[1]
    shown = notify.get(path)
    assert shown.status_code == 200 and "Unsubscribe a.nowak@lublin.example.pl" in shown.get_data(as_text=True)
    done = notify.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and "no more invitations" in done.get_data(as_text=True)
    with _db(stack, "notify").session() as s:
        assert s.get(OptOut, "a.nowak@lublin.example.pl").source == "unsubscribe_link"

    def _prospect_opted_out():
        with _db(stack, "intake").session() as s:
            return s.get(Prospect, pid).opted_out_at is not None
    assert wait_until(_prospect_opted_out)
    assert notify.post(path[:-3] + "xyz").status_code == 404  # a changed link does nothing
    again = intake.post(f"/api/calls/{call['id']}/outreach/invitations", headers=auth(sec), json={"prospect_ids": [pid]})
    assert again.get_json()["skipped"][0]["reason"] == "opted_out"


def _publish(stack, type_: str, data: dict) -> None:
    """An event of intake's, into its outbox: the relay publishes it, notify's worker handles it."""
    with _db(stack, "intake").session() as s, s.begin():
        record(s, intake_outbox, make_event(type_, data, producer="intake"))


def _outreach(email: str) -> dict:
    return {"prospect_id": str(uuid.uuid4()), "call_id": str(uuid.uuid4()), "year": 2026, "email": email,
            "name": "Zsófia Kiss", "organisation": "Budapest", "language": "en",
            "closes_at": NOW + timedelta(days=10), "time_zone": "Europe/Budapest",
            "url": "http://127.0.0.1:8001/portal/register?invitation=abc"}


def test_an_opted_out_address_in_every_kind_of_email(stack, smtp_server):
    email, other = "no@budapest.example.hu", "yes@lublin.example.pl"
    db = _db(stack, "notify")
    with db.session() as s, s.begin():
        optout.opt_out(s, email, "unsubscribe_link", "outreach_invitation")
    _publish(stack, "outreach.invited", {**_outreach(email), "invitation_id": str(uuid.uuid4()),
                                         "expires_at": NOW + timedelta(days=10), "invited_by": "test"})
    _publish(stack, "outreach.reminder", {**_outreach(email), "reminder": "3d", "stage": "not_registered"})
    _publish(stack, "signin.requested", {
        "applicant_id": str(uuid.uuid4()), "email": email, "contact_name": "Zsófia Kiss", "language": "en",
        "purpose": "browser", "url": "http://127.0.0.1:8001/signin/abc", "expires_at": datetime.now(timezone.utc) + timedelta(minutes=15)})
    # a group email to two members, one of them opted out
    message_id = str(uuid.uuid4())
    with db.session() as s, s.begin():
        s.add(GroupMessage(id=message_id, year=2026, audience="drafts", status="addressed", revision=1,
                           texts={"en": {"subject": "Two weeks left", "body": "Dear {{ name }}"}},
                           created_by="test", created_at=NOW, updated_at=NOW, parts=1, parts_received=[1]))
        s.flush()
        for address in (email, other):
            s.add(GroupMessageRecipient(message_id=message_id, email=address, name="X", language="en"))
    for address in (email, other):  # an invitation to the edition's Mayors Forum (the events' emails)
        _publish(stack, "event.invited", {**EVENT_GUEST, "invitation_id": str(uuid.uuid4()), "email": address,
                                          "language": "en", "invited_at": NOW, "invited_by": "test"})
    shown = messages.overview(db, message_id)
    assert email in shown["suppressed"] and shown["opted_out"] == [email]
    messages.send(db, message_id, shown["fingerprint"], "test")

    assert wait_until(lambda: len(_deliveries(stack, "signin_link")) == 1
                      and len(_deliveries(stack, "outreach_invitation")) == 1
                      and len(_deliveries(stack, "outreach_reminder")) == 1
                      and len(_deliveries(stack, "event_invitation")) == 2, timeout=60)
    # the sign-in link; the group email and the event invitation to the other member
    arrived = smtp_server.wait_for(3, timeout=60)
    assert wait_until(lambda: {d.status for d in _deliveries(stack, "group_message")} == {"sent", "failed"},
                      timeout=60)
    assert sorted(m["to"][0] for m in smtp_server.messages) == sorted([email, other, other])
    assert [m for m in arrived if m["to"] == [email]][0]["message"]["Subject"].lower().count("sign") >= 1
    for template in ("outreach_invitation", "outreach_reminder"):
        [row] = _deliveries(stack, template)
        assert row.status == "failed" and "opted out of outreach email" in row.last_error, template
    by_address = {d.recipient: d for d in _deliveries(stack, "group_message")}
    assert by_address[email].status == "failed" and "opted out" in by_address[email].last_error
    [signin] = _deliveries(stack, "signin_link")
    assert signin.status == "sent"
    to_other = {m["message"]["Subject"]: m["message"] for m in smtp_server.messages if m["to"] == [other]}
    group, forum = to_other["Two weeks left"], next(m for k, m in to_other.items() if "Mayors Forum" in k)
    assert group["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # group emails honour it too
    unsubscribe = forum["List-Unsubscribe"].strip().strip("<>")  # and event invitations carry the link
    assert forum["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and unsubscribe in smtp_server.text_of(forum)
    by_address = {d.recipient: d for d in _deliveries(stack, "event_invitation")}
    assert by_address[email].status == "failed" and "opted out" in by_address[email].last_error
    assert "List-Unsubscribe" not in [m for m in smtp_server.messages if m["to"] == [email]][0]["message"]


def test_optout_templates_are_the_outreach_ones_and_not_the_transactional_ones():
    assert {"outreach_invitation", "outreach_reminder", "event_invitation", "group_message"} <= optout.OPTOUT_TEMPLATES
    for needed in ("signin_link", "submission_ack", "eligibility_result", "finalist_notice", "award_winner",
                   "not_advanced", "not_awarded", "contact_email_changed", "ceremony_invitation"):
        assert not optout.honours_opt_out(needed)


def test_an_unsubscribe_link_names_one_address_and_cannot_be_forged():
    links = optout.Unsubscribe("secret", "https://notify.example")
    url = links.url("A@B.example", "outreach_invitation")
    assert links.read(url.rsplit("/", 1)[1]) == ("a@b.example", "outreach_invitation")
    with pytest.raises(optout.BadLink):
        optout.Unsubscribe("other", "https://notify.example").read(url.rsplit("/", 1)[1])
