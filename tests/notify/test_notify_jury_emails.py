"""Jurors' emails, from review's outbox to an SMTP server: the invitation with its sign-in link
and one digest of assignments per round, once each, in the juror's language."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from services.review.models import outbox as review_outbox
from shared.config import load_settings
from shared.events import make_event
from shared.outbox import record
from tests.conftest import real_env
from tests.support.stack import Stack, unpublished, wait_until

JUROR = {"juror_id": str(uuid.uuid4()), "name": "Dr. Ana Souza", "email": "ana.souza@usp.example.br",
         "organisation": "Universidade de São Paulo"}


@pytest.fixture
def stack(tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server):
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url))
    s = Stack(settings, services=("review", "notify")).start_workers()
    yield s
    s.stop()


def publish(stack, *events) -> None:
    """As review publishes: the events go into its outbox in one transaction; its relay sends them."""
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        for event in events:
            record(s, review_outbox, event)



def test_the_invitation_arrives_once_in_the_jurors_language(stack, smtp_server):
    expires = datetime.now(timezone.utc) + timedelta(days=7)
    event = make_event("juror.invited", {**JUROR, "language": "ko", "url": "https://jury.example.org/signin/abc",
                                         "expires_at": expires}, producer="review")
    publish(stack, event)
    [message] = smtp_server.wait_for(1)
    # the relay publishes it again (as one that died before marking the row sent would)
    db = stack.apps["review"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        s.execute(update(review_outbox).values(published_at=None))
    assert wait_until(lambda: unpublished(db, review_outbox) == 0)
    # a later invitation to someone else: once it has arrived, the copy before it was handled
    marker = make_event("juror.invited", {**JUROR, "juror_id": str(uuid.uuid4()), "email": "kim@snu.example.kr",
                                          "language": "en", "url": "https://jury.example.org/signin/def",
                                          "expires_at": expires}, producer="review")
    publish(stack, marker)
    messages = smtp_server.wait_for(2)
    assert wait_until(lambda: "kim@snu.example.kr" in [m["to"][0] for m in smtp_server.messages])
    assert message["to"] == [JUROR["email"]]
    text = smtp_server.text_of(message["message"])
    assert "서울스마트도시상 심사위원" in message["message"]["Subject"]
    assert "https://jury.example.org/signin/abc" in text and "Dr. Ana Souza" in text
    assert sorted(m["to"][0] for m in smtp_server.messages) == ["ana.souza@usp.example.br", "kim@snu.example.kr"]
    assert len(messages) == 2  # no second copy of the invitation


def test_one_digest_per_juror_and_round_lists_every_new_application(stack, smtp_server):
    applications = [
        {"application_id": str(uuid.uuid4()), "reference": "SSCP-2026-KHH001", "title": "Hydrogen buses for 高雄",
         "category": "tech_innovacity"},
        {"application_id": str(uuid.uuid4()), "reference": "SSCP-2026-GRU002",
         "title": "<script>alert(1)</script> Guarulhos", "category": "human_centricity"},
    ]
    event = make_event("review.assigned", {
        **{k: JUROR[k] for k in ("juror_id", "name", "email")}, "language": "en", "round": "finalist",
        "call_id": str(uuid.uuid4()), "year": 2026, "due_at": datetime(2026, 8, 14, 9, 0, tzinfo=timezone.utc),
        "applications": applications, "url": "https://jury.example.org/jury"}, producer="review")
    publish(stack, event)
    [message] = smtp_server.wait_for(1)
    assert message["to"] == [JUROR["email"]]
    assert message["message"]["Subject"] == \
        "2 applications to score for the 2026 Seoul Smart City Prize (selection of finalists)"
    text = smtp_server.text_of(message["message"])
    assert "SSCP-2026-KHH001  Hydrogen buses for 高雄 (Tech-InnovaCity)" in text
    assert "SSCP-2026-GRU002" in text and "due by 2026-08-14 09:00 UTC" in text
    html = message["message"].get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Guarulhos" in html and "<script>" not in html
