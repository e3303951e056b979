"""The transactional outbox on real PostgreSQL and RabbitMQ."""
from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import func, select

from services.review.models import Application as ReviewApplication
from services.review.models import inbox as review_inbox
from shared import topology
from shared.bus import Publisher
from shared.config import load_settings
from shared.db import Database
from shared.events import make_event
from shared.migrations import upgrade
from shared.outbox import OutboxRelay, pending_count, record
from tests.conftest import real_env
from tests.support.broker import drain
from tests.support.stack import Stack, open_call, register, submit_application, wait_until
from tests.support.tcpproxy import TcpProxy

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres]


def test_submissions_succeed_while_the_broker_is_down_and_are_published_once_when_it_returns(
        tmp_path, pg_database_urls, rabbitmq_url, namespace):
    proxy = TcpProxy(5672)  # not started: the broker is unreachable for intake
    intake_env = real_env(tmp_path / "var", pg_database_urls, namespace,
                          PRIZE_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{proxy.port}//")
    intake_settings = load_settings(intake_env)
    review_settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace))

    review = Stack(review_settings, services=("review",)).start_workers()
    intake = Stack(intake_settings, services=("intake",)).start_workers()
    try:
        client = intake.clients["intake"]
        assert client.get("/readyz").status_code == 503
        token = intake.secretariat_token()
        call = open_call(client, token)
        references = []
        for i in range(10):
            _, applicant_token = register(client, contact_email=f"officer{i}@city{i}.example.org",
                                          city=f"Guarulhos {i}")
            references.append(submit_application(client, applicant_token, call["id"],
                                                 title=f"Project {i}")["reference"])
        intake_db = intake.apps["intake"].extensions["prize"]["db"]
        from services.intake.models import outbox as intake_outbox
        # 1 call.opened + 10 applicant.registered + 10 application.submitted, all waiting, and
        # 20 signin.requested (a link on registration, a code for register()'s API sign-in)
        assert pending_count(intake_db, intake_outbox) == 41

        def relay_failures():
            with intake_db.engine.connect() as conn:
                return conn.execute(select(func.max(intake_outbox.c.attempts))).scalar()
        assert wait_until(lambda: relay_failures() >= 1)  # the relay met the outage
        proxy.start()  # the broker comes back  # the broker comes back
        assert wait_until(lambda: pending_count(intake_db, intake_outbox) == 0, timeout=30)
        review_db = review.apps["review"].extensions["prize"]["db"]

        def review_count():
            with review_db.session() as s:
                return s.scalar(select(func.count()).select_from(ReviewApplication))
        assert wait_until(lambda: review_count() == 10, timeout=30)
        with review_db.session() as s:
            assert sorted(s.scalars(select(ReviewApplication.reference))) == sorted(references)
            assert s.scalar(select(func.count()).select_from(review_inbox)) == 11
        assert review.workers["review"].dispatcher.duplicates == 0
    finally:
        intake.stop()
        review.stop()
        proxy.stop()


def test_two_relays_publish_every_row_exactly_once(pg_database_urls, rabbitmq_url, namespace):
    url = pg_database_urls["intake"].replace("postgresql://", "postgresql+psycopg://")
    upgrade("intake", url)
    from services.intake.models import outbox
    db = Database(url, "intake")
    n = 600
    with db.session() as s, s.begin():
        for i in range(n):
            record(s, outbox, make_event("application.withdrawn", {
                "application_id": str(uuid.uuid4()), "reference": f"SSCP-2026-{i:06d}",
                "withdrawn_at": "2026-06-01T00:00:00+00:00"}, producer="intake"))
    # Publishing needs the review queue declared (withdrawn is routed to review).
    relays = [OutboxRelay(db, outbox, Publisher(rabbitmq_url, namespace), batch_size=50) for _ in range(2)]
    threads = [threading.Thread(target=r.run, daemon=True) for r in relays]
    for t in threads:
        t.start()
    try:
        assert wait_until(lambda: pending_count(db, outbox) == 0, timeout=60)
    finally:
        for r in relays:
            r.stop()
        for t in threads:
            t.join(timeout=10)
    messages = drain(rabbitmq_url, topology.queue_name("review", namespace))
    references = [m["body"]["data"]["reference"] for m in messages]
    assert len(references) == n
    assert len(set(references)) == n
    assert relays[0].published + relays[1].published == n
    db.dispose()
