"""The secretariat moves an applicant's sign-in address (the city's officer left, the mailbox is
gone): PUT /api/applicants/{id}/contact-email, audited (who, when, from, to, why), with the
applicant.updated event that brings the new address to notify's recipients and tells both
mailboxes. The applicant still cannot change it themselves.

In process (Flask test clients), on SQLite and on PostgreSQL; notify's handlers are called
through its inbox with the event intake recorded, no workers.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from services.intake.models import Applicant, ContactChange, outbox
from services.notify.models import Delivery, Recipient
from shared.auth import issue_token
from tests.support.applicants import intake_and_notify_stack, intake_client, two_applicants  # noqa: F401 (fixtures)
from tests.support.applicants import (OTHER, SECOND, dispatch_to_notify, outbox_messages, seed_recipients,
                                     service_db)
from tests.support.stack import (KAOHSIUNG, api_token, auth, open_call, open_signin_link, register, signin_events,
                                 start_draft, submit_application)

OLD = KAOHSIUNG["contact_email"]
NEW = "smartcity@kcg.example.tw"
OTHER_EMAIL = OTHER["contact_email"]
REASON = "Lin Mei-hua retired; the mayor's office asked by letter of 3 March to use the team mailbox."


def _sec(stack) -> dict:
    return auth(stack.secretariat_token())


def _put(intake, applicant_id, headers, **body):
    return intake.put(f"/api/applicants/{applicant_id}/contact-email", headers=headers, json=body)


def _state(stack) -> dict:
    with service_db(stack).session() as s:
        return {"applicants": sorted((a.id, a.contact_email, a.secondary_email) for a in s.scalars(select(Applicant))),
                "changes": s.scalar(select(func.count()).select_from(ContactChange)),
                "outbox": s.scalar(select(func.count()).select_from(outbox))}


# --- the change and its audit -------------------------------------------------------------------

def test_secretariat_moves_the_address_lower_cased_audited_and_published(stack, intake, two):
    a, a_token, _, _ = two
    draft = start_draft(intake, a_token, open_call(intake, stack.secretariat_token())["id"])
    r = _put(intake, a["id"], _sec(stack), contact_email="SmartCity@KCG.example.tw", reason=REASON)
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {**a, "contact_email": NEW}

    # the applicant's session stays valid (it is tied to the applicant, not the address)
    me = intake.get("/api/applicants/me", headers=auth(a_token))
    assert (me.status_code, me.get_json()["contact_email"]) == (200, NEW)

    history = intake.get(f"/api/applicants/{a['id']}/contact-email/history", headers=_sec(stack))
    assert history.status_code == 200, history.get_json()
    [row] = history.get_json()
    assert {k: row[k] for k in ("applicant_id", "old_email", "new_email", "reason", "changed_by")} == {
        "applicant_id": a["id"], "old_email": OLD, "new_email": NEW, "reason": REASON, "changed_by": "operator test-secretariat"}
    changed_at = datetime.fromisoformat(row["changed_at"])
    assert abs((datetime.now(timezone.utc) - changed_at).total_seconds()) < 60

    [message] = outbox_messages(stack, "applicant.updated")
    data = message["data"]
    assert (data["changes"], data["contact_email"], data["previous_contact_email"], data["application_ids"]) == (
        ["contact_email"], NEW, OLD, [draft["id"]])
    assert (data["id"], data["secondary_email"], message["correlation_id"]) == (a["id"], SECOND, a["id"])


def test_history_of_an_applicant_never_moved_is_empty_and_of_an_unknown_one_404(stack, intake, two):
    a, _, _, _ = two
    r = intake.get(f"/api/applicants/{a['id']}/contact-email/history", headers=_sec(stack))
    assert (r.status_code, r.get_json()) == (200, [])
    missing = str(uuid.uuid4())
    r = intake.get(f"/api/applicants/{missing}/contact-email/history", headers=_sec(stack))
    assert (r.status_code, r.get_json()["message"]) == (404, f"no applicant {missing}")


def test_two_moves_are_both_kept_oldest_first(stack, intake, two):
    a, _, _, _ = two
    assert _put(intake, a["id"], _sec(stack), contact_email=NEW, reason="first").status_code == 200
    assert _put(intake, a["id"], _sec(stack), contact_email="team@kcg.example.tw", reason="second").status_code == 200
    rows = intake.get(f"/api/applicants/{a['id']}/contact-email/history", headers=_sec(stack)).get_json()
    assert [(r["old_email"], r["new_email"], r["reason"]) for r in rows] == [
        (OLD, NEW, "first"), (NEW, "team@kcg.example.tw", "second")]
    assert [e["data"]["previous_contact_email"] for e in outbox_messages(stack, "applicant.updated")] == [OLD, NEW]


def test_the_current_address_again_is_200_and_changes_nothing(stack, intake, two):
    a, _, _, _ = two
    before = _state(stack)
    r = _put(intake, a["id"], _sec(stack), contact_email=OLD.upper(), reason=REASON)
    assert (r.status_code, r.get_json()) == (200, a)
    assert _state(stack) == before and outbox_messages(stack, "applicant.updated") == []


# --- refusals ------------------------------------------------------------------------------------

def test_another_applicants_address_is_409_naming_it(stack, intake, two):
    a, _, _, _ = two
    before = _state(stack)
    r = _put(intake, a["id"], _sec(stack), contact_email=OTHER_EMAIL.upper(), reason=REASON)
    assert r.status_code == 409, r.get_json()
    assert list(r.get_json()["errors"]["json"]) == ["contact_email"]
    assert "another applicant" in r.get_json()["message"]
    assert _state(stack) == before


def test_unknown_applicant_is_404(stack, intake, two):
    missing = str(uuid.uuid4())
    before = _state(stack)
    r = _put(intake, missing, _sec(stack), contact_email=NEW, reason=REASON)
    assert (r.status_code, r.get_json()["message"]) == (404, f"no applicant {missing}")
    assert _state(stack) == before


@pytest.mark.parametrize("body,field", [
    ({"contact_email": SECOND.upper(), "reason": REASON}, "contact_email"),  # the second contact
    ({"contact_email": "not an address", "reason": REASON}, "contact_email"),
    ({"contact_email": NEW}, "reason"),
    ({"contact_email": NEW, "reason": ""}, "reason"),
    ({"contact_email": NEW, "reason": "x" * 1001}, "reason"),
    ({"contact_email": NEW, "reason": "a\u0000b"}, "reason"),  # PostgreSQL refuses NUL: a 422, not a 500
    ({"reason": REASON}, "contact_email"),
])
def test_invalid_change_is_422_naming_the_field(stack, intake, two, body, field):
    a, _, _, _ = two
    before = _state(stack)
    r = intake.put(f"/api/applicants/{a['id']}/contact-email", headers=_sec(stack), json=body)
    assert r.status_code == 422, r.get_json()
    assert list(r.get_json()["errors"]["json"]) == [field]
    assert _state(stack) == before


def test_the_longest_reason_is_accepted(stack, intake, two):
    a, _, _, _ = two
    assert _put(intake, a["id"], _sec(stack), contact_email=NEW, reason="x" * 1000).status_code == 200


def test_applicants_and_jurors_are_403_and_nobody_401(stack, intake, two):
    a, a_token, _, b_token = two
    juror = issue_token(stack.settings.secret_key, "juror", "juror-1")
    before = _state(stack)
    for headers, status in ((auth(a_token), 403), (auth(b_token), 403), (auth(juror), 403), ({}, 401)):
        r = _put(intake, a["id"], headers, contact_email=NEW, reason=REASON)
        assert r.status_code == status, r.get_json()
        r = intake.get(f"/api/applicants/{a['id']}/contact-email/history", headers=headers)
        assert r.status_code == status, r.get_json()
    assert _state(stack) == before


def test_the_applicant_still_cannot_change_it_themselves(stack, intake, two):
    a, a_token, _, _ = two
    r = intake.patch("/api/applicants/me", headers=auth(a_token), json={"contact_email": NEW})
    assert r.status_code == 422 and list(r.get_json()["errors"]["json"]) == ["contact_email"]
    assert "write to the secretariat" in r.get_json()["errors"]["json"]["contact_email"][0]


# --- signing in after the move -------------------------------------------------------------------

def test_the_old_address_gets_no_sign_in_link_and_the_new_one_signs_in(stack, intake, two):
    a, _, _, _ = two
    # a link mailed to the old address before the move stops working with it
    assert intake.post("/api/signin", json={"email": OLD, "purpose": "browser"}).status_code == 202
    stale = urlparse(signin_events(intake, OLD)[-1]["url"]).path
    assert _put(intake, a["id"], _sec(stack), contact_email=NEW, reason=REASON).status_code == 200

    before = len(signin_events(intake, OLD))
    r = intake.post("/api/signin", json={"email": OLD, "purpose": "browser"})
    assert r.status_code == 202  # the same answer as for any address: it tells nobody anything
    assert len(signin_events(intake, OLD)) == before  # ... and nothing is mailed there

    browser = stack.apps["intake"].test_client()
    r = browser.get(stale)
    assert r.headers.get("Location") != "/portal"
    assert browser.get("/portal").status_code != 200  # not signed in

    token = api_token(intake, NEW)  # the new address gets its code, and it signs in
    [event] = [e for e in signin_events(intake, NEW)]
    assert event["applicant_id"] == a["id"]
    me = intake.get("/api/applicants/me", headers=auth(token))
    assert (me.status_code, me.get_json()["id"]) == (200, a["id"])


# --- notify: the recipients follow, and both addresses hear of it ---------------------------------


def test_notify_moves_the_recipients_address_and_tells_both_addresses_once(stack, intake, two):
    a, a_token, b, b_token = two
    call = open_call(intake, stack.secretariat_token())
    mine = submit_application(intake, a_token, call["id"])
    theirs = submit_application(intake, b_token, call["id"])
    waiting = start_draft(intake, a_token, call["id"], category="human_centricity")
    seed_recipients(stack, ((mine, a), (theirs, b)))
    with service_db(stack, "notify").session() as s, s.begin():
        # a decision that overtook its submission: the row waits for application.submitted
        s.add(Recipient(application_id=waiting["id"], reference="", finalist_released=False, award_released=False))
    assert _put(intake, a["id"], _sec(stack), contact_email=NEW, reason=REASON).status_code == 200
    [message] = outbox_messages(stack, "applicant.updated")

    for _ in range(2):  # redelivered: the inbox absorbs it
        dispatch_to_notify(stack, message)
    with service_db(stack, "notify").session() as s:
        recipients = {r.application_id: r for r in s.scalars(select(Recipient))}
        deliveries = s.scalars(select(Delivery).where(Delivery.template == "contact_email_changed")
                               .order_by(Delivery.recipient)).all()
    assert (recipients[mine["id"]].contact_email, recipients[mine["id"]].secondary_email) == (NEW, SECOND)
    assert recipients[theirs["id"]].contact_email == OTHER_EMAIL
    assert not recipients[waiting["id"]].contact_email  # still waiting: nothing is mailed from it

    assert [d.recipient for d in deliveries] == [OLD, NEW]
    to_old, to_new = deliveries
    assert to_old.subject == "Security notice: Your sign-in address for the Seoul Smart City Prize was changed"
    assert "If you did not ask for this, reply to the secretariat" in to_old.body_text
    assert to_new.subject == "Your sign-in address for the Seoul Smart City Prize was changed"
    for d in deliveries:
        assert OLD in d.body_text and NEW in d.body_text and d.language == "en"
        assert d.event_id == message["id"]


def test_notify_tells_both_addresses_of_an_applicant_without_applications(stack, intake):
    a, _ = register(intake, language="ko")
    assert _put(intake, a["id"], _sec(stack), contact_email=NEW, reason=REASON).status_code == 200
    [message] = outbox_messages(stack, "applicant.updated")
    assert message["data"]["application_ids"] == []
    dispatch_to_notify(stack, message)
    with service_db(stack, "notify").session() as s:
        sent = sorted((d.recipient, d.language, d.subject) for d in s.scalars(select(Delivery)))
    assert sent == [(OLD, "ko", "보안 알림: 서울스마트도시상 로그인 주소가 변경되었습니다"),
                    (NEW, "ko", "서울스마트도시상 로그인 주소가 변경되었습니다")]


def test_notify_sends_nothing_for_an_applicants_own_change(stack, intake, two):
    _, a_token, _, _ = two
    assert intake.patch("/api/applicants/me", headers=auth(a_token), json={"language": "ko"}).status_code == 200
    [message] = outbox_messages(stack, "applicant.updated")
    dispatch_to_notify(stack, message)
    with service_db(stack, "notify").session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0


# --- the secretariat's page ---------------------------------------------------------------------

def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _office(stack):
    """A browser signed in to intake's secretariat pages by pasting a secretariat token."""
    office = stack.apps["intake"].test_client()
    token = _csrf(office.get("/secretariat/signin").get_data(as_text=True))
    r = office.post("/secretariat/signin", data={"csrf_token": token, "token": stack.secretariat_token(),
                                                 "next": "/secretariat/contact-email"})
    assert r.status_code == 303
    return office


def test_the_page_moves_the_address_found_by_the_current_one(stack, intake, two):
    a, _, _, _ = two
    office = _office(stack)
    page = office.get("/secretariat/contact-email")
    assert page.status_code == 200 and "Move an applicant" in page.get_data(as_text=True)
    csrf = _csrf(page.get_data(as_text=True))
    r = office.post("/secretariat/contact-email", data={"csrf_token": csrf, "current_email": OLD.upper(),
                                                       "contact_email": NEW, "reason": REASON})
    assert (r.status_code, r.headers["Location"]) == (303, "/secretariat/contact-email")
    shown = office.get("/secretariat/contact-email").get_data(as_text=True)
    assert f"now signs in with {NEW} instead of {OLD}" in shown
    [row] = intake.get(f"/api/applicants/{a['id']}/contact-email/history", headers=_sec(stack)).get_json()
    assert (row["old_email"], row["new_email"], row["reason"], row["changed_by"]) == (
        OLD, NEW, REASON, "operator test-secretariat")
    assert len(outbox_messages(stack, "applicant.updated")) == 1


@pytest.mark.parametrize("fields,status,words", [
    ({"current_email": "nobody@nowhere.example", "contact_email": NEW, "reason": REASON}, 404,
     "No applicant signs in with this address"),
    ({"current_email": OLD, "contact_email": OTHER_EMAIL, "reason": REASON}, 409, "Another applicant signs in"),
    ({"current_email": OLD, "contact_email": SECOND, "reason": REASON}, 422, "second contact"),
    ({"current_email": OLD, "contact_email": NEW, "reason": ""}, 422, "Please correct the fields"),
    ({"current_email": OLD, "contact_email": "not an address", "reason": REASON}, 422, "Not a valid email address"),
])
def test_the_page_refuses_with_the_reason_and_changes_nothing(stack, two, fields, status, words):
    office = _office(stack)
    csrf = _csrf(office.get("/secretariat/contact-email").get_data(as_text=True))
    before = _state(stack)
    r = office.post("/secretariat/contact-email", data={"csrf_token": csrf, **fields})
    assert r.status_code == status and words in r.get_data(as_text=True)
    assert _state(stack) == before


def test_the_page_needs_the_secretariat_and_its_form_token(stack, two):
    office = _office(stack)
    before = _state(stack)
    body = {"current_email": OLD, "contact_email": NEW, "reason": REASON}
    assert office.post("/secretariat/contact-email", data={"csrf_token": "forged", **body}).status_code == 403
    nobody = stack.apps["intake"].test_client()
    r = nobody.post("/secretariat/contact-email", data=body)
    assert r.status_code == 302 and r.headers["Location"].startswith("/staff/signin?next=")  # staff sign in at intake
    assert _state(stack) == before
    # an applicant's portal session does not open it
    applicant = stack.apps["intake"].test_client()
    assert applicant.post("/api/signin", json={"email": OLD, "purpose": "browser"}).status_code == 202
    assert open_signin_link(applicant, urlparse(signin_events(applicant, OLD)[-1]["url"]).path).status_code == 303
    page = applicant.get("/portal").get_data(as_text=True)
    r = applicant.post("/secretariat/contact-email", data={"csrf_token": _csrf(page), **body})
    assert r.status_code == 302 and applicant.get("/secretariat/contact-email").status_code == 302
    after = _state(stack)
    assert (after["applicants"], after["changes"]) == (before["applicants"], before["changes"])
