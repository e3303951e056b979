"""Screening from the secretariat's page to the applicant's mailbox on the real stack (PostgreSQL,
RabbitMQ, review's and notify's workers, a real SMTP server): a confirmed decision is emailed once,
after the undo window, by review's own worker job; a decision undone inside the window never."""
from __future__ import annotations

import time

import pytest

from shared.config import load_settings
from tests.conftest import real_env
from tests.notify.test_notify_decisions import Mailbox, publish, submitted
from tests.review.test_screening_console import REASON, decide, staff, stage_of
from tests.review.test_review_pages import Review
from tests.support.stack import Stack, wait_until

WINDOW = 1  # second: the test waits it out once


@pytest.fixture
def stack(tmp_path, pg_database_urls, rabbitmq_url, namespace, smtp_server):
    settings = load_settings(real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url,
                                      PRIZE_SCREENING_UNDO_SECONDS=str(WINDOW)))
    s = Stack(settings, services=("review", "notify")).start_workers()
    yield s
    s.stop()


def test_a_confirmed_screening_is_mailed_once_after_the_window_and_an_undone_one_never(stack, smtp_server):
    review, box = Review(stack.apps["review"]), Mailbox(stack, smtp_server)
    kept_email, undone_email = "lin@kaohsiung.example.tw", "ana@guarulhos.example.br"
    kept, kept_sub = submitted("SSCP-2026-KHH001", "Harbour hydrogen buses", kept_email, "en")
    undone, undone_sub = submitted("SSCP-2026-GRU002", "Digital inclusion for elders", undone_email, "en",
                                   organisation="Prefeitura de Guarulhos", contact_name="Ana Lima")
    publish(stack, kept_sub, undone_sub)  # review and notify both take application.submitted
    assert wait_until(lambda: len(box.to(kept_email)) == 1 and len(box.to(undone_email)) == 1)  # acknowledgements
    assert wait_until(lambda: _known(review, kept) and _known(review, undone))

    client, csrf = staff(review, name="Kim Ji-won")
    assert decide(client, csrf, kept).status_code == 303
    assert decide(client, csrf, undone, eligible="yes", reason="").status_code == 303
    [held] = [d for d in _decisions(review, undone)]
    r = client.post(f"/secretariat/applications/{undone}/screening/{held}/undo", data={"csrf_token": csrf})
    assert r.status_code == 303 and stage_of(review, undone) == "submitted"
    box.drain()
    assert len(box.to(kept_email)) == 1  # nothing inside the window

    time.sleep(WINDOW + 0.2)
    job = next(j for j in stack.workers["review"].jobs if j.name == "review-screening-emails")
    job.run()  # the worker's own job, as its timer runs it
    assert wait_until(lambda: len(box.to(kept_email)) == 2)
    result = box.to(kept_email)[1]
    assert str(result["Subject"]).startswith("Eligibility screening: not eligible: SSCP-2026-KHH001")
    assert REASON in smtp_server.text_of(result)
    job.run()  # again: nothing is due twice
    box.drain()
    assert len(box.to(kept_email)) == 2 and len(box.to(undone_email)) == 1


def _known(review: Review, application_id: str) -> bool:
    from services.review.models import Application
    with review.db.session() as s:
        return s.get(Application, application_id) is not None


def _decisions(review: Review, application_id: str) -> list[str]:
    from services.review.models import ScreeningDecision
    from sqlalchemy import select
    with review.db.session() as s:
        return list(s.scalars(select(ScreeningDecision.id).where(ScreeningDecision.application_id == application_id)))
