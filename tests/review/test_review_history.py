"""review's stored history: appended in the caller's transaction, one chain even when several
requests append at once, and any edit of a stored row is found."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, update

from services.review.ops import history
from services.review.models import LedgerEntry
from tests.support.stack import Stack


@pytest.fixture(params=["embedded", "postgresql"])
def db(request):
    settings = request.getfixturevalue("embedded_settings" if request.param == "embedded" else "real_settings")
    stack = Stack(settings, services=("review",))
    yield stack.apps["review"].extensions["prize"]["db"]
    stack.stop()


def test_entries_chain_and_verify(db):
    with db.session() as s, s.begin():
        history.append(s, "secretariat:kim", "screened", application_id="a1", data={"eligible": True})
        history.append(s, "juror:j1", "scores.saved", application_id="a1", juror_id="j1",
                       data={"scores": {"design": 7.5}, "comment": "고려할 점: São Paulo"})
    with db.session() as s:
        rows = history.entries(s)
        assert [r.action for r in rows] == ["screened", "scores.saved"]
        assert rows[1].prev_hash == rows[0].hash
        assert history.verify(s) == []
        assert [r.action for r in history.entries(s, application_id="a1")] == ["screened", "scores.saved"]


def test_an_entry_exists_only_if_its_transaction_commits(db):
    with pytest.raises(RuntimeError):
        with db.session() as s, s.begin():
            history.append(s, "secretariat:kim", "decided", application_id="a2")
            raise RuntimeError("the decision failed")
    with db.session() as s:
        assert history.entries(s) == []


def test_concurrent_appends_keep_one_chain(db):
    errors = []

    def writer(n: int) -> None:
        try:
            for i in range(10):
                with db.session() as s, s.begin():
                    history.append(s, f"juror:{n}", "scores.saved", data={"i": i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with db.session() as s:
        rows = history.entries(s)
        assert len(rows) == 40
        assert history.verify(s) == []
        assert len({r.prev_hash for r in rows}) == 40  # nobody appended after the same row twice


@pytest.mark.parametrize("tamper", ["edit", "delete"])
def test_an_edited_or_deleted_row_is_found(db, tamper):
    with db.session() as s, s.begin():
        for i in range(3):
            history.append(s, "secretariat:kim", "decided", application_id=f"a{i}", data={"outcome": "winner"})
    with db.session() as s, s.begin():
        second = history.entries(s)[1].seq
        if tamper == "edit":
            s.execute(update(LedgerEntry).where(LedgerEntry.seq == second).values(data={"outcome": "not_awarded"}))
        else:
            s.execute(delete(LedgerEntry).where(LedgerEntry.seq == second))
    with db.session() as s:
        problems = history.verify(s)
        assert problems, "the tampered chain verified"


def test_a_rolled_back_savepoint_does_not_leave_the_chain_pointing_at_nothing(db):
    with db.session() as s, s.begin():
        history.append(s, "secretariat:kim", "screened", application_id="a1")
        try:
            with s.begin_nested():
                history.append(s, "secretariat:kim", "decided", application_id="a1")
                raise RuntimeError("the decision failed")
        except RuntimeError:
            pass
        history.append(s, "secretariat:kim", "screened", application_id="a2")
    with db.session() as s:
        assert [r.action for r in history.entries(s)] == ["screened", "screened"]
        assert history.verify(s) == []
