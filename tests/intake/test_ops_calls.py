"""intake's call operations called as they are, with a database and plain arguments: no Flask,
no broker (the fast tests the one layout makes possible)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from services.intake.models import outbox
from services.intake.ops import calls
from shared.config import load_settings
from shared.db import Database
from shared.migrations import upgrade
from shared.refusals import Refused
from tests.conftest import embedded_env

TERMS = {"year": 2027, "theme": "Cities that listen", "time_zone": "Asia/Seoul", "score_min": 1, "score_max": 10,
         "opens_at": datetime(2027, 3, 1, tzinfo=timezone.utc), "closes_at": datetime(2027, 7, 14, tzinfo=timezone.utc)}


@pytest.fixture
def db(tmp_path):
    settings = load_settings(embedded_env(tmp_path / "var"))
    upgrade("intake", settings.database_url("intake"))
    database = Database(settings.database_url("intake"), "intake")
    yield database
    database.dispose()


def published(db) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(outbox.c.type)))


def test_one_edition_a_year(db):
    calls.create_call(db, TERMS)
    with pytest.raises(Refused) as refused:
        calls.create_call(db, TERMS)
    assert (refused.value.status, refused.value.message) == (409, "an edition for 2027 already exists")


def test_a_draft_is_edited_in_place_and_an_open_call_gets_a_version_and_call_opened(db):
    call = calls.create_call(db, TERMS)
    calls.change_call(db, call.id, {"theme": "Cities that listen well"}, who="secretariat:kim")
    assert calls.call_versions(db, call.id) == [] and published(db) == []

    calls.open_call(db, call.id)
    with pytest.raises(Refused) as refused:
        calls.change_call(db, call.id, {"theme": "Another"}, who="secretariat:kim")
    assert refused.value.status == 422 and refused.value.errors == {"json": {"reason": ["required once the call is open"]}}

    changed = calls.change_call(db, call.id, {"closes_at": datetime(2027, 7, 21, tzinfo=timezone.utc),
                                              "reason": "a week more for the cities"}, who="secretariat:kim")
    [version] = calls.call_versions(db, call.id)
    assert (changed.version, version.version, version.changed_by) == (2, 2, "secretariat:kim")
    assert version.terms["closes_at"] == "2027-07-21T00:00:00+00:00"
    assert published(db) == ["call.opened", "call.opened"]


def test_inconsistent_terms_are_refused_and_nothing_is_kept(db):
    call = calls.create_call(db, TERMS)
    with pytest.raises(Refused) as refused:
        calls.change_call(db, call.id, {"closes_at": datetime(2027, 1, 1, tzinfo=timezone.utc)}, who="secretariat:kim")
    assert refused.value.errors == {"json": {"closes_at": ["must be after opens_at"]}}
    assert calls.read_call(db, call.id).closes_at.replace(tzinfo=timezone.utc) == TERMS["closes_at"]


def test_an_unknown_call_is_a_404(db):
    with pytest.raises(Refused) as refused:
        calls.read_call(db, "0b7c0c5e-0000-4000-8000-000000000000")
    assert refused.value.status == 404
