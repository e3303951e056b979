"""Ownership, route by route: an applicant reads and changes only their own applicant record,
applications and documents.

Every route of intake that takes an applicant id, an application id or a document id (taken
from the app's url_map, so a new route fails here until it has a row below) is called

* with another applicant's identity: an API token, a browser session (with that session's own
  CSRF token, so nothing is refused for CSRF instead), and for pages also a bearer token; the
  answer must be exactly the one given, to the same caller, for a random id that does not exist:
  404, with the same body once the ids are set aside;
* with no identity (nothing, a stale cookie, a garbage token): 401 for the API, a redirect to
  sign-in for the pages; again exactly as for an id that does not exist.

Each target is tried in the states that change the owner's answer (a draft and a submitted
application; a checked, a pending and a frozen document), so no state check can run before the
ownership check and give the object away. Nothing the others send may change what intake stores,
and the owner's own request afterwards proves the ids were real.

In-process embedded stack (Flask test clients, SQLite); no workers.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from types import SimpleNamespace
from urllib.parse import urlparse

import pytest
from sqlalchemy import func, select

from services.intake.handlers import HANDLERS, inviter
from services.intake.models import (Applicant, Application, CeremonyInvitation, Document, Rsvp, Session, inbox,
                                    outbox)
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.support.stack import (KAOHSIUNG, PDF, auth, complete_draft, open_call, open_signin_link, register,
                                 signin_events, start_draft, upload_document)

ID_ARGUMENTS = {"applicant_id", "application_id", "document_id"}

# (rule, method) -> what to send besides the identity. "api" routes answer JSON; "page" routes
# are the portal's server-rendered pages (forms posted with the csrf_token field).
API = "api"
PAGE = "page"
ROUTES = {
    ("/api/applicants/<uuid:applicant_id>", "GET"): (API, None),
    ("/api/applicants/<uuid:applicant_id>", "PATCH"): (API, {"organisation": "Hijacked", "language": "ko"}),
    ("/api/applications/<uuid:application_id>", "GET"): (API, None),
    ("/api/applications/<uuid:application_id>", "PATCH"): (API, {"title": "Hijacked", "answers": {"problem": "x"}}),
    ("/api/applications/<uuid:application_id>/documents", "GET"): (API, None),
    ("/api/applications/<uuid:application_id>/documents", "POST"): (API, {
        "kind": "application_form", "filename": "planted.pdf", "content_type": "application/pdf",
        "size": len(PDF)}),
    ("/api/applications/<uuid:application_id>/status", "GET"): (API, None),
    ("/api/applications/<uuid:application_id>/submit", "POST"): (API, None),
    ("/api/applications/<uuid:application_id>/withdraw", "POST"): (API, {"reason": "not mine to withdraw"}),
    ("/api/documents/<uuid:document_id>", "GET"): (API, None),
    ("/api/documents/<uuid:document_id>", "DELETE"): (API, None),
    ("/api/documents/<uuid:document_id>/complete", "POST"): (API, None),
    ("/api/documents/<uuid:document_id>/download", "GET"): (API, None),
    ("/portal/applications/<application_id>", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>", "POST"): (PAGE, {
        "title": "Hijacked", "summary": "Hijacked", "answer-problem": "Hijacked", "next": "preview"}),
    ("/portal/applications/<application_id>/preview", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>/status", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>/submit", "POST"): (PAGE, None),
    ("/portal/applications/<application_id>/submission.pdf", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>/withdraw", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>/withdraw", "POST"): (PAGE, {"reason": "not mine to withdraw"}),
    ("/portal/documents/<document_id>", "GET"): (PAGE, None),
    ("/portal/documents/<document_id>/delete", "POST"): (PAGE, None),
    ("/api/applications/<uuid:application_id>/ceremony", "GET"): (API, None),
    ("/api/applications/<uuid:application_id>/ceremony", "PUT"): (API, {"attending": False}),
    ("/portal/applications/<application_id>/ceremony", "GET"): (PAGE, None),
    ("/portal/applications/<application_id>/ceremony", "POST"): (PAGE, {"attending": "no"}),
}
# Routes with an applicant id that only the secretariat may call: no applicant, not even the
# owner, gets past the role check, and the answer does not tell whether the id exists.
SECRETARIAT_ONLY = {
    ("/api/applicants/<uuid:applicant_id>/contact-email", "PUT"): {"contact_email": "hijacked@evil.example",
                                                                   "reason": "I want the account"},
    ("/api/applicants/<uuid:applicant_id>/contact-email/history", "GET"): None,
}
# The secretariat's Applications pages and registry API (pages/applications.py, api/registry.py):
# staff only. No applicant, the owner included, reads them: a portal session goes to the staff
# sign-in, an applicant's token is refused for its role (403), alike for a real and a missing id.
STAFF_ONLY = {
    ("/secretariat/applications/<application_id>", "GET"): PAGE,
    ("/secretariat/applications/<application_id>/documents.zip", "GET"): PAGE,
    ("/secretariat/applications/documents/<document_id>", "GET"): PAGE,
    ("/api/secretariat/applications/<uuid:application_id>", "GET"): API,
    # the public photo of an awarded application (pages/results_staff.py): approved by staff only
    ("/secretariat/editions/<call_id>/results/photos/<application_id>", "POST"): PAGE,
}
# Public routes (pages/results.py): no sign-in, for everyone alike; an application that is no
# released award is the same 404 as one that does not exist, whoever asks (its owner included).
PUBLIC_ONCE_RELEASED = {("/results/<int:year>/photos/<application_id>", "GET")}
APPLICATION_TARGETS = ("draft", "submitted")
DOCUMENT_TARGETS = ("verified document", "pending document", "frozen document")


def _id_routes(app) -> set[tuple[str, str]]:
    return {(rule.rule, method) for rule in app.url_map.iter_rules() if rule.arguments & ID_ARGUMENTS
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_with_an_application_or_document_id_is_in_the_matrix(stack):
    routes, known = _id_routes(stack.apps["intake"]), set(ROUTES) | set(SECRETARIAT_ONLY) | set(STAFF_ONLY) | PUBLIC_ONCE_RELEASED
    assert routes == known, (
        f"not covered here: {sorted(routes - known)}; gone: {sorted(known - routes)}")


def test_the_applicant_record_is_reached_only_as_me_or_by_the_id_in_this_matrix(stack):
    """The applicant record is reached as "me" (the dashboard, the profile page, /api/applicants/me)
    or by its id in the rows above (the secretariat's own among them); no other route names an
    applicant, a session or a link."""
    rules = [rule.rule for rule in stack.apps["intake"].url_map.iter_rules()]
    by_id = sorted({r for r in rules if re.search(r"<[^>]*(applicant|session|link|token)[^>]*>", r)})
    # the one-time links (their page, and their Sign in button's POST): the secret is the credential;
    # a staff member's own API token, revoked by its id (tests/intake/test_staff_signin.py: only one's own);
    # an event invitation's answer page, whose link's token is the invitee's key (tests/intake/test_edition_events.py)
    assert by_id == ["/api/applicants/<uuid:applicant_id>", "/api/applicants/<uuid:applicant_id>/contact-email",
                     "/api/applicants/<uuid:applicant_id>/contact-email/history", "/events/rsvp/<token>",
                     "/secretariat/tokens/<token_id>/revoke", "/signin/<token>", "/staff/signin/<token>"], by_id
    assert sorted(r for r in rules if r.startswith("/api/applicants")) == [
        "/api/applicants", "/api/applicants/<uuid:applicant_id>", "/api/applicants/<uuid:applicant_id>/contact-email",
        "/api/applicants/<uuid:applicant_id>/contact-email/history", "/api/applicants/me",
        "/api/applicants/me/export"]  # the caller's own data as a ZIP (tests/intake/test_my_data.py)


def _cases():
    for (rule, method), (kind, _) in sorted(ROUTES.items()):
        targets = (DOCUMENT_TARGETS if "document_id>" in rule
                   else ("applicant",) if "<uuid:applicant_id>" in rule
                   else ("invited",) if rule.endswith("/ceremony") else APPLICATION_TARGETS)
        for target in targets:
            yield pytest.param(rule, method, target, id=f"{method} {rule} [{target}]")


# ---- the world: applicant A owns everything; applicant B is the other one ---------------------

def _browser(stack, email: str):
    """A Flask client signed in through the emailed link, and its session's CSRF token."""
    client = stack.apps["intake"].test_client()
    assert client.post("/api/signin", json={"email": email, "purpose": "browser"}).status_code == 202
    link = urlparse(signin_events(client, email)[-1]["url"]).path
    assert open_signin_link(client, link).status_code == 303
    page = client.get("/portal")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    return client, csrf


@pytest.fixture
def world(stack):
    intake = stack.clients["intake"]
    call = open_call(intake, stack.secretariat_token())  # the default terms
    a, a_token = register(intake)
    b, b_token = register(intake, organisation="Seongdong-gu Office", country="KR", city="Seoul",
                          contact_name="Park Ji-won", contact_email="smart@sd.example.kr")
    # A: a complete draft with its checked form and a pending upload, and a submitted application
    draft = complete_draft(intake, a_token, start_draft(intake, a_token, call["id"])["id"])
    verified = [d for d in intake.get(f"/api/applications/{draft['id']}/documents",
                                      headers=auth(a_token)).get_json()][0]
    r = intake.post(f"/api/applications/{draft['id']}/documents", headers=auth(a_token), json={
        "kind": "supporting_material", "filename": "photos.pdf", "content_type": "application/pdf",
        "size": len(PDF)})
    assert r.status_code == 201, r.get_json()
    pending = r.get_json()["document"]
    submitted = complete_draft(intake, a_token,
                               start_draft(intake, a_token, call["id"], "human_centricity")["id"])
    frozen = upload_document(intake, a_token, submitted["id"], kind="supporting_material")
    r = intake.post(f"/api/applications/{submitted['id']}/submit", headers=auth(a_token))
    assert r.status_code == 200, r.get_json()
    # ... which is a released finalist, invited to the ceremony
    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(stack.secretariat_token()), json={
        "starts_at": "2099-10-10T18:00:00+09:00", "venue": "COEX, Seoul", "rsvp_by": "2099-09-20T18:00:00+09:00"})
    assert r.status_code == 200, r.get_json()
    for type_, data in (("application.advanced", {"reference": submitted["reference"], "round": "finalist",
                                                  "decided_at": datetime.now(timezone.utc)}),
                        ("results.released", {"round": "finalist", "released_at": datetime.now(timezone.utc)})):
        event = make_event(type_, {"application_id": submitted["id"], **data}, producer="review")
        InboxDispatcher(stack.apps["intake"].extensions["prize"]["db"], inbox, outbox, "intake",
                        bind(HANDLERS, invite=inviter("http://127.0.0.1:8001")))(parse_message(json.loads(json.dumps(event.to_message()))))
    # B has a draft of its own (so its session and CSRF token are shown to work)
    b_draft = start_draft(intake, b_token, call["id"], title="Seongdong smart shelters")
    a_browser, a_csrf = _browser(stack, KAOHSIUNG["contact_email"])
    b_browser, b_csrf = _browser(stack, "smart@sd.example.kr")
    ids = {"applicant": a["id"], "draft": draft["id"], "submitted": submitted["id"], "invited": submitted["id"], "verified document": verified["id"],
           "pending document": pending["id"], "frozen document": frozen["id"]}
    return SimpleNamespace(stack=stack, app=stack.apps["intake"], intake=intake, call=call, a=a, b=b,
                           a_token=a_token, b_token=b_token, a_browser=a_browser, a_csrf=a_csrf,
                           b_browser=b_browser, b_csrf=b_csrf, ids=ids, b_draft=b_draft,
                           db=stack.apps["intake"].extensions["prize"]["db"])


def _state(w) -> dict:
    """Everything an applicant's request could change: rows, events, stored files."""
    with w.db.session() as s:
        def rows(model):
            return sorted(tuple((c.name, getattr(r, c.key)) for c in model.__table__.columns)
                          for r in s.scalars(select(model)))
        state = {"applicants": rows(Applicant), "applications": rows(Application), "documents": rows(Document),
                 "rsvps": rows(Rsvp), "invitations": rows(CeremonyInvitation),
                 "outbox": s.scalar(select(func.count()).select_from(outbox))}
    store = w.app.extensions["prize"].get("storage")
    root = getattr(store, "root", None)
    state["files"] = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root else []
    return state


# ---- callers ----------------------------------------------------------------------------------

def _request(w, who: str, kind: str, method: str, path: str, body):
    """Send one request as ``who``; the body goes as JSON (API) or as a form (pages)."""
    kwargs, headers = {}, {}
    unsafe = method in ("POST", "PUT", "PATCH", "DELETE")
    if who == "other (browser session)":
        client = w.b_browser
        if unsafe:
            headers["X-CSRF-Token"] = w.b_csrf
    elif who == "owner (browser session)":
        client = w.a_browser
        if unsafe:
            headers["X-CSRF-Token"] = w.a_csrf
    else:
        client = w.app.test_client()  # no cookies of anyone
        token = {"other (API token)": w.b_token, "owner (API token)": w.a_token,
                 "garbage token": "not-a-token"}.get(who)
        if token:
            headers.update(auth(token))
        if who == "stale cookie":
            client.set_cookie("prize_session", "x" * 43)
    if kind == API and body is not None:
        kwargs["json"] = body
    if kind == PAGE and unsafe:
        form = dict(body or {})
        if "X-CSRF-Token" in headers:
            form["csrf_token"] = headers.pop("X-CSRF-Token")  # as the page's form sends it
        kwargs["data"] = form
    return getattr(client, method.lower())(path, headers=headers, **kwargs)


def _comparable(response, *ids: str) -> dict:
    """Status, type, redirect, header names and body, with the ids in them set aside."""
    def blank(text: str) -> str:
        for i in ids:
            text = text.replace(i, "<id>")
        return text
    headers = sorted({k.lower() for k, _ in response.headers} - {"x-correlation-id", "date"})
    return {"status": response.status_code, "type": response.mimetype,
            "location": blank(response.headers.get("Location", "")), "headers": headers,
            "body": blank(response.get_data(as_text=True))}


OTHERS = {API: ["other (API token)", "other (browser session)"],
          PAGE: ["other (browser session)", "other (API token)"]}
NOBODY = ["nobody", "stale cookie", "garbage token"]


@pytest.mark.parametrize("rule,method,target", list(_cases()))
def test_ownership_matrix_others_and_nobody_get_the_answer_for_a_missing_id(world, rule, method, target):
    kind, body = ROUTES[(rule, method)]
    real = world.ids[target]
    template = re.sub(r"<(?:uuid:)?(applicant_id|application_id|document_id)>", "{id}", rule)
    before = _state(world)

    for who in OTHERS[kind] + NOBODY:
        missing = str(uuid.uuid4())
        theirs = _request(world, who, kind, method, template.format(id=real), body)
        absent = _request(world, who, kind, method, template.format(id=missing), body)
        assert _comparable(theirs, real) == _comparable(absent, missing), (who, theirs.get_data(as_text=True)[:300])
        if who.startswith("other"):
            assert theirs.status_code == 404, who
            if kind == API:
                noun = ("document" if "document_id" in rule else "applicant" if "applicant_id" in rule
                        else "application")
                assert theirs.get_json()["message"] == f"no {noun} {real}", who
                assert theirs.get_json()["code"] == 404
        elif kind == API or who == "garbage token":
            assert theirs.status_code == 401, who
            assert theirs.mimetype == "application/json" and theirs.get_json()["code"] == 401, who
        else:  # a page sends a visitor with no (valid) session to sign in, then back
            assert theirs.status_code == 302, who
            assert theirs.headers["Location"] == "/signin?next=" + template.format(id=real), who
        assert _state(world) == before, who

    # The owner gets a real answer for the same request (the ids are real, the matrix not vacuous).
    owner = "owner (API token)" if kind == API else "owner (browser session)"
    mine = _request(world, owner, kind, method, template.format(id=real), body)
    assert mine.status_code not in (401, 403, 404), (mine.status_code, mine.get_data(as_text=True)[:300])


@pytest.mark.parametrize("rule,method", sorted(SECRETARIAT_ONLY), ids=[f"{m} {r}" for r, m in sorted(SECRETARIAT_ONLY)])
def test_secretariat_only_routes_refuse_every_applicant_the_same_for_a_missing_id(world, rule, method):
    """The owner and the other applicant get 403 (the role, not the record, decides), nobody 401;
    a real id and a missing one answer alike, and nothing changes."""
    body = SECRETARIAT_ONLY[(rule, method)]
    template = rule.replace("<uuid:applicant_id>", "{id}")
    real = world.ids["applicant"]
    before = _state(world)
    for who, status in (("owner (API token)", 403), ("other (API token)", 403), ("owner (browser session)", 403),
                        ("nobody", 401), ("garbage token", 401)):
        missing = str(uuid.uuid4())
        theirs = _request(world, who, API, method, template.format(id=real), body)
        absent = _request(world, who, API, method, template.format(id=missing), body)
        assert theirs.status_code == status, (who, theirs.get_data(as_text=True)[:300])
        assert _comparable(theirs, real) == _comparable(absent, missing), who
        assert _state(world) == before, who
    sec = world.app.test_client()
    r = getattr(sec, method.lower())(template.format(id=real), headers=auth(world.stack.secretariat_token()),
                                     **({"json": body} if body else {}))
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


def _staff_cases():
    for (rule, method), kind in sorted(STAFF_ONLY.items()):
        for target in (("verified document",) if "document_id" in rule else APPLICATION_TARGETS):
            yield pytest.param(rule, method, kind, target, id=f"{method} {rule} [{target}]")


@pytest.mark.parametrize("rule,method,kind,target", list(_staff_cases()))
def test_staff_only_routes_give_applicants_nothing_and_the_same_for_a_missing_id(world, rule, method, kind, target):
    template = re.sub(r"<(?:uuid:)?(application_id|document_id)>", "{id}", rule).replace("<call_id>", world.call["id"])
    real = world.ids[target]
    expected = {"owner (API token)": 403, "other (API token)": 403, "garbage token": 401,
                "owner (browser session)": 302 if kind == PAGE else 403,
                "other (browser session)": 302 if kind == PAGE else 403, "nobody": 302 if kind == PAGE else 401}
    for who, status in expected.items():
        missing = str(uuid.uuid4())
        theirs = _request(world, who, kind, method, template.format(id=real), None)
        absent = _request(world, who, kind, method, template.format(id=missing), None)
        assert theirs.status_code == status, (who, theirs.status_code, theirs.get_data(as_text=True)[:300])
        assert _comparable(theirs, real) == _comparable(absent, missing), who
        if status == 302:
            assert theirs.headers["Location"].startswith("/staff/signin?next="), who
        body = theirs.get_data(as_text=True)
        assert world.a["organisation"] not in body and world.a["contact_email"] not in body, who
    staff = getattr(world.app.test_client(), method.lower())(template.format(id=real),
                                                             headers=auth(world.stack.secretariat_token()))
    if "/results/photos/" in rule:  # past the role check: the target is no award, which staff are told
        assert staff.status_code == 404 and "not a winner" in staff.get_data(as_text=True)
    else:
        assert staff.status_code in (200, 302), staff.get_data(as_text=True)[:300]


@pytest.mark.parametrize("target", APPLICATION_TARGETS)
def test_a_public_photo_route_answers_everyone_alike_for_what_is_no_released_award(world, target):
    """The owner, the other applicant, staff and nobody: the same 404 for a real application that
    is no released award as for a missing id, and nothing changes."""
    (rule, _), = PUBLIC_ONCE_RELEASED
    template = rule.replace("<int:year>", str(world.call["year"])).replace("<application_id>", "{id}")
    real, before = world.ids[target], _state(world)
    for who in ("owner (API token)", "owner (browser session)", "other (browser session)", "nobody", "garbage token"):
        missing = str(uuid.uuid4())
        theirs = _request(world, who, PAGE, "GET", template.format(id=real), None)
        absent = _request(world, who, PAGE, "GET", template.format(id=missing), None)
        assert theirs.status_code == 404 and theirs.headers["Cache-Control"] == "no-store", who
        assert _comparable(theirs, real) == _comparable(absent, missing), who
    staff = world.app.test_client().get(template.format(id=real), headers=auth(world.stack.secretariat_token()))
    assert staff.status_code == 404
    assert _state(world) == before


def test_the_other_applicants_csrf_token_is_what_lets_its_posts_through(world):
    """The matrix's foreign POSTs reach the ownership check: B's token works on B's own draft,
    and the same request without it is refused for CSRF (403), not looked up (404)."""
    own = f"/portal/applications/{world.b_draft['id']}"
    r = world.b_browser.post(own, data={"title": "Shelters v2", "csrf_token": world.b_csrf})
    assert (r.status_code, r.headers["Location"]) == (302, own)
    r = world.b_browser.post(f"/portal/applications/{world.ids['draft']}", data={"title": "Hijacked"})
    assert r.status_code == 403
    r = world.b_browser.patch(f"/api/applications/{world.ids['draft']}", json={"title": "Hijacked"})
    assert r.status_code == 403
    r = world.b_browser.patch(f"/api/applications/{world.b_draft['id']}", json={"title": "Shelters v3"},
                              headers={"X-CSRF-Token": world.b_csrf})
    assert (r.status_code, r.get_json()["title"]) == (200, "Shelters v3")


# ---- the applicant record: only one's own ------------------------------------------------------

def test_each_applicant_sees_only_their_own_record_and_applications(world):
    pages = {"A": world.a_browser.get("/portal").get_data(as_text=True),
             "B": world.b_browser.get("/portal").get_data(as_text=True)}
    assert world.a["organisation"] in pages["A"] and world.b["organisation"] not in pages["A"]
    assert world.b["organisation"] in pages["B"] and world.a["organisation"] not in pages["B"]
    for other_id in (world.ids["draft"], world.ids["submitted"]):
        assert other_id not in pages["B"]
    assert world.b_draft["id"] in pages["B"] and world.b_draft["id"] not in pages["A"]

    mine = {world.ids["draft"], world.ids["submitted"]}
    for client, headers in ((world.app.test_client(), auth(world.a_token)), (world.a_browser, {})):
        listed = client.get("/api/applications", headers=headers).get_json()
        assert {x["id"] for x in listed} == mine
        assert {x["applicant_id"] for x in listed} == {world.a["id"]}
    for client, headers in ((world.app.test_client(), auth(world.b_token)), (world.b_browser, {})):
        listed = client.get("/api/applications", headers=headers).get_json()
        assert [x["id"] for x in listed] == [world.b_draft["id"]]
    assert world.app.test_client().get("/api/applications").status_code == 401


def test_registering_again_with_anothers_address_neither_reveals_nor_changes_their_record(world):
    before = _state(world)
    r = world.app.test_client().post("/api/applicants", json=dict(
        KAOHSIUNG, organisation="Impostor City", contact_email=KAOHSIUNG["contact_email"].upper()))
    assert r.status_code == 202
    text = r.get_data(as_text=True)
    assert world.a["id"] not in text and world.a["organisation"] not in text
    assert world.a["contact_name"] not in text
    after = _state(world)
    assert after["applicants"] == before["applicants"] and after["applications"] == before["applications"]


def test_signing_out_one_session_leaves_the_other_applicants_sessions(world):
    r = world.b_browser.post("/logout", data={"csrf_token": world.b_csrf})
    assert r.status_code == 303
    assert world.b_browser.get("/portal").status_code == 302
    assert world.a_browser.get("/portal").status_code == 200
    assert world.app.test_client().get("/api/applications", headers=auth(world.a_token)).status_code == 200
    with world.db.session() as s:
        revoked = s.scalars(select(Session.applicant_id).where(Session.revoked_at.is_not(None))).all()
    assert revoked == [world.b["id"]]
