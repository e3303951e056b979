"""The ceremony's emails from end to end, on PostgreSQL and RabbitMQ with intake's and notify's
workers running and a real SMTP server: the invitation to every released finalist (the same
words whether they will win or not), the answer's confirmation, the reminder, and the winner's
email carrying the invitation; each once, in the applicant's language."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.intake.ops import ceremony
from services.intake.models import outbox as intake_outbox
from shared.config import load_settings
from shared.events import make_event
from shared.outbox import record
from tests.conftest import real_env
from tests.support.stack import Stack, auth, open_call, register, submit_application, wait_until

PUBLIC_URL = "https://apply.example.org"
STARTS = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)
RSVP_BY = STARTS - timedelta(days=10)


@pytest.fixture
def stack(tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server):
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace,
                                      PRIZE_MAIL_URL=smtp_server.url, PRIZE_PUBLIC_URL=PUBLIC_URL))
    s = Stack(settings, services=("intake", "notify")).start_workers()
    yield s
    s.stop()


def publish(stack, *events) -> None:
    """Review's decisions, through intake's outbox and relay (the relay does not care who made
    them): intake and notify each consume them from the broker."""
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        for event in events:
            record(s, intake_outbox, event)


def review_event(type_, **data):
    return make_event(type_, data, producer="review", correlation_id=str(data["application_id"]))


def test_ceremony_emails_once_each_in_the_applicants_language(stack, smtp_server):
    intake, sec = stack.clients["intake"], stack.secretariat_token()
    call = open_call(intake, sec)
    en_email, ko_email = "mei.lin@kcg.example.tw", "jiwoo.park@seoul.example.kr"
    _, en_token = register(intake, contact_email=en_email, organisation="Kaohsiung City Government 高雄",
                           contact_name="Lin Mei-hua", language="en")
    _, ko_token = register(intake, contact_email=ko_email, organisation="서울특별시", contact_name="박지우",
                           language="ko", country="KR", city="Seoul")
    en_app = submit_application(intake, en_token, call["id"], title="Hydrogen buses for the harbour")
    ko_app = submit_application(intake, ko_token, call["id"], title="스마트 버스 정류장")

    def inbox(address):  # what the applicant got, past the sign-in code of the API session
        return [m["message"] for m in list(smtp_server.messages) if m["to"] == [address]
                and not any(w in str(m["message"]["Subject"]) for w in ("Sign in", "sign-in", "로그인"))]

    def subjects(address):
        return [str(m["Subject"]) for m in inbox(address)]

    assert wait_until(lambda: len(inbox(en_email)) == 1 and len(inbox(ko_email)) == 1), \
        ([str(m["message"]["Subject"]) for m in smtp_server.messages], subjects(en_email))  # acknowledgements

    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(sec), json={
        "starts_at": STARTS.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
        "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": RSVP_BY.isoformat(),
        "details": "The ceremony is livestreamed."})
    assert r.status_code == 200, r.get_json()

    now = datetime.now(timezone.utc)
    publish(stack, *[review_event("application.advanced", application_id=a["id"], reference=a["reference"],
                                  round="finalist", decided_at=now) for a in (en_app, ko_app)],
            *[review_event("results.released", application_id=a["id"], round="finalist", released_at=now)
              for a in (en_app, ko_app)])
    # the finalist notice, and the invitation from intake
    assert wait_until(lambda: len(inbox(en_email)) == 3 and len(inbox(ko_email)) == 3, timeout=30), \
        (subjects(en_email), subjects(ko_email))
    en_invitation = [m for m in inbox(en_email) if "award ceremony" in str(m["Subject"])]
    ko_invitation = [m for m in inbox(ko_email) if "시상식 초청" in str(m["Subject"])]
    assert len(en_invitation) == 1 and len(ko_invitation) == 1, (subjects(en_email), subjects(ko_email))
    en_text, ko_text = smtp_server.text_of(en_invitation[0]), smtp_server.text_of(ko_invitation[0])
    local = STARTS.astimezone(ZoneInfo("Asia/Seoul"))
    assert f"{local.day} " in en_text and local.strftime("%H:%M") + " (Asia/Seoul" in en_text
    assert "COEX, Seoul" in en_text and "513 Yeongdong-daero" in en_text and "livestreamed" in en_text
    assert f"{PUBLIC_URL}/portal/applications/{en_app['id']}/ceremony" in en_text
    assert "Dear Lin Mei-hua" in en_text and "Kaohsiung City Government 高雄" in en_text
    assert "박지우 님께" in ko_text and "결선 진출작" in ko_text and f"{local.month}월 {local.day}일" in ko_text

    # the ceremony moves a day later: both are told, in their language, with what changed
    later = STARTS + timedelta(days=1)
    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(sec), json={
        "starts_at": later.isoformat(), "time_zone": "Asia/Seoul", "venue": "COEX, Seoul",
        "address": "513 Yeongdong-daero, Gangnam-gu", "rsvp_by": RSVP_BY.isoformat(),
        "details": "The ceremony is livestreamed."})
    assert r.status_code == 200, r.get_json()
    assert wait_until(lambda: len(inbox(en_email)) == 4 and len(inbox(ko_email)) == 4), \
        (subjects(en_email), subjects(ko_email))
    assert subjects(en_email)[3] == "Change to the Seoul Smart City Prize 2026 award ceremony: new date"
    assert subjects(ko_email)[3] == "2026 서울스마트도시상 시상식 변경 안내: 일시"
    moved = later.astimezone(ZoneInfo("Asia/Seoul"))
    assert f"{moved.month}월 {moved.day}일" in smtp_server.text_of(inbox(ko_email)[3])
    local = moved

    # the answer, confirmed in Korean
    r = intake.put(f"/api/applications/{ko_app['id']}/ceremony", headers=auth(ko_token), json={
        "attending": True, "delegates": [{"name": "박지우", "role": "스마트도시정책관"},
                                         {"name": "Kim Min-jun", "role": "Project lead"}],
        "accessibility": "휠체어 접근", "visa_letter": False})
    assert r.status_code == 200, r.get_json()
    assert wait_until(lambda: len(inbox(ko_email)) == 5), subjects(ko_email)
    confirmation = inbox(ko_email)[4]
    assert str(confirmation["Subject"]).startswith("참석 답변 접수")
    text = smtp_server.text_of(confirmation)
    assert "박지우, 스마트도시정책관" in text and "Kim Min-jun, Project lead" in text and "휠체어 접근" in text

    # the reminder the day before the RSVP date, to the one who has not answered
    db = stack.apps["intake"].extensions["prize"]["db"]
    with db.session() as session:
        assert ceremony.due_rsvp_reminders(session, RSVP_BY - timedelta(hours=12), public_url=PUBLIC_URL) == 1
    assert wait_until(lambda: len(inbox(en_email)) == 5), subjects(en_email)
    reminder = inbox(en_email)[4]
    assert str(reminder["Subject"]).startswith("Reminder: please answer by")
    assert f"/portal/applications/{en_app['id']}/ceremony" in smtp_server.text_of(reminder)

    # the award round: the winner's email carries the invitation; the other gets not awarded
    now = datetime.now(timezone.utc)
    publish(stack, review_event("award.decided", application_id=en_app["id"], reference=en_app["reference"],
                                outcome="winner", award="Grand Prize", decided_at=now),
            review_event("award.decided", application_id=ko_app["id"], reference=ko_app["reference"],
                         outcome="not_awarded", award="", decided_at=now),
            *[review_event("results.released", application_id=a["id"], round="award", released_at=now)
              for a in (en_app, ko_app)])
    assert wait_until(lambda: len(inbox(en_email)) == 6 and len(inbox(ko_email)) == 6), \
        (subjects(en_email), subjects(ko_email))
    winner = smtp_server.text_of(inbox(en_email)[5])
    assert str(inbox(en_email)[5]["Subject"]).startswith("Winner of the Seoul Smart City Prize")
    assert f"{local.day} " in winner  # the new date
    assert "COEX, Seoul" in winner and f"/portal/applications/{en_app['id']}/ceremony" in winner

    # nothing more, nothing twice: a marker published after everything arrives alone
    publish(stack, review_event("results.released", application_id=en_app["id"], round="award", released_at=now))
    marker = f"marker-{uuid.uuid4().hex[:8]}@jury.example.org"
    publish(stack, make_event("juror.invited", {
        "juror_id": str(uuid.uuid4()), "name": "Marker", "email": marker, "language": "en",
        "url": "https://jury.example.org/signin/x", "expires_at": now + timedelta(days=1)}, producer="review"))
    assert wait_until(lambda: inbox(marker))
    assert len(inbox(en_email)) == 6 and len(inbox(ko_email)) == 6


def test_every_finalist_gets_the_same_invitation_whatever_the_award(stack, smtp_server):
    """The invitation must not tell a future winner apart: two finalists, one of whom the jury has
    already chosen (award decided but not released), get the same words but for their names."""
    intake, sec = stack.clients["intake"], stack.secretariat_token()
    call = open_call(intake, sec)
    people = []
    for email, org, name in (("a@lublin.example.pl", "Urząd Miasta Lublin", "Zofia Nowak"),
                             ("b@ryde.example.au", "City of Ryde", "Jack Smith")):
        _, token = register(intake, contact_email=email, organisation=org, contact_name=name, language="en")
        people.append((email, org, name, submit_application(intake, token, call["id"], title="Same title")))
    r = intake.put(f"/api/calls/{call['id']}/ceremony", headers=auth(sec), json={
        "starts_at": STARTS.isoformat(), "venue": "COEX, Seoul", "rsvp_by": RSVP_BY.isoformat()})
    assert r.status_code == 200
    now = datetime.now(timezone.utc)
    (_, _, _, winner), (_, _, _, other) = people
    publish(stack, review_event("award.decided", application_id=winner["id"], reference=winner["reference"],
                                outcome="winner", award="Grand Prize", decided_at=now),
            review_event("award.decided", application_id=other["id"], reference=other["reference"],
                         outcome="not_awarded", award="", decided_at=now),
            *[review_event(t, application_id=a["id"], reference=a["reference"], round="finalist", decided_at=now)
              for a in (winner, other) for t in ("application.advanced",)],
            *[review_event("results.released", application_id=a["id"], round="finalist", released_at=now)
              for a in (winner, other)])

    def invitation(email):
        found = [m["message"] for m in list(smtp_server.messages)
                 if m["to"] == [email] and "award ceremony" in str(m["message"]["Subject"])]
        return found[0] if len(found) == 1 else None

    assert wait_until(lambda: invitation(people[0][0]) and invitation(people[1][0]), timeout=30)
    texts = []
    for email, org, name, app in people:
        message = invitation(email)
        text = smtp_server.text_of(message).replace(name, "NAME").replace(org, "ORG")
        texts.append((str(message["Subject"]), text.replace(app["reference"], "REF").replace(app["id"], "ID")))
    assert texts[0] == texts[1]
    assert "winner" not in texts[0][1].replace("winners are announced", "")
