"""What the tests of the applicant's record and of its sign-in address share: intake's outbox
messages, notify's handlers fed through its inbox, and notify's recipients seeded as
application.submitted leaves them."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.intake.models import outbox
from services.notify.handlers import HANDLERS as NOTIFY_HANDLERS
from services.notify.models import Recipient
from services.notify.models import inbox as notify_inbox
from services.notify.models import outbox as notify_outbox
from shared.config import load_settings
from shared.events import parse_message
from shared.inbox import InboxDispatcher, bind
from tests.conftest import env_for
from tests.support.stack import KAOHSIUNG, Stack, register

# The two applicants of these tests: Kaohsiung (with a second contact) and Seongdong-gu.
SECOND = "chen.wei@kcg.example.tw"
OTHER = dict(KAOHSIUNG, organisation="Seongdong-gu Office", country="KR", city="Seoul",
             contact_name="Park Ji-won", contact_email="smart@sd.example.kr")


# Fixtures, imported by the test modules that use them under their pytest names (``stack``
# replaces conftest's intake-only one there); the function names differ so that a test's
# parameter does not shadow an import.

@pytest.fixture(name="stack", params=["embedded", "real"])
def intake_and_notify_stack(request, tmp_path):
    """intake and notify in this process, on SQLite or on PostgreSQL (fresh databases)."""
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("intake", "notify"))
    yield s
    s.stop()


@pytest.fixture(name="intake")
def intake_client(stack):
    return stack.clients["intake"]


@pytest.fixture(name="two")
def two_applicants(intake):
    """Both applicants registered and signed in: (a, a_token, b, b_token)."""
    a, a_token = register(intake, secondary_name="Chen Wei", secondary_email=SECOND)
    b, b_token = register(intake, **{k: v for k, v in OTHER.items() if k != "type"})
    return a, a_token, b, b_token


def service_db(stack, service: str = "intake"):
    return stack.apps[service].extensions["prize"]["db"]


def outbox_messages(stack, type_: str) -> list[dict]:
    """The full messages of intake's outbox rows of this type, oldest first."""
    with service_db(stack).engine.connect() as conn:
        bodies = conn.execute(select(outbox.c.body).where(outbox.c.type == type_).order_by(outbox.c.seq)).scalars()
        return [json.loads(b) for b in bodies]


class NoSender:
    """Deliveries are recorded by notify's handlers; sending them is not what these tests check."""

    def outgoing(self, delivery):
        return None

    def deliver(self, *args):
        return None


def dispatch_to_notify(stack, message: dict) -> None:
    """Hand an event, as it travels (JSON), to notify's handlers through notify's inbox."""
    dispatch = InboxDispatcher(service_db(stack, "notify"), notify_inbox, notify_outbox, "notify",
                               bind(NOTIFY_HANDLERS, sender=NoSender()))
    dispatch(parse_message(json.loads(json.dumps(message))))


def seed_recipients(stack, pairs, year: int = 2026) -> None:
    """notify's recipient rows for (application, applicant) pairs, as application.submitted
    leaves them (the tests call intake's API, not notify's worker)."""
    with service_db(stack, "notify").session() as s, s.begin():
        for app, who in pairs:
            s.add(Recipient(application_id=app["id"], reference=app["reference"], title=app["title"],
                            category=app["category"], year=year, organisation=who["organisation"],
                            contact_name=who["contact_name"], contact_email=who["contact_email"],
                            secondary_email=who["secondary_email"], language=who["language"],
                            finalist_released=False, award_released=False))
