"""The send path of an email queued by a handler, step by step, on PostgreSQL and SQLite:
the delivery row as queue_email writes it (Core), deliver_queued (no second look at the row), the
check before DATA that reads the suppression list, and sent as one guarded statement that falls
back to reading the row when it changed after it was queued (an erasure)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.notify.mail import SmtpMailer
from services.notify.models import Delivery, outbox
from services.notify.ops import suppressions
from services.notify.ops.deliveries import Sender, queue_email
from shared.db import Database
from shared.erasure import ERASED_EMAIL
from shared.events import make_event
from shared.migrations import upgrade

ADDRESS = "Mei.Lin@kcg.example.tw"
CONTEXT = {"reference": "SSCP-2026-ABC234", "title": "Hydrogen buses", "year": 2026, "category_title": "Tech",
           "organisation": "Kaohsiung City", "city": "Kaohsiung", "contact_name": "Lin Mei-hua",
           "submitted_at": "2026-06-01 09:00 UTC", "closes": "14 July 2026", "status_url": "http://127.0.0.1/s"}


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request, tmp_path):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database_urls")["notify"].replace("postgresql://", "postgresql+psycopg://")
    else:
        url = f"sqlite:///{tmp_path}/notify.db"
    upgrade("notify", url)
    database = Database(url, "notify")
    yield database
    database.dispose()


def _queued(db: Database) -> Delivery:
    event = make_event("application.submitted", {
        "application_id": "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c001", "reference": "SSCP-2026-ABC234",
        "call_id": "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c002", "year": 2026, "category": "tech_innovacity",
        "title": "Hydrogen buses", "summary": "", "submitted_at": "2026-06-01T09:00:00+00:00",
        "applicant": {"id": "5d0c5a4e-4a47-4c55-9d59-5cf1a2b1c003", "type": "city_government",
                      "organisation": "Kaohsiung City", "country": "TW", "city": "Kaohsiung",
                      "contact_name": "Lin Mei-hua", "contact_email": ADDRESS, "language": "en"}},
        producer="intake", correlation_id="corr-1")
    with db.session() as s, s.begin():
        row = queue_email(s, event, "submission_ack", ADDRESS, "en", CONTEXT)
        assert queue_email(s, event, "submission_ack", ADDRESS, "en", CONTEXT) is None  # once per key
    return row


def _stored(db: Database) -> tuple[Delivery, list[dict]]:
    with db.session() as s:
        row = s.scalars(select(Delivery)).one()
        events = [json.loads(b) for b in s.scalars(select(outbox.c.body))]
    return row, events


def test_a_queued_email_is_sent_and_recorded_with_its_event(db, smtp_server):
    sender = Sender(db, SmtpMailer("127.0.0.1", smtp_server.port), "Prize <prize@wego-cities.org>")
    row = _queued(db)
    assert sender.deliver_queued(row) == "sent"
    assert len(smtp_server.wait_for(1)) == 1
    stored, events = _stored(db)
    assert (stored.status, stored.attempts, stored.handed_at, stored.provider_message_id) == (
        "sent", 1, None, smtp_server.messages[0]["message"]["Message-ID"].strip())
    assert [(e["type"], e["data"]["recipient"], e["data"]["delivery_key"], e["correlation_id"]) for e in events] == [
        ("email.sent", ADDRESS, row.key, "corr-1")]
    assert sender.claims.sent(row.id, "again", row) is False  # recorded once


def test_sent_reads_the_row_again_when_it_changed_after_it_was_queued(db):
    sender = Sender(db, SmtpMailer("127.0.0.1", 1), "Prize <prize@wego-cities.org>")
    row = _queued(db)
    with db.session() as s, s.begin():
        s.get(Delivery, row.id).recipient = ERASED_EMAIL  # as an erasure rewrites it
    assert sender.claims.sent(row.id, "provider-1", row) is True
    stored, events = _stored(db)
    assert stored.status == "sent" and stored.provider_message_id == "provider-1"
    assert [e["data"]["recipient"] for e in events] == [ERASED_EMAIL]  # never the erased address


def test_an_address_suppressed_after_the_email_was_queued_gets_nothing(db, smtp_server):
    sender = Sender(db, SmtpMailer("127.0.0.1", smtp_server.port), "Prize <prize@wego-cities.org>")
    row = _queued(db)
    with db.session() as s, s.begin():
        suppressions.suppress(s, ADDRESS, "bounce", "550 no such user")
    assert sender.deliver_queued(row) == "failed"
    with db.session() as s:
        stored = s.get(Delivery, row.id)
        types = [json.loads(b)["type"] for b in s.scalars(select(outbox.c.body).order_by(outbox.c.seq))]
    assert stored.status == "failed" and stored.last_error == "suppressed: bounce (550 no such user)"
    assert types[0] == "email.failed"  # then the secretariat's alert, as for any email failed for good
    assert [m["to"] for m in smtp_server.messages if ADDRESS.lower() in [t.lower() for t in m["to"]]] == []
