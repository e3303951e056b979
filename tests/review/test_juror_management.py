"""Managing jurors: edit, deactivate (open assignments released, sign-ins end, assignment skips
them), reactivate, re-invite (exactly one more email, through notify's handler), the CSV import
(preview, confirm, stale, double submit, bad input), a juror's load, progress and conflicts; and
jurors accepting or declining their invitation. Through the operations, the API per role and the
pages per staff role (review and notify in this process; the events reach review's inbox and
notify's handler the way the workers hand them over)."""
from __future__ import annotations

import html
import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.notify.app import make_sender
from services.notify.handlers import HANDLERS as NOTIFY_HANDLERS
from services.notify.models import Delivery, inbox as notify_inbox, outbox as notify_outbox
from services.review.models import Assignment, Juror, LedgerEntry, outbox, signin_tables
from services.review.ops import juror_admin, juror_import
from shared.auth import issue_token
from shared.events import parse_message
from shared.inbox import InboxDispatcher, bind
from shared.signin.common import hash_secret
from shared.staff import store
from tests.review.test_review_pages import Review, csrf_of
from tests.support.stack import Stack, auth

ROLES = ("admin", "secretariat", "jury_chair", "observer")
CSV = ("name,email,language,categories,country\n"
       "Ewa Kowalska,ewa@lublin-tech.example.pl,en,tech_innovacity;human_centricity,PL\n"
       "Kenji Sato,kenji@kyoto.example.jp,ko,Leadership,JP\n")


class World(Review):
    """review (and notify, for the invitation emails) with staff members of every role."""

    def __init__(self, stack: Stack):
        super().__init__(stack.apps["review"])
        self.stack = stack
        self.client = stack.clients["review"]
        self.notify_db = stack.apps["notify"].extensions["prize"]["db"]
        self.notify = InboxDispatcher(self.notify_db, notify_inbox, notify_outbox, "notify",
                                      bind(NOTIFY_HANDLERS, sender=make_sender(stack.settings, self.notify_db)))
        self.tokens, self.browsers = {}, {}
        now = datetime.now(timezone.utc)
        tables = __import__("services.review.models", fromlist=["staff_tables"]).staff_tables
        for role in ROLES:
            member = {"staff_id": str(uuid.uuid4()), "email": f"{role}@wego.example", "name": role.title(),
                      "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
            secret = store.new_token_secret()
            with self.db.session() as s, s.begin():
                store.apply_member(s, tables, member, now)
                store.apply_token(s, tables, {"token_id": str(uuid.uuid4()), "staff_id": member["staff_id"],
                                              "name": "t", "token_hash": hash_secret(secret),
                                              "expires_at": now + timedelta(days=1), "revoked": False}, now)
                cookie = store.open_session(s, tables, member["staff_id"], "family-" + role, now)
            self.tokens[role] = auth(secret)
            client = self.app.test_client()
            client.set_cookie("prize_staff_review", cookie)
            self.browsers[role] = client

    def token(self, role: str, subject: str | None = None) -> dict:
        return auth(issue_token(self.secret, role, subject or str(uuid.uuid4())))

    def csrf(self, client, path: str) -> str:
        return csrf_of(client.get(path).get_data(as_text=True))

    def live(self, juror_id: str) -> list[Assignment]:
        with self.db.session() as s:
            return list(s.scalars(select(Assignment).where(Assignment.juror_id == juror_id,
                                                           Assignment.status != "removed")))

    def juror(self, juror_id: str) -> Juror:
        with self.db.session() as s:
            return s.get(Juror, juror_id)

    def deliver_invitations(self) -> None:
        """Every juror.invited in review's outbox to notify's handler, as its consumer would (the
        ones handled before come again: a redelivery has no second effect)."""
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "juror.invited")
                                  .order_by(outbox.c.seq)).scalars().all()
        for body in bodies:
            self.notify(parse_message(json.loads(body)))

    def invitation_emails(self, email: str) -> list[Delivery]:
        with self.notify_db.session() as s:
            return list(s.scalars(select(Delivery).where(Delivery.template == "juror_invited",
                                                         Delivery.recipient == email)))


@pytest.fixture
def world(embedded_settings):
    stack = Stack(embedded_settings, services=("review", "notify"))
    yield World(stack)
    stack.stop()


@pytest.fixture(params=["embedded", "real"])
def both_worlds(request):
    """The key tests on both stacks: SQLite, and PostgreSQL (row locks, the unique address)."""
    stack = Stack(request.getfixturevalue(f"{request.param}_settings"), services=("review", "notify"))
    yield World(stack)
    stack.stop()


def _scene(world) -> dict:
    """Three applications (TW, PL, AU), four jurors (BR, DE, KR, FR), two jurors per application."""
    call_id = world.open_call()
    apps = [world.submit(call_id),
            world.submit(call_id, title="Lublin electric buses", country="PL", organisation="City of Lublin",
                         email="smart@lublin.example.pl", city="Lublin"),
            world.submit(call_id, title="Ryde digital inclusion", country="AU", organisation="City of Ryde",
                         email="it@ryde.example.au", city="Ryde")]
    jurors = {name: world.invite(full, f"{name}@{domain}", country) for name, full, domain, country in (
        ("ana", "Ana Souza", "usp.example.br", "BR"), ("ben", "Ben Weber", "tum.example.de", "DE"),
        ("cho", "Cho Min-ji", "snu.example.kr", "KR"), ("dan", "Dan Martin", "inria.example.fr", "FR"))}
    world.screen_all(call_id)
    round_id = world.open_round(call_id, jurors_per_application=2)
    world.assign(round_id)
    return {"call": call_id, "apps": apps, "round": round_id, **jurors}


@pytest.fixture
def scene(world):
    return _scene(world)


def _busiest(world, scene) -> str:
    return max(("ana", "ben", "cho", "dan"), key=lambda n: (len(world.live(scene[n])), n))


def _submit(world, assignment_id: str, *, submitted: bool = True) -> None:
    with world.db.session() as s, s.begin():
        row = s.get(Assignment, assignment_id)
        row.scores, row.comments = {"problem": 7}, {"problem": "Clear."}
        if submitted:
            row.status, row.submitted_at = "submitted", datetime.now(timezone.utc)


# --- deactivation releases exactly the open assignments; assignment skips the juror ----------------

def test_deactivating_releases_exactly_the_open_assignments_and_assignment_skips_the_juror(both_worlds):
    world = both_worlds
    scene = _scene(world)
    name = _busiest(world, scene)
    x = scene[name]
    done, started = world.live(x)[:2]
    _submit(world, done.id)
    _submit(world, started.id, submitted=False)  # in progress: saved, not submitted
    browser = world.juror_browser(x)
    assert browser.get("/jury").status_code == 200
    r = world.client.get(f"/api/jurors/{x}", headers=world.tokens["secretariat"])
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "invited" and body["total"] == {"assigned": 2, "submitted": 1, "in_progress": 1,
                                                             "not_started": 0}
    assert body["load"][0]["kind"] == "finalist" and body["load"][0]["year"] == 2026
    # the confirmation page lists exactly what will be released
    page = world.browsers["secretariat"].get(f"/secretariat/jurors/{x}/deactivate").get_data(as_text=True)
    assert "1 open assignment(s) will be released" in page and "In progress" in page
    r = world.client.post(f"/api/jurors/{x}/deactivate", headers=world.tokens["secretariat"],
                          json={"reason": "left the organising committee"})
    assert r.status_code == 200, r.get_json()
    assert [a["id"] for a in r.get_json()["released"]] == [started.id]
    assert r.get_json()["juror"]["active"] is False
    assert r.get_json()["juror"]["deactivated_by"] == "secretariat:Secretariat <secretariat@wego.example>"
    assert [a.id for a in world.live(x)] == [done.id]  # the submitted review stays
    # their browser session stopped working, and so did any unused link
    assert browser.get("/jury").status_code == 302
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(signin_tables.sessions).where(
            signin_tables.sessions.c.juror_id == x, signin_tables.sessions.c.revoked_at.is_(None))) == 0
        assert s.scalar(select(func.count()).select_from(signin_tables.links).where(
            signin_tables.links.c.juror_id == x, signin_tables.links.c.used_at.is_(None))) == 0
        assert juror_admin.needing_jurors(s)[0]["application"].id == started.application_id
    jurors_page = world.browsers["observer"].get("/secretariat/jurors").get_data(as_text=True)
    assert "Applications that need a juror" in jurors_page and "Deactivated" in jurors_page
    # again: nothing more happens
    r = world.client.post(f"/api/jurors/{x}/deactivate", headers=world.tokens["admin"], json={})
    assert r.status_code == 200 and r.get_json()["released"] == []
    result = world.assign(scene["round"])
    assert x not in result["pairs"][started.application_id]
    assert result["added"] == 1 and [a.id for a in world.live(x)] == [done.id]
    with world.db.session() as s:
        assert juror_admin.needing_jurors(s) == []
        actions = [e.action for e in s.scalars(select(LedgerEntry).where(LedgerEntry.juror_id == x))]
    assert "juror.deactivated" in actions and actions.count("assignment.removed") == 1
    # reactivated: may sign in and be assigned again; nothing released comes back by itself
    r = world.client.post(f"/api/jurors/{x}/reactivate", headers=world.tokens["secretariat"])
    assert r.status_code == 200 and r.get_json()["active"] is True
    assert world.juror_browser(x).get("/jury").status_code == 200
    assert [a.id for a in world.live(x)] == [done.id]


def test_a_declined_juror_gives_back_open_work_and_is_skipped_by_assignment(both_worlds):
    world = both_worlds
    scene = _scene(world)
    y = scene[_busiest(world, scene)]
    before = {a.id for a in world.live(y)}
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", y), json={"answer": "decline"})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", y),
                          json={"answer": "decline", "reason": "   "})
    assert r.status_code == 422
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", y),
                          json={"answer": "decline", "reason": "I chair a competing prize this year."})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "declined" and r.get_json()["released"] == len(before) == 2
    assert world.live(y) == []
    result = world.assign(scene["round"])
    assert all(y not in jurors for jurors in result["pairs"].values()) and result["added"] == 2
    r = world.client.patch(f"/api/rounds/{scene['round']}/assignments", headers=world.tokens["secretariat"],
                           json={"application_id": scene["apps"][0], "add": [y]})
    assert r.status_code == 409 and r.get_json()["refused"][y] == ["declined the invitation"]
    detail = world.client.get(f"/api/jurors/{y}", headers=world.tokens["observer"]).get_json()
    assert detail["status"] == "declined" and detail["juror"]["declined_reason"].startswith("I chair")
    # they change their mind: accepted, assignable again
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", y), json={"answer": "accept"})
    assert r.status_code == 200 and r.get_json()["status"] == "accepted"
    assert world.juror(y).declined_reason == ""


def test_a_juror_accepts_or_declines_on_their_page(world, scene):
    ana = world.juror_browser(scene["ana"])
    page = ana.get("/jury").get_data(as_text=True)
    assert "Will you serve on the jury?" in page
    token = csrf_of(page)
    r = ana.post("/jury/invitation", data={"csrf_token": token, "answer": "decline", "reason": ""})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "Tell the secretariat why you decline." in text and 'id="decline-error"' in text
    assert ana.post("/jury/invitation", data={"answer": "accept"}).status_code == 403  # no CSRF token
    r = ana.post("/jury/invitation", data={"csrf_token": token, "answer": "accept"})
    assert r.status_code == 303 and r.headers["Location"] == "/jury"
    page = ana.get("/jury").get_data(as_text=True)
    assert "Thank you for accepting" in page and "Accepted" in page
    assert world.juror(scene["ana"]).invitation == "accepted"
    r = ana.post("/jury/invitation", data={"csrf_token": token, "answer": "decline",
                                           "reason": "<b>Moving abroad</b>"})
    assert r.status_code == 303
    page = ana.get("/jury").get_data(as_text=True)
    assert "&lt;b&gt;Moving abroad&lt;/b&gt;" in page and world.live(scene["ana"]) == []
    # the secretariat sees it on the list and the juror's page
    listing = world.browsers["jury_chair"].get("/secretariat/jurors").get_data(as_text=True)
    assert "Declined" in listing and "Accepted" not in listing.split("juror(s)")[1].split("Ben Weber")[0]


# --- re-invite: exactly one more email ------------------------------------------------------------

def test_reinviting_sends_exactly_one_more_invitation_email(world, scene):
    email = "cho@snu.example.kr"
    world.deliver_invitations()
    assert len(world.invitation_emails(email)) == 1
    r = world.client.post(f"/api/jurors/{scene['cho']}/reinvite", headers=world.tokens["secretariat"])
    assert r.status_code == 200, r.get_json()
    world.deliver_invitations()  # the new event, and every earlier one again
    world.deliver_invitations()
    emails = world.invitation_emails(email)
    assert len(emails) == 2 and len({e.event_id for e in emails}) == 2
    assert all(e.status in ("sent", "sending") for e in emails)
    links = [re.search(r"/signin/[\w-]+", e.body_text).group(0) for e in emails]
    assert links[0] != links[1]  # a new link
    # the page's button does the same, once per press
    office = world.browsers["secretariat"]
    token = world.csrf(office, f"/secretariat/jurors/{scene['cho']}")
    r = office.post(f"/secretariat/jurors/{scene['cho']}/reinvite", data={"csrf_token": token})
    assert r.status_code == 303
    world.deliver_invitations()
    assert len(world.invitation_emails(email)) == 3
    # a deactivated juror is not invited again
    world.client.post(f"/api/jurors/{scene['cho']}/deactivate", headers=world.tokens["secretariat"], json={})
    r = world.client.post(f"/api/jurors/{scene['cho']}/reinvite", headers=world.tokens["secretariat"])
    assert r.status_code == 409 and "reactivate" in r.get_json()["message"]
    with world.db.session() as s:
        actors = [e.actor for e in s.scalars(select(LedgerEntry).where(LedgerEntry.action == "juror.reinvited"))]
    assert actors == ["secretariat:Secretariat <secretariat@wego.example>"] * 2


# --- editing -------------------------------------------------------------------------------------

def test_editing_a_juror_through_the_api(world, scene):
    sec = world.tokens["secretariat"]
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec,
                           json={"name": "Dan Martin-Lee", "language": "ko", "expertise": ["leadership"],
                                 "version": 1})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["name"], r.get_json()["language"], r.get_json()["version"]) == ("Dan Martin-Lee", "ko", 2)
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"name": "Stale", "version": 1})
    assert r.status_code == 409 and r.get_json()["version"] == 2
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"email": "ANA@usp.example.br"})
    assert r.status_code == 409 and "another juror" in r.get_json()["message"]
    for bad in ({"email": "not-an-address"}, {"name": ""}, {"name": "x" * 201}, {"language": "xx"},
                {"country": "FRA"}):
        r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json=bad)
        assert r.status_code == 422 and set(r.get_json()["errors"]["json"]) == set(bad), bad
    # a new country brings the conflicts it causes, with their reasons
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"country": "tw"})
    assert r.status_code == 200 and r.get_json()["country"] == "TW"
    conflicts = world.client.get(f"/api/jurors/{scene['dan']}", headers=sec).get_json()["conflicts"]
    assert [(c["reference"], c["reason"]) for c in conflicts] == [(f"SSCP-2026-{scene['apps'][0][:6].upper()}",
                                                                   "same country")]
    # moving back: the conflict that no longer holds goes (the ledger keeps both)
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"country": "FR"})
    assert r.status_code == 200
    assert world.client.get(f"/api/jurors/{scene['dan']}", headers=sec).get_json()["conflicts"] == []
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.action == "conflict.cleared", LedgerEntry.juror_id == scene["dan"])) == 1
    assert world.client.patch(f"/api/jurors/{uuid.uuid4()}", headers=sec, json={"name": "X"}).status_code == 404
    with world.db.session() as s:
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.action == "juror.changed")).first()
    assert entry.actor == "secretariat:Secretariat <secretariat@wego.example>"
    assert entry.data["changes"]["name"] == ["Dan Martin", "Dan Martin-Lee"]


def test_editing_a_juror_on_their_page_keeps_what_was_typed_beside_the_errors(world, scene):
    office = world.browsers["admin"]
    path = f"/secretariat/jurors/{scene['ben']}"
    page = office.get(path).get_data(as_text=True)
    assert "Ben Weber" in page and "Conflicts of interest" in page and "Load and progress" in page
    form = {"csrf_token": csrf_of(page), "version": "1", "name": "Ben Weber-Typed", "email": "ben@@bad",
            "country": "DE", "organisation": "TUM", "language": "en", "categories": ["leadership"], "max_load": "5"}
    r = office.post(path, data=form)
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "not a valid email address" in text
    assert 'value="Ben Weber-Typed"' in text and 'value="ben@@bad"' in text and 'aria-invalid="true"' in text
    r = office.post(path, data={**form, "email": "", "name": ""})
    assert r.status_code == 422 and r.get_data(as_text=True).count("empty: required") == 2
    r = office.post(path, data={**form, "email": "cho@snu.example.kr"})
    assert r.status_code == 409 and "another juror has this address" in r.get_data(as_text=True)
    r = office.post(path, data={**form, "categories": ["astrology"]})
    assert r.status_code == 422 and "unknown category: astrology" in r.get_data(as_text=True)
    r = office.post(path, data={**form, "max_load": "many"})
    assert r.status_code == 422 and "a whole number" in r.get_data(as_text=True)
    r = office.post(path, data={**form, "email": "ben.weber@tum.example.de"})
    assert r.status_code == 303
    juror = world.juror(scene["ben"])
    assert (juror.name, juror.email, juror.max_load, juror.expertise) == (
        "Ben Weber-Typed", "ben.weber@tum.example.de", 5, ["leadership"])
    r = office.post(path, data={**form, "email": "ben.weber@tum.example.de"})  # the version of before
    assert r.status_code == 409 and "Someone changed this juror" in r.get_data(as_text=True)
    assert office.get(f"/secretariat/jurors/{uuid.uuid4()}").status_code == 404


# --- the CSV import -----------------------------------------------------------------------------

def test_csv_import_through_the_api_previews_then_creates_exactly_the_preview(both_worlds):
    world = both_worlds
    scene = _scene(world)
    sec = world.tokens["secretariat"]
    text = CSV + "Ana Souza,ana@usp.example.br,en,,BR\n"
    r = world.client.post("/api/jurors/import", headers=sec, json={"csv": text})
    assert r.status_code == 200, r.get_json()
    preview = r.get_json()
    assert [(row["line"], row["status"]) for row in preview["rows"]] == [(2, "new"), (3, "new"), (4, "existing")]
    assert preview["rows"][1]["categories"] == ["leadership"] and preview["rows"][1]["language"] == "ko"
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Juror)) == 4  # a preview writes nothing
    # the CSV changed since: stale
    r = world.client.post("/api/jurors/import/confirm", headers=sec, json={"csv": text + "\n", "token": preview["token"]})
    assert r.status_code == 409 and "preview it again" in r.get_json()["message"]
    r = world.client.post("/api/jurors/import/confirm", headers=sec, json={"csv": text, "token": preview["token"]})
    assert r.status_code == 201, r.get_json()
    assert sorted(j["email"] for j in r.get_json()["created"]) == ["ewa@lublin-tech.example.pl", "kenji@kyoto.example.jp"]
    assert r.get_json()["skipped"] == 1
    # a double submit creates nothing twice
    r = world.client.post("/api/jurors/import/confirm", headers=sec, json={"csv": text, "token": preview["token"]})
    assert r.status_code == 409 and "already imported" in r.get_json()["message"]
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Juror)) == 6
        ewa = s.scalar(select(Juror).where(Juror.email == "ewa@lublin-tech.example.pl"))
        assert (ewa.country, ewa.expertise, ewa.invited_by) == (
            "PL", ["tech_innovacity", "human_centricity"], "secretariat:Secretariat <secretariat@wego.example>")
        # conflicts found at once: same country as Lublin's application
        assert [c["reason"] for c in juror_admin.juror_conflicts(s, ewa.id)] == ["same country"]
    assert len(_invited(world)) == 6
    # the jurors changed since a preview: stale
    preview = world.client.post("/api/jurors/import", headers=sec,
                                json={"csv": "name,email,language,categories\nLi Wei,li@tsinghua.example.cn,zh,\n"}
                                ).get_json()
    world.client.patch(f"/api/jurors/{scene['ana']}", headers=sec, json={"organisation": "USP"})
    r = world.client.post("/api/jurors/import/confirm", headers=sec,
                          json={"csv": "name,email,language,categories\nLi Wei,li@tsinghua.example.cn,zh,\n",
                                "token": preview["token"]})
    assert r.status_code == 409 and "changed since the preview" in r.get_json()["message"]


def _invited(world) -> list:
    with world.db.engine.connect() as conn:
        return conn.execute(select(outbox.c.body).where(outbox.c.type == "juror.invited")).scalars().all()


@pytest.mark.parametrize("text,where,says", [
    ("", None, None),  # refused by the schema (min length)
    ("   \n", "csv", "empty"),
    ("name,email\nA,a@b.example\n", "csv", "missing column(s): language, categories"),
    ("name,email,language,categories,phone\n", "csv", "unknown column(s): phone"),
    ("name,email,language,categories\n" + "A,a@b.example,en,\n" * 501, "csv", "at most 500 jurors"),
    ("name,email,language,categories\nAna,not-an-address,en,\n", "csv.line 2", "not a valid email address"),
    ("name,email,language,categories\n,a@b.example,en,\n", "csv.line 2", "name: empty"),
    ("name,email,language,categories\n" + "x" * 201 + ",a@b.example,en,\n", "csv.line 2", "too long"),
    ("name,email,language,categories\nA,a@b.example,en,\nB,A@b.example,en,\n", "csv.line 3", "duplicate in the CSV"),
    ("name,email,language,categories\nA,a@b.example,en,astrology\n", "csv.line 2", "unknown category: astrology"),
    ("name,email,language,categories\nA,a@b.example,xx,\n", "csv.line 2", "unknown language"),
])
def test_csv_import_refuses_bad_input_naming_the_problem(world, text, where, says):
    r = world.client.post("/api/jurors/import", headers=world.tokens["secretariat"], json={"csv": text})
    assert r.status_code == 422, r.get_json()
    if where is None:
        return
    problems = r.get_json()["errors"]["json"]
    for key in where.split("."):
        problems = problems[key]
    assert any(says in p for p in problems), problems


def test_csv_too_big_is_refused(world):
    text = "name,email,language,categories\n" + "A,a@b.example,en,\n" * 6000
    r = world.client.post("/api/jurors/import", headers=world.tokens["secretariat"], json={"csv": text})
    assert r.status_code == 422  # over the schema's length
    with world.db.session() as s:
        with pytest.raises(juror_import.Refused) as refused:
            juror_import.preview(s, "name,email,language,categories\n" + "한" * 40_000)
    assert refused.value.status == 422 and "too big" in refused.value.message


def test_csv_import_on_the_pages_previews_confirms_and_refuses_a_double_submit(world, scene):
    office = world.browsers["secretariat"]
    page = office.get("/secretariat/jurors/import").get_data(as_text=True)
    token = csrf_of(page)
    r = office.post("/secretariat/jurors/import", data={"csrf_token": token, "csv": CSV.replace("ko,", "xx,")})
    assert r.status_code == 422 and "unknown language" in r.get_data(as_text=True)
    assert "Invite 1 juror(s)" not in r.get_data(as_text=True)  # no confirm while a line is wrong
    r = office.post("/secretariat/jurors/import", data={"csrf_token": token, "csv": ""})
    assert r.status_code == 422 and "Empty" in r.get_data(as_text=True)
    from io import BytesIO
    r = office.post("/secretariat/jurors/import", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (BytesIO(b"\xff\xfe\x00bad"), "jurors.csv")})
    assert r.status_code == 422 and "not UTF-8" in r.get_data(as_text=True)
    r = office.post("/secretariat/jurors/import", content_type="multipart/form-data",
                    data={"csrf_token": token, "file": (BytesIO(CSV.encode()), "jurors.csv")})
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "Invite 2 juror(s)" in text and "New: will be invited" in text
    confirm = {"csrf_token": token, "csv": html.unescape(re.search(r'name="csv" value="([^"]*)"', text).group(1)),
               "token": re.search(r'name="token" value="([^"]+)"', text).group(1)}
    assert confirm["csv"] == CSV
    r = office.post("/secretariat/jurors/import/confirm", data=confirm)
    assert r.status_code == 303 and r.headers["Location"] == "/secretariat/jurors"
    assert "Invited 2 juror(s)." in office.get("/secretariat/jurors").get_data(as_text=True)
    r = office.post("/secretariat/jurors/import/confirm", data=confirm)  # the same form again
    assert r.status_code == 409 and "already imported" in r.get_data(as_text=True)
    with world.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Juror)) == 6
    # an observer may preview nothing and confirm nothing
    viewer = world.browsers["observer"]
    vtoken = world.csrf(viewer, "/secretariat/jurors")
    assert viewer.get("/secretariat/jurors/import").status_code == 200
    r = viewer.post("/secretariat/jurors/import", data={"csrf_token": vtoken, "csv": CSV})
    assert r.status_code == 403 and "can read but not" in r.get_data(as_text=True)


# --- who may do what ------------------------------------------------------------------------------

CHANGES = [("patch", "/api/jurors/{id}", {"name": "Changed"}), ("post", "/api/jurors/{id}/deactivate", {}),
           ("post", "/api/jurors/{id}/reactivate", None), ("post", "/api/jurors/{id}/reinvite", None),
           ("post", "/api/jurors/import", {"csv": CSV}),
           ("post", "/api/jurors/import/confirm", {"csv": CSV, "token": "0" * 64})]


def test_the_api_by_role(world, scene):
    target = scene["ana"]
    for method, path, body in CHANGES:
        url = path.format(id=target)
        kwargs = {"json": body} if body is not None else {}
        assert getattr(world.client, method)(url, **kwargs).status_code == 401
        for role in ("observer", "jury_chair"):
            r = getattr(world.client, method)(url, headers=world.tokens[role], **kwargs)
            assert r.status_code == 403 and "can read but not" in r.get_json()["message"], (role, path)
        for headers in (world.token("juror", target), world.token("juror", scene["ben"]), world.token("applicant")):
            assert getattr(world.client, method)(url, headers=headers, **kwargs).status_code == 403
    for role in ROLES:
        assert world.client.get(f"/api/jurors/{target}", headers=world.tokens[role]).status_code == 200
    assert world.client.get(f"/api/jurors/{target}", headers=world.token("juror", target)).status_code == 403
    assert world.client.get(f"/api/jurors/{target}", headers=world.token("applicant")).status_code == 403
    assert world.juror(target).name == "Ana Souza" and world.juror(target).active  # nothing changed
    # admin and secretariat change
    r = world.client.patch(f"/api/jurors/{target}", headers=world.tokens["admin"], json={"name": "Ana S."})
    assert r.status_code == 200
    # the invitation answer is the juror's own: staff and applicants are refused, nobody names another juror
    for headers in (world.tokens["secretariat"], world.token("applicant")):
        assert world.client.post("/api/jury/invitation", headers=headers, json={"answer": "accept"}).status_code == 403
    assert world.client.post("/api/jury/invitation", json={"answer": "accept"}).status_code == 401
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", scene["ben"]), json={"answer": "accept"})
    assert r.status_code == 200 and world.juror(target).invitation == "invited"
    world.client.post(f"/api/jurors/{target}/deactivate", headers=world.tokens["secretariat"], json={})
    r = world.client.post("/api/jury/invitation", headers=world.token("juror", target), json={"answer": "accept"})
    assert r.status_code == 403


def test_the_pages_by_role(world, scene):
    paths = [f"/secretariat/jurors/{scene['ana']}/{suffix}" for suffix in ("reinvite", "reactivate", "deactivate")]
    paths += [f"/secretariat/jurors/{scene['ana']}", "/secretariat/jurors/import", "/secretariat/jurors/import/confirm"]
    for role in ROLES:
        browser = world.browsers[role]
        for path in ("/secretariat/jurors", f"/secretariat/jurors/{scene['ana']}", "/secretariat/jurors/import",
                     f"/secretariat/jurors/{scene['ana']}/deactivate"):
            assert browser.get(path).status_code == 200, (role, path)
        token = world.csrf(browser, "/secretariat/jurors")
        for path in paths:
            r = browser.post(path, data={"csrf_token": token, "name": "Changed", "email": "changed@x.example",
                                         "language": "en", "version": "1"})
            if role in ("observer", "jury_chair"):
                assert r.status_code == 403 and "can read but not" in r.get_data(as_text=True), (role, path)
            else:
                assert r.status_code < 500, (role, path)
            assert browser.post(path, data={"name": "Changed"}).status_code == 403  # no CSRF token
    anonymous = world.app.test_client()
    assert anonymous.get("/secretariat/jurors").status_code == 302
    juror = world.juror_browser(scene["ben"])
    for path in ("/secretariat/jurors", f"/secretariat/jurors/{scene['ana']}"):
        assert juror.get(path).status_code in (302, 403)
    assert "Ana Souza" not in juror.get(f"/secretariat/jurors/{scene['ana']}").get_data(as_text=True)


def test_the_dashboard_links_the_jurors(world, scene):
    page = world.browsers["secretariat"].get("/secretariat").get_data(as_text=True)
    assert 'href="/secretariat/jurors"' in page
    listing = world.browsers["secretariat"].get("/secretariat/jurors").get_data(as_text=True)
    for name in ("Ana Souza", "Ben Weber", "Cho Min-ji", "Dan Martin"):
        assert name in listing
    assert "4 juror(s)" in listing and "Invited" in listing


def test_two_confirms_of_one_preview_at_once_create_each_juror_once(both_worlds):
    """A double submit that arrives together: one confirm invites, the other is refused (409), on
    PostgreSQL by the unique address, on SQLite by the write lock and the stale preview."""
    import threading

    from tests.support.race import in_threads
    world = both_worlds
    world.open_call()
    sec = world.tokens["secretariat"]
    preview = world.client.post("/api/jurors/import", headers=sec, json={"csv": CSV}).get_json()

    def confirm():
        return world.app.test_client().post("/api/jurors/import/confirm", headers=sec,
                                            json={"csv": CSV, "token": preview["token"]}).status_code

    assert sorted(in_threads(confirm, 2, threading.Barrier(2, timeout=10))) == [201, 409]
    with world.db.session() as s:
        assert sorted(s.scalars(select(Juror.email))) == ["ewa@lublin-tech.example.pl", "kenji@kyoto.example.jp"]
    assert len(_invited(world)) == 2


def test_a_stale_version_is_refused_with_an_answer_the_document_describes(world, scene):
    """The 409 of a stale edit names the juror's version now; the API document says an error body
    may carry it (schemathesis found the answer refused by the document's error schema)."""
    import jsonschema

    sec = world.tokens["secretariat"]
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"name": "Dan M.", "version": 1})
    assert r.status_code == 200, r.get_json()
    r = world.client.patch(f"/api/jurors/{scene['dan']}", headers=sec, json={"name": "Stale", "version": 1})
    assert r.status_code == 409 and r.get_json()["version"] == 2
    document = world.client.get("/openapi.json").get_json()
    answers = document["paths"]["/api/jurors/{juror_id}"]["patch"]["responses"]
    described = answers.get("409") or answers["default"]
    if "$ref" in described:
        described = document["components"]["responses"][described["$ref"].rsplit("/", 1)[1]]
    schema = described["content"]["application/json"]["schema"]
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    jsonschema.validate(r.get_json(), schema)
