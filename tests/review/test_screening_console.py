"""The secretariat's screening console (services/review/pages/screening.py, ops/screening.py): a
decision is previewed (notify's signed preview link in an iframe), confirmed with the fingerprint
of what was previewed, recorded with its email held for the undo window, and published by
review's worker job once the window has passed: exactly once, even with two workers. Undo inside
the window sends nothing; a correction after it sends again. Every role gets what it may.
"""
from __future__ import annotations

import hashlib
import html
import json
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from services.review import jobs
from services.review.models import Application, LedgerEntry, ScreeningDecision, outbox
from shared.auth import issue_token
from shared.config import load_settings
from shared.email_preview import Preview, read_token
from shared.events import make_event
from shared.staff import store
from tests.conftest import env_for
from tests.review.test_review_pages import Review
from tests.support.stack import Stack, auth

WINDOW = 300
REASON = "The application form is not signed by the mayor, as the call's rule 4.2 asks."


def _stack(request, tmp_path, kind="embedded", window=WINDOW) -> Stack:
    env = env_for(request, tmp_path / "var", kind, PRIZE_SCREENING_UNDO_SECONDS=str(window))
    return Stack(load_settings(env), services=("review",))


@pytest.fixture(params=["embedded", "real"])
def review(request, tmp_path):
    stack = _stack(request, tmp_path, kind=request.param)
    yield Review(stack.apps["review"])
    stack.stop()


def submit(review: Review, call_id: str, title="Harbour hydrogen buses", language="ko") -> str:
    application_id = str(uuid.uuid4())
    review.deliver(make_event("application.submitted", {
        "application_id": application_id, "reference": f"SSCP-2026-{application_id[:6].upper()}",
        "call_id": call_id, "year": 2026, "category": "tech_innovacity", "title": title,
        "summary": "Clean mobility for the harbour district, planned with its residents.",
        "submitted_at": datetime.now(timezone.utc).isoformat(),
        "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": "Kaohsiung City Government",
                      "country": "TW", "city": "高雄 Kaohsiung", "contact_name": "Lin Mei-hua",
                      "contact_email": "lin@kaohsiung.example.tw", "language": language},
        "answers": {"problem": "Diesel buses foul the harbour air; residents mapped the worst streets.",
                    "design": "Fuel-cell buses on the two busiest lines, chosen in open workshops."},
        "project": {"location": "Kaohsiung harbour"},
        "documents": [{"id": str(uuid.uuid4()), "kind": "application_form", "filename": "application-form.pdf",
                       "content_type": "application/pdf", "size": 2048, "sha256": hashlib.sha256(b"x").hexdigest(),
                       "storage_key": f"verified/{application_id}/application-form.pdf"}]}, producer="intake"))
    return application_id


def staff(review: Review, role: str = "secretariat", name: str | None = None):
    """A browser with a staff session of ``role`` on review, and its CSRF token."""
    tables = __import__("services.review.models", fromlist=["staff_tables"]).staff_tables
    member = {"staff_id": str(uuid.uuid4()), "email": f"{role}-{uuid.uuid4().hex[:6]}@wego.example",
              "name": name or role.title(), "language": "en", "role": role, "active": True, "version": 1,
              "changed_by": "test"}
    now = datetime.now(timezone.utc)
    with review.db.session() as s, s.begin():
        store.apply_member(s, tables, member, now)
        secret = store.open_session(s, tables, member["staff_id"], str(uuid.uuid4()), now)
        csrf = s.execute(tables.sessions.select().where(tables.sessions.c.id_hash == store.hash_secret(secret))
                         ).one().csrf_token
    client = review.app.test_client()
    client.set_cookie("prize_staff_review", secret)
    return client, csrf


def screened_events(review: Review) -> list[dict]:
    with review.db.engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "application.screened")
                              .order_by(outbox.c.created_at)).scalars().all()
    return [json.loads(b)["data"] for b in bodies]


def stage_of(review: Review, application_id: str) -> str:
    with review.db.session() as s:
        return s.get(Application, application_id).stage


def decisions(review: Review, application_id: str) -> list[ScreeningDecision]:
    with review.db.session() as s:
        rows = list(s.scalars(select(ScreeningDecision).where(ScreeningDecision.application_id == application_id)
                              .order_by(ScreeningDecision.decided_at)))
        s.expunge_all()
        return rows


def preview(client, csrf, application_id, eligible="no", reason=REASON):
    return client.post(f"/secretariat/applications/{application_id}/screen",
                       data={"csrf_token": csrf, "eligible": eligible, "reason": reason})


def confirm_form(page: str) -> dict:
    form = page[page.index('id="confirm-form"'):]
    return {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)}


def decide(client, csrf, application_id, eligible="no", reason=REASON):
    """Preview then confirm, as the secretariat does; the confirmation's answer."""
    r = preview(client, csrf, application_id, eligible, reason)
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    return client.post(f"/secretariat/applications/{application_id}/screen/confirm",
                       data=confirm_form(r.get_data(as_text=True)))


def publish(review: Review, after: float) -> int:
    return jobs.publish_screenings(review.db, now=datetime.now(timezone.utc) + timedelta(seconds=after))


@pytest.fixture
def scene(review):
    call_id = review.open_call()
    return {"call": call_id, "app": submit(review, call_id), "other": submit(review, call_id, "Sign language kiosks")}


# --- preview ----------------------------------------------------------------------------------

def test_not_eligible_needs_a_reason_shown_beside_the_field_with_what_was_typed(review, scene):
    client, csrf = staff(review)
    app_id = scene["app"]
    r = preview(client, csrf, app_id, reason="   ")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="reason-error"' in page and "required when the application is not eligible" in page
    assert 'value="no" checked' in page  # the choice is kept
    too_long = "Lorem ipsum " * 200  # 2400 characters
    r = preview(client, csrf, app_id, reason=too_long)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "at most 2000 characters" in page and html.escape(too_long.strip()) in page
    r = client.post(f"/secretariat/applications/{app_id}/screen", data={"csrf_token": csrf, "reason": REASON})
    assert r.status_code == 422 and 'id="eligible-error"' in r.get_data(as_text=True)
    assert stage_of(review, app_id) == "submitted" and decisions(review, app_id) == []


def test_a_decision_needs_its_preview(review, scene):
    client, csrf = staff(review)
    r = client.post(f"/secretariat/applications/{scene['app']}/screen/confirm",
                    data={"csrf_token": csrf, "eligible": "no", "reason": REASON})
    assert r.status_code == 422 and "Preview the email first" in r.get_data(as_text=True)
    assert stage_of(review, scene["app"]) == "submitted" and decisions(review, scene["app"]) == []


def test_the_preview_frames_notifys_signed_link_with_the_typed_reason(review, scene):
    client, csrf = staff(review)
    settings = review.app.extensions["prize"]["settings"]
    r = preview(client, csrf, scene["app"])
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    src = html.unescape(re.search(r'<iframe src="([^"]+)"', page).group(1))
    assert src.startswith(settings.notify_public_url + "/preview/")
    token = urlsplit(src).path.rsplit("/", 1)[1]
    assert read_token(settings.secret_key, token) == Preview("eligibility_result", scene["app"],
                                                             {"eligible": False, "reason": REASON})
    assert "lin@kaohsiung.example.tw</strong> will be emailed in Korean in about 5 minutes" in page
    assert "unless you undo it" in page
    policy = r.headers["Content-Security-Policy"]
    assert "frame-src http://127.0.0.1:8003" in policy and "frame-ancestors 'none'" in policy
    # only the preview frames notify; the application's page frames nothing
    assert "frame-src" not in client.get(f"/secretariat/applications/{scene['app']}").headers["Content-Security-Policy"]
    assert decisions(review, scene["app"]) == [] and screened_events(review) == []  # a preview decides nothing


# --- confirm, the job, undo, correction ----------------------------------------------------------

def test_confirm_holds_the_decision_and_the_job_publishes_it_once_after_the_window(review, scene):
    client, csrf = staff(review, name="Kim Ji-won")
    r = decide(client, csrf, scene["app"])
    assert r.status_code == 303
    assert stage_of(review, scene["app"]) == "ineligible"
    assert screened_events(review) == []  # held: nothing in the outbox
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Email goes at" in page and ">Undo</button>" in page and "Kim Ji-won" in page
    assert publish(review, WINDOW - 5) == 0 and screened_events(review) == []
    assert publish(review, WINDOW + 1) == 1
    assert publish(review, WINDOW + 60) == 0  # once
    events = screened_events(review)
    assert [(e["application_id"], e["eligible"], e["reason"]) for e in events] == [(scene["app"], False, REASON)]
    [row] = decisions(review, scene["app"])
    assert row.status == "published" and row.published_at is not None and row.event_id
    assert "Email goes at" not in client.get(r.headers["Location"]).get_data(as_text=True)


def test_undo_inside_the_window_sends_nothing_and_restores_the_stage(review, scene):
    client, csrf = staff(review, name="Kim Ji-won")
    assert decide(client, csrf, scene["app"]).status_code == 303
    [row] = decisions(review, scene["app"])
    r = client.post(f"/secretariat/applications/{scene['app']}/screening/{row.id}/undo", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert stage_of(review, scene["app"]) == "submitted"
    assert publish(review, WINDOW + 1) == 0 and screened_events(review) == []
    [row] = decisions(review, scene["app"])
    assert row.status == "undone" and "Kim Ji-won" in row.undone_by
    with review.db.session() as s:
        actions = list(s.scalars(select(LedgerEntry.action).where(LedgerEntry.application_id == scene["app"])
                                 .order_by(LedgerEntry.seq)))
    assert actions == ["application.screened", "application.screening_undone"]  # the history keeps both
    page = client.get(f"/secretariat/applications/{scene['app']}").get_data(as_text=True)
    assert "undone by" in page and "Awaiting screening" in page


def test_after_the_window_undo_is_refused_and_a_correction_is_mailed_again(review, scene):
    client, csrf = staff(review)
    assert decide(client, csrf, scene["app"]).status_code == 303
    assert publish(review, WINDOW + 1) == 1
    [first] = decisions(review, scene["app"])
    r = client.post(f"/secretariat/applications/{scene['app']}/screening/{first.id}/undo", data={"csrf_token": csrf})
    assert r.status_code == 409 and "correct the decision" in r.get_data(as_text=True)
    assert stage_of(review, scene["app"]) == "ineligible"
    assert decide(client, csrf, scene["app"], eligible="yes", reason="").status_code == 303  # the correction
    assert stage_of(review, scene["app"]) == "eligible" and len(screened_events(review)) == 1  # held again
    assert publish(review, 2 * WINDOW + 5) == 1
    assert [e["eligible"] for e in screened_events(review)] == [False, True]
    page = client.get(f"/secretariat/applications/{scene['app']}").get_data(as_text=True)
    history = page[page.index('id="screening-history"'):]
    assert history.count("<li>") == 2 and "emailed" in history and REASON in html.unescape(history)


def test_a_stale_preview_is_refused_and_the_new_state_shown(review, scene):
    mine, my_csrf = staff(review, name="Ana")
    theirs, their_csrf = staff(review, name="Ben")
    r = preview(mine, my_csrf, scene["app"])  # Ana previews "not eligible"
    form = confirm_form(r.get_data(as_text=True))
    assert decide(theirs, their_csrf, scene["app"], eligible="yes", reason="").status_code == 303  # Ben decides
    r = mine.post(f"/secretariat/applications/{scene['app']}/screen/confirm", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "preview is stale" in page
    assert 'id="screening-stage">Eligible<' in page  # the new state
    assert stage_of(review, scene["app"]) == "eligible" and len(decisions(review, scene["app"])) == 1


def test_a_double_click_on_confirm_makes_one_decision(review, scene):
    client, csrf = staff(review)
    r = preview(client, csrf, scene["app"])
    form = confirm_form(r.get_data(as_text=True))
    first = client.post(f"/secretariat/applications/{scene['app']}/screen/confirm", data=form)
    second = client.post(f"/secretariat/applications/{scene['app']}/screen/confirm", data=form)
    assert (first.status_code, second.status_code) == (303, 303)
    assert "Already recorded" in client.get(second.headers["Location"]).get_data(as_text=True)
    assert len(decisions(review, scene["app"])) == 1
    assert publish(review, WINDOW + 1) == 1 and len(screened_events(review)) == 1


def test_two_confirmations_at_the_same_moment_make_one_decision(review, scene):
    """A double click that reaches two web threads at once: the application's row lock orders them
    and the second finds the decision the first made from the same preview."""
    client, csrf = staff(review)
    form = confirm_form(preview(client, csrf, scene["app"]).get_data(as_text=True))
    cookie = client.get_cookie("prize_staff_review").value
    barrier, answers = threading.Barrier(2), []

    def click():
        other = review.app.test_client()
        other.set_cookie("prize_staff_review", cookie)
        barrier.wait()
        answers.append(other.post(f"/secretariat/applications/{scene['app']}/screen/confirm", data=form).status_code)
    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert answers == [303, 303]
    assert len(decisions(review, scene["app"])) == 1


def test_a_new_decision_while_one_is_held_replaces_it_and_only_the_last_is_mailed(review, scene):
    client, csrf = staff(review)
    assert decide(client, csrf, scene["app"]).status_code == 303
    assert decide(client, csrf, scene["app"], eligible="yes", reason="").status_code == 303
    assert [d.status for d in decisions(review, scene["app"])] == ["superseded", "held"]
    [_, held] = decisions(review, scene["app"])
    assert held.previous_stage == "submitted"  # undoing it goes back past both
    assert publish(review, WINDOW + 1) == 1
    assert [e["eligible"] for e in screened_events(review)] == [True]


def test_an_application_withdrawn_while_its_email_is_held_gets_no_screening_email(review, scene):
    client, csrf = staff(review)
    assert decide(client, csrf, scene["app"]).status_code == 303
    review.deliver(make_event("application.withdrawn", {
        "application_id": scene["app"], "reference": f"SSCP-2026-{scene['app'][:6].upper()}", "reason": "",
        "withdrawn_at": datetime.now(timezone.utc).isoformat()}, producer="intake"))
    assert stage_of(review, scene["app"]) == "withdrawn"
    assert publish(review, WINDOW + 1) == 0 and screened_events(review) == []
    assert [d.status for d in decisions(review, scene["app"])] == ["dropped"]


def test_going_back_to_what_the_applicant_was_told_while_a_change_is_held_undoes_the_change(review, scene):
    client, csrf = staff(review)
    assert decide(client, csrf, scene["app"], eligible="yes", reason="").status_code == 303
    assert publish(review, WINDOW + 1) == 1  # told: eligible
    assert decide(client, csrf, scene["app"]).status_code == 303  # not eligible, held
    r = decide(client, csrf, scene["app"], eligible="yes", reason="")  # eligible again before it went
    assert "The decision waiting to be sent is undone" in client.get(r.headers["Location"]).get_data(as_text=True)
    assert [d.status for d in decisions(review, scene["app"])] == ["published", "undone"]
    assert stage_of(review, scene["app"]) == "eligible"
    assert publish(review, 3 * WINDOW) == 0 and [e["eligible"] for e in screened_events(review)] == [True]


# --- the list ---------------------------------------------------------------------------------

def test_the_list_filters_by_state_and_searches_reference_and_title(review, scene):
    client, csrf = staff(review)
    assert decide(client, csrf, scene["app"]).status_code == 303
    reference = f"SSCP-2026-{scene['other'][:6].upper()}"

    def listed(**query) -> list[str]:
        r = client.get("/secretariat/screening", query_string=query)
        assert r.status_code == 200
        return re.findall(r'href="/secretariat/applications/([0-9a-f-]{36})"', r.get_data(as_text=True))
    assert listed() == [scene["other"]]  # awaiting by default
    assert listed(state="pending") == [scene["app"]]
    assert listed(state="ineligible") == [scene["app"]] and listed(state="eligible") == []
    assert listed(state="all") == [scene["app"], scene["other"]]
    assert listed(state="all", q="kiosks") == [scene["other"]] and listed(state="all", q=reference.lower()) == [
        scene["other"]]
    assert listed(state="all", q="%") == [] and listed(state="nonsense") == [scene["other"]]
    publish(review, WINDOW + 1)
    assert listed(state="pending") == []
    dashboard = client.get("/secretariat").get_data(as_text=True)
    assert f'href="/secretariat/applications/{scene["other"]}"' in dashboard and 'value="no"' not in dashboard


def test_the_page_shows_the_application_as_submitted_with_its_documents(review, scene):
    client, _ = staff(review, "observer")
    page = client.get(f"/secretariat/applications/{scene['app']}").get_data(as_text=True)
    assert "Diesel buses foul the harbour air" in page and "Project design" in page and "高雄 Kaohsiung" in page
    link = re.search(r'href="(/secretariat/applications/[^"]+/documents/[^"]+)"', page).group(1)
    r = client.get(link)
    assert r.status_code == 303 and r.headers["Referrer-Policy"] == "no-referrer"
    assert client.get(f"/secretariat/applications/{scene['app']}/documents/{uuid.uuid4()}").status_code == 404


# --- who may ----------------------------------------------------------------------------------

def test_observers_and_the_jury_chair_read_but_cannot_decide(review, scene):
    sec, sec_csrf = staff(review)
    assert decide(sec, sec_csrf, scene["other"]).status_code == 303
    [held] = decisions(review, scene["other"])
    for role in ("observer", "jury_chair"):
        client, csrf = staff(review, role)
        assert client.get("/secretariat/screening").status_code == 200
        assert client.get(f"/secretariat/applications/{scene['app']}").status_code == 200
        for path in (f"/secretariat/applications/{scene['app']}/screen",
                     f"/secretariat/applications/{scene['app']}/screen/confirm",
                     f"/secretariat/applications/{scene['other']}/screening/{held.id}/undo"):
            r = client.post(path, data={"csrf_token": csrf, "eligible": "no", "reason": REASON, "fingerprint": "x"})
            assert r.status_code == 403 and "can read but not" in r.get_data(as_text=True), (role, path)
    assert stage_of(review, scene["app"]) == "submitted"
    assert [d.status for d in decisions(review, scene["other"])] == ["held"]


def test_jurors_applicants_and_strangers_are_refused(review, scene):
    client = review.app.test_client()
    for role in ("juror", "applicant"):
        headers = auth(issue_token(review.secret, role, str(uuid.uuid4())))
        for path in ("/secretariat/screening", f"/secretariat/applications/{scene['app']}"):
            assert client.get(path, headers=headers).status_code == 403, (role, path)
        r = client.post(f"/api/applications/{scene['app']}/screening", headers=headers, json={"eligible": True})
        assert r.status_code == 403
        assert client.get(f"/api/applications/{scene['app']}/screening", headers=headers).status_code == 403
    assert client.get("/secretariat/screening").status_code == 302  # anonymous: to the staff sign-in
    assert stage_of(review, scene["app"]) == "submitted"


def test_unknown_applications_and_decisions_are_404_never_500(review, scene):
    client, csrf = staff(review)
    missing = str(uuid.uuid4())
    assert client.get(f"/secretariat/applications/{missing}").status_code == 404
    assert client.get("/secretariat/applications/not-an-id").status_code == 404
    assert preview(client, csrf, missing).status_code == 404
    r = client.post(f"/secretariat/applications/{missing}/screen/confirm",
                    data={"csrf_token": csrf, "eligible": "no", "reason": REASON, "fingerprint": "0" * 64})
    assert r.status_code == 404
    assert client.post(f"/secretariat/applications/{scene['app']}/screening/{missing}/undo",
                       data={"csrf_token": csrf}).status_code == 404
    sec = auth(issue_token(review.secret, "secretariat", "integrator"))
    api = review.app.test_client()
    assert api.post(f"/api/applications/{scene['app']}/screening/{missing}/undo", headers=sec).status_code == 404
    assert api.get(f"/api/applications/{missing}/screening", headers=sec).status_code == 404
    r = api.post(f"/api/applications/{scene['app']}/screening", headers=sec,
                 json={"eligible": False, "reason": "x" * 2001})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]


# --- the API ----------------------------------------------------------------------------------

def test_the_api_holds_a_decision_for_the_window_unless_send_now(review, scene):
    sec, client = auth(issue_token(review.secret, "secretariat", "integrator")), review.app.test_client()
    r = client.post(f"/api/applications/{scene['app']}/screening", headers=sec,
                    json={"eligible": False, "reason": REASON})
    body = r.get_json()
    assert r.status_code == 200 and body["stage"] == "ineligible" and body["screening"]["status"] == "held"
    assert screened_events(review) == []
    decision_id = body["screening"]["id"]
    r = client.post(f"/api/applications/{scene['app']}/screening/{decision_id}/undo", headers=sec)
    assert r.status_code == 200 and r.get_json()["status"] == "undone" and "integrator" in r.get_json()["undone_by"]
    assert stage_of(review, scene["app"]) == "submitted"
    r = client.post(f"/api/applications/{scene['app']}/screening", headers=sec, json={"eligible": True, "send_now": True})
    assert r.status_code == 200 and r.get_json()["screening"]["status"] == "published"
    assert [e["eligible"] for e in screened_events(review)] == [True]
    r = client.post(f"/api/applications/{scene['app']}/screening", headers=sec, json={"eligible": True})
    assert r.status_code == 200 and r.get_json()["screening"] is None  # the same answer: nothing changes
    r = client.get(f"/api/applications/{scene['app']}/screening", headers=sec)
    assert [d["status"] for d in r.get_json()["decisions"]] == ["undone", "published"]
    later = client.post(f"/api/applications/{scene['app']}/screening/{decision_id}/undo", headers=sec)
    assert later.status_code == 200 and later.get_json()["status"] == "undone"  # undoing again: the same answer


def test_a_window_of_zero_publishes_at_confirmation(request, tmp_path):
    stack = _stack(request, tmp_path, window=0)
    try:
        review = Review(stack.apps["review"])
        app_id = submit(review, review.open_call())
        client, csrf = staff(review)
        r = preview(client, csrf, app_id)
        assert "will be emailed in Korean at once: there is no undo" in r.get_data(as_text=True)
        assert decide(client, csrf, app_id).status_code == 303
        assert [e["reason"] for e in screened_events(review)] == [REASON]
    finally:
        stack.stop()


# --- two workers ------------------------------------------------------------------------------

def test_two_job_runs_at_once_publish_each_decision_once(request, tmp_path):
    """On PostgreSQL, two workers' runs of the job at the same moment: SKIP LOCKED and the guarded
    claim give each held decision one event."""
    stack = _stack(request, tmp_path, kind="real")
    try:
        review = Review(stack.apps["review"])
        call_id = review.open_call()
        sec, client = auth(issue_token(review.secret, "secretariat", "integrator")), review.app.test_client()
        ids = [submit(review, call_id, f"Project {n}") for n in range(24)]
        for app_id in ids:
            assert client.post(f"/api/applications/{app_id}/screening", headers=sec,
                               json={"eligible": True}).status_code == 200
        later = datetime.now(timezone.utc) + timedelta(seconds=WINDOW + 1)
        barrier, counts = threading.Barrier(2), []

        def run():
            barrier.wait()
            counts.append(jobs.publish_screenings(review.db, now=later))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sum(counts) == 24, counts
        events = screened_events(review)
        assert sorted(e["application_id"] for e in events) == sorted(ids)
        with review.db.session() as s:
            assert s.scalar(select(func.count()).select_from(ScreeningDecision)
                            .where(ScreeningDecision.status == "published")) == 24
    finally:
        stack.stop()
