"""Reminders before a call closes to applicants whose application is still a draft: a timed job
of intake's worker (services/intake/reminders.py). Time is moved, not waited for: each test
calls due_reminders with the ``now`` it needs. On both stacks; two workers at once publish each
reminder once; and a reminder goes from intake's outbox to the SMTP server once, in the
applicant's language."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from services.intake import rules as domain
from services.intake.ops import reminders
from services.intake.models import (Applicant, Application, Call, DeadlineException, Document,
                                    DraftReminderSent, outbox)
from shared.config import load_settings
from tests.conftest import env_for
from tests.support.race import two_workers
from tests.support.stack import Stack, unpublished, wait_until

CLOSES = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)  # 18:00 in Seoul
CREATED = datetime(2026, 1, 1, 0, 0, tzinfo=timezone.utc)
PUBLIC_URL = "https://apply.example.org"
ANSWERED = {k: "Residents shaped it." for k, _ in domain.PROJECT_CRITERIA}


@pytest.fixture(params=["embedded", "real"])
def settings(request):
    return request.getfixturevalue(f"{request.param}_settings")


class Scene:
    """intake's tables with an open call, applicants and their applications."""

    def __init__(self, db):
        self.db = db
        self.call_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Call(id=self.call_id, year=2026, theme="Smart cities for everyone", opens_at=CREATED,
                       closes_at=CLOSES, time_zone="Asia/Seoul", score_min=1, score_max=10,
                       categories=domain.default_categories(), status="open", created_at=CREATED,
                       opened_at=CREATED, documents=domain.DEFAULT_DOCUMENTS, version=1))

    def applicant(self, name, language="en") -> str:
        applicant_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(Applicant(id=applicant_id, type="city_government", organisation=f"City of {name}",
                            country="KR", city=name, contact_name=f"Mayor of {name}",
                            contact_email=f"{applicant_id[:8]}@city.example.org", language=language,
                            created_at=CREATED))
        return applicant_id

    def application(self, applicant_id, reference, title="", summary="", answers=None, status="draft",
                    category="tech_innovacity", form=False) -> str:
        app_id = str(uuid.uuid4())
        submitted = CREATED if status != "draft" else None
        with self.db.session() as s, s.begin():
            s.add(Application(id=app_id, reference=reference, call_id=self.call_id, applicant_id=applicant_id,
                              category=category, title=title, summary=summary, status=status,
                              created_at=CREATED, updated_at=CREATED, submitted_at=submitted,
                              answers=answers or {}, withdrawn_at=CREATED if status == "withdrawn" else None))
            s.flush()
            if form:
                s.add(Document(id=str(uuid.uuid4()), application_id=app_id, kind="application_form",
                               filename="form.pdf", content_type="application/pdf",
                               storage_key=f"applications/{app_id}/form", size=10, status="verified",
                               created_at=CREATED, verified_at=CREATED))
        return app_id

    def exception(self, applicant_id, closes_at) -> str:
        exception_id = str(uuid.uuid4())
        with self.db.session() as s, s.begin():
            s.add(DeadlineException(id=exception_id, call_id=self.call_id, applicant_id=applicant_id,
                                    closes_at=closes_at, reason="flood in the city hall", granted_by="test",
                                    granted_at=CREATED))
        return exception_id

    def set_application(self, app_id, **values):
        with self.db.session() as s, s.begin():
            row = s.get(Application, app_id)
            for key, value in values.items():
                setattr(row, key, value)

    def remind(self, now) -> int:
        with self.db.session() as s:
            return reminders.due_reminders(s, now, public_url=PUBLIC_URL)

    def events(self) -> list[dict]:
        with self.db.engine.connect() as conn:
            bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == "application.draft_reminder")
                                  .order_by(outbox.c.seq)).scalars()
            return [json.loads(b)["data"] for b in bodies]


def applicants(scene: Scene) -> dict:
    """The standard applicants of these tests; returns the ids by name."""
    ids = {"busan": scene.applicant("Busan", language="ko"), "lima": scene.applicant("Lima"),
           "oslo": scene.applicant("Oslo"), "quito": scene.applicant("Quito")}
    # busan: an empty draft, and a nearly complete one (only the form is missing)
    ids["busan_empty"] = scene.application(ids["busan"], "SSCP-2026-AAA001")
    ids["busan_full"] = scene.application(ids["busan"], "SSCP-2026-AAA002", title="Smart harbour",
                                          summary="Ships and sensors.", answers=ANSWERED,
                                          category="human_centricity")
    # lima: answers and the form, but no summary
    ids["lima_draft"] = scene.application(ids["lima"], "SSCP-2026-AAA003", title="Water for 모두",
                                          answers=ANSWERED, form=True)
    # oslo: submitted; quito: withdrawn
    ids["oslo_app"] = scene.application(ids["oslo"], "SSCP-2026-AAA004", title="Done", summary="…",
                                        answers=ANSWERED, status="submitted", form=True)
    ids["quito_app"] = scene.application(ids["quito"], "SSCP-2026-AAA005", title="Gone", summary="…",
                                         answers=ANSWERED, status="withdrawn", form=True)
    return ids


@pytest.fixture
def scene(settings):
    stack = Stack(settings, services=("intake",))
    yield Scene(stack.apps["intake"].extensions["prize"]["db"])
    stack.stop()


def test_reminder_windows():
    assert reminders.reminder_due(CLOSES, CLOSES - timedelta(days=7, seconds=1)) is None
    assert reminders.reminder_due(CLOSES, CLOSES - timedelta(days=7)) == "7d"
    assert reminders.reminder_due(CLOSES, CLOSES - timedelta(days=1, seconds=1)) == "7d"
    assert reminders.reminder_due(CLOSES, CLOSES - timedelta(days=1)) == "1d"
    assert reminders.reminder_due(CLOSES, CLOSES - timedelta(seconds=1)) == "1d"
    assert reminders.reminder_due(CLOSES, CLOSES) is None
    assert set(reminders.REMINDERS) == {"7d", "1d"}


def test_reminders_seven_days_and_one_day_before_to_each_draft(scene):
    ids = applicants(scene)
    by_app = lambda events: {e["application_id"]: e for e in events}  # noqa: E731

    assert scene.remind(CLOSES - timedelta(days=20)) == 0
    assert scene.remind(CLOSES - timedelta(days=7, minutes=1)) == 0
    assert scene.events() == []

    # seven days before: one reminder per draft, saying what is missing
    assert scene.remind(CLOSES - timedelta(days=7) + timedelta(minutes=3)) == 3
    events = by_app(scene.events())
    assert set(events) == {ids["busan_empty"], ids["busan_full"], ids["lima_draft"]}
    empty = events[ids["busan_empty"]]
    assert [m["key"] for m in empty["missing"]] == \
        ["title", "summary"] + [f"answers.{k}" for k, _ in domain.PROJECT_CRITERIA] + ["documents.application_form"]
    assert empty["missing"][2]["title"] == "Problem recognition and innovation"
    assert empty["missing"][-1]["title"] == "Application form (PDF)"
    assert empty["language"] == "ko" and empty["name"] == "Mayor of Busan" and empty["reminder"] == "7d"
    assert empty["email"].endswith("@city.example.org") and empty["title"] == ""
    assert empty["reference"] == "SSCP-2026-AAA001" and empty["year"] == 2026 and empty["call_id"] == scene.call_id
    assert datetime.fromisoformat(empty["closes_at"]) == CLOSES and empty["time_zone"] == "Asia/Seoul"
    assert empty["url"] == f"{PUBLIC_URL}/portal/applications/{ids['busan_empty']}"
    full = events[ids["busan_full"]]
    assert [m["key"] for m in full["missing"]] == ["documents.application_form"]
    assert full["category"] == "human_centricity" and full["title"] == "Smart harbour"
    lima = events[ids["lima_draft"]]
    assert [m["key"] for m in lima["missing"]] == ["summary"] and lima["language"] == "en"

    # the job runs again (every few minutes): nothing more, in this window or later in it
    assert scene.remind(CLOSES - timedelta(days=7) + timedelta(minutes=8)) == 0
    assert scene.remind(CLOSES - timedelta(days=3)) == 0
    assert len(scene.events()) == 3

    # lima submits meanwhile: the second reminder goes to busan's two drafts alone
    scene.set_application(ids["lima_draft"], status="submitted", submitted_at=CLOSES - timedelta(days=2))
    assert scene.remind(CLOSES - timedelta(days=1) + timedelta(minutes=2)) == 2
    second = scene.events()[3:]
    assert {e["application_id"] for e in second} == {ids["busan_empty"], ids["busan_full"]}
    assert {e["reminder"] for e in second} == {"1d"}
    assert scene.remind(CLOSES - timedelta(hours=2)) == 0

    # the call closed: nothing, whatever is still a draft
    assert scene.remind(CLOSES + timedelta(minutes=1)) == 0
    assert len(scene.events()) == 5
    with scene.db.session() as s:
        rows = s.scalars(select(DraftReminderSent)).all()
        assert sorted((r.application_id == ids["lima_draft"], r.offset_key) for r in rows) == \
            [(False, "1d"), (False, "1d"), (False, "7d"), (False, "7d"), (True, "7d")]


def test_a_deadline_exception_moves_the_windows(scene):
    ids = applicants(scene)
    later = CLOSES + timedelta(days=5)
    scene.exception(ids["lima"], later)
    # seven days before the call closes: busan's drafts, not lima's (it closes five days later)
    assert scene.remind(CLOSES - timedelta(days=7) + timedelta(minutes=1)) == 2
    assert ids["lima_draft"] not in {e["application_id"] for e in scene.events()}
    assert scene.remind(later - timedelta(days=7) + timedelta(minutes=1)) == 1
    [lima] = scene.events()[2:]
    assert lima["application_id"] == ids["lima_draft"] and lima["reminder"] == "7d"
    assert datetime.fromisoformat(lima["closes_at"]) == later
    # after the call's closing time, lima is still reminded one day before their own
    assert scene.remind(CLOSES + timedelta(hours=1)) == 0
    assert scene.remind(later - timedelta(hours=20)) == 1
    assert scene.events()[-1]["reminder"] == "1d" and scene.events()[-1]["application_id"] == ids["lima_draft"]
    assert scene.remind(later + timedelta(minutes=1)) == 0
    assert len(scene.events()) == 4


def test_a_worker_that_missed_the_first_window_sends_only_the_latest_reminder(scene):
    applicants(scene)
    assert scene.remind(CLOSES - timedelta(hours=20)) == 3
    assert {e["reminder"] for e in scene.events()} == {"1d"}
    assert scene.remind(CLOSES - timedelta(hours=19)) == 0


def test_a_call_not_open_sends_nothing(scene):
    applicants(scene)
    with scene.db.session() as s, s.begin():
        s.get(Call, scene.call_id).status = "closed"
    assert scene.remind(CLOSES - timedelta(days=2)) == 0
    assert scene.events() == []


def test_two_workers_at_the_same_moment_publish_each_reminder_once(scene, monkeypatch):
    ids = applicants(scene)
    expected = {ids["busan_empty"], ids["busan_full"], ids["lima_draft"]}
    for n in range(7):  # more drafts, so both workers have plenty to race for
        applicant = scene.applicant(f"Town {n}")
        expected.add(scene.application(applicant, f"SSCP-2026-BBB00{n}", title=f"Idea {n}"))

    now = CLOSES - timedelta(days=7) + timedelta(minutes=1)
    results, claims = two_workers(monkeypatch, reminders, lambda: scene.remind(now))
    assert sum(results) == 10
    if scene.db.dialect == "sqlite":  # the write lock serialised them
        assert sorted(results) == [0, 10]
    events = scene.events()
    assert len(events) == 10 and {e["application_id"] for e in events} == expected
    if scene.db.dialect == "postgresql":
        # the race really happened: every reminder was claimed by one worker and refused to the other
        assert claims.count(True) == 10 and claims.count(False) == 10
    with scene.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DraftReminderSent)) == 10
    assert scene.remind(now + timedelta(minutes=5)) == 0


# ---- end to end: from intake's outbox to the SMTP server ----

@pytest.fixture(params=["embedded", "real"])
def mail_stack(request, tmp_path, smtp_server):
    env = env_for(request, tmp_path / "var", request.param, PRIZE_MAIL_URL=smtp_server.url)
    s = Stack(load_settings(env), services=("intake", "notify")).start_workers()
    yield s
    s.stop()



def test_a_draft_reminder_reaches_the_applicant_once_in_their_language(mail_stack, smtp_server):
    db = mail_stack.apps["intake"].extensions["prize"]["db"]
    scene = Scene(db)
    busan, lima = scene.applicant("Busan", language="ko"), scene.applicant("Lima")
    busan_app = scene.application(busan, "SSCP-2026-AAA001", title="Smart harbour", summary="Ships.",
                                  answers=ANSWERED)
    lima_app = scene.application(lima, "SSCP-2026-AAA003", title="Water for 모두", answers=ANSWERED, form=True)
    with db.session() as s:
        emails = {"busan": s.get(Applicant, busan).contact_email, "lima": s.get(Applicant, lima).contact_email}

    assert scene.remind(CLOSES - timedelta(days=7) + timedelta(minutes=1)) == 2
    smtp_server.wait_for(2)
    # the relay publishes them again (as one that died before marking its rows sent would), and
    # the job runs again: neither sends a second copy
    assert wait_until(lambda: unpublished(db, outbox) == 0)
    with db.session() as s, s.begin():
        s.execute(update(outbox).values(published_at=None))
    assert scene.remind(CLOSES - timedelta(days=7) + timedelta(minutes=6)) == 0
    assert wait_until(lambda: unpublished(db, outbox) == 0)
    # the one-day reminder, published after the copies: once it has arrived, they were handled
    assert scene.remind(CLOSES - timedelta(hours=23)) == 2
    messages = smtp_server.wait_for(4)
    assert len(messages) == 4

    by_to = {}
    for m in messages:
        by_to.setdefault(m["to"][0], []).append(m["message"])
    assert sorted(by_to) == sorted(emails.values()) and all(len(v) == 2 for v in by_to.values())

    busan_first = by_to[emails["busan"]][0]
    assert busan_first["Subject"] == "[알림] 신청서 SSCP-2026-AAA001 미제출: 7월 14일 접수 마감 (서울스마트도시상)"
    text = smtp_server.text_of(busan_first)
    assert "Mayor of Busan 님께" in text and "Smart harbour" in text
    assert "2026-07-14 18:00 Asia/Seoul" in text and "2026-07-14 09:00 UTC" in text
    assert "  - Application form (PDF)" in text and "  - 요약" not in text
    assert f"{PUBLIC_URL}/portal/applications/{busan_app}" in text
    html = busan_first.get_body(("html",)).get_content()
    assert f'href="{PUBLIC_URL}/portal/applications/{busan_app}"' in html and "Application form (PDF)" in html

    lima_first = by_to[emails["lima"]][0]
    assert lima_first["Subject"] == ("Reminder: application SSCP-2026-AAA003 is not submitted yet; the call "
                                     "closes on 14 July (Seoul Smart City Prize)")
    text = smtp_server.text_of(lima_first)
    assert "Dear Mayor of Lima" in text and '"Water for 모두"' in text
    assert "  - Summary" in text and "Application form" not in text
    assert "2026-07-14 18:00 Asia/Seoul" in text and "2026-07-14 09:00 UTC" in text
    assert f"{PUBLIC_URL}/portal/applications/{lima_app}" in text
