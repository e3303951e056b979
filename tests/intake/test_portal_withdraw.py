"""Withdrawing on the status page: a confirmation page that says what will happen and asks for the
reason, then the API's rule and event; only the owner, only before a decision."""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

from services.intake.models import Application, StatusUpdate, outbox
from tests.intake.test_documents import db_of
from tests.intake.test_portal_documents import browser_session, page_csrf
from tests.support.stack import KAOHSIUNG, auth, open_call, register, start_draft, submit_application


def _scene(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake)
    application = submit_application(intake, token, call["id"], title="Hydrogen buses")
    owner = browser_session(stack, KAOHSIUNG["contact_email"])
    return {"intake": intake, "call": call, "token": token, "app": application["id"], "owner": owner}


def _withdrawn_events(stack, app_id: str) -> list[dict]:
    with db_of(stack).engine.connect() as conn:
        bodies = conn.execute(outbox.select().where(outbox.c.type == "application.withdrawn",
                                                    outbox.c.correlation_id == app_id)).all()
    return [json.loads(row.body)["data"] for row in bodies]


def test_the_status_page_leads_to_a_confirmation_then_withdraws_with_the_reason(stack):
    ctx = _scene(stack)
    status_path = f"/portal/applications/{ctx['app']}/status"
    path = f"/portal/applications/{ctx['app']}/withdraw"
    status = ctx["owner"].get(status_path).get_data(as_text=True)
    assert f'href="{path}"' in status

    page = ctx["owner"].get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "What will happen" in html and "cannot be undone" in html and "stop reviewing it" in html
    assert re.search(r'<label for="reason">', html) and 'name="reason"' in html
    assert _withdrawn_events(stack, ctx["app"]) == []  # the page alone changes nothing

    reason = "Merged with our 高雄 metro entry"
    r = ctx["owner"].post(path, data={"csrf_token": page_csrf(ctx["owner"], path), "reason": reason})
    assert r.status_code == 303 and r.headers["Location"].endswith(status_path)
    status = ctx["owner"].get(status_path).get_data(as_text=True)
    assert "Your application is withdrawn" in status and "Withdrawn" in status and reason in status
    assert f'href="{path}"' not in status  # nothing left to withdraw
    [event] = _withdrawn_events(stack, ctx["app"])
    assert event["reason"] == reason
    api = ctx["intake"].get(f"/api/applications/{ctx['app']}", headers=auth(ctx["token"])).get_json()
    assert api["status"] == "withdrawn"
    # again (a second tab, a back button): nothing more happens
    again = ctx["owner"].post(path, data={"csrf_token": page_csrf(ctx["owner"], status_path), "reason": "again"})
    assert again.status_code == 303 and len(_withdrawn_events(stack, ctx["app"])) == 1


def test_only_the_owner_withdraws(stack):
    ctx = _scene(stack)
    path = f"/portal/applications/{ctx['app']}/withdraw"
    register(ctx["intake"], contact_email="ana@guarulhos.example.br", city="Guarulhos", country="BR")
    other = browser_session(stack, "ana@guarulhos.example.br")
    assert other.get(path).status_code == 404
    assert other.post(path, data={"csrf_token": page_csrf(other, "/portal"), "reason": "x"}).status_code == 404
    assert other.get(f"/portal/applications/{uuid.uuid4()}/withdraw").status_code == 404
    assert ctx["owner"].post(path, data={"reason": "no token"}).status_code == 403
    anonymous = stack.apps["intake"].test_client().get(path)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/signin")
    assert _withdrawn_events(stack, ctx["app"]) == []


def test_a_reason_over_the_limit_is_refused_and_kept_in_the_form(stack):
    ctx = _scene(stack)
    path = f"/portal/applications/{ctx['app']}/withdraw"
    r = ctx["owner"].post(path, data={"csrf_token": page_csrf(ctx["owner"], path), "reason": "x" * 2001})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "at most 2,000 characters" in html and 'aria-invalid="true"' in html and "x" * 2001 in html
    assert _withdrawn_events(stack, ctx["app"]) == []


def test_after_a_decision_there_is_no_button_and_no_withdrawal(stack):
    ctx = _scene(stack)
    with db_of(stack).session() as s, s.begin():
        s.add(StatusUpdate(event_id=str(uuid.uuid4()), application_id=ctx["app"], stage="finalist", detail="",
                           occurred_at=datetime.now(timezone.utc)))
    path = f"/portal/applications/{ctx['app']}/withdraw"
    assert f'href="{path}"' not in ctx["owner"].get(f"/portal/applications/{ctx['app']}/status").get_data(as_text=True)
    csrf = page_csrf(ctx["owner"], f"/portal/applications/{ctx['app']}/status")
    r = ctx["owner"].post(path, data={"csrf_token": csrf, "reason": "too late"})
    assert r.status_code == 303
    assert "can no longer be withdrawn" in ctx["owner"].get(r.headers["Location"]).get_data(as_text=True)
    with db_of(stack).session() as s:
        assert s.get(Application, ctx["app"]).status != "withdrawn"


def test_a_draft_is_withdrawn_after_a_look_and_deleted_with_its_documents(stack):
    ctx = _scene(stack)
    draft = start_draft(ctx["intake"], ctx["token"], ctx["call"]["id"], category="human_centricity")
    path = f"/portal/applications/{draft['id']}/withdraw"
    assert f'href="{path}"' in ctx["owner"].get("/portal").get_data(as_text=True)
    look = ctx["owner"].get(path)
    assert look.status_code == 200 and "It is deleted at once" in look.get_data(as_text=True)
    with db_of(stack).session() as s:
        assert s.get(Application, draft["id"]) is not None  # the look changes nothing
    r = ctx["owner"].post(path, data={"csrf_token": page_csrf(ctx["owner"], path)})
    assert r.status_code == 303 and r.headers["Location"].endswith("/portal")
    assert "is withdrawn and deleted" in ctx["owner"].get("/portal").get_data(as_text=True)
    with db_of(stack).session() as s:
        assert s.get(Application, draft["id"]) is None
    assert _withdrawn_events(stack, draft["id"]) == []  # nobody else ever knew the draft
    # the category is free again
    again = start_draft(ctx["intake"], ctx["token"], ctx["call"]["id"], category="human_centricity")
    assert again["id"] != draft["id"]
    # a submitted application is not deleted by this path: it has the withdraw page with a reason
    assert "Why are you withdrawing?" in ctx["owner"].get(f"/portal/applications/{ctx['app']}/withdraw").get_data(
        as_text=True)


def test_a_korean_applicant_reads_the_status_and_withdraw_pages_in_korean(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())
    _, token = register(intake, language="ko")
    application = submit_application(intake, token, call["id"], title="Hydrogen buses")
    owner = browser_session(stack, KAOHSIUNG["contact_email"])
    status = owner.get(f"/portal/applications/{application['id']}/status").get_data(as_text=True)
    assert '<html lang="ko"' in status and "신청서 사본" in status and "이 신청 철회하기…" in status
    assert "Withdraw" not in status and "Download the PDF" not in status
    path = f"/portal/applications/{application['id']}/withdraw"
    page = owner.get(path).get_data(as_text=True)
    assert "철회하면 이렇게 됩니다" in page and "철회 사유 (선택)" in page
    r = owner.post(path, data={"csrf_token": page_csrf(owner, path), "reason": "다른 사업과 통합"})
    assert "신청이 철회되었습니다." in owner.get(r.headers["Location"]).get_data(as_text=True)
