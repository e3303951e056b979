"""Reminders before a round's due date to jurors with reviews pending: a timed job of review's
worker (services/review/ops/reminders.py, jobs.py). Time is moved, not waited for: each test calls
due_reminders with the ``now`` it needs. On both stacks; two workers at once publish each
reminder once; and a reminder goes from review's outbox to the SMTP server once, in the
juror's language."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from services.review.ops import reminders
from services.review.models import (Application, Assignment, Call, Conflict, Juror, ReminderSent, Round,
                                    outbox)
from shared.config import load_settings
from tests.conftest import env_for
from tests.support.race import two_workers
from tests.support.stack import Stack, unpublished, wait_until

DUE = datetime(2026, 8, 14, 9, 0, tzinfo=timezone.utc)
CREATED = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
REVIEW_URL = "https://review.example.org"


@pytest.fixture(params=["embedded", "real"])
def settings(request):
    return request.getfixturevalue(f"{request.param}_settings")


class Scene:
    """Review's tables with a call, applications, jurors, a round and assignments."""

    def __init__(self, db):
        self.db = db
        self.call_id = self.call()

    def call(self, year=2026) -> str:
        call_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Call(id=call_id, year=year, theme="Smart cities for everyone", closes_at=CREATED,
                       score_min=1, score_max=10, categories=[], updated_at=CREATED))
        return call_id

    def application(self, reference, title, category="tech_innovacity", stage="eligible", call_id=None) -> str:
        app_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Application(id=app_id, reference=reference, call_id=call_id or self.call_id, category=category,
                              title=title, summary="…", applicant_type="city_government",
                              organisation=f"City of {title}", country="TW", city="Kaohsiung",
                              contact_email="city@example.tw", stage=stage, submitted_at=CREATED,
                              received_at=CREATED))
        return app_id

    def juror(self, name, language="en", active=True) -> str:
        juror_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Juror(id=juror_id, name=name, email=f"{juror_id[:8]}@jury.example.org", country="BR",
                        organisation=f"Institute {juror_id[:6]}", expertise=[], languages=[language],
                        language=language, active=active, invited_by="test", invited_at=CREATED))
        return juror_id

    def round(self, due_at=DUE, status="open", call_id=None, kind="finalist") -> str:
        round_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Round(id=round_id, call_id=call_id or self.call_id, kind=kind, status=status, opened_at=CREATED,
                        due_at=due_at, ties=[]))
        return round_id

    def assign(self, round_id, app_id, juror_id, status="pending") -> str:
        assignment_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Assignment(id=assignment_id, round_id=round_id, application_id=app_id, juror_id=juror_id,
                             assigned_by="test", assigned_at=CREATED, status=status, scores={}, comments={},
                             revision=1))
        return assignment_id

    def conflict(self, juror_id, app_id):
        with self.db.session() as s, s.begin():
            s.add(Conflict(id=str(uuid.uuid4()), juror_id=juror_id, application_id=app_id, source="declared",
                           reason="I advised this city", created_by="test", created_at=CREATED))

    def set_assignment(self, assignment_id, **values):
        with self.db.session() as s, s.begin():
            row = s.get(Assignment, assignment_id)
            for key, value in values.items():
                setattr(row, key, value)

    def set_round(self, round_id, **values):
        with self.db.session() as s, s.begin():
            row = s.get(Round, round_id)
            for key, value in values.items():
                setattr(row, key, value)

    def remind(self, now) -> int:
        with self.db.session() as s:
            return reminders.due_reminders(s, now, review_url=REVIEW_URL)

    def events(self) -> list[dict]:
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "review.reminder")
                                  .order_by(outbox.c.seq)).scalars()
            return [json.loads(b)["data"] for b in bodies]


def jury(scene: Scene) -> dict:
    """The standard jury of these tests; returns the ids by name."""
    ids = {
        "hydrogen": scene.application("SSCP-2026-AAA001", "Hydrogen buses for 高雄"),
        "parks": scene.application("SSCP-2026-AAA002", "Pocket parks", category="human_centricity"),
        "library": scene.application("SSCP-2026-AAA003", "Open library"),
        "mayor": scene.application("SSCP-2026-AAA004", "A mayor's reforms", category="leadership"),
        "gone": scene.application("SSCP-2026-AAA005", "Withdrawn idea", stage="withdrawn"),
        "kim": scene.juror("Kim Min-jun", language="ko"),
        "ana": scene.juror("Ana Souza"),
        "done": scene.juror("Done Already"),
        "conflicted": scene.juror("Only Conflicted"),
        "inactive": scene.juror("Stepped Down", active=False),
    }
    ids["round"] = r = scene.round()
    # kim: two pending, one submitted, one pending but conflicted, one on a withdrawn application
    scene.assign(r, ids["hydrogen"], ids["kim"])
    scene.assign(r, ids["parks"], ids["kim"])
    scene.assign(r, ids["library"], ids["kim"], status="submitted")
    scene.assign(r, ids["mayor"], ids["kim"])
    scene.conflict(ids["kim"], ids["mayor"])
    scene.assign(r, ids["gone"], ids["kim"])
    # ana: one pending, one removed
    ids["ana_library"] = scene.assign(r, ids["library"], ids["ana"])
    scene.assign(r, ids["hydrogen"], ids["ana"], status="removed")
    # done: everything submitted
    scene.assign(r, ids["hydrogen"], ids["done"], status="submitted")
    scene.assign(r, ids["parks"], ids["done"], status="submitted")
    # conflicted: the only pending one is an application they are conflicted on
    scene.assign(r, ids["mayor"], ids["conflicted"])
    scene.conflict(ids["conflicted"], ids["mayor"])
    # inactive juror: keeps the assignment, gets no reminders
    scene.assign(r, ids["parks"], ids["inactive"])
    return ids


@pytest.fixture
def scene(settings):
    stack = Stack(settings, services=("review",))
    yield Scene(stack.apps["review"].extensions["prize"]["db"])
    stack.stop()


def test_reminder_windows():
    assert reminders.reminder_due(DUE, DUE - timedelta(days=3, seconds=1)) is None
    assert reminders.reminder_due(DUE, DUE - timedelta(days=3)) == "3d"
    assert reminders.reminder_due(DUE, DUE - timedelta(days=1, seconds=1)) == "3d"
    assert reminders.reminder_due(DUE, DUE - timedelta(days=1)) == "1d"
    assert reminders.reminder_due(DUE, DUE - timedelta(seconds=1)) == "1d"
    assert reminders.reminder_due(DUE, DUE) is None
    assert set(reminders.REMINDERS) == {"3d", "1d"}


def test_reminders_three_days_and_one_day_before_to_jurors_with_pending_reviews(scene):
    ids = jury(scene)
    by_juror = lambda events: {e["juror_id"]: e for e in events}  # noqa: E731

    assert scene.remind(DUE - timedelta(days=5)) == 0
    assert scene.remind(DUE - timedelta(days=3, minutes=1)) == 0
    assert scene.events() == []

    # three days before: one reminder per juror with pending work, listing exactly it
    assert scene.remind(DUE - timedelta(days=3) + timedelta(minutes=4)) == 2
    events = by_juror(scene.events())
    assert set(events) == {ids["kim"], ids["ana"]}
    kim = events[ids["kim"]]
    assert [a["reference"] for a in kim["applications"]] == ["SSCP-2026-AAA001", "SSCP-2026-AAA002"]
    assert [a["title"] for a in kim["applications"]] == ["Hydrogen buses for 高雄", "Pocket parks"]
    assert [a["category"] for a in kim["applications"]] == ["tech_innovacity", "human_centricity"]
    assert kim["pending"] == 2 and kim["reminder"] == "3d" and kim["language"] == "ko"
    assert kim["name"] == "Kim Min-jun" and kim["email"].endswith("@jury.example.org")
    assert kim["round"] == "finalist" and kim["year"] == 2026 and kim["call_id"] == scene.call_id
    assert datetime.fromisoformat(kim["due_at"]) == DUE
    assert kim["url"] == f"{REVIEW_URL}/jury"
    ana = events[ids["ana"]]
    assert [a["reference"] for a in ana["applications"]] == ["SSCP-2026-AAA003"] and ana["pending"] == 1

    # the job runs again (every few minutes): nothing more, in this window or later in it
    assert scene.remind(DUE - timedelta(days=3) + timedelta(minutes=9)) == 0
    assert scene.remind(DUE - timedelta(days=2)) == 0
    assert len(scene.events()) == 2

    # ana submits her review meanwhile: the second reminder goes to kim alone
    scene.set_assignment(ids["ana_library"], status="submitted", submitted_at=DUE - timedelta(days=2))
    assert scene.remind(DUE - timedelta(days=1) + timedelta(minutes=2)) == 1
    [second] = scene.events()[2:]
    assert second["juror_id"] == ids["kim"] and second["reminder"] == "1d" and second["pending"] == 2
    assert scene.remind(DUE - timedelta(hours=2)) == 0

    # the due date passed: nothing, whatever is still pending
    assert scene.remind(DUE + timedelta(minutes=1)) == 0
    assert len(scene.events()) == 3
    with scene.db.session() as s:
        rows = s.scalars(select(ReminderSent).order_by(ReminderSent.sent_at)).all()
        assert [(r.juror_id, r.offset_key) for r in rows].count((ids["kim"], "3d")) == 1
        assert sorted((r.juror_id == ids["kim"], r.offset_key) for r in rows) == \
            [(False, "3d"), (True, "1d"), (True, "3d")]


def test_a_worker_that_missed_the_first_window_sends_only_the_latest_reminder(scene):
    ids = jury(scene)
    assert scene.remind(DUE - timedelta(hours=20)) == 2
    assert {e["reminder"] for e in scene.events()} == {"1d"}
    assert scene.remind(DUE - timedelta(hours=19)) == 0
    assert {e["juror_id"] for e in scene.events()} == {ids["kim"], ids["ana"]}


def test_closed_rounds_and_rounds_without_a_due_date_send_nothing(scene):
    ids = jury(scene)
    scene.set_round(ids["round"], status="closed", closed_at=DUE - timedelta(days=4))
    assert scene.remind(DUE - timedelta(days=2)) == 0
    assert scene.remind(DUE - timedelta(hours=3)) == 0
    scene.set_round(ids["round"], status="open", closed_at=None, due_at=None)
    assert scene.remind(DUE - timedelta(days=2)) == 0
    assert scene.events() == []
    # reopened with its due date back: the reminder goes out now
    scene.set_round(ids["round"], due_at=DUE)
    assert scene.remind(DUE - timedelta(days=2)) == 2


def test_two_workers_at_the_same_moment_publish_each_reminder_once(scene, monkeypatch):
    ids = jury(scene)
    for n in range(8):  # more jurors with pending work, so both workers have plenty to race for
        juror = scene.juror(f"Juror {n}")
        scene.assign(ids["round"], ids["hydrogen"], juror)
        ids[f"extra{n}"] = juror
    expected = {ids["kim"], ids["ana"]} | {ids[f"extra{n}"] for n in range(8)}

    now = DUE - timedelta(days=3) + timedelta(minutes=1)
    results, claims = two_workers(monkeypatch, reminders, lambda: scene.remind(now))
    assert sum(results) == 10
    if scene.db.dialect == "sqlite":  # the write lock serialised them
        assert sorted(results) == [0, 10]
    events = scene.events()
    assert len(events) == 10 and {e["juror_id"] for e in events} == expected
    if scene.db.dialect == "postgresql":
        # the race really happened: every reminder was claimed by one worker and refused to the other
        assert claims.count(True) == 10 and claims.count(False) == 10
    with scene.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ReminderSent)) == 10
    assert scene.remind(now + timedelta(minutes=5)) == 0


# ---- end to end: from review's outbox to the SMTP server ----

@pytest.fixture(params=["embedded", "real"])
def mail_stack(request, tmp_path, smtp_server):
    env = env_for(request, tmp_path / "var", request.param, PRIZE_MAIL_URL=smtp_server.url)
    s = Stack(load_settings(env), services=("review", "notify")).start_workers()
    yield s
    s.stop()



def test_a_reminder_reaches_the_juror_once_in_their_language(mail_stack, smtp_server):
    db = mail_stack.apps["review"].extensions["prize"]["db"]
    scene = Scene(db)
    ids = jury(scene)
    with db.session() as s:
        emails = {name: s.get(Juror, ids[name]).email for name in ("kim", "ana")}

    assert scene.remind(DUE - timedelta(days=3) + timedelta(minutes=1)) == 2
    messages = smtp_server.wait_for(2)
    # the relay publishes them again (as one that died before marking its rows sent would), and
    # the job runs again: neither sends a second copy
    assert wait_until(lambda: unpublished(db, outbox) == 0)
    with db.session() as s, s.begin():
        s.execute(update(outbox).values(published_at=None))
    assert scene.remind(DUE - timedelta(days=3) + timedelta(minutes=6)) == 0
    assert wait_until(lambda: unpublished(db, outbox) == 0)
    # the one-day reminder, published after the copies: once it has arrived, they were handled
    assert scene.remind(DUE - timedelta(hours=23)) == 2
    messages = smtp_server.wait_for(4)
    assert len(messages) == 4

    by_to = {}
    for m in messages:
        by_to.setdefault(m["to"][0], []).append(m["message"])
    assert sorted(by_to) == sorted(emails.values()) and all(len(v) == 2 for v in by_to.values())

    kim_first = by_to[emails["kim"]][0]
    assert kim_first["Subject"] == "[알림] 8월 14일까지 평가할 신청서 2건 (서울스마트도시상)"
    text = smtp_server.text_of(kim_first)
    assert "Kim Min-jun 님께" in text and "평가 마감: 2026-08-14 09:00 UTC" in text
    assert "SSCP-2026-AAA001  Hydrogen buses for 高雄 (Tech-InnovaCity (기술혁신도시))" in text
    assert "SSCP-2026-AAA002  Pocket parks" in text and f"{REVIEW_URL}/jury" in text
    # never the application kim is conflicted on, the submitted one or the withdrawn one
    for reference in ("SSCP-2026-AAA003", "SSCP-2026-AAA004", "SSCP-2026-AAA005"):
        assert reference not in text
    html = kim_first.get_body(("html",)).get_content()
    assert "Hydrogen buses for 高雄" in html and f'href="{REVIEW_URL}/jury"' in html

    ana_first = by_to[emails["ana"]][0]
    assert ana_first["Subject"] == "Reminder: 1 application to score by 14 August (Seoul Smart City Prize)"
    text = smtp_server.text_of(ana_first)
    assert "Dear Ana Souza" in text and "SSCP-2026-AAA003  Open library (Tech-InnovaCity)" in text
    assert "Reviews are due by 2026-08-14 09:00 UTC" in text
    assert "SSCP-2026-AAA001" not in text
