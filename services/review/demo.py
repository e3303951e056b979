"""The review side of ``prize demo``: jurors with assignments, so a newcomer can be a juror.

Like intake's demo it goes through review's own API in-process (the app's test client), so it
obeys the same rules and records the same events (the jurors' invitations and assignments are
mailed by notify). It needs the submitted applications to have reached review, which happens
through the broker while the services run (``make run``); without them it waits a little, then
says so and leaves the rest for the next run. Running it again adds nothing.
"""
from __future__ import annotations

import time

from shared.auth import issue_token

from .models import Juror

# Two jurors, so that the assignment spreads the four submitted applications between them;
# neither shares a country with a demo applicant (a conflict would keep them apart).
JURORS = [
    {"name": "Dr. Kim Soo-jin", "email": "soojin.kim@jury.demo.example.kr", "country": "KR",
     "organisation": "Seoul Institute of Urban Technology", "language": "en"},
    {"name": "Prof. Amara Okafor", "email": "amara.okafor@jury.demo.example.ng", "country": "NG",
     "organisation": "University of Lagos", "language": "en"},
]
EXPERTISE = ["tech_innovacity", "human_centricity", "leadership"]


class ReviewDemoError(Exception):
    pass


def _ok(response, *statuses):
    if response.status_code not in statuses:
        raise ReviewDemoError(f"review: {response.request.method} {response.request.path}: "
                              f"{response.status_code} {response.get_json()}")
    return response.get_json()


def wait_for_applications(app, call_id: str, expected: int, timeout: float) -> int:
    """Wait until review knows ``expected`` submitted applications of the call; return how many it knows."""
    client = app.test_client()
    sec = _secretariat(app)
    deadline = time.monotonic() + timeout
    while True:
        known = _ok(client.get("/api/applications", headers=sec, query_string={"call_id": call_id}), 200)["total"]
        if known >= expected or time.monotonic() >= deadline:
            return known
        time.sleep(0.25)


def _secretariat(app) -> dict:
    return {"Authorization": "Bearer " + issue_token(app.config["SECRET_KEY"], "secretariat", "prize-demo")}


def load_review_demo(app, call_id: str) -> dict:
    """Screen the call's submitted applications eligible, invite the jurors (who accept) and open
    the finalist round with its assignments; return counts of what exists afterwards."""
    client, sec = app.test_client(), _secretariat(app)
    listed = _ok(client.get("/api/applications", headers=sec,
                            query_string={"call_id": call_id, "limit": 200}), 200)["items"]
    rounds = _ok(client.get("/api/rounds", headers=sec, query_string={"call_id": call_id}), 200)
    if not rounds:  # once the round is open, screening is settled
        for item in listed:
            if item["stage"] == "submitted":
                _ok(client.post(f"/api/applications/{item['id']}/screening", headers=sec,
                                json={"eligible": True, "reason": "", "send_now": True}), 200)
    known = {j["email"]: j["id"] for j in _ok(client.get("/api/jurors", headers=sec), 200)}
    for person in JURORS:
        if person["email"] not in known:
            juror = _ok(client.post("/api/jurors", headers=sec, json={**person, "expertise": EXPERTISE}), 201)
            known[person["email"]] = juror["id"]
            # the demo answers for the juror, as intake's demo writes for the applicants
            token = issue_token(app.config["SECRET_KEY"], "juror", juror["id"])
            _ok(client.post("/api/jury/invitation", headers={"Authorization": f"Bearer {token}"},
                            json={"answer": "accept"}), 200)
    if not rounds:
        opened = _ok(client.post("/api/rounds", headers=sec, json={
            "call_id": call_id, "kind": "finalist", "jurors_per_application": 1, "min_reviews": 1,
            "advance_per_category": 1}), 201)
        _ok(client.post(f"/api/rounds/{opened['id']}/assign", headers=sec, json={}), 200)
        rounds = [opened]
    return {"applications": len(listed), "jurors": len(known), "round": rounds[0]["id"]}


def juror_link(app, email: str, client: str = "prize demo") -> str | None:
    """A one-time sign-in link for the juror with ``email``, made as a sign-in request makes it
    (the same one-time token and 15 minutes), printed instead of mailed; None for no such juror."""
    from sqlalchemy import select

    from .accounts import jury_signin
    db = app.extensions["prize"]["db"]
    with app.test_request_context(), db.session() as s, s.begin():
        juror = s.scalar(select(Juror).where(Juror.email == email, Juror.active.is_(True)))
        if juror is None:
            return None
        return jury_signin.issue_link(s, juror, juror.email, "browser", client, announce=False).url
