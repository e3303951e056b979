"""The jurors' side of review through its API: assignments and progress, reading an application,
scoring (autosave, revisions, scale, submission, locking), peers' scores, declared conflicts and
reassignment, and what a conflicted juror may learn (nothing).

Review runs in this process (its Flask app); calls and applications arrive as events through
review's real handlers and inbox, jurors, rounds and assignments are written with the models.
The key tests run on both stacks: SQLite, and PostgreSQL (+RabbitMQ settings).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from services.review.ops import history
from services.review.handlers import HANDLERS
from services.review.models import (AccessDenial, Application, Assignment, Conflict, Juror, LedgerEntry, Round,
                                    inbox, outbox)
from shared.auth import issue_token
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher
from tests.support.stack import Stack, auth

CRITERIA = [
    {"key": "problem", "title": "Problem recognition and innovation", "weight": 2.0,
     "guidance": ["The problem is important and backed by evidence", "Citizens took part in identifying it"]},
    {"key": "design", "title": "Project design", "weight": 1.0,
     "guidance": ["Technology appropriate to the problem"]},
    {"key": "impact", "title": "Value generation", "weight": 1.0, "guidance": ["Outcomes and impact"]},
]
LEADERSHIP = [{"key": "vision", "title": "Vision", "weight": 1.0, "guidance": ["A clear idea of the city's future"]},
              {"key": "results", "title": "Results", "weight": 1.0}]


def _now():
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(params=["embedded", "real"])
def settings(request):
    return request.getfixturevalue(f"{request.param}_settings")


class World:
    """Review alone, fed with events, with jurors, a finalist round and assignments."""

    def __init__(self, settings, services=("review",)):
        self.settings = settings
        self.stack = Stack(settings, services=services)
        self.client = self.stack.clients["review"]
        self.db = self.stack.apps["review"].extensions["prize"]["db"]
        dispatcher = InboxDispatcher(self.db, inbox, outbox, "review", HANDLERS)
        # as the consumer does: the message as it travels, read back leniently, then the inbox
        self.dispatch = lambda event: dispatcher(parse_message(event.to_message()))
        self.call_id = str(uuid.uuid4())
        self.dispatch(make_event("call.opened", {
            "call_id": self.call_id, "year": 2026, "theme": "Smart cities for everyone",
            "opens_at": "2026-01-01T00:00:00+09:00", "closes_at": "2026-07-14T18:00:00+09:00",
            "time_zone": "Asia/Seoul", "score_min": 1, "score_max": 10, "categories": [
                {"key": "tech_innovacity", "title": "Tech-InnovaCity", "applicant_types": ["city_government"],
                 "criteria": CRITERIA},
                {"key": "leadership", "title": "Leadership", "applicant_types": ["individual"],
                 "criteria": LEADERSHIP, "score_min": 0, "score_max": 5}]}, producer="intake"))

    def stop(self):
        self.stack.stop()

    # ---- setting the scene ----

    def application(self, title="Hydrogen buses for the harbour", country="TW", category="tech_innovacity",
                    organisation="Kaohsiung City Government", email="mei.lin@kcg.example.tw") -> str:
        app_id, doc_id = str(uuid.uuid4()), str(uuid.uuid4())
        keys = [c["key"] for c in (CRITERIA if category != "leadership" else LEADERSHIP)]
        self.dispatch(make_event("application.submitted", {
            "application_id": app_id, "reference": "SSCP-2026-" + app_id[:8].upper(), "call_id": self.call_id,
            "year": 2026, "category": category, "title": title, "summary": "Clean mobility for 高雄.",
            "submitted_at": "2026-06-01T09:00:00+00:00",
            "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": organisation,
                          "country": country, "city": "高雄 Kaohsiung", "contact_name": "Lin Mei-hua",
                          "contact_email": email, "language": "en"},
            "answers": {k: f"Our answer on {k}." for k in keys},
            "project": {"location": "Kaohsiung harbour", "start_date": "2024-03-01", "budget": "USD 2.4M",
                        "partners": "Port authority"},
            "documents": [{"id": doc_id, "kind": "application_form", "filename": "Formulário de candidatura.pdf",
                           "content_type": "application/pdf", "size": 1234, "sha256": "a" * 64,
                           "storage_key": f"verified/applications/{app_id}/{doc_id}/0123abcd"}],
        }, producer="intake"))
        with self.db.session() as s, s.begin():
            s.get(Application, app_id).stage = "eligible"
        return app_id

    def juror(self, name="Ana Souza", country="BR", organisation=None, expertise=(), active=True,
              max_load=None) -> str:
        juror_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Juror(id=juror_id, name=name, email=f"{juror_id[:8]}@jury{juror_id[:4]}.example.org",
                        country=country, organisation=organisation or f"Institute {juror_id[:6]}",
                        expertise=list(expertise), languages=["en"], language="en", max_load=max_load,
                        active=active, invited_by="test", invited_at=_now()))
        return juror_id

    def round(self, k=3, peer_scores="after_own", status="open", kind="finalist") -> str:
        round_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Round(id=round_id, call_id=self.call_id, kind=kind, status=status, jurors_per_application=k,
                        peer_scores=peer_scores, opened_at=_now(), due_at=_now() + timedelta(days=14)))
        return round_id

    def assign(self, round_id, application_id, juror_id, status="pending") -> str:
        assignment_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Assignment(id=assignment_id, round_id=round_id, application_id=application_id, juror_id=juror_id,
                             assigned_by="test", assigned_at=_now(), status=status, scores={}, comments={},
                             revision=1))
        return assignment_id

    def conflict(self, juror_id, application_id, source="country"):
        with self.db.session() as s, s.begin():
            s.add(Conflict(id=str(uuid.uuid4()), juror_id=juror_id, application_id=application_id, source=source,
                           reason="same country", created_by="system", created_at=_now()))

    def set_round(self, round_id, **values):
        with self.db.session() as s, s.begin():
            row = s.get(Round, round_id)
            for key, value in values.items():
                setattr(row, key, value)

    # ---- reading what happened ----

    def token(self, juror_id) -> dict:
        return auth(issue_token(self.settings.secret_key, "juror", juror_id))

    def events(self, type_) -> list[dict]:
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).scalars()
            return [json.loads(b)["data"] for b in bodies]

    def denials(self, juror_id) -> list[AccessDenial]:
        with self.db.session() as s:
            return s.scalars(select(AccessDenial).where(AccessDenial.juror_id == juror_id)
                             .order_by(AccessDenial.seq)).all()

    def ledger(self, action=None) -> list[LedgerEntry]:
        with self.db.session() as s:
            q = select(LedgerEntry).order_by(LedgerEntry.seq)
            if action:
                q = q.where(LedgerEntry.action == action)
            return s.scalars(q).all()

    def assignment(self, assignment_id) -> Assignment:
        with self.db.session() as s:
            return s.get(Assignment, assignment_id)

    def ledger_intact(self) -> bool:
        with self.db.session() as s:
            return history.verify(s) == []

    # ---- acting as a juror ----

    def save(self, juror_id, assignment_id, revision, scores=None, comments=None):
        body = {"revision": revision}
        if scores is not None:
            body["scores"] = scores
        if comments is not None:
            body["comments"] = comments
        return self.client.patch(f"/api/jury/assignments/{assignment_id}", json=body, headers=self.token(juror_id))

    def complete(self, juror_id, assignment_id, score=7):
        state = self.client.get(f"/api/jury/assignments/{assignment_id}", headers=self.token(juror_id)).get_json()
        r = self.save(juror_id, assignment_id, state["revision"], scores={c["key"]: score for c in CRITERIA},
                      comments={c["key"]: f"Convincing on {c['key']}." for c in CRITERIA})
        assert r.status_code == 200, r.get_json()
        return r.get_json()

    def submit(self, juror_id, assignment_id):
        return self.client.post(f"/api/jury/assignments/{assignment_id}/submit", headers=self.token(juror_id))


@pytest.fixture
def world(settings):
    w = World(settings)
    yield w
    w.stop()


@pytest.fixture
def embedded_world(embedded_settings):
    w = World(embedded_settings)
    yield w
    w.stop()


def get(world, juror_id, path):
    return world.client.get(path, headers=world.token(juror_id))


# ---- assignments and progress ----

def test_assignments_show_progress_per_round(world):
    rnd, other_round = world.round(), world.round(kind="award")
    apps = [world.application(f"Project {i}") for i in range(4)]
    me, other = world.juror(), world.juror("Kenji Sato", country="JP")
    mine = [world.assign(rnd, a, me) for a in apps[:3]]
    world.assign(rnd, apps[3], other)
    world.assign(rnd, apps[3], me, status="removed")
    world.assign(other_round, apps[0], me)
    world.complete(me, mine[0])
    assert world.submit(me, mine[0]).status_code == 200
    world.complete(me, mine[1])  # scored but not submitted: not counted as done

    r = get(world, me, "/api/jury/assignments")
    assert r.status_code == 200, r.get_json()
    rounds = {x["kind"]: x for x in r.get_json()["rounds"]}
    finalist = rounds["finalist"]
    assert finalist["progress"] == {"scored": 1, "total": 3, "text": "1 of 3 scored"}
    assert {a["application_id"] for a in finalist["assignments"]} == set(apps[:3])
    by_id = {a["id"]: a for a in finalist["assignments"]}
    assert by_id[mine[0]]["status"] == "submitted"
    assert by_id[mine[1]]["criteria_scored"] == 3 and by_id[mine[1]]["criteria"] == 3
    assert by_id[mine[2]]["criteria_scored"] == 0
    assert by_id[mine[2]]["title"] == "Project 2" and by_id[mine[2]]["category"] == "tech_innovacity"
    assert rounds["award"]["progress"]["text"] == "0 of 1 scored"
    # written straight to JSON for speed, the answer is exactly what its documented schema dumps
    from services.review.api.schemas_jury import MyAssignments
    from services.review.ops import desk_queries as desk
    with world.db.session() as s:
        expected = json.loads(json.dumps(MyAssignments().dump(desk.my_assignments(s, me))))
    assert r.get_json() == expected and r.mimetype == "application/json"


def test_withdrawn_application_leaves_the_jurors_list(embedded_world):
    w = embedded_world
    rnd, app_id, me = w.round(), w.application(), w.juror()
    w.assign(rnd, app_id, me)
    w.dispatch(make_event("application.withdrawn", {"application_id": app_id, "reference": "SSCP-X",
                                                   "withdrawn_at": "2026-06-02T09:00:00+00:00"}, producer="intake"))
    assert get(w, me, "/api/jury/assignments").get_json()["rounds"] == []
    assert get(w, me, f"/api/jury/applications/{app_id}").status_code == 404
    # the assignment itself ends at once (not at the next assignment run) and the history says so
    from services.review.ops import history
    from services.review.models import Assignment
    with w.db.session() as s:
        assert s.scalars(select(Assignment.status).where(Assignment.application_id == app_id)).all() == ["removed"]
        [entry] = [e for e in history.entries(s, app_id) if e.action == "application.withdrawn"]
        assert entry.data["assignments_removed"] == 1


# ---- reading an application ----

def test_application_content_only_for_its_assigned_jurors(world):
    rnd, app_id = world.round(), world.application()
    assigned, unassigned = world.juror(), world.juror("Kenji Sato", country="JP")
    world.assign(rnd, app_id, assigned)

    r = get(world, assigned, f"/api/jury/applications/{app_id}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["title"] == "Hydrogen buses for the harbour" and body["summary"] == "Clean mobility for 高雄."
    assert body["scale"] == {"min": 1, "max": 10}
    assert [c["key"] for c in body["criteria"]] == ["problem", "design", "impact"]
    assert body["criteria"][0]["guidance"] == CRITERIA[0]["guidance"]
    assert body["criteria"][0]["answer"] == "Our answer on problem."
    assert body["project"]["budget"] == "USD 2.4M"
    assert body["documents"][0]["filename"] == "Formulário de candidatura.pdf"
    assert "storage_key" not in body["documents"][0]
    assert "contact_email" not in json.dumps(body)
    assert len(body["assignments"]) == 1 and body["assignments"][0]["status"] == "pending"

    refused = get(world, unassigned, f"/api/jury/applications/{app_id}")
    nonexistent = get(world, unassigned, f"/api/jury/applications/{uuid.uuid4()}")
    assert refused.status_code == nonexistent.status_code == 404
    assert refused.get_json() == nonexistent.get_json()
    assert [(d.application_id, d.reason) for d in world.denials(unassigned)][0] == (app_id, "not_assigned")
    assert [d.reason for d in world.denials(unassigned)] == ["not_assigned", "no_such_application"]
    assert world.denials(assigned) == []


def test_leadership_is_scored_on_its_own_criteria_and_scale(embedded_world):
    w = embedded_world
    rnd, app_id, me = w.round(), w.application(category="leadership"), w.juror()
    a = w.assign(rnd, app_id, me)
    body = get(w, me, f"/api/jury/applications/{app_id}").get_json()
    assert body["scale"] == {"min": 0, "max": 5} and [c["key"] for c in body["criteria"]] == ["vision", "results"]
    r = w.save(me, a, 1, scores={"vision": 6})
    assert r.status_code == 422 and r.get_json()["errors"]["json"]["scores"]["vision"] == ["must be between 0 and 5"]
    r = w.save(me, a, 1, scores={"vision": 0, "results": 5})
    assert r.status_code == 200, r.get_json()


def test_document_link_is_a_short_lived_signed_download(embedded_settings):
    """The link leads to the file, served by intake's embedded file store with a safe name."""
    w = World(embedded_settings, services=("review", "intake"))
    try:
        app_id, me, stranger = w.application(), w.juror(), w.juror("Kenji Sato", country="JP")
        w.assign(w.round(), app_id, me)
        doc = get(w, me, f"/api/jury/applications/{app_id}").get_json()["documents"][0]
        with w.db.session() as s:
            key = next(d["storage_key"] for d in s.get(Application, app_id).documents)
        pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
        from shared.storage import open_storage
        store = open_storage(embedded_settings.storage_url, embedded_settings.secret_key)
        store.path(key).parent.mkdir(parents=True, exist_ok=True)
        store.path(key).write_bytes(pdf)

        path = f"/api/jury/applications/{app_id}/documents/{doc['id']}"
        r = get(w, me, path)
        assert r.status_code == 302 and r.headers["Cache-Control"] == "no-store"
        link = urlsplit(r.headers["Location"])
        assert f"{link.scheme}://{link.netloc}" == embedded_settings.public_url
        assert link.path == "/storage/download" and set(parse_qs(link.query)) == {"policy", "signature"}
        served = w.stack.clients["intake"].get(f"{link.path}?{link.query}")
        assert served.status_code == 200 and served.data == pdf
        assert served.headers["Content-Disposition"].startswith('attachment; filename="Formulario de candidatura.pdf"')
        assert hashlib.sha256(served.data).hexdigest()  # the bytes, not an error page

        r = get(w, me, path + "?format=json")
        assert r.status_code == 200 and r.get_json()["url"].startswith(embedded_settings.public_url)
        unknown_doc = get(w, me, f"/api/jury/applications/{app_id}/documents/{uuid.uuid4()}")
        assert unknown_doc.status_code == 404
        refused = get(w, stranger, path)
        nonexistent = get(w, stranger, f"/api/jury/applications/{uuid.uuid4()}/documents/{doc['id']}")
        assert refused.status_code == nonexistent.status_code == 404
        assert refused.get_json() == nonexistent.get_json()
        assert "Location" not in refused.headers
    finally:
        w.stop()


# ---- what a conflicted juror learns: nothing ----

def test_conflicted_juror_gets_the_nonexistent_answer_on_every_endpoint(world):
    rnd, app_id, visible = world.round(), world.application(), world.application("Another project")
    me, peer = world.juror(), world.juror("Kenji Sato", country="JP")
    a = world.assign(rnd, app_id, me)
    world.assign(rnd, visible, me)
    p = world.assign(rnd, app_id, peer)
    world.complete(me, a)
    assert world.submit(me, a).status_code == 200
    world.complete(peer, p)
    assert world.submit(peer, p).status_code == 200
    world.conflict(me, app_id, source="organisation")  # found after the assignment was made

    doc_id = get(world, peer, f"/api/jury/applications/{app_id}").get_json()["documents"][0]["id"]
    ghost_app, ghost_assignment = str(uuid.uuid4()), str(uuid.uuid4())
    calls = [
        ("get", f"/api/jury/applications/{app_id}", f"/api/jury/applications/{ghost_app}", None),
        ("get", f"/api/jury/applications/{app_id}/documents/{doc_id}",
         f"/api/jury/applications/{ghost_app}/documents/{doc_id}", None),
        ("post", f"/api/jury/applications/{app_id}/conflict", f"/api/jury/applications/{ghost_app}/conflict",
         {"reason": "I advised them"}),
        ("get", f"/api/jury/assignments/{a}", f"/api/jury/assignments/{ghost_assignment}", None),
        ("patch", f"/api/jury/assignments/{a}", f"/api/jury/assignments/{ghost_assignment}",
         {"revision": 1, "scores": {"problem": 99, "nonsense": 1}}),
        ("post", f"/api/jury/assignments/{a}/submit", f"/api/jury/assignments/{ghost_assignment}/submit", None),
        ("get", f"/api/jury/assignments/{a}/peers", f"/api/jury/assignments/{ghost_assignment}/peers", None),
    ]
    for method, path, ghost, body in calls:
        kwargs = {"headers": world.token(me)} | ({"json": body} if body is not None else {})
        refused = getattr(world.client, method)(path, **kwargs)
        nothing = getattr(world.client, method)(ghost, **kwargs)
        assert refused.status_code == 404, (path, refused.get_json())
        assert refused.get_json() == nothing.get_json(), path
        assert refused.headers.get("Content-Type") == nothing.headers.get("Content-Type")
        assert "Location" not in refused.headers

    listing = get(world, me, "/api/jury/assignments").get_json()
    assert app_id not in json.dumps(listing)
    assert listing["rounds"][0]["progress"] == {"scored": 0, "total": 1, "text": "0 of 1 scored"}
    # the peer's view no longer counts the conflicted juror's review either
    peers = get(world, peer, f"/api/jury/assignments/{p}/peers").get_json()
    assert peers["reviews"] == [] and peers["pending"] == 0
    denied = [(d.application_id, d.reason) for d in world.denials(me)]
    assert denied.count((app_id, "conflicted")) == len(calls)
    assert world.assignment(a).scores == {c["key"]: 7 for c in CRITERIA}  # the refused save changed nothing


# ---- declared conflicts ----

def test_declared_conflict_takes_effect_at_once_and_brings_a_replacement(world):
    rnd = world.round(k=2)
    app_id, other_app = world.application(), world.application("Another project")
    me, peer = world.juror(), world.juror("Kenji Sato", country="JP")
    busy = world.juror("Busy Juror", country="FR")
    free = world.juror("Free Juror", country="DE", expertise=["tech_innovacity"])
    world.juror("Retired", country="ES", active=False)
    world.juror("Same country", country="TW")  # auto-conflicted with the applicant
    a = world.assign(rnd, app_id, me)
    world.assign(rnd, app_id, peer)
    world.assign(rnd, other_app, busy)

    r = world.client.post(f"/api/jury/applications/{app_id}/conflict", json={"reason": "I advised this city in 2024"},
                          headers=world.token(me))
    assert r.status_code == 201, r.get_json()
    assert set(r.get_json()) == {"application_id", "declared_at", "message"}  # nothing about who takes over

    assert get(world, me, f"/api/jury/applications/{app_id}").status_code == 404
    assert app_id not in json.dumps(get(world, me, "/api/jury/assignments").get_json())
    assert world.assignment(a).status == "removed"
    with world.db.session() as s:
        declared = s.scalars(select(Conflict).where(Conflict.juror_id == me, Conflict.source == "declared")).one()
        assert declared.reason == "I advised this city in 2024" and declared.application_id == app_id
        holders = set(s.scalars(select(Assignment.juror_id).where(
            Assignment.application_id == app_id, Assignment.status == "pending")))
    assert holders == {peer, free}  # the least loaded non-conflicted active juror

    assigned = world.events("review.assigned")
    assert len(assigned) == 1 and assigned[0]["juror_id"] == free
    assert [x["application_id"] for x in assigned[0]["applications"]] == [app_id]
    assert assigned[0]["round"] == "finalist" and assigned[0]["url"].endswith("/jury")
    assert get(world, free, f"/api/jury/applications/{app_id}").status_code == 200
    assert [e.action for e in world.ledger()][-2:] == ["conflict.declared", "assignment.replaced"]
    assert world.ledger_intact()


def test_declared_conflict_stands_when_nobody_can_take_over(world):
    rnd, app_id = world.round(k=2), world.application()
    me, peer = world.juror(), world.juror("Kenji Sato", country="JP")
    world.juror("Same country", country="TW")
    a = world.assign(rnd, app_id, me)
    world.assign(rnd, app_id, peer)
    r = world.client.post(f"/api/jury/applications/{app_id}/conflict", json={"reason": "former employer"},
                          headers=world.token(me))
    assert r.status_code == 201, r.get_json()
    assert world.assignment(a).status == "removed"
    assert world.events("review.assigned") == []
    short = world.ledger("assignment.short")
    assert len(short) == 1 and short[0].application_id == app_id
    assert short[0].data["needed"] == 2 and short[0].data["assigned"] == 1


def test_declaring_needs_a_reason(embedded_world):
    w = embedded_world
    app_id, me = w.application(), w.juror()
    w.assign(w.round(), app_id, me)
    for body in ({}, {"reason": "   "}):
        r = w.client.post(f"/api/jury/applications/{app_id}/conflict", json=body, headers=w.token(me))
        assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    assert get(w, me, f"/api/jury/applications/{app_id}").status_code == 200


# ---- scoring ----

def test_autosave_is_partial_and_refuses_a_stale_revision(world):
    rnd, app_id, me = world.round(), world.application(), world.juror()
    a = world.assign(rnd, app_id, me)
    r = world.save(me, a, 1, scores={"problem": 8})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["revision"] == 2 and r.get_json()["scores"] == {"problem": 8}
    r = world.save(me, a, 2, scores={"design": 6.5}, comments={"problem": "Well evidenced."})
    assert r.get_json()["scores"] == {"problem": 8, "design": 6.5} and r.get_json()["revision"] == 3

    stale = world.save(me, a, 2, scores={"problem": 1})  # a second tab still at revision 2
    assert stale.status_code == 409 and stale.get_json()["errors"] == {"revision": ["3"]}
    assert world.assignment(a).scores == {"problem": 8, "design": 6.5}

    r = world.save(me, a, 3, scores={"design": None}, comments={"problem": ""})
    assert r.get_json()["scores"] == {"problem": 8} and r.get_json()["comments"] == {}
    unchanged = world.save(me, a, 4, scores={"problem": 8})
    assert unchanged.status_code == 200 and unchanged.get_json()["revision"] == 4
    assert [e.action for e in world.ledger()] == ["scores.saved"] * 3
    assert world.ledger()[0].data["scores"] == {"problem": 8}
    assert world.ledger_intact()


def test_scores_are_checked_against_the_scale_and_the_criteria(world):
    rnd, app_id, me = world.round(), world.application(), world.juror()
    a = world.assign(rnd, app_id, me)
    r = world.save(me, a, 1, scores={"problem": 11, "design": 0, "impact": 10, "budget": 5},
                   comments={"colour": "nice"})
    assert r.status_code == 422
    errors = r.get_json()["errors"]["json"]
    assert set(errors["scores"]) == {"problem", "design", "budget"}
    assert errors["scores"]["problem"] == ["must be between 1 and 10"]
    assert "unknown criterion" in errors["scores"]["budget"][0] and set(errors["comments"]) == {"colour"}
    for bad in ("7", True, [7]):
        r = world.save(me, a, 1, scores={"problem": bad})
        assert r.status_code == 422 and "problem" in r.get_json()["errors"]["json"]["scores"], bad
    r = world.client.patch(f"/api/jury/assignments/{a}", json={"scores": {"problem": 5}}, headers=world.token(me))
    assert r.status_code == 422 and "revision" in r.get_json()["errors"]["json"]
    assert world.assignment(a).revision == 1 and world.assignment(a).scores == {}
    assert world.save(me, a, 1, scores={"problem": 1, "design": 10}).status_code == 200


def test_submit_needs_every_score_and_comment_and_publishes_once(world):
    rnd, app_id, me = world.round(), world.application(), world.juror()
    a = world.assign(rnd, app_id, me)
    world.save(me, a, 1, scores={"problem": 8, "design": 7}, comments={"problem": "Strong evidence."})
    r = world.submit(me, a)
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"] == {"scores": {"impact": ["not scored yet"]},
                                              "comments": {"design": ["a comment is required"],
                                                           "impact": ["a comment is required"]}}
    assert world.events("review.submitted") == []

    world.complete(me, a, score=6)
    r = world.submit(me, a)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "submitted" and r.get_json()["total"] == 6
    again = world.submit(me, a)
    assert again.status_code == 409
    events = world.events("review.submitted")
    assert len(events) == 1
    assert events[0] == {"assignment_id": a, "application_id": app_id, "juror_id": me, "round": "finalist",
                         "submitted_at": events[0]["submitted_at"]}
    entry = world.ledger("review.submitted")
    assert len(entry) == 1 and entry[0].data["scores"] == {"problem": 6, "design": 6, "impact": 6}


def test_a_submitted_review_can_be_revised_while_the_round_is_open(embedded_world):
    w = embedded_world
    rnd, app_id, me = w.round(), w.application(), w.juror()
    a = w.assign(rnd, app_id, me)
    state = w.complete(me, a)
    state = w.submit(me, a).get_json()
    r = w.save(me, a, state["revision"], scores={"impact": 9})
    assert r.status_code == 200 and r.get_json()["status"] == "submitted"
    revised = w.ledger("scores.revised")
    assert len(revised) == 1 and revised[0].data["scores"] == {"impact": 9}
    assert revised[0].data["before"]["scores"] == {"impact": 7}
    cleared = w.save(me, a, r.get_json()["revision"], scores={"impact": None})
    assert cleared.status_code == 422 and "impact" in cleared.get_json()["errors"]["json"]["scores"]
    assert len(w.events("review.submitted")) == 1


def test_closed_round_locks_scores(world):
    rnd, app_id, me = world.round(), world.application(), world.juror()
    a = world.assign(rnd, app_id, me)
    world.complete(me, a)
    world.set_round(rnd, status="closed", closed_at=_now())
    r = world.save(me, a, 2, scores={"problem": 1})
    assert r.status_code == 409 and "locked" in r.get_json()["message"]
    assert world.submit(me, a).status_code == 409
    state = get(world, me, f"/api/jury/assignments/{a}").get_json()
    assert state["locked"] is True and state["scores"]["problem"] == 7
    assert get(world, me, f"/api/jury/applications/{app_id}").status_code == 200  # still readable
    assert world.events("review.submitted") == []


# ---- peers' scores ----

def test_peer_scores_only_after_submitting_and_never_when_configured(world):
    rnd, app_id = world.round(), world.application()
    me, peer, slow = world.juror(), world.juror("Kenji Sato", country="JP"), world.juror("Slow", country="FR")
    a, p = world.assign(rnd, app_id, me), world.assign(rnd, app_id, peer)
    world.assign(rnd, app_id, slow)
    world.complete(peer, p, score=9)
    assert world.submit(peer, p).status_code == 200

    world.complete(me, a)
    r = get(world, me, f"/api/jury/assignments/{a}/peers")
    assert r.status_code == 409 and "submitted your own" in r.get_json()["message"]
    assert world.submit(me, a).status_code == 200
    r = get(world, me, f"/api/jury/assignments/{a}/peers")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["pending"] == 1 and len(body["reviews"]) == 1
    assert body["reviews"][0]["juror"] == "juror 1" and body["reviews"][0]["scores"]["problem"] == 9
    assert peer not in json.dumps(body) and "Kenji" not in json.dumps(body)

    world.set_round(rnd, peer_scores="never")
    r = get(world, me, f"/api/jury/assignments/{a}/peers")
    assert r.status_code == 403 and "9" not in json.dumps(r.get_json())


# ---- who may use the desk ----

def test_an_inactive_juror_is_refused(embedded_world):
    w = embedded_world
    app_id, me = w.application(), w.juror(active=False)
    w.assign(w.round(), app_id, me)
    assert get(w, me, "/api/jury/assignments").status_code == 403
    assert get(w, me, f"/api/jury/applications/{app_id}").status_code == 403
    assert get(w, str(uuid.uuid4()), "/api/jury/assignments").status_code == 403  # no such juror


def test_denials_and_the_ledger_are_kept(embedded_world):
    w = embedded_world
    app_id, me, stranger = w.application(), w.juror(), w.juror("Kenji Sato", country="JP")
    a = w.assign(w.round(), app_id, me)
    get(w, stranger, f"/api/jury/assignments/{a}")
    w.save(stranger, a, 1, scores={"problem": 1})
    assert [(d.application_id, d.reason, d.path) for d in w.denials(stranger)] == [
        (app_id, "not_assigned", f"/api/jury/assignments/{a}"),
        (app_id, "not_assigned", f"/api/jury/assignments/{a}")]
    with w.db.session() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert w.assignment(a).revision == 1
