"""`prize dlq` list, show and replay on Amazon SQS (moto's server).

The same steps as tests/shared/test_dlq.py, but a look at the dead letters leaves them hidden
for a second (kombu gives a received, unacknowledged SQS message back by setting its visibility
to the long-poll time, shared.dlq.SQS_WAIT), so each next step waits until they show again."""
from __future__ import annotations

import json

import pytest

from shared import topology
from shared.dlq import SQS_WAIT
from tests.conftest import embedded_env
from tests.shared.test_bus_rabbitmq import submitted_event
from tests.shared.test_dlq import _dead_letter, _run
from tests.support.sqs import drain
from tests.support.stack import wait_until

pytestmark = [pytest.mark.postgres]
# Between two looks: a look hides what it saw for dlq.SQS_WAIT seconds as it ends, so a next look
# that starts sooner (a quick process start) sees fewer letters.
LOOK = SQS_WAIT + 0.5


def test_dead_letters_are_listed_shown_and_replayed_on_sqs(sqs_url, namespace, tmp_path):
    env = embedded_env(tmp_path, PRIZE_BROKER_URL=sqs_url, PRIZE_NAMESPACE=namespace)
    first, second = submitted_event("first"), submitted_event("second")
    _dead_letter(sqs_url, namespace, first, "RuntimeError: database said no")
    _dead_letter(sqs_url, namespace, second)

    listing = _run(["dlq", "list", "review"], env)
    assert str(first.id) in listing and str(second.id) in listing
    assert "RuntimeError: database said no" in listing and "attempts=5" in listing
    shown = []
    assert wait_until(lambda: shown.append(_run(["dlq", "show", "review", "--limit", "1"], env))
                      or shown[-1].startswith("{"), timeout=20, interval=LOOK)
    assert json.loads(shown[-1])["type"] == "application.submitted"
    # looking does not remove anything
    assert wait_until(lambda: _run(["dlq", "list", "review"], env).count("application.submitted") == 2, timeout=20, interval=LOOK)

    replayed = []
    assert wait_until(lambda: replayed.append(_run(["dlq", "replay", "review", "--id", str(second.id)], env))
                      or "1 dead letter(s)" in replayed[-1], timeout=20, interval=LOOK)
    remaining = []
    assert wait_until(lambda: remaining.append(_run(["dlq", "list", "review"], env)) or str(first.id) in remaining[-1],
                      timeout=20, interval=LOOK)
    assert str(second.id) not in remaining[-1]
    assert wait_until(lambda: "1 dead letter(s)" in _run(["dlq", "replay", "review"], env), timeout=20, interval=LOOK)
    assert "no dead letters" in _run(["dlq", "list", "review"], env)

    replayed = drain(sqs_url, topology.queue_name("review", namespace))
    assert sorted(m["body"]["id"] for m in replayed) == sorted([str(first.id), str(second.id)])
    assert all("x-prize-attempts" not in m["headers"] for m in replayed)
