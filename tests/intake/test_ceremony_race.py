"""Ceremony invitations and the race between a release and the setting of the ceremony (issue 11,
item 3), and the sweep of intake's worker that invites whoever is due and still uninvited.

The race: review releases the finalist round (one ``results.released`` per finalist, which
intake's consumer handles, often as one batch) while the secretariat sets the ceremony
(``PUT /api/calls/{id}/ceremony``). If the release's transaction reads "no ceremony yet" while
the PUT's transaction reads "not released yet", neither invites and the finalist stays
uninvited. Run many times on PostgreSQL, with the two started at one barrier and a little
jitter, every released finalist must be invited exactly once.
"""
from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.intake.ops import ceremony
from services.intake.handlers import HANDLERS, inviter
from services.intake.models import CeremonyInvitation, inbox, outbox
from shared.config import load_settings
from shared.events import make_event, parse_message
from shared.inbox import InboxDispatcher, bind
from tests.conftest import env_for
from tests.support.race import in_threads
from tests.support.stack import Stack, auth, open_call, register, submit_application

PUBLIC_URL = "https://apply.example.org"
STARTS = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
RSVP_BY = STARTS - timedelta(days=10)
RUNS = 20
FINALISTS = 4


def _stack(request, tmp_path, kind):
    return Stack(load_settings(env_for(request, tmp_path / "var", kind, PRIZE_PUBLIC_URL=PUBLIC_URL)),
                 services=("intake",))


@pytest.fixture
def real_stack(request, tmp_path):
    s = _stack(request, tmp_path, "real")
    yield s
    s.stop()


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path):
    s = _stack(request, tmp_path, request.param)
    yield s
    s.stop()


def _db(stack):
    return stack.apps["intake"].extensions["prize"]["db"]


def _event(type_, data):
    """Review's event as intake's consumer receives it: through JSON."""
    event = make_event(type_, data, producer="review", correlation_id=str(data["application_id"]))
    return parse_message(json.loads(json.dumps(event.to_message())))


def _dispatcher(stack, handlers=None):
    return InboxDispatcher(_db(stack), inbox, outbox, "intake", handlers or bind(HANDLERS, invite=inviter(PUBLIC_URL)))


def _advanced(app):
    return _event("application.advanced", {"application_id": app["id"], "reference": app["reference"],
                                           "round": "finalist", "decided_at": datetime.now(timezone.utc)})


def _released(app):
    return _event("results.released", {"application_id": app["id"], "round": "finalist",
                                       "released_at": datetime.now(timezone.utc)})


def _ceremony_body():
    return {"starts_at": STARTS.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
            "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": RSVP_BY.isoformat(), "max_delegates": 2}


def _invited(stack, call_id) -> list[str]:
    """The applications of the call with a ceremony.invited event in the outbox (one per event)."""
    with _db(stack).engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "ceremony.invited")).scalars()
        return sorted(d["application_id"] for d in (json.loads(b)["data"] for b in bodies)
                      if d["call_id"] == call_id)


def _invitation_rows(stack, call_id) -> int:
    with _db(stack).session() as s:
        return s.scalar(select(func.count()).select_from(CeremonyInvitation)
                        .where(CeremonyInvitation.call_id == call_id))


def _applicants(stack, count):
    intake = stack.clients["intake"]
    return [register(intake, contact_email=f"city{i}@race.example.org", organisation=f"City {i}")[1]
            for i in range(count)]


def _finalists(stack, sec, tokens, year):
    """A call of ``year`` with one decided (not yet released) finalist per applicant."""
    intake = stack.clients["intake"]
    call = open_call(intake, sec, year=year)
    apps = [submit_application(intake, token, call["id"], title=f"Finalist {i} of {year}")
            for i, token in enumerate(tokens)]
    _dispatcher(stack).many([_advanced(a) for a in apps])
    return call, apps


def _race(stack, sec, call, apps, rng, batch: bool) -> int:
    """Release the finalists and set the ceremony at the same moment; returns the PUT's status."""
    barrier = threading.Barrier(2, timeout=10)
    dispatch = _dispatcher(stack)
    releases = [_released(a) for a in apps]
    answers, errors = [], []
    jitter = [rng.uniform(0, 0.015), rng.uniform(0, 0.015)]

    def release():
        barrier.wait()
        time.sleep(jitter[0])
        if batch:  # the consumer takes a burst as one batch, one transaction
            dispatch.many(releases)
        else:
            for event in releases:
                dispatch(event)

    def set_it():
        client = stack.apps["intake"].test_client()
        barrier.wait()
        time.sleep(jitter[1])
        answers.append(client.put(f"/api/calls/{call['id']}/ceremony", json=_ceremony_body(),
                                  headers=auth(sec)).status_code)

    def guarded(fn):
        def run():
            try:
                fn()
            except Exception as exc:  # pragma: no cover - re-raised below
                errors.append(exc)
        return run

    threads = [threading.Thread(target=guarded(fn)) for fn in (release, set_it)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    return answers[0]


def test_a_release_and_the_ceremony_set_at_the_same_moment_invite_every_finalist_once(real_stack):
    stack, rng = real_stack, random.Random(11)
    sec = stack.secretariat_token()
    tokens = _applicants(stack, FINALISTS)
    due = invited = rows = lost_runs = 0
    for run in range(RUNS):
        call, apps = _finalists(stack, sec, tokens, 2040 + run)
        assert _race(stack, sec, call, apps, rng, batch=run % 2 == 0) == 200
        ids = _invited(stack, call["id"])
        assert len(ids) == len(set(ids)), f"run {run}: someone invited twice: {ids}"
        due += len(apps)
        invited += len(ids)
        rows += _invitation_rows(stack, call["id"])
        lost_runs += len(ids) < len(apps)
    print(f"\nrelease vs ceremony race, {RUNS} runs on PostgreSQL: {invited} of {due} released "
          f"finalists invited ({due - invited} lost, in {lost_runs} run(s))")
    assert rows == invited
    assert invited == due, f"{due - invited} of {due} released finalists left uninvited"


# --- the sweep: whoever is due and not invited is invited by the worker's timed job ---

def _released_without_invitation(stack, sec, tokens):
    """A call with a ceremony and released finalists of whom none got an invitation: the
    releases go through handlers that do not invite (as a lost race leaves it)."""
    call, apps = _finalists(stack, sec, tokens, 2030)
    r = stack.clients["intake"].put(f"/api/calls/{call['id']}/ceremony", json=_ceremony_body(), headers=auth(sec))
    assert r.status_code == 200 and r.get_json()["invited"] == 0
    _dispatcher(stack, bind(HANDLERS, invite=lambda session, application_id: 0)).many([_released(a) for a in apps])
    assert _invited(stack, call["id"]) == []
    return call, apps


def test_the_sweep_invites_the_released_finalists_a_race_left_out(stack):
    sec = stack.secretariat_token()
    tokens = _applicants(stack, 3)
    call, apps = _released_without_invitation(stack, sec, tokens)
    # one of them is invited already (by a later event, say): not again
    db = _db(stack)
    with db.session() as s, s.begin():
        assert ceremony.invite_due(s, datetime.now(timezone.utc), PUBLIC_URL, application_id=apps[0]["id"]) == 1

    assert ceremony.sweep_invitations(db, PUBLIC_URL) == len(apps) - 1
    assert _invited(stack, call["id"]) == sorted(a["id"] for a in apps)
    assert ceremony.sweep_invitations(db, PUBLIC_URL) == 0  # idempotent
    assert _invitation_rows(stack, call["id"]) == len(apps)
    # the guest list shows them, with their basis
    guests = stack.clients["intake"].get(f"/api/calls/{call['id']}/guests", headers=auth(sec)).get_json()
    assert guests["summary"]["invited"] == len(apps)
    assert {g["basis"] for g in guests["guests"]} == {"finalist"}


def test_the_sweep_leaves_alone_a_ceremony_that_is_over_and_a_call_without_one(stack):
    sec = stack.secretariat_token()
    tokens = _applicants(stack, 2)
    call, apps = _released_without_invitation(stack, sec, tokens)
    db = _db(stack)
    assert ceremony.sweep_invitations(db, PUBLIC_URL, now=STARTS + timedelta(minutes=1)) == 0
    other, _ = _finalists(stack, sec, tokens, 2031)  # finalists decided, no ceremony: nobody to invite
    assert ceremony.sweep_invitations(db, PUBLIC_URL) == len(apps)
    assert _invited(stack, other["id"]) == []


def test_two_workers_sweeping_at_once_invite_each_finalist_once(stack):
    sec = stack.secretariat_token()
    tokens = _applicants(stack, 3)
    call, apps = _released_without_invitation(stack, sec, tokens)
    db = _db(stack)
    results = in_threads(lambda: ceremony.sweep_invitations(db, PUBLIC_URL), barrier=threading.Barrier(2, timeout=10))
    assert sorted(results) == [0, len(apps)]
    assert _invited(stack, call["id"]) == sorted(a["id"] for a in apps)
    assert _invitation_rows(stack, call["id"]) == len(apps)


def test_the_worker_runs_the_sweep_as_a_timed_job(stack):
    from services.intake.app import create_worker
    worker = create_worker(settings=stack.settings)
    assert "ceremony-invitations" in [job.name for job in worker.jobs]
    sec = stack.secretariat_token()
    call, apps = _released_without_invitation(stack, sec, _applicants(stack, 1))
    [job] = [j for j in worker.jobs if j.name == "ceremony-invitations"]
    try:
        job.run()
        job.run()
    finally:
        worker.db.dispose()
    assert _invited(stack, call["id"]) == [apps[0]["id"]]
    assert _invitation_rows(stack, call["id"]) == 1
