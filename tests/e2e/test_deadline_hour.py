"""Figure 9 of `make bench` (the deadline hour replayed with locust) in small, so its scenario
cannot rot: the plan's shape, then the real thing on PostgreSQL + RabbitMQ with every service a
process and locust driving bench/deadline_locust.py, 3 applicants and 1 juror through a
6-second "hour". The locustfile runs in the subprocess the bench starts: importing locust here
would gevent-patch the test process."""
from __future__ import annotations

import pytest

from bench import deadline
from bench.deadline_plan import answers, pdf, schedule

pytestmark = [pytest.mark.e2e, pytest.mark.rabbitmq, pytest.mark.postgres]


def test_each_applicant_autosaves_uploads_twice_then_submits_in_the_last_stretch():
    plan = {"seed": 9, "hour_s": 180.0, "submit_window_s": 15.0, "autosave_s": 10.0,
            "applicants": [{}] * 240}
    submits = []
    for index in range(240):
        moments = schedule(plan, index)
        kinds = [what for _, what in moments]
        assert kinds[-1] == "submit" and kinds.count("submit") == 1
        assert sorted(k for k in kinds if k.startswith("upload")) == ["upload:0", "upload:1"]
        uploads = [at for at, what in moments if what.startswith("upload")]
        assert max(uploads) < 180.0 - 15.0, "the documents are in before the last stretch"
        saves = [at for at, what in moments if what == "autosave"]
        assert saves[0] < 10.0 and all(abs(b - a - 10.0) < 1e-9 for a, b in zip(saves, saves[1:]))
        submit_at = moments[-1][0]
        assert 165.0 <= submit_at < 180.0 and submit_at - saves[-1] <= 10.05
        submits.append(submit_at)
    # spread evenly over the window, one applicant each
    assert len(set(submits)) == 240 and max(b - a for a, b in zip(sorted(submits), sorted(submits)[1:])) < 0.07


def test_the_answers_grow_within_their_word_limits_and_the_files_read_as_pdf():
    criteria = [{"key": "design", "word_limit": 500}, {"key": "value", "word_limit": 40}]
    early, late = answers(criteria, 0.1, 3), answers(criteria, 1.3, 3)
    assert set(early) == set(late) == {"design", "value"}
    assert len(early["design"].split()) < len(late["design"].split()) <= 250
    assert len(late["value"].split()) <= 40
    content = pdf(200_000, 1)
    assert len(content) == 200_000 and content.startswith(b"%PDF-") and content.endswith(b"%%EOF\n")


def test_a_tiny_deadline_hour_with_locust_on_the_real_stack(rabbitmq_url, postgres_admin_url):
    m = deadline.measure(applicants=3, jurors=1, hour_s=6.0, window_s=2.0, autosave_s=1.5,
                         sizes=(("application_form", 20_000), ("supporting_material", 10_000)), warm_ups=1,
                         jury_applications=600)
    v = deadline.verdict(m)
    types = v["types"]
    assert types, "locust sent no request"
    failures = {name: t["failures"][:2] for name, t in types.items() if t["failures"]}
    assert not failures and v["errors"] == 0, failures
    for name in ("upload 1/3 POST /api/applications/<id>/documents", "upload 2/3 POST the presigned form",
                 "upload 3/3 POST /api/documents/<id>/complete"):
        assert types.get(name, {}).get("n") == 3 * 2, (name, sorted(types))
    assert types["submit POST /api/applications/<id>/submit"]["n"] == 3
    assert types["autosave PATCH /api/applications/<id>"]["n"] >= 3 * 2
    assert any(name.startswith("juror ") for name in types), sorted(types)
    # every submission acknowledged by exactly one email, and review took each in
    assert v["once"] and v["submitted"] == 3 and v["acks"] == 3, v
    assert m["received"] == 3 + m["warm_ups"]
