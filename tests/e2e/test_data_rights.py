"""An applicant's rights of access and erasure across the three services (issue 15), through the
Flask clients with the real workers and bus, on the embedded stack and on PostgreSQL with
RabbitMQ.

A city registers (with a second contact), writes a draft it never submits and submits an
application whose answer names its contact person; another city submits too. The edition runs in
review (screening, a juror scores through the jury API, the finalist round is closed and released,
the city wins and the award is released); the city answers the ceremony invitation with a
delegate, a substitute and visa details; the ceremony takes place. The city downloads its data
(data.json and its documents), asks for erasure on its My data page, and the secretariat reads what
goes and approves it. Then every text and JSON column of every table of every service's database is
searched: the people's names, their addresses and the passport details are nowhere; the other city
is still everywhere; the scores and the decisions stay. The event again changes nothing."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select, text, update

from services.intake.models import Ceremony, ErasureRequest, StatusUpdate
from services.intake.models import outbox as intake_outbox
from services.notify.handlers import HANDLERS as NOTIFY_HANDLERS
from services.notify.models import Recipient
from services.notify.models import inbox as notify_inbox
from services.notify.models import outbox as notify_outbox
from services.review.handlers import HANDLERS as REVIEW_HANDLERS
from services.review.models import Application as ReviewApplication
from services.review.models import Assignment
from services.review.models import inbox as review_inbox
from services.review.models import outbox as review_outbox
from services.review.ops import history
from shared.auth import issue_token
from shared.config import load_settings
from shared.events import parse_message
from shared.inbox import InboxDispatcher, bind
from tests.conftest import env_for
from tests.intake.test_edition_pages import _browser as staff_browser
from tests.intake.test_my_data import _browser, _csrf, _marker, _zip, storage_keys
from tests.support.applicants import NoSender
from tests.support.stack import (KAOHSIUNG, PDF, Stack, auth, complete_new_draft, open_call, register,
                                 start_draft, submit_application, wait_until)

pytestmark = pytest.mark.e2e

CONTACT = dict(KAOHSIUNG, secondary_name="Chen Wei-ting", secondary_email="chen.weiting@kcg.example.tw")
DELEGATE = {"name": "Wang Hsiao-ming", "role": "Deputy mayor", "email": "wang.hm@kcg.example.tw"}
SUBSTITUTE = {"name": "Huang Shu-fen", "role": "Director", "email": "huang.sf@kcg.example.tw"}
PASSPORT = "passport 318476259, Republic of China (Taiwan)"
# what must be nowhere once the city is erased
EMAILS = [CONTACT["contact_email"], CONTACT["secondary_email"], DELEGATE["email"], SUBSTITUTE["email"]]
GONE = [CONTACT["contact_name"], CONTACT["secondary_name"], DELEGATE["name"], SUBSTITUTE["name"], *EMAILS,
        *(e.split("@")[0] for e in EMAILS),  # an address written otherwise (the file mailer's "mei.lin_kcg...")
        "318476259", "wheelchair"]
OTHER = {"organisation": "Prefeitura de Guarulhos", "country": "BR", "city": "Guarulhos",
         "contact_name": "Ana Beatriz Souza", "contact_email": "ana.souza@guarulhos.example.br"}


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param))).start_workers()
    yield s
    s.stop()


def _db(stack, service: str):
    return stack.apps[service].extensions["prize"]["db"]


def _ok(r, status: int = 200):
    assert r.status_code == status, r.get_data(as_text=True)[:1000]
    return r.get_json()


def _count(stack, service: str, model, *where) -> int:
    with _db(stack, service).session() as s:
        return len(s.scalars(select(model).where(*where)).all())


def _apply(stack) -> dict:
    intake = stack.clients["intake"]
    sec = stack.secretariat_token()
    call = open_call(intake, sec)
    wait_until(lambda: stack.clients["review"].get("/api/calls", headers=auth(sec)).get_json(), timeout=30)
    _, token = register(intake, **{k: v for k, v in CONTACT.items()})
    draft = complete_new_draft(intake, token, call["id"], title="Harbour hydrogen buses")
    answer = f"Led by {CONTACT['contact_name']} ({CONTACT['contact_email']}), with residents of every district."
    key = next(iter(draft["answers"]))
    _ok(intake.patch(f"/api/applications/{draft['id']}", json={"answers": {key: answer}}, headers=auth(token)))
    _ok(intake.post(f"/api/applications/{draft['id']}/submit", headers=auth(token)))
    never = start_draft(intake, token, call["id"], category="human_centricity", title="Tablets for elders")
    _, other_token = register(intake, **OTHER)
    other = submit_application(intake, other_token, call["id"], title="Flood sensors for Guarulhos")
    apps = {"city": draft["id"], "other": other["id"]}
    wait_until(lambda: _count(stack, "review", ReviewApplication) == 2, timeout=30)
    return {"call": call, "token": token, "apps": apps, "draft": never["id"], "reference": draft["reference"]}


def _run_the_edition(stack, world: dict) -> None:
    """Screening, a juror's scores, the finalist round closed and released, the award released."""
    review, sec = stack.clients["review"], auth(stack.secretariat_token())
    call_id, apps = world["call"]["id"], world["apps"]
    for app_id in apps.values():
        _ok(review.post(f"/api/applications/{app_id}/screening", headers=sec, json={"eligible": True, "send_now": True}))
    juror = _ok(review.post("/api/jurors", headers=sec, json={
        "name": "Jonas Weber", "email": "jonas@tum.example.de", "country": "DE", "organisation": "TU München",
        "expertise": ["tech_innovacity"], "languages": ["en"], "language": "en"}), 201)
    rnd = _ok(review.post("/api/rounds", headers=sec, json={
        "call_id": call_id, "kind": "finalist", "jurors_per_application": 1, "advance_per_category": 2,
        "min_reviews": 1}), 201)
    _ok(review.post(f"/api/rounds/{rnd['id']}/assign", headers=sec))
    juror_auth = auth(issue_token(stack.settings.secret_key, "juror", juror["id"]))
    listing = _ok(review.get("/api/jury/assignments", headers=juror_auth))
    for assignment in listing["rounds"][0]["assignments"]:
        state = _ok(review.get(f"/api/jury/assignments/{assignment['id']}", headers=juror_auth))
        read = _ok(review.get(f"/api/jury/applications/{assignment['application_id']}", headers=juror_auth))
        keys = [c["key"] for c in read["criteria"]]
        _ok(review.patch(f"/api/jury/assignments/{assignment['id']}", headers=juror_auth, json={
            "revision": state["revision"], "scores": {k: 8 for k in keys},
            "comments": {k: "A model for harbour cities." for k in keys}}))
        _ok(review.post(f"/api/jury/assignments/{assignment['id']}/submit", headers=juror_auth))
    _ok(review.post(f"/api/rounds/{rnd['id']}/close", headers=sec, json={}))
    _ok(review.post(f"/api/calls/{call_id}/release", headers=sec, json={"round": "finalist"}))
    _ok(review.post("/api/rounds", headers=sec, json={"call_id": call_id, "kind": "award"}), 201)
    _ok(review.post(f"/api/applications/{apps['city']}/award", headers=sec,
                    json={"outcome": "winner", "award": "Tech-InnovaCity Grand Prize"}))
    _ok(review.post(f"/api/applications/{apps['other']}/award", headers=sec, json={"outcome": "not_awarded"}))
    _ok(review.post(f"/api/calls/{call_id}/release", headers=sec, json={"round": "award"}))
    wait_until(lambda: _count(stack, "intake", StatusUpdate, StatusUpdate.stage == "released:award") == 2, timeout=30)


def _ceremony(stack, world: dict) -> None:
    """The ceremony is set, the city answers with its delegation and visa details; then it takes place."""
    intake, sec = stack.clients["intake"], auth(stack.secretariat_token())
    soon = datetime.now(timezone.utc) + timedelta(days=30)
    _ok(intake.put(f"/api/calls/{world['call']['id']}/ceremony", headers=sec, json={
        "starts_at": soon.isoformat(), "rsvp_by": (soon - timedelta(days=10)).isoformat(), "venue": "COEX, Seoul",
        "address": "513 Yeongdong-daero, Gangnam-gu"}))
    path = f"/api/applications/{world['apps']['city']}/ceremony"
    wait_until(lambda: intake.get(path, headers=auth(world["token"])).status_code == 200, timeout=30)
    _ok(intake.put(path, headers=auth(world["token"]), json={
        "attending": True, "delegates": [DELEGATE], "substitute": SUBSTITUTE, "visa_letter": True, "privacy_consent": 1,
        "visa_details": f"{DELEGATE['name']}, {PASSPORT}", "accessibility": "Step-free access for a wheelchair"}))
    with _db(stack, "intake").session() as s, s.begin():  # it took place yesterday
        past = datetime.now(timezone.utc) - timedelta(days=1)
        s.execute(update(Ceremony).values(starts_at=past, rsvp_by=past - timedelta(days=5)))


def _everything(stack) -> list[tuple[str, str, str, str]]:
    """(service, table, column, text) for every text and JSON value of every table, JSON also
    with its escapes read (an event body stores 高雄 as \\u9ad8\\u96c4)."""
    found = []
    for service in ("intake", "review", "notify"):
        engine = _db(stack, service).engine
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                result = conn.execute(text(f'SELECT * FROM "{table}"'))
                for row in result.mappings():
                    for column, value in row.items():
                        if isinstance(value, (dict, list)):
                            value = json.dumps(value, ensure_ascii=False)
                        if not isinstance(value, str):
                            continue
                        found.append((service, table, column, value))
                        if value[:1] in "{[":
                            try:
                                found.append((service, table, column, json.dumps(json.loads(value), ensure_ascii=False)))
                            except ValueError:
                                pass
    return found


def _where(cells, needle: str) -> list[tuple[str, str, str]]:
    return sorted({(svc, table, column) for svc, table, column, value in cells if needle.lower() in value.lower()})


def _erasure_handled(stack, event_id: str) -> bool:
    for service, inbox in (("review", review_inbox), ("notify", notify_inbox)):
        with _db(stack, service).engine.connect() as conn:
            if conn.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id)).first() is None:
                return False
    return True


def test_an_applicant_downloads_their_data_is_erased_everywhere_and_the_decisions_stay(stack):
    world = _apply(stack)
    _run_the_edition(stack, world)
    _ceremony(stack, world)
    city = world["apps"]["city"]
    before = _everything(stack)
    for needle in GONE + [OTHER["contact_email"]]:
        assert _where(before, needle), f"the test seeded {needle!r} nowhere"
    assert ("review", "applications", "contact_email") in _where(before, CONTACT["contact_email"])
    assert ("notify", "deliveries", "recipient") in _where(before, CONTACT["contact_email"])

    # access: data.json and the documents, from the portal
    browser = _browser(stack, CONTACT["contact_email"])
    data, files = _zip(browser.get("/portal/my-data/export.zip"))
    mine = {a["id"]: a for a in data["applications"]}
    assert set(mine) == {city, world["draft"]}
    assert [s["stage"] for s in mine[city]["status_history"]][-1] == "winner"
    assert mine[city]["ceremony"]["answer"]["visa_details"].endswith(PASSPORT)
    assert [files[d["file_in_this_archive"]] for d in mine[city]["documents"]] == [PDF]

    # erasure: asked on the page, read and approved by the secretariat
    html = browser.get("/portal/my-data").get_data(as_text=True)
    assert _ok(browser.post("/portal/my-data/erasure", data={"csrf_token": _csrf(html), "confirm": "yes"}), 303) is None
    with _db(stack, "intake").session() as s:
        request_id = s.scalar(select(ErasureRequest.id))
    secretariat = staff_browser(stack, "secretariat")
    page = secretariat.get(f"/secretariat/erasure/{request_id}").get_data(as_text=True)
    assert CONTACT["secondary_email"] in page and DELEGATE["email"] in page  # notify's addresses to clear
    form = {"csrf_token": secretariat.csrf, "marker": _marker(page)}
    assert secretariat.post(f"/secretariat/erasure/{request_id}/approve", data=form).status_code == 303
    with _db(stack, "intake").session() as s:
        event_id = s.get(ErasureRequest, request_id).event_id
    assert wait_until(lambda: _erasure_handled(stack, event_id), timeout=30)

    after = _everything(stack)
    assert {needle: _where(after, needle) for needle in GONE} == {needle: [] for needle in GONE}
    assert _where(after, OTHER["contact_email"]) and _where(after, OTHER["contact_name"])  # the other city stays
    assert _where(after, KAOHSIUNG["organisation"])  # a city government is no person: kept for statistics
    assert storage_keys(stack, city) == [] and storage_keys(stack, world["draft"]) == []
    _decisions_stay(stack, city)

    # the event again (a redelivery, or a replay) and a second approval change nothing
    with _db(stack, "intake").engine.connect() as conn:
        body = conn.execute(select(intake_outbox.c.body).where(intake_outbox.c.event_id == event_id)).scalar_one()
    _again(stack, json.loads(body))
    assert secretariat.post(f"/secretariat/erasure/{request_id}/approve", data=form).status_code == 303
    assert [c for c in _everything(stack) if c[1] != "inbox"] == [c for c in after if c[1] != "inbox"]


def _decisions_stay(stack, city: str) -> None:
    with _db(stack, "review").session() as s:
        row = s.get(ReviewApplication, city)
        assert (row.stage, row.outcome, row.award) == ("finalist", "winner", "Tech-InnovaCity Grand Prize")
        assert row.erased_at is not None and row.organisation == KAOHSIUNG["organisation"]
        scores = s.scalars(select(Assignment.scores).where(Assignment.application_id == city)).all()
        assert scores and all(v == 8 for score in scores for v in score.values())
        assert history.verify(s) == []  # the hash chain is whole
        assert [e.action for e in history.entries(s, city)][-1] == "applicant.erased"
    with _db(stack, "notify").session() as s:
        recipient = s.get(Recipient, city)
        assert (recipient.award_outcome, recipient.contact_email) == ("winner", None)
    stages = _count(stack, "intake", StatusUpdate, StatusUpdate.application_id == city)
    assert stages >= 4  # eligible, finalist, winner and the releases


def _again(stack, message: dict) -> None:
    for service, handlers, inbox, outbox in (("review", bind(REVIEW_HANDLERS), review_inbox, review_outbox),
                                             ("notify", bind(NOTIFY_HANDLERS, sender=NoSender()), notify_inbox,
                                              notify_outbox)):
        dispatch = InboxDispatcher(_db(stack, service), inbox, outbox, service, handlers)
        dispatch(parse_message(message))
        assert dispatch.duplicates == 1
        # handled as if new (a replay past the inbox): nothing is left to erase, nothing breaks
        fresh = dict(message, id="00000000-0000-4000-8000-" + re.sub(r"\D", "", message["id"])[-12:].rjust(12, "0"))
        dispatch(parse_message(fresh))
        assert dispatch.duplicates == 1
