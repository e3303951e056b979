"""Dead letters through the CLI: listed, shown, replayed, on RabbitMQ and on the embedded broker."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from services.cli import main
from shared import topology
from shared.bus import Publisher
from tests.conftest import embedded_env
from tests.shared.test_bus_rabbitmq import submitted_event


def _dead_letter(url, namespace, event, error="boom"):
    publisher = Publisher(url, namespace)
    publisher.send_to_queue(topology.dead_letter_queue_name("review", namespace), event.to_message(),
                            {"x-prize-attempts": 5, "x-prize-error": error,
                             "x-prize-routing-key": event.routing_key})
    publisher.close()


def _run(args, env):
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _exercise(url, namespace, env):
    first, second = submitted_event("first"), submitted_event("second")
    _dead_letter(url, namespace, first, "RuntimeError: database said no")
    _dead_letter(url, namespace, second)

    listing = _run(["dlq", "list", "review"], env)
    assert str(first.id) in listing and str(second.id) in listing
    assert "RuntimeError: database said no" in listing and "attempts=5" in listing
    shown = _run(["dlq", "show", "review", "--limit", "1"], env)
    assert json.loads(shown)["type"] == "application.submitted"
    # looking does not remove anything
    assert _run(["dlq", "list", "review"], env).count("application.submitted") == 2

    assert "1 dead letter(s)" in _run(["dlq", "replay", "review", "--id", str(second.id)], env)
    remaining = _run(["dlq", "list", "review"], env)
    assert str(first.id) in remaining and str(second.id) not in remaining
    assert "1 dead letter(s)" in _run(["dlq", "replay", "review"], env)
    assert "no dead letters" in _run(["dlq", "list", "review"], env)


@pytest.mark.rabbitmq
def test_dead_letters_are_listed_and_replayed_on_rabbitmq(rabbitmq_url, namespace, tmp_path):
    env = embedded_env(tmp_path, PRIZE_BROKER_URL=rabbitmq_url, PRIZE_NAMESPACE=namespace)
    _exercise(rabbitmq_url, namespace, env)
    from tests.support.broker import drain
    replayed = drain(rabbitmq_url, topology.queue_name("review", namespace))
    assert len(replayed) == 2
    assert all("x-prize-attempts" not in m["headers"] for m in replayed)


def test_dead_letters_are_listed_and_replayed_on_the_embedded_broker(tmp_path):
    env = embedded_env(tmp_path)
    url = f"sqlite:///{tmp_path / 'broker.sqlite'}"
    _exercise(url, "", env)
