"""A look before each irreversible click (services/review/ops/previews.py, pages/rounds.py): the
assignment preview saves nothing and saving persists exactly it; the closing preview lists the
ties and the applications short of reviews with what each applicant will be told; the release
preview counts the emails notify then queues, per template and language, and asks for the
edition's year. A stale fingerprint is refused (409), a second click changes nothing, observers
and jury chairs read the previews but cannot confirm, jurors and applicants are refused, and the
API's previews are the pages' facts."""
from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from services.notify.models import Delivery
from services.review.models import Application, Assignment, Round, outbox
from services.review.ops import desk, desk_queries
from shared.auth import issue_token
from shared.events import make_event
from shared.staff import store
from tests.review.test_review_pages import Review, csrf_of
from tests.support.applicants import dispatch_to_notify
from tests.support.stack import Stack

CALL_YEAR = 2026


@pytest.fixture
def stack(embedded_settings):
    s = Stack(embedded_settings, services=("review", "notify"))
    yield s
    s.stop()


@pytest.fixture
def review(stack):
    return Review(stack.apps["review"])


def submit(review: Review, stack, call_id: str, title: str, country: str, email: str, language: str = "en",
           organisation: str = "City Hall") -> str:
    """application.submitted, as intake publishes it, handed to review and to notify."""
    application_id = str(uuid.uuid4())
    event = make_event("application.submitted", {
        "application_id": application_id, "reference": f"SSCP-2026-{application_id[:6].upper()}",
        "call_id": call_id, "year": CALL_YEAR, "category": "tech_innovacity", "title": title,
        "summary": "A project for residents.", "submitted_at": datetime.now(timezone.utc).isoformat(),
        "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": organisation,
                      "country": country, "city": "Somewhere", "contact_name": "Contact Person",
                      "contact_email": email, "language": language},
        "answers": {"problem": "Evidence.", "design": "Design."}, "project": {}, "documents": []},
        producer="intake")
    review.deliver(event)
    dispatch_to_notify(stack, event.to_message())
    return application_id


def staff_browser(app, role: str):
    """A browser with a staff session of ``role`` on review (as intake's hand-off leaves it)."""
    from services.review.models import staff_tables
    staff_id = str(uuid.uuid4())
    member = {"staff_id": staff_id, "email": f"{role}-{staff_id[:8]}@wego.example", "name": role.title(),
              "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
    now = datetime.now(timezone.utc)
    with app.extensions["prize"]["db"].session() as s, s.begin():
        store.apply_member(s, staff_tables, member, now)
        secret = store.open_session(s, staff_tables, member["staff_id"], "family-" + role, now)
    client = app.test_client()
    client.set_cookie("prize_staff_review", secret)
    return client


def form_of(page: str, form_id: str | None = None) -> dict:
    """The hidden fields of the page's confirmation form."""
    if form_id:
        page = page[page.index(f'id="{form_id}"'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))


def count(review: Review, model, *where) -> int:
    with review.db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def events(review: Review, type_: str) -> list[dict]:
    with review.db.engine.connect() as conn:
        return [json.loads(b) for b in conn.execute(select(outbox.c.body).where(outbox.c.type == type_)
                                                     .order_by(outbox.c.seq)).scalars()]


def sec_api(review: Review) -> dict:
    return {"Authorization": "Bearer " + issue_token(review.secret, "secretariat", "ops")}


def score_all(review: Review, juror_id: str, scores: dict[str, float]) -> None:
    """The juror scores each of their assignments (by title) and submits."""
    with review.db.session() as s:
        items = desk_queries.my_assignments(s, juror_id)["rounds"][0]["assignments"]
    for item in items:
        value = scores.get(item["title"])
        if value is None:
            continue
        with review.db.session() as s:
            state = desk.save_scores(s, juror_id, item["id"], {"problem": value, "design": value},
                                     {"problem": "ok", "design": "ok"}, item["revision"])
            desk.submit_scores(s, juror_id, item["id"], state["revision"])


# --- assignment ------------------------------------------------------------------------------

@pytest.fixture
def to_assign(review, stack):
    call_id = review.open_call(CALL_YEAR)
    apps = [submit(review, stack, call_id, "Harbour buses", "TW", "a@kcg.example.tw"),
            submit(review, stack, call_id, "Street lights", "PL", "b@lublin.example.pl"),
            submit(review, stack, call_id, "Elder tablets", "AU", "c@ryde.example.au")]
    jurors = [review.invite("Ana Souza", "ana@guarulhos.example.br", "BR"),
              review.invite("Wen Chen", "wen@taipei.example.tw", "TW"),
              review.invite("Min-ji Kim", "minji@seoul.example.kr", "KR")]
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=2)
    return {"call": call_id, "apps": apps, "jurors": jurors, "round": round_id}


def test_assignment_preview_saves_nothing_and_saving_persists_exactly_it_once(review, to_assign):
    office = staff_browser(review.app, "secretariat")
    r = office.get(f"/secretariat/rounds/{to_assign['round']}/assign")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "Save this assignment" in page
    assert "Wen Chen" in page and "country" in page  # the conflict avoided: Wen (TW) never on the TW project
    assert "frame-src" not in r.headers["Content-Security-Policy"]  # only the release page frames notify
    assert count(review, Assignment) == 0 and events(review, "review.assigned") == []
    api = review.app.test_client().get(f"/api/rounds/{to_assign['round']}/assignment-preview",
                                       headers=sec_api(review)).get_json()
    assert api["fingerprint"] == form_of(page)["fingerprint"]  # the API's preview is the page's
    assert to_assign["jurors"][1] not in api["pairs"][to_assign["apps"][0]]
    assert {row["juror_id"]: row["load"] for row in api["loads"]} == {j: 2 for j in to_assign["jurors"]}
    assert [c["reasons"] for c in api["conflicts"]] == [["country"]]

    fields = form_of(page)
    first = office.post(f"/secretariat/rounds/{to_assign['round']}/assign", data=fields)
    second = office.post(f"/secretariat/rounds/{to_assign['round']}/assign", data=fields)  # a double click
    assert (first.status_code, second.status_code) == (303, 303)
    with review.db.session() as s:
        saved = Counter()
        pairs: dict[str, list[str]] = {}
        for row in s.scalars(select(Assignment)):
            saved[row.status] += 1
            pairs.setdefault(row.application_id, []).append(row.juror_id)
    assert saved == {"pending": 6}
    assert {a: sorted(j) for a, j in pairs.items()} == api["pairs"]  # exactly what was previewed
    assert len(events(review, "review.assigned")) == 3  # one digest per juror, once
    shown = office.get(second.headers["Location"]).get_data(as_text=True)
    assert "This assignment was saved already: nothing changed." in shown


def test_assignment_saved_from_a_stale_preview_is_refused_and_the_new_one_shown(review, to_assign):
    office = staff_browser(review.app, "secretariat")
    fields = form_of(office.get(f"/secretariat/rounds/{to_assign['round']}/assign").get_data(as_text=True))
    review.invite("Olu Ade", "olu@abuja.example.ng", "NG")  # a juror more since the preview
    r = office.post(f"/secretariat/rounds/{to_assign['round']}/assign", data=fields)
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and "The preview is stale" in page and "Olu Ade" in page
    assert form_of(page)["fingerprint"] != fields["fingerprint"]
    assert count(review, Assignment) == 0
    api = review.app.test_client()
    r = api.post(f"/api/rounds/{to_assign['round']}/assign", headers=sec_api(review),
                 json={"fingerprint": fields["fingerprint"]})
    assert r.status_code == 409 and "stale" in r.get_json()["message"] and count(review, Assignment) == 0
    # without a fingerprint the API assigns as it always did
    assert api.post(f"/api/rounds/{to_assign['round']}/assign", headers=sec_api(review)).status_code == 200
    assert count(review, Assignment) == 6


def test_an_assignment_that_cannot_be_complete_names_the_applications_short_of_jurors(review, stack):
    call_id = review.open_call(CALL_YEAR)
    lonely = submit(review, stack, call_id, "Harbour buses", "BR", "a@rio.example.br")
    review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.invite("Min-ji Kim", "minji@seoul.example.kr", "KR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=2)
    office = staff_browser(review.app, "secretariat")
    page = office.get(f"/secretariat/rounds/{round_id}/assign").get_data(as_text=True)
    assert "No complete assignment exists" in page and "Save this assignment" not in page
    assert review.app.test_client().get(f"/api/rounds/{round_id}/assignment-preview", headers=sec_api(review)) \
        .get_json()["short"][0]["application_id"] == lonely


# --- closing ----------------------------------------------------------------------------------

@pytest.fixture
def tied(review, stack):
    """Two applications tied for one place, a third short of reviews; Korean and English applicants."""
    call_id = review.open_call(CALL_YEAR)
    apps = {"Hydrogen buses": submit(review, stack, call_id, "Hydrogen buses", "AU", "a@ryde.example.au", "ko"),
            "Street lights": submit(review, stack, call_id, "Street lights", "PL", "b@lublin.example.pl"),
            "Elder tablets": submit(review, stack, call_id, "Elder tablets", "TW", "c@kcg.example.tw", "ko")}
    juror = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    review.assign(round_id)
    score_all(review, juror, {"Hydrogen buses": 7, "Street lights": 7})
    return {"call": call_id, "apps": apps, "juror": juror, "round": round_id}


def test_close_preview_lists_ties_and_short_of_reviews_and_what_each_applicant_is_told(review, tied):
    office = staff_browser(review.app, "secretariat")
    r = office.get(f"/secretariat/rounds/{tied['round']}/close")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    ties = page[page.index('id="ties-tech_innovacity"'):page.index('id="short-tech_innovacity"')]
    assert "Hydrogen buses" in ties and "Street lights" in ties and "Elder tablets" not in ties
    assert "Elder tablets" in page[page.index('id="short-tech_innovacity"'):page.index("</table>", page.index(
        'id="short-tech_innovacity"'))]
    assert "as you decide: Finalist notice or Not advanced" in page
    api = review.app.test_client().get(f"/api/rounds/{tied['round']}/close-preview", headers=sec_api(review)).get_json()
    assert api["fingerprint"] == form_of(page, "confirm-close")["fingerprint"]
    assert sorted(api["needs_decision"]) == sorted(tied["apps"].values())

    fields = form_of(page, "confirm-close")
    hydrogen, lights, tablets = (tied["apps"][t] for t in ("Hydrogen buses", "Street lights", "Elder tablets"))
    # one tie left undecided: 422 beside that field, the choices made kept, nothing closed
    r = office.post(f"/secretariat/rounds/{tied['round']}/close",
                    data={**fields, f"decision-{hydrogen}": "advance", f"decision-{tablets}": "eliminate"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="decision-{lights}-error"' in page
    assert re.search(rf'name="decision-{hydrogen}" value="advance" checked', page)
    assert count(review, Round, Round.status == "closed") == 0
    r = review.app.test_client().post(f"/api/rounds/{tied['round']}/close", headers=sec_api(review),
                                      json={"fingerprint": fields["fingerprint"], "decisions": {hydrogen: "advance"}})
    assert r.status_code == 422 and set(r.get_json()["errors"]["json"]["decisions"]) == {lights, tablets}
    decided = {**fields, f"decision-{hydrogen}": "advance", f"decision-{lights}": "eliminate",
               f"decision-{tablets}": "eliminate"}
    first = office.post(f"/secretariat/rounds/{tied['round']}/close", data=decided)
    second = office.post(f"/secretariat/rounds/{tied['round']}/close", data=decided)  # a double click
    assert (first.status_code, second.status_code) == (303, 303)
    assert "This round was closed already" in office.get(second.headers["Location"]).get_data(as_text=True)
    assert [e["data"]["application_id"] for e in events(review, "application.advanced")] == [hydrogen]
    assert len(events(review, "application.eliminated")) == 2
    with review.db.session() as s:
        assert s.get(Application, hydrogen).stage == "finalist" and s.get(Application, lights).stage == "not_advanced"


def test_close_from_a_stale_preview_is_refused(review, tied):
    office = staff_browser(review.app, "secretariat")
    fields = form_of(office.get(f"/secretariat/rounds/{tied['round']}/close").get_data(as_text=True), "confirm-close")
    score_all(review, tied["juror"], {"Elder tablets": 9})  # a review arrives after the preview
    decisions = {f"decision-{a}": "advance" for a in tied["apps"].values()}
    r = office.post(f"/secretariat/rounds/{tied['round']}/close", data={**fields, **decisions})
    assert r.status_code == 409 and "The preview is stale" in r.get_data(as_text=True)
    assert count(review, Round, Round.status == "closed") == 0
    r = review.app.test_client().post(f"/api/rounds/{tied['round']}/close", headers=sec_api(review),
                                      json={"fingerprint": fields["fingerprint"]})
    assert r.status_code == 409 and "stale" in r.get_json()["message"]


# --- release ----------------------------------------------------------------------------------

def _close(review, tied) -> None:
    hydrogen, lights, tablets = (tied["apps"][t] for t in ("Hydrogen buses", "Street lights", "Elder tablets"))
    r = review.app.test_client().post(f"/api/rounds/{tied['round']}/close", headers=sec_api(review), json={
        "decisions": {hydrogen: "advance", lights: "eliminate", tablets: "eliminate"}})
    assert r.status_code == 200, r.get_json()


def test_release_preview_counts_the_emails_notify_then_queues_and_asks_for_the_year(review, stack, tied):
    _close(review, tied)
    for type_ in ("application.advanced", "application.eliminated"):
        for e in events(review, type_):
            dispatch_to_notify(stack, e)
    office = staff_browser(review.app, "secretariat")
    r = office.get(f"/secretariat/calls/{tied['call']}/release?kind=finalist")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and ">3 email(s)<" in page
    notify_url = stack.settings.notify_public_url
    assert f"frame-src {notify_url}" in r.headers["Content-Security-Policy"]
    assert page.count(f'<iframe class="email" src="{notify_url}/preview/') == 3  # one per template and language
    preview = review.app.test_client().get(f"/api/calls/{tied['call']}/release-preview?round=finalist",
                                           headers=sec_api(review)).get_json()
    groups = {(g["template"], g["language"]): g["count"] for g in preview["groups"]}
    assert groups == {("finalist_notice", "ko"): 1, ("not_advanced", "en"): 1, ("not_advanced", "ko"): 1}
    sample = page.split(f'<iframe class="email" src="{notify_url}')[1].split('"')[0]
    shown = stack.clients["notify"].get(sample)  # the browser fetches it from notify
    assert shown.status_code == 200 and "SSCP-2026-" in shown.get_data(as_text=True)

    fields = form_of(page, "confirm-release")
    r = office.post(f"/secretariat/calls/{tied['call']}/release", data={**fields, "year": "2025"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="year-error"' in page and 'value="2025"' in page
    assert events(review, "results.released") == []
    first = office.post(f"/secretariat/calls/{tied['call']}/release", data={**fields, "year": str(CALL_YEAR)})
    second = office.post(f"/secretariat/calls/{tied['call']}/release", data={**fields, "year": str(CALL_YEAR)})
    assert (first.status_code, second.status_code) == (303, 303)
    assert "Already released: nothing was sent again." in office.get(second.headers["Location"]).get_data(as_text=True)
    released = events(review, "results.released")
    assert len(released) == 3  # one per decided application, once
    for e in released:
        dispatch_to_notify(stack, e)
    with stack.apps["notify"].extensions["prize"]["db"].session() as s:
        sent = Counter((d.template, d.language) for d in s.scalars(select(Delivery)
                                                                    .where(Delivery.template != "submission_ack")))
    assert sent == groups  # what the preview counted is what notify queued


def test_release_from_a_stale_preview_is_refused(review, tied):
    _close(review, tied)
    office = staff_browser(review.app, "secretariat")
    fields = form_of(office.get(f"/secretariat/calls/{tied['call']}/release?kind=finalist").get_data(as_text=True),
                     "confirm-release")
    with review.db.session() as s, s.begin():  # an application withdrawn after the preview
        s.get(Application, tied["apps"]["Street lights"]).stage = "withdrawn"
    r = office.post(f"/secretariat/calls/{tied['call']}/release", data={**fields, "year": str(CALL_YEAR)})
    assert r.status_code == 409 and "The preview is stale" in r.get_data(as_text=True)
    r = review.app.test_client().post(f"/api/calls/{tied['call']}/release", headers=sec_api(review),
                                      json={"round": "finalist", "fingerprint": fields["fingerprint"]})
    assert r.status_code == 409 and events(review, "results.released") == []


# --- who may look, who may confirm --------------------------------------------------------------

def test_observers_and_jury_chairs_read_the_previews_but_cannot_confirm(review, tied):
    office = staff_browser(review.app, "secretariat")
    fields = form_of(office.get(f"/secretariat/rounds/{tied['round']}/close").get_data(as_text=True), "confirm-close")
    decisions = {f"decision-{a}": "advance" for a in tied["apps"].values()}
    for role in ("observer", "jury_chair"):
        browser = staff_browser(review.app, role)
        for path in (f"/secretariat/rounds/{tied['round']}/assign", f"/secretariat/rounds/{tied['round']}/close"):
            assert browser.get(path).status_code == 200, (role, path)
        token = csrf_of(browser.get(f"/secretariat/rounds/{tied['round']}/close").get_data(as_text=True))
        for path, data in ((f"/secretariat/rounds/{tied['round']}/close", {**fields, **decisions}),
                           (f"/secretariat/rounds/{tied['round']}/assign", {"fingerprint": "x"}),
                           (f"/secretariat/calls/{tied['call']}/release", {"kind": "finalist", "fingerprint": "x",
                                                                           "year": str(CALL_YEAR)})):
            r = browser.post(path, data={**data, "csrf_token": token})
            assert r.status_code == 403 and "can read but not" in r.get_data(as_text=True), (role, path)
    assert count(review, Round, Round.status == "closed") == 0
    _close(review, tied)
    assert staff_browser(review.app, "observer").get(
        f"/secretariat/calls/{tied['call']}/release?kind=finalist").status_code == 200


def test_jurors_and_applicants_are_refused_the_previews(review, tied):
    juror = review.juror_browser(tied["juror"])
    for path in (f"/secretariat/rounds/{tied['round']}/assign", f"/secretariat/rounds/{tied['round']}/close",
                 f"/secretariat/calls/{tied['call']}/release?kind=finalist"):
        assert juror.get(path).status_code == 403, path
    applicant = {"Authorization": "Bearer " + issue_token(review.secret, "applicant", str(uuid.uuid4()))}
    juror_token = {"Authorization": "Bearer " + issue_token(review.secret, "juror", tied["juror"])}
    client = review.app.test_client()
    for path in (f"/api/rounds/{tied['round']}/assignment-preview", f"/api/rounds/{tied['round']}/close-preview",
                 f"/api/calls/{tied['call']}/release-preview?round=finalist"):
        for headers in (applicant, juror_token):
            assert client.get(path, headers=headers).status_code == 403, path
        assert client.get(path).status_code == 401


def test_confirming_without_a_preview_shows_the_preview(review, tied):
    office = staff_browser(review.app, "secretariat")
    token = csrf_of(office.get(f"/secretariat/rounds/{tied['round']}/close").get_data(as_text=True))
    r = office.post(f"/secretariat/rounds/{tied['round']}/close", data={"csrf_token": token})
    assert r.status_code == 422 and 'id="confirm-close"' in r.get_data(as_text=True)
    assert count(review, Round, Round.status == "closed") == 0
    assert office.get("/secretariat/rounds/0f0f0f0f-0000-4000-8000-000000000000/close").status_code == 404


# --- a double click that really is at the same moment -------------------------------------------

@pytest.fixture(params=["embedded", "real"])
def any_stack(request, tmp_path):
    from shared.config import load_settings
    from tests.conftest import env_for
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("review", "notify"))
    yield s
    s.stop()


def test_two_confirmations_at_the_same_moment_have_one_effect(any_stack):
    from tests.support.race import in_threads
    import threading
    review = Review(any_stack.apps["review"])
    call_id = review.open_call(CALL_YEAR)
    first = submit(review, any_stack, call_id, "Hydrogen buses", "AU", "a@ryde.example.au")
    submit(review, any_stack, call_id, "Street lights", "PL", "b@lublin.example.pl", "ko")
    juror = review.invite("Ana Souza", "ana@guarulhos.example.br", "BR")
    review.screen_all(call_id)
    round_id = review.open_round(call_id, jurors_per_application=1, advance_per_category=1, min_reviews=1)
    browsers = [staff_browser(review.app, "secretariat") for _ in range(2)]

    def twice(path: str, preview_path: str, form_id: str | None = None, **extra) -> list[int]:
        fields = [form_of(b.get(preview_path).get_data(as_text=True), form_id) for b in browsers]
        assert fields[0]["fingerprint"] == fields[1]["fingerprint"]
        clicks = iter(zip(browsers, fields))
        lock, barrier = threading.Lock(), threading.Barrier(2, timeout=10)

        def click():
            with lock:
                browser, data = next(clicks)
            return browser.post(path, data={**data, **extra}).status_code
        return in_threads(click, 2, barrier)

    assert twice(f"/secretariat/rounds/{round_id}/assign", f"/secretariat/rounds/{round_id}/assign") == [303, 303]
    assert count(review, Assignment) == 2 and len(events(review, "review.assigned")) == 1
    score_all(review, juror, {"Hydrogen buses": 8, "Street lights": 6})
    assert twice(f"/secretariat/rounds/{round_id}/close", f"/secretariat/rounds/{round_id}/close",
                 "confirm-close") == [303, 303]
    assert [e["data"]["application_id"] for e in events(review, "application.advanced")] == [first]
    assert len(events(review, "application.eliminated")) == 1
    assert twice(f"/secretariat/calls/{call_id}/release", f"/secretariat/calls/{call_id}/release?kind=finalist",
                 "confirm-release", year=str(CALL_YEAR)) == [303, 303]
    assert len(events(review, "results.released")) == 2
