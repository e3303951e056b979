"""The secretariat's side of review, through its API: jurors and conflicts, screening, rounds,
assignment, standings against hand-computed numbers, the cut with its ties, awards under embargo
until release, exports, evidence packs and the ledger. review is fed intake's events the way its
worker gets them (JSON through parse_message and the inbox). Key tests run on both stacks."""
from __future__ import annotations

import csv
import io
import json
import uuid
from collections import Counter
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, text

from services.review.handlers import HANDLERS
from services.review.models import Application, Assignment, Conflict, Round, inbox, outbox
from shared.auth import issue_token
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher
from tests.support.stack import Stack, auth

CRITERIA = {
    "tech_innovacity": [("problem", 2.0), ("design", 1.0)],
    "human_centricity": [("problem", 1.0), ("design", 1.0)],
    "leadership": [("vision", 1.0), ("impact", 1.0)],
}


class Review:
    """review's app in this process, and the way to feed it events."""

    def __init__(self, settings):
        self.stack = Stack(settings, services=("review",))
        self.settings = settings
        self.client = self.stack.clients["review"]
        self.db = self.stack.apps["review"].extensions["prize"]["db"]
        self.dispatch = InboxDispatcher(self.db, inbox, outbox, "review", HANDLERS)
        self.sec = auth(self.stack.secretariat_token())
        self.call_id = str(uuid.uuid4())

    def deliver(self, type_: str, data: dict, producer: str = "intake") -> None:
        event = make_event(type_, data, producer=producer, correlation_id=str(uuid.uuid4()))
        self.dispatch(parse_message(json.loads(json.dumps(event.to_message()))))

    def open_call(self) -> str:
        self.deliver("call.opened", {
            "call_id": self.call_id, "year": 2026, "theme": "Smart cities for everyone",
            "opens_at": "2026-04-01T00:00:00+09:00", "closes_at": "2026-07-14T18:00:00+09:00",
            "time_zone": "Asia/Seoul", "score_min": 0, "score_max": 10, "version": 1,
            "categories": [{"key": key, "title": key.replace("_", " ").title(),
                            "applicant_types": ["individual"] if key == "leadership" else
                            ["city_government", "institution", "corporation"],
                            "criteria": [{"key": k, "title": k.title(), "weight": w} for k, w in crits]}
                           for key, crits in CRITERIA.items()]})
        return self.call_id

    def submit(self, title: str, country: str, organisation: str, email: str, city: str,
               category: str = "tech_innovacity") -> str:
        app_id = str(uuid.uuid4())
        self.deliver("application.submitted", {
            "application_id": app_id, "reference": "SSCP-2026-" + app_id[:6].upper(), "call_id": self.call_id,
            "year": 2026, "category": category, "title": title, "summary": f"{title}: a summary.",
            "submitted_at": "2026-07-01T09:00:00+00:00",
            "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": organisation,
                          "country": country, "city": city, "contact_name": "Contact " + city,
                          "contact_email": email, "language": "en"},
            "answers": {"problem": "Residents asked for it.", "design": "Open data."},
            "project": {"location": city, "start_date": "2024-01-01", "budget": "1 M EUR", "partners": ""},
            "documents": []})
        return app_id

    def invite(self, name: str, email: str, country: str, organisation: str, **extra) -> dict:
        r = self.client.post("/api/jurors", headers=self.sec, json={
            "name": name, "email": email, "country": country, "organisation": organisation,
            "expertise": extra.pop("expertise", ["tech_innovacity"]), "languages": ["en"], "language": "en",
            **extra})
        assert r.status_code == 201, r.get_json()
        return r.get_json()

    def events(self, type_: str) -> list[dict]:
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_)
                                  .order_by(outbox.c.seq)).scalars().all()
        return [json.loads(b)["data"] for b in bodies]

    def assignments(self, round_id: str, live: bool = True) -> list[Assignment]:
        with self.db.session() as s:
            q = select(Assignment).where(Assignment.round_id == round_id)
            if live:
                q = q.where(Assignment.status != "removed")
            return list(s.scalars(q))

    def score(self, round_id: str, application_id: str, per_juror: list[dict]) -> None:
        """Submit scores for the application's jurors in order (as the juror desk stores them)."""
        with self.db.session() as s, s.begin():
            rows = s.scalars(select(Assignment).where(
                Assignment.round_id == round_id, Assignment.application_id == application_id,
                Assignment.status != "removed").order_by(Assignment.juror_id)).all()
            assert len(rows) >= len(per_juror)
            for row, scores in zip(rows, per_juror):
                row.scores = dict(scores)
                row.comments = {k: f"comment on {k} by {row.juror_id[:4]}" for k in scores}
                row.status = "submitted"
                row.submitted_at = row.updated_at = datetime.now(timezone.utc)

    def token(self, role: str, subject: str = "someone") -> dict:
        return auth(issue_token(self.settings.secret_key, role, subject))

    def stop(self):
        self.stack.stop()


def load_counts(assignments) -> Counter:
    return Counter(a.juror_id for a in assignments)


@pytest.fixture(params=["embedded", "real"])
def settings(request):
    return request.getfixturevalue(f"{request.param}_settings")


@pytest.fixture
def review(settings):
    r = Review(settings)
    yield r
    r.stop()


@pytest.fixture
def embedded_review(embedded_settings):
    r = Review(embedded_settings)
    yield r
    r.stop()


def edition(review: Review) -> dict:
    """A call with applications from five countries, six jurors (three of them conflicted with one
    application each: same country, same email domain, and one arriving after the invitation)."""
    review.open_call()
    apps = {
        "A1": review.submit("Seoul data hub", "KR", "Seoul Metropolitan Government", "lee@seoul.example.kr", "Seoul"),
        "A2": review.submit("Hydrogen buses for the harbour", "TW", "Kaohsiung City Government",
                            "mei.lin@kcg.example.tw", "高雄 Kaohsiung"),
        "A3": review.submit("Electric buses", "PL", "Lublin City Office", "anna@lublin.example.eu", "Lublin"),
        "A4": review.submit("Flood sensors", "BR", "Prefeitura de Guarulhos", "ana@guarulhos.example.br",
                            "Guarulhos"),
        "H1": review.submit("Digital inclusion for the elderly", "HU", "Budapest Főváros",
                            "eva@budapest.example.hu", "Budapest", category="human_centricity"),
        "X": review.submit("A copy of a brochure", "CN", "Somewhere Corp", "x@corp.example.cn", "Chengdu"),
    }
    jurors = {
        "J1": review.invite("Kim Min-jun", "minjun@kaist.example.kr", "KR", "KAIST"),
        "J2": review.invite("Chen Yi", "chen@ntu.example.tw", "TW", "National Taiwan University"),
        "J3": review.invite("Olivia Smith", "olivia@ryde.example.au", "AU", "City of Ryde",
                            expertise=["human_centricity"]),
        "J4": review.invite("Jonas Weber", "jonas@tum.example.de", "DE", "TU München"),
        "J5": review.invite("Piotr Zieliński", "piotr@lublin.example.eu", "FR", "Lublin Innovation Lab"),
        "J6": review.invite("Somchai Dee", "somchai@cmu.example.th", "TH", "Chiang Mai University",
                            expertise=["human_centricity"]),
    }
    # arrives after the jurors: detected on arrival (J6 shares its country)
    apps["H2"] = review.submit("Sign language video kiosks", "TH", "Chiang Mai Municipality",
                               "nok@chiangmai.example.th", "Chiang Mai", category="human_centricity")
    return {"apps": apps, "jurors": {k: v["id"] for k, v in jurors.items()}}


def screen_all(review: Review, apps: dict) -> None:
    """Screen every application, its event at once (``send_now``: these tests are about the rounds;
    the undo window is tests/review/test_screening_console.py's)."""
    for key, app_id in apps.items():
        body = {"eligible": key != "X", "reason": "" if key != "X" else "not a project: a brochure", "send_now": True}
        r = review.client.post(f"/api/applications/{app_id}/screening", headers=review.sec, json=body)
        assert r.status_code == 200, r.get_json()


def open_round(review: Review, **settings) -> dict:
    body = {"call_id": review.call_id, "kind": "finalist", "jurors_per_application": 3,
            "advance_per_category": 2, "min_reviews": 2, **settings}
    r = review.client.post("/api/rounds", headers=review.sec, json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def conflicts_of(review: Review) -> set[tuple[str, str, str]]:
    with review.db.session() as s:
        return set(s.execute(select(Conflict.juror_id, Conflict.application_id, Conflict.source)).all())


def test_invitation_publishes_juror_invited_and_detects_conflicts(review):
    e = edition(review)
    apps, jurors = e["apps"], e["jurors"]
    invited = review.events("juror.invited")
    assert [i["email"] for i in invited] == ["minjun@kaist.example.kr", "chen@ntu.example.tw",
                                             "olivia@ryde.example.au", "jonas@tum.example.de",
                                             "piotr@lublin.example.eu", "somchai@cmu.example.th"]
    assert invited[0]["url"].startswith(review.settings.review_public_url)
    assert invited[0]["juror_id"] == jurors["J1"] and invited[0]["expires_at"]
    found = conflicts_of(review)
    assert (jurors["J1"], apps["A1"], "country") in found
    assert (jurors["J2"], apps["A2"], "country") in found
    assert (jurors["J5"], apps["A3"], "email_domain") in found
    assert (jurors["J6"], apps["H2"], "country") in found  # detected when H2 arrived
    assert {(j, a) for j, a, _ in found} == {(jurors["J1"], apps["A1"]), (jurors["J2"], apps["A2"]),
                                            (jurors["J5"], apps["A3"]), (jurors["J6"], apps["H2"])}
    r = review.client.get("/api/conflicts", headers=review.sec, query_string={"juror_id": jurors["J5"]})
    assert r.status_code == 200 and r.get_json()["total"] == 1
    assert r.get_json()["items"][0]["reason"] == "same email domain"
    r = review.client.get(f"/api/jurors/{jurors['J1']}", headers=review.sec)
    assert r.status_code == 200
    assert r.get_json()["juror"]["country"] == "KR"
    assert [c["application_id"] for c in r.get_json()["conflicts"]] == [apps["A1"]]
    # the same email again is a conflict of its own kind
    r = review.client.post("/api/jurors", headers=review.sec, json={
        "name": "Kim again", "email": "MinJun@kaist.example.kr", "country": "KR", "organisation": "KAIST"})
    assert r.status_code == 409 and "already" in r.get_json()["message"]
    assert len(review.client.get("/api/jurors", headers=review.sec).get_json()) == 6


def test_full_round_screening_assignment_standings_ties_close_awards_release(review):
    e = edition(review)
    apps, jurors = e["apps"], e["jurors"]
    screen_all(review, apps)
    screened = review.events("application.screened")
    assert len(screened) == 7
    assert [s for s in screened if not s["eligible"]] == [
        {"application_id": apps["X"], "reference": screened[5]["reference"], "eligible": False,
         "reason": "not a project: a brochure", "screened_at": screened[5]["screened_at"]}]

    rnd = open_round(review)
    r = review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["added"] == 6 * 3
    rows = review.assignments(rnd["id"])
    conflicted = {(j, a) for j, a, _ in conflicts_of(review)}
    by_app = {}
    for row in rows:
        by_app.setdefault(row.application_id, []).append(row.juror_id)
        assert (row.juror_id, row.application_id) not in conflicted
    assert set(by_app) == {apps[k] for k in ("A1", "A2", "A3", "A4", "H1", "H2")}  # not the ineligible X
    assert all(len(js) == 3 == len(set(js)) for js in by_app.values())
    loads = Counter(row.juror_id for row in rows)
    assert max(loads.values()) - min(loads.values()) <= 1
    digests = review.events("review.assigned")
    assert len(digests) == len(loads)  # one digest per juror, not one email per application
    for d in digests:
        assert d["round"] == "finalist" and d["year"] == 2026
        assert len(d["applications"]) == loads[d["juror_id"]]
    # assigning again adds nothing and sends nothing
    r = review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec)
    assert r.status_code == 200 and r.get_json()["added"] == 0
    assert len(review.events("review.assigned")) == len(digests)

    # tech weights problem 2, design 1: total = (2p + d) / 3; human: (p + d) / 2
    review.score(rnd["id"], apps["A1"], [{"problem": 8, "design": 8}] * 3)                 # 8
    review.score(rnd["id"], apps["A2"], [{"problem": 6, "design": 9}] * 3)                 # 7
    review.score(rnd["id"], apps["A3"], [{"problem": 7, "design": 7}] * 3)                 # 7
    review.score(rnd["id"], apps["A4"], [{"problem": 5, "design": 2}, {"problem": 8, "design": 2},
                                         {"problem": 2, "design": 2}])                     # 4, 6, 2
    review.score(rnd["id"], apps["H1"], [{"problem": 9, "design": 7}] * 2)                 # 8 (2 of 3)
    review.score(rnd["id"], apps["H2"], [{"problem": 6, "design": 6}] * 3)                 # 6

    r = review.client.get(f"/api/rounds/{rnd['id']}/standings", headers=review.sec)
    assert r.status_code == 200, r.get_json()
    board = {row["application_id"]: row for row in r.get_json()["categories"]["tech_innovacity"]["leaderboard"]}
    assert [(board[apps[k]]["rank"], board[apps[k]]["outcome"]) for k in ("A1", "A2", "A3", "A4")] == [
        (1, "advance"), (2, "tie"), (2, "tie"), (4, "eliminate")]
    assert board[apps["A1"]]["mean"] == pytest.approx(8.0)
    assert board[apps["A2"]]["mean"] == pytest.approx(7.0)
    assert board[apps["A4"]]["mean"] == pytest.approx(4.0)
    assert board[apps["A4"]]["median"] == pytest.approx(4.0)
    assert board[apps["A4"]]["spread"] == pytest.approx(4.0)
    assert board[apps["A4"]]["disagreement"] is True  # spread 4 > 2.5 (a quarter of the 0-10 scale)
    assert board[apps["A1"]]["disagreement"] is False
    human = {row["application_id"]: row for row in r.get_json()["categories"]["human_centricity"]["leaderboard"]}
    assert human[apps["H1"]]["n_reviews"] == 2 and human[apps["H1"]]["mean"] == pytest.approx(8.0)
    assert human[apps["H2"]]["mean"] == pytest.approx(6.0)
    assert r.get_json()["agreement"]["n_applications"] == 6
    r = review.client.get(f"/api/rounds/{rnd['id']}/standings?normalise=true", headers=review.sec)
    assert r.status_code == 200
    assert all(row["normalised_mean"] is not None
               for row in r.get_json()["categories"]["tech_innovacity"]["leaderboard"])

    # the tie at the cut is refused, listed and kept on the round
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec, json={})
    assert r.status_code == 409, r.get_json()
    assert sorted(t["application_id"] for t in r.get_json()["ties"]) == sorted([apps["A2"], apps["A3"]])
    assert r.get_json()["short_of_reviews"] == []
    assert sorted(review.client.get(f"/api/rounds/{rnd['id']}", headers=review.sec)
                  .get_json()["round"]["ties"]) == sorted([apps["A2"], apps["A3"]])
    assert review.events("application.advanced") == []
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec,
                           json={"decisions": {apps["A2"]: "advance", apps["A3"]: "eliminate"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["round"]["status"] == "closed"
    advanced = {e["application_id"] for e in review.events("application.advanced")}
    eliminated = {e["application_id"] for e in review.events("application.eliminated")}
    assert advanced == {apps["A1"], apps["A2"], apps["H1"], apps["H2"]}
    assert eliminated == {apps["A3"], apps["A4"]}
    # scores and assignments are locked now
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec, json={})
    assert r.status_code == 409
    r = review.client.patch(f"/api/rounds/{rnd['id']}/assignments", headers=review.sec,
                            json={"application_id": apps["A1"], "add": [jurors["J4"]]})
    assert r.status_code == 409

    # awards: recorded and announced to intake, embargoed until the release
    r = review.client.post("/api/rounds", headers=review.sec, json={"call_id": review.call_id, "kind": "award"})
    assert r.status_code == 201, r.get_json()
    award = lambda key, outcome, title="": review.client.post(  # noqa: E731
        f"/api/applications/{apps[key]}/award", headers=review.sec, json={"outcome": outcome, "award": title})
    assert award("A1", "winner", "Tech-InnovaCity Grand Prize").status_code == 200
    assert award("H1", "not_awarded").status_code == 200
    assert award("A3", "special_mention", "Special Mention").status_code == 200  # any eligible application
    r = award("A4", "winner")
    assert r.status_code == 409 and "finalists" in r.get_json()["message"]
    assert award("X", "special_mention").status_code == 409  # ineligible
    decided = review.events("award.decided")
    assert {d["application_id"]: d["outcome"] for d in decided} == {
        apps["A1"]: "winner", apps["H1"]: "not_awarded", apps["A3"]: "special_mention"}
    assert review.events("results.released") == []
    r = review.client.post(f"/api/calls/{review.call_id}/release", headers=review.sec, json={"round": "award"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["released"] == 3
    released = review.events("results.released")
    assert {(x["application_id"], x["round"]) for x in released} == {
        (apps["A1"], "award"), (apps["H1"], "award"), (apps["A3"], "award")}
    r = review.client.post(f"/api/calls/{review.call_id}/release", headers=review.sec, json={"round": "award"})
    assert r.status_code == 200 and r.get_json()["already"] is True
    assert len(review.events("results.released")) == 3
    assert award("A2", "winner").status_code == 409  # released: decisions are final
    r = review.client.post(f"/api/calls/{review.call_id}/release", headers=review.sec, json={"round": "finalist"})
    assert r.status_code == 200 and r.get_json()["released"] == 6
    finalist = {x["application_id"] for x in review.events("results.released") if x["round"] == "finalist"}
    assert finalist == {apps[k] for k in ("A1", "A2", "A3", "A4", "H1", "H2")}

    # the CSV: every score and comment per juror and criterion, then the standings
    r = review.client.get(f"/api/rounds/{rnd['id']}/export.csv", headers=review.sec)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    blank = lines.index([])
    header, scores, standings = lines[0], lines[1:blank], lines[blank + 1:]
    assert len(scores) == 18 * 2  # 18 assignments, two criteria each
    cols = {name: i for i, name in enumerate(header)}
    a4 = sorted(float(row[cols["score"]]) for row in scores
                if row[cols["application_id"]] == apps["A4"] and row[cols["criterion"]] == "problem")
    assert a4 == [2.0, 5.0, 8.0]
    assert all(row[cols["comment"]].startswith("comment on") for row in scores
               if row[cols["status"]] == "submitted")
    assert standings[0][:3] == ["category", "rank", "outcome"]
    assert len(standings) == 1 + 6

    # the XLSX, opened with openpyxl
    from openpyxl import load_workbook
    r = review.client.get(f"/api/rounds/{rnd['id']}/export.xlsx", headers=review.sec)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.get_data()))
    assert book.sheetnames == ["Scores", "Standings"]
    assert book["Scores"].max_row == 1 + 36
    titles = [row[5] for row in book["Standings"].iter_rows(min_row=2, values_only=True)]
    assert "Hydrogen buses for the harbour" in titles

    # the evidence pack of A1: its file, assignments, scores, conflicts, decisions, ledger with hashes
    r = review.client.get(f"/api/applications/{apps['A1']}/evidence", headers=review.sec)
    assert r.status_code == 200
    pack = json.loads(r.get_data(as_text=True))
    assert pack["application"]["title"] == "Seoul data hub"
    assert len(pack["assignments"]) == 3 and all(a["scores"] == {"problem": 8, "design": 8}
                                                 for a in pack["assignments"])
    assert [c["juror"]["id"] for c in pack["conflicts"]] == [jurors["J1"]]
    assert pack["decisions"]["award"]["outcome"] == "winner"
    actions = [entry["action"] for entry in pack["ledger"]]
    for action in ("conflict.detected", "application.screened", "assignment.added", "application.advanced",
                   "award.decided"):
        assert action in actions
    assert all(len(entry["hash"]) == 64 for entry in pack["ledger"])
    assert pack["chain"]["verified"] is True, pack["chain"]

    # the ledger verifies, then an edited row is found
    r = review.client.get("/api/ledger/verify", headers=review.sec)
    assert r.status_code == 200 and r.get_json()["ok"] is True, r.get_json()
    entry = next(e for e in pack["ledger"] if e["action"] == "award.decided")
    with review.db.engine.begin() as conn:
        conn.execute(text("UPDATE ledger SET actor = 'mallory' WHERE seq = :seq"), {"seq": entry["seq"]})
    r = review.client.get("/api/ledger/verify", headers=review.sec)
    assert r.get_json()["ok"] is False
    assert [p["seq"] for p in r.get_json()["problems"]] == [entry["seq"]]
    pack = json.loads(review.client.get(f"/api/applications/{apps['A1']}/evidence",
                                        headers=review.sec).get_data(as_text=True))
    assert pack["chain"]["verified"] is False


def test_infeasible_assignment_is_409_and_writes_nothing(review):
    e = edition(review)
    screen_all(review, e["apps"])
    rnd = open_round(review, jurors_per_application=6)  # six jurors, but each app has a conflicted one
    r = review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec)
    assert r.status_code == 409, r.get_json()
    body = r.get_json()
    assert "no complete assignment" in body["message"]
    assert {x["application"] for x in body["too_few_jurors"]} == {e["apps"][k] for k in ("A1", "A2", "A3", "H2")}
    assert review.assignments(rnd["id"], live=False) == []
    assert review.events("review.assigned") == []


def test_adjust_refuses_conflicts_and_needs_a_reason_to_drop_submitted_scores(review):
    e = edition(review)
    apps, jurors = e["apps"], e["jurors"]
    screen_all(review, apps)
    rnd = open_round(review)
    assert review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec).status_code == 200
    url = f"/api/rounds/{rnd['id']}/assignments"
    r = review.client.patch(url, headers=review.sec, json={"application_id": apps["A1"], "add": [jurors["J1"]]})
    assert r.status_code == 409 and r.get_json()["refused"] == {jurors["J1"]: ["same country"]}
    held = [a.juror_id for a in review.assignments(rnd["id"]) if a.application_id == apps["A4"]]
    review.score(rnd["id"], apps["A4"], [{"problem": 5, "design": 5}] * 3)
    r = review.client.patch(url, headers=review.sec, json={"application_id": apps["A4"], "remove": [held[0]]})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    spare = next(j for j in jurors.values() if j not in held)
    before = len(review.events("review.assigned"))
    r = review.client.patch(url, headers=review.sec, json={
        "application_id": apps["A4"], "remove": [held[0]], "add": [spare], "reason": "left the jury"})
    assert r.status_code == 200, r.get_json()
    assert sorted(a["juror_id"] for a in r.get_json()) == sorted(held[1:] + [spare])
    digest = review.events("review.assigned")[before:]
    assert [(d["juror_id"], [a["application_id"] for a in d["applications"]]) for d in digest] == [
        (spare, [apps["A4"]])]
    r = review.client.patch(url, headers=review.sec, json={"application_id": apps["X"], "add": [spare]})
    assert r.status_code == 409  # ineligible: not in the round
    r = review.client.patch(url, headers=review.sec, json={"application_id": apps["A4"], "add": [str(uuid.uuid4())]})
    assert r.status_code == 422 and "add" in r.get_json()["errors"]["json"]
    r = review.client.patch(url, headers=review.sec, json={"application_id": apps["A4"]})
    assert r.status_code == 422


def test_screening_rules(review):
    e = edition(review)
    apps = e["apps"]
    url = lambda key: f"/api/applications/{apps[key]}/screening"  # noqa: E731
    r = review.client.post(url("X"), headers=review.sec, json={"eligible": False})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]["json"]
    now = {"eligible": True, "send_now": True}  # published at once, not after the undo window
    assert review.client.post(url("A1"), headers=review.sec, json=now).status_code == 200
    assert review.client.post(url("A1"), headers=review.sec, json=now).status_code == 200
    assert len(review.events("application.screened")) == 1  # the same answer again: no second event
    r = review.client.post(url("A1"), headers=review.sec, json={"eligible": False, "reason": "out of scope"})
    assert r.status_code == 200 and r.get_json()["stage"] == "ineligible"  # corrected before the round
    review.deliver("application.withdrawn", {"application_id": apps["A2"], "reference": "SSCP-2026-W",
                                             "reason": "", "withdrawn_at": "2026-07-02T00:00:00+00:00"})
    r = review.client.post(url("A2"), headers=review.sec, json={"eligible": True})
    assert r.status_code == 409 and "withdrawn" in r.get_json()["message"]
    assert review.client.post(url("A3"), headers=review.sec, json={"eligible": True}).status_code == 200
    open_round(review)
    r = review.client.post(url("A3"), headers=review.sec, json={"eligible": False, "reason": "late doubt"})
    assert r.status_code == 409
    assert review.client.post(url("A4"), headers=review.sec, json={"eligible": True}).status_code == 200
    r = review.client.post(f"/api/applications/{uuid.uuid4()}/screening", headers=review.sec,
                           json={"eligible": True})
    assert r.status_code == 404 and r.is_json


def test_close_refuses_applications_short_of_reviews_until_decided(embedded_review):
    review = embedded_review
    e = edition(review)
    apps = e["apps"]
    screen_all(review, apps)
    rnd = open_round(review, advance_per_category=1)
    review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=review.sec)
    for key, value in (("A1", 9), ("A2", 8), ("A3", 7), ("H1", 6), ("H2", 5)):
        review.score(rnd["id"], apps[key], [{"problem": value, "design": value}] * 3)
    review.score(rnd["id"], apps["A4"], [{"problem": 9, "design": 9}])  # one review of the two needed
    # a withdrawn application leaves the round and its assignments
    review.deliver("application.withdrawn", {"application_id": apps["H2"], "reference": "SSCP-2026-W",
                                             "reason": "", "withdrawn_at": "2026-07-02T00:00:00+00:00"})
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec, json={})
    assert r.status_code == 409
    assert [x["application_id"] for x in r.get_json()["short_of_reviews"]] == [apps["A4"]]
    assert r.get_json()["ties"] == []
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec,
                           json={"decisions": {str(uuid.uuid4()): "advance"}})
    assert r.status_code == 422
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec,
                           json={"decisions": {apps["A4"]: "maybe"}})
    assert r.status_code == 422 and "decisions" in r.get_json()["errors"]["json"]
    r = review.client.post(f"/api/rounds/{rnd['id']}/close", headers=review.sec,
                           json={"decisions": {apps["A4"]: "eliminate"}})
    assert r.status_code == 200, r.get_json()
    assert {x["application_id"] for x in review.events("application.advanced")} == {apps["A1"], apps["H1"]}
    assert {x["application_id"] for x in review.events("application.eliminated")} == {
        apps["A2"], apps["A3"], apps["A4"]}
    with review.db.session() as s:
        assert s.get(Application, apps["H2"]).stage == "withdrawn"
        assert s.get(Round, rnd["id"]).status == "closed"


def test_bad_input_is_a_json_error_never_a_500(embedded_review):
    review = embedded_review
    review.open_call()
    sec = review.sec
    r = review.client.post("/api/jurors", headers=sec, json={"name": "", "email": "nope", "country": "Korea",
                                                              "language": "xx", "max_load": -1})
    assert r.status_code == 422
    assert set(r.get_json()["errors"]["json"]) == {"name", "email", "country", "language", "max_load"}
    r = review.client.post("/api/rounds", headers=sec, json={"call_id": review.call_id, "kind": "semi"})
    assert r.status_code == 422 and "kind" in r.get_json()["errors"]["json"]
    r = review.client.post("/api/rounds", headers=sec, json={"call_id": str(uuid.uuid4()), "kind": "finalist"})
    assert r.status_code == 404
    r = review.client.post("/api/rounds", headers=sec, json={"call_id": review.call_id, "kind": "award"})
    assert r.status_code == 409  # the finalist round comes first
    rnd = open_round(review)
    r = review.client.post("/api/rounds", headers=sec, json={"call_id": review.call_id, "kind": "finalist"})
    assert r.status_code == 409
    assert review.client.get(f"/api/rounds/{rnd['id']}/standings?normalise=maybe", headers=sec).status_code == 422
    assert review.client.get(f"/api/rounds/{rnd['id']}/standings?sort=x", headers=sec).status_code == 422
    for path in (f"/api/rounds/{uuid.uuid4()}", f"/api/rounds/{uuid.uuid4()}/standings",
                 f"/api/rounds/{uuid.uuid4()}/export.csv", f"/api/rounds/{uuid.uuid4()}/export.xlsx",
                 f"/api/jurors/{uuid.uuid4()}", f"/api/applications/{uuid.uuid4()}/evidence",
                 "/api/rounds/not-a-uuid"):
        r = review.client.get(path, headers=sec)
        assert r.status_code == 404 and r.is_json and r.get_json()["message"], path
    for path, body in ((f"/api/rounds/{uuid.uuid4()}/assign", None), (f"/api/rounds/{uuid.uuid4()}/close", {}),
                       (f"/api/calls/{uuid.uuid4()}/release", {"round": "award"}),
                       (f"/api/applications/{uuid.uuid4()}/award", {"outcome": "winner"})):
        r = review.client.post(path, headers=sec, json=body)
        assert r.status_code == 404 and r.is_json, path
    r = review.client.post(f"/api/calls/{review.call_id}/release", headers=sec, json={"round": "finalist"})
    assert r.status_code == 409  # not closed yet
    r = review.client.post(f"/api/calls/{review.call_id}/release", headers=sec, json={"round": "semi"})
    assert r.status_code == 422
    r = review.client.post(f"/api/rounds/{rnd['id']}/assign", headers=sec, data="x", content_type="text/plain")
    assert r.status_code == 415
    r = review.client.get("/api/conflicts?source=gossip", headers=sec)
    assert r.status_code == 422 and "source" in r.get_json()["errors"]["query"]


def test_access_denials_are_listed(embedded_review):
    review = embedded_review
    from services.review.models import AccessDenial
    juror_id = str(uuid.uuid4())
    with review.db.session() as s, s.begin():
        s.add(AccessDenial(at=datetime.now(timezone.utc), juror_id=juror_id, application_id=str(uuid.uuid4()),
                           path="/api/jury/applications/x", reason="conflicted"))
        s.add(AccessDenial(at=datetime.now(timezone.utc), juror_id=str(uuid.uuid4()), application_id=None,
                           path="/api/jury/applications/y", reason="not assigned"))
    r = review.client.get("/api/access-denials", headers=review.sec)
    assert r.status_code == 200 and r.get_json()["total"] == 2
    r = review.client.get(f"/api/access-denials?juror_id={juror_id}", headers=review.sec)
    assert [d["reason"] for d in r.get_json()["items"]] == ["conflicted"]


ENDPOINTS = [
    ("get", "/api/jurors", None),
    ("post", "/api/jurors", {"name": "Ana", "email": "ana@role.example.org", "country": "PT"}),
    ("get", "/api/jurors/{juror}", None),
    ("patch", "/api/jurors/{juror}", {"name": "Jonas W."}),
    ("post", "/api/jurors/{juror}/deactivate", {}),
    ("post", "/api/jurors/{juror}/reactivate", None),
    ("post", "/api/jurors/{juror}/reinvite", None),
    ("post", "/api/jurors/import", {"csv": "name,email,language,categories\nLi Wei,li@tsinghua.example.cn,zh,\n"}),
    ("post", "/api/jurors/import/confirm", {"csv": "name,email,language,categories\n", "token": "0" * 64}),
    ("post", "/api/applications/{app}/screening", {"eligible": True}),
    ("get", "/api/applications/{app}/screening", None),
    ("get", "/api/conflicts", None),
    ("get", "/api/rounds", None),
    ("post", "/api/rounds", {"call_id": "{call}", "kind": "finalist"}),
    ("get", "/api/rounds/{round}", None),
    ("get", "/api/rounds/{round}/assignment-preview", None),
    ("post", "/api/rounds/{round}/assign", None),
    ("patch", "/api/rounds/{round}/assignments", {"application_id": "{app}", "add": ["{juror}"]}),
    ("get", "/api/rounds/{round}/standings?normalise=true", None),
    ("get", "/api/rounds/{round}/close-preview", None),
    ("post", "/api/rounds/{round}/close", {}),
    ("post", "/api/applications/{app}/award", {"outcome": "special_mention"}),
    ("get", "/api/calls/{call}/release-preview?round=finalist", None),
    ("post", "/api/calls/{call}/release", {"round": "finalist"}),
    ("get", "/api/rounds/{round}/export.csv", None),
    ("get", "/api/rounds/{round}/export.xlsx", None),
    ("get", "/api/applications/{app}/evidence", None),
    ("get", "/api/ledger/verify", None),
    ("get", "/api/access-denials", None),
]


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.fixture
def role_world(embedded_review):
    review = embedded_review
    review.open_call()
    app_id = review.submit("Seoul data hub", "KR", "Seoul Metropolitan Government", "lee@seoul.example.kr", "Seoul")
    juror = review.invite("Jonas Weber", "jonas@tum.example.de", "DE", "TU München")
    with review.db.session() as s, s.begin():  # a round made directly, so the role matrix needs no order
        s.add(Round(id=(round_id := str(uuid.uuid4())), call_id=review.call_id, kind="award", status="open",
                    opened_at=datetime.now(timezone.utc), ties=[]))
    return review, {"app": app_id, "juror": juror["id"], "call": review.call_id, "round": round_id}


@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_role_matrix(role_world, method, path, body):
    review, ids = role_world
    path, body = _fill(path, ids), _fill(body, ids)
    kwargs = {"json": body} if body is not None else {}
    for headers, expected in (({}, 401), (review.token("applicant", str(uuid.uuid4())), 403),
                              (review.token("juror", ids["juror"]), 403)):
        r = getattr(review.client, method)(path, headers=headers, **kwargs)
        assert r.status_code == expected, (headers, r.get_data(as_text=True)[:300])
        assert r.is_json and r.get_json()["message"]
    r = getattr(review.client, method)(path, headers=review.sec, **kwargs)
    assert r.status_code not in (401, 403, 500), r.get_data(as_text=True)[:300]
    assert r.status_code < 500


def test_openapi_documents_every_secretariat_endpoint(embedded_review):
    spec = embedded_review.client.get("/openapi.json").get_json()
    for method, path, _ in ENDPOINTS:
        templated = (path.split("?")[0].replace("{juror}", "{juror_id}").replace("{app}", "{application_id}")
                     .replace("{round}", "{round_id}").replace("{call}", "{call_id}"))
        assert method in spec["paths"][templated], templated
        assert spec["paths"][templated][method].get("security") == [{"bearer": []}]
