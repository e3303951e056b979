"""Applicants' decision emails, from the producers' outboxes to an SMTP server: the eligibility
result at once; the finalist and award decisions only once the secretariat releases their round,
whichever of decision and release comes first; each exactly once, in the applicant's language."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from services.notify.models import Delivery
from services.review.models import outbox as review_outbox
from shared.config import load_settings
from shared.events import make_event
from shared.outbox import record
from tests.conftest import embedded_env, real_env
from tests.support.stack import Stack, unpublished, wait_until

NOW = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def stack(tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server):
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url))
    s = Stack(settings, services=("review", "notify")).start_workers()
    yield s
    s.stop()


def publish(stack, *events) -> None:
    """Into review's outbox in one transaction; its relay publishes them in order. (intake's
    application.submitted goes the same way: notify does not care which relay carried it.)"""
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        for event in events:
            record(s, review_outbox, event)



def submitted(reference: str, title: str, email: str, language: str, organisation="Kaohsiung City Government",
              contact_name="Lin Mei-hua") -> tuple[str, object]:
    application_id = str(uuid.uuid4())
    return application_id, make_event("application.submitted", {
        "application_id": application_id, "reference": reference, "call_id": str(uuid.uuid4()), "year": 2026,
        "category": "tech_innovacity", "title": title, "summary": "Clean mobility.", "submitted_at": NOW,
        "applicant": {"id": str(uuid.uuid4()), "type": "city_government", "organisation": organisation,
                      "country": "TW", "city": "高雄 Kaohsiung", "contact_name": contact_name,
                      "contact_email": email, "secondary_email": "second@" + email.split("@")[1],
                      "language": language},
    }, producer="intake")


def screened(application_id, reference, eligible, reason=""):
    return make_event("application.screened", {"application_id": application_id, "reference": reference,
                                               "eligible": eligible, "reason": reason, "screened_at": NOW},
                      producer="review")


def decided(kind, application_id, reference, **extra):
    return make_event(kind, {"application_id": application_id, "reference": reference, "decided_at": NOW, **extra},
                      producer="review")


def released(application_id, round_):
    return make_event("results.released", {"application_id": application_id, "round": round_,
                                           "released_at": NOW}, producer="review")


class Mailbox:
    """What the SMTP server received, and a marker to know everything published before it was handled."""

    def __init__(self, stack, smtp):
        self.stack, self.smtp, self.markers = stack, smtp, 0

    def to(self, address: str) -> list:
        return [m["message"] for m in list(self.smtp.messages) if m["to"] == [address]]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]

    def drain(self) -> None:
        """Publish a juror invitation after everything else and wait for it: notify handles one
        queue in order, so once the marker has arrived every event before it was handled."""
        self.markers += 1
        address = f"marker{self.markers}@jury.example.org"
        publish(self.stack, make_event("juror.invited", {
            "juror_id": str(uuid.uuid4()), "name": "Marker", "email": address, "language": "en",
            "url": "https://jury.example.org/signin/x", "expires_at": datetime.now(timezone.utc) + timedelta(days=1),
        }, producer="review"))
        assert wait_until(lambda: self.to(address)), "the marker email never arrived"


def test_every_decision_email_once_in_the_applicants_language_and_only_after_the_release(stack, smtp_server):
    box = Mailbox(stack, smtp_server)
    ko_email, en_email = "jiwoo.park@seoul.example.kr", "ana@guarulhos.example.br"
    ko_id, ko_sub = submitted("SSCP-2026-SEL001", "스마트 버스 정류장", ko_email, "ko",
                              organisation="서울특별시", contact_name="박지우")
    en_id, en_sub = submitted("SSCP-2026-GRU002", "Digital inclusion for elders", en_email, "en",
                              organisation="Prefeitura de Guarulhos", contact_name="Ana Lima")
    publish(stack, ko_sub, en_sub)
    assert wait_until(lambda: len(box.to(ko_email)) == 1 and len(box.to(en_email)) == 1)  # the acknowledgements

    # screening: mailed at once, with the reason when ineligible
    publish(stack, screened(ko_id, "SSCP-2026-SEL001", True),
            screened(en_id, "SSCP-2026-GRU002", False, "The project started after the call closed."))
    assert wait_until(lambda: len(box.to(ko_email)) == 2 and len(box.to(en_email)) == 2)
    ko_result, en_result = box.to(ko_email)[1], box.to(en_email)[1]
    assert str(ko_result["Subject"]) == "자격 심사 통과: SSCP-2026-SEL001 — 스마트 버스 정류장"
    text = smtp_server.text_of(ko_result)
    assert "박지우 님께" in text and "결선 진출작을 선정" in text
    assert str(en_result["Subject"]) == \
        "Eligibility screening: not eligible: SSCP-2026-GRU002 — Digital inclusion for elders"
    assert "The project started after the call closed." in smtp_server.text_of(en_result)

    # finalist decisions: recorded, not mailed before the release
    publish(stack, decided("application.advanced", ko_id, "SSCP-2026-SEL001"),
            decided("application.eliminated", en_id, "SSCP-2026-GRU002"))
    box.drain()
    assert len(box.to(ko_email)) == 2 and len(box.to(en_email)) == 2
    publish(stack, released(ko_id, "finalist"), released(en_id, "finalist"))
    assert wait_until(lambda: len(box.to(ko_email)) == 3 and len(box.to(en_email)) == 3)
    notice = box.to(ko_email)[2]
    assert str(notice["Subject"]) == "2026 서울스마트도시상 결선 진출: SSCP-2026-SEL001 — 스마트 버스 정류장"
    assert "결선" in smtp_server.text_of(notice) and "서울특별시" in smtp_server.text_of(notice)
    not_advanced = box.to(en_email)[2]
    assert str(not_advanced["Subject"]) == \
        "Seoul Smart City Prize 2026: result of the selection of finalists for SSCP-2026-GRU002"
    assert "did not select" in smtp_server.text_of(not_advanced)

    # award: recorded, mailed on the release, with the award and the ceremony to come
    publish(stack, decided("award.decided", ko_id, "SSCP-2026-SEL001", outcome="winner", award="Grand Prize"))
    box.drain()
    assert len(box.to(ko_email)) == 3
    publish(stack, released(ko_id, "award"))
    assert wait_until(lambda: len(box.to(ko_email)) == 4)
    winner = box.to(ko_email)[3]
    assert str(winner["Subject"]) == "2026 서울스마트도시상 수상: SSCP-2026-SEL001 — 스마트 버스 정류장"
    text = smtp_server.text_of(winner)
    assert "Grand Prize" in text and "시상식 초청장" in text
    assert all(m["to"] != ["second@seoul.example.kr"] for m in smtp_server.messages)  # the contact, not the second

    # every event published again (a relay that died before marking them sent), and a second
    # release of a round already mailed: nothing more
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        s.execute(update(review_outbox).values(published_at=None))
    assert wait_until(lambda: unpublished(db, review_outbox) == 0)
    publish(stack, released(ko_id, "award"), released(en_id, "finalist"))
    box.drain()
    assert len(box.to(ko_email)) == 4 and len(box.to(en_email)) == 3
    templates_sent = {m["Subject"] for m in box.to(ko_email) + box.to(en_email)}
    assert len(templates_sent) == 7


def test_a_release_before_its_decision_still_mails_once_and_escapes_the_title(stack, smtp_server):
    box = Mailbox(stack, smtp_server)
    email = "mei.lin@kcg.example.tw"
    app_id, sub = submitted("SSCP-2026-KHH003", "<script>alert(1)</script> buses", email, "en")
    publish(stack, sub)
    assert wait_until(lambda: len(box.to(email)) == 1)

    publish(stack, released(app_id, "finalist"))  # the release overtook the decision
    box.drain()
    assert len(box.to(email)) == 1
    publish(stack, decided("application.advanced", app_id, "SSCP-2026-KHH003"))
    assert wait_until(lambda: len(box.to(email)) == 2)
    notice = box.to(email)[1]
    assert str(notice["Subject"]).startswith("Finalist of the Seoul Smart City Prize 2026: SSCP-2026-KHH003")
    html = notice.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; buses" in html and "<script>" not in html

    # decision and release of the award round in one go, release first; then a redelivered release
    publish(stack, released(app_id, "award"), decided("award.decided", app_id, "SSCP-2026-KHH003",
                                                      outcome="not_awarded"))
    assert wait_until(lambda: len(box.to(email)) == 3)
    assert str(box.to(email)[2]["Subject"]) == \
        "Seoul Smart City Prize 2026: result of the selection of the winners for SSCP-2026-KHH003"
    publish(stack, released(app_id, "award"), decided("application.advanced", app_id, "SSCP-2026-KHH003"))
    box.drain()
    assert len(box.to(email)) == 3


def test_special_mention_names_the_award(stack, smtp_server):
    box = Mailbox(stack, smtp_server)
    email = "ops@ryde.example.au"
    app_id, sub = submitted("SSCP-2026-RYD004", "Ryde <b>open</b> data", email, "en", organisation="City of Ryde")
    publish(stack, sub, decided("award.decided", app_id, "SSCP-2026-RYD004", outcome="special_mention",
                                award="Special Mention for Inclusion"), released(app_id, "award"))
    assert wait_until(lambda: len(box.to(email)) == 2)
    message = box.to(email)[1]
    assert str(message["Subject"]) == "Special Mention of the Seoul Smart City Prize 2026: SSCP-2026-RYD004 — Ryde <b>open</b> data"
    text = smtp_server.text_of(message)
    assert "Special Mention for Inclusion" in text and "invitation to the ceremony follows" in text
    html = message.get_body(("html",)).get_content()
    assert "Ryde &lt;b&gt;open&lt;/b&gt; data" in html


def test_embedded_stack_decisions_that_overtake_the_submission(tmp_path):
    """SQLite and the embedded broker: a decision and its release arrive before the submission;
    the submission sends the acknowledgement and the decision, once each."""
    s = Stack(load_settings(embedded_env(tmp_path / "var")), services=("review", "notify")).start_workers()
    try:
        app_id, sub = submitted("SSCP-2026-LUB005", "Hydrogen for Lublin", "smart@lublin.example.pl", "ko")
        publish(s, released(app_id, "finalist"), decided("application.eliminated", app_id, "SSCP-2026-LUB005"))
        publish(s, sub)
        notify_db = s.apps["notify"].extensions["prize"]["db"]

        def deliveries():
            with notify_db.session() as session:
                return session.execute(select(Delivery.template, Delivery.language, Delivery.status,
                                              Delivery.recipient)).all()
        assert wait_until(lambda: sorted(d.template for d in deliveries() if d.status == "sent")
                          == ["not_advanced", "submission_ack"], timeout=30)
        assert {(d.language, d.recipient) for d in deliveries()} == {("ko", "smart@lublin.example.pl")}
    finally:
        s.stop()
