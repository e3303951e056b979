"""`prize dlq replay` against a worker whose handler still fails: each letter goes back once per
run (never chasing its own replays), the run says how many were left, a letter that never decoded
comes back with its own body and error, and `prize dlq list` keeps to one line per letter with no
personal data. On RabbitMQ and on the embedded broker, with a real worker on a thread."""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest
from click.testing import CliRunner
from kombu import Producer
from sqlalchemy import create_engine, text

import shared.dlq
from services.cli import main
from shared import topology
from shared.bus import EventConsumer, Publisher, connect
from shared.config import load_settings
from tests.conftest import env_for
from tests.shared.test_bus_rabbitmq import submitted_event
from tests.shared.test_dlq import _dead_letter
from tests.support.consumers import RunningConsumer
from tests.support.stack import wait_until

LETTERS = 20
MAX_ATTEMPTS = 2
ADDRESS = "anna.nowak@lublin.example.eu"


class Broker:
    def __init__(self, request, tmp_path, kind):
        self.env = env_for(request, tmp_path / "var", kind)
        settings = load_settings(self.env)
        self.url, self.namespace = settings.broker_url, settings.namespace
        self.kind = kind
        self.dead = topology.dead_letter_queue_name("review", self.namespace)
        self.live = topology.queue_name("review", self.namespace)
        with connect(self.url) as conn:
            topology.declare(conn.channel(), self.namespace)

    def cli(self, *args) -> str:
        result = CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout  # the worker's log lines (stderr, from its thread) are not the command's

    def depth(self, queue: str) -> int:
        with connect(self.url) as conn:
            return conn.channel().queue_declare(queue=queue, passive=True).message_count

    def publish_raw(self, body: str, content_type: str) -> None:
        with connect(self.url) as conn:
            Producer(conn.channel()).publish(body, routing_key=self.live, content_type=content_type,
                                             content_encoding="utf-8", delivery_mode=2, retry=False)


@pytest.fixture(params=["embedded", pytest.param("real", marks=pytest.mark.rabbitmq)])
def broker(request, tmp_path):
    return Broker(request, tmp_path, request.param)


class StillBroken:
    """A handler whose cause was never fixed: it fails at once, every time."""

    def __init__(self):
        self.calls = Counter()

    def __call__(self, event):
        self.calls[str(event.id)] += 1
        raise RuntimeError("still broken")


@pytest.fixture
def eager_worker(monkeypatch):
    """The worst case for a replay: after each letter it sends back, the replay waits until the
    worker has failed it again and put it back in the dead-letter queue (a fast worker beside
    the operator). A replay that chases its own replays would never end: it is stopped after
    three sends per letter found."""
    state = {"consumer": None, "sent": 0, "baseline": 0, "cap": 0}

    class WaitingPublisher(Publisher):
        def send_to_queue(self, queue, body, headers, content_type=None):
            super().send_to_queue(queue, body, headers, content_type)
            state["sent"] += 1
            if state["sent"] > state["cap"]:
                raise AssertionError(f"the replay sent back {state['sent']} letters; the queue held "
                                     f"{state['cap'] // 3} when it started")
            consumer = state["consumer"]
            target = state["baseline"] + state["sent"]
            assert wait_until(lambda: consumer.dead_lettered >= target, timeout=15), "the worker did not fail it"

    monkeypatch.setattr(shared.dlq, "Publisher", WaitingPublisher)

    def run(consumer, found):
        state.update(consumer=consumer, sent=0, baseline=consumer.dead_lettered, cap=3 * found)
    return run


def test_replay_without_id_sends_each_letter_back_once_per_run(broker, eager_worker):
    events = [submitted_event(f"Project {i}") for i in range(LETTERS)]
    for event in events:
        _dead_letter(broker.url, broker.namespace, event, "RuntimeError: still broken")
    handler = StillBroken()
    consumer = EventConsumer(broker.url, "review", handler, namespace=broker.namespace, max_attempts=MAX_ATTEMPTS)
    figures = []
    with RunningConsumer(consumer):
        for run in (1, 2, 3):
            before = sum(handler.calls.values())
            eager_worker(consumer, LETTERS)
            out = broker.cli("dlq", "replay", "review")
            assert wait_until(lambda: broker.depth(broker.dead) == LETTERS and broker.depth(broker.live) == 0)
            handled = sum(handler.calls.values()) - before
            figures.append(f"run {run}: {out.strip()} | handler calls {handled}")
            assert f"{LETTERS} dead letter(s) sent back" in out, out
            assert f"{LETTERS} left" in out, out
            assert handled == LETTERS * MAX_ATTEMPTS
            assert set(handler.calls.values()) == {run * MAX_ATTEMPTS}
    print(f"\n[{broker.kind}] {LETTERS} letters whose handler fails at once, max attempts {MAX_ATTEMPTS}:")
    print("\n".join(figures))
    # each letter is still there once, with its latest error, counted as one replay per run
    letters = shared.dlq.peek(broker.url, "review", broker.namespace)
    assert sorted(str(x.event_id) for x in letters) == sorted(str(e.id) for e in events)
    assert {x.error for x in letters} == {"RuntimeError: still broken"}
    assert {x.replays for x in letters} == {3}


def test_a_replay_beside_a_reader_that_holds_letters_skips_its_own_replays(broker, eager_worker):
    """A reader (a `prize dlq list` killed half-way, another replay) holds five letters unacknowledged
    while the replay runs. The embedded broker counts them in the depth, so the depth alone would
    let the run take back letters it had just sent: the run recognises its own and leaves them."""
    events = [submitted_event(f"Project {i}") for i in range(LETTERS)]
    for event in events:
        _dead_letter(broker.url, broker.namespace, event, "RuntimeError: still broken")
    handler = StillBroken()
    consumer = EventConsumer(broker.url, "review", handler, namespace=broker.namespace, max_attempts=MAX_ATTEMPTS)
    reader = connect(broker.url)
    held = [topology.dead_letter_queue("review", broker.namespace).bind(reader.channel()).get(no_ack=False)
            for _ in range(5)]
    held_ids = {json.loads(m.body)["id"] for m in held}
    with RunningConsumer(consumer):
        eager_worker(consumer, LETTERS)
        out = broker.cli("dlq", "replay", "review")
        assert f"{LETTERS - 5} dead letter(s) sent back" in out, out
        assert wait_until(lambda: consumer.dead_lettered == LETTERS - 5)
        reader.release()  # the held letters become visible again, untouched
        assert wait_until(lambda: broker.depth(broker.dead) == LETTERS)
    print(f"\n[{broker.kind}] a reader holds 5 of {LETTERS}: {out.strip()} | handler calls "
          f"{sum(handler.calls.values())}")
    assert set(handler.calls) == {str(e.id) for e in events} - held_ids
    assert set(handler.calls.values()) == {MAX_ATTEMPTS}
    if broker.kind == "embedded":
        assert "5 of them sent back by this run and failed again" in out, out


def test_a_replayed_undecodable_letter_keeps_its_body_and_error(broker, eager_worker):
    handler = StillBroken()
    consumer = EventConsumer(broker.url, "review", handler, namespace=broker.namespace, max_attempts=MAX_ATTEMPTS)
    with RunningConsumer(consumer):
        broker.publish_raw('{"id": "a letter cut short', "application/json")
        broker.publish_raw("plain words, not an event", "text/plain")
        assert wait_until(lambda: consumer.dead_lettered == 2)
        before = sorted((x.body["undecodable"], x.error) for x in shared.dlq.peek(broker.url, "review", broker.namespace))
        assert sorted(b for b, _ in before) == sorted(['{"id": "a letter cut short', "plain words, not an event"])
        assert all(e.startswith("cannot decode: ") for _, e in before), before
        eager_worker(consumer, 2)
        out = broker.cli("dlq", "replay", "review")
        assert "2 dead letter(s) sent back" in out and "2 left" in out, out
        after = sorted((x.body["undecodable"], x.error) for x in shared.dlq.peek(broker.url, "review", broker.namespace))
    print(f"\n[{broker.kind}] undecodable letters before the replay: {before}\n  after: {after}")
    assert after == before
    assert handler.calls == Counter()


class Registering:
    """A handler whose insert breaks a unique constraint with the applicant's address as a parameter:
    the database's error text carries the SQL and the address."""

    def __init__(self, url):
        self.engine = create_engine(url)
        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE contacts (email varchar(200) PRIMARY KEY)"))
            conn.execute(text("INSERT INTO contacts (email) VALUES (:email)"), {"email": ADDRESS})

    def __call__(self, event):
        with self.engine.begin() as conn:
            conn.execute(text("INSERT INTO contacts (email) VALUES (:email)"),
                         {"email": event.data["applicant"]["contact_email"]})


def test_dlq_list_is_one_line_per_letter_without_personal_data(broker, request, tmp_path):
    if broker.kind == "real":
        db_url = request.getfixturevalue("pg_database_urls")["review"].replace("postgresql://", "postgresql+psycopg://")
    else:
        db_url = f"sqlite:///{tmp_path / 'contacts.sqlite'}"
    handler = Registering(db_url)
    event = submitted_event("Bus lanes")
    event.data["applicant"]["contact_email"] = ADDRESS
    consumer = EventConsumer(broker.url, "review", handler, namespace=broker.namespace, max_attempts=1)
    with RunningConsumer(consumer):
        Publisher(broker.url, broker.namespace).publish(event)
        assert wait_until(lambda: consumer.dead_lettered == 1)
    handler.engine.dispose()
    full = shared.dlq.peek(broker.url, "review", broker.namespace)[0].error
    assert ADDRESS in full and "INSERT" in full  # what the worker recorded: the database's own words
    _dead_letter(broker.url, broker.namespace, submitted_event("Second"),
                 "ValueError: no juror writes to bob.smith@example.org\nretry later")

    listing = broker.cli("dlq", "list", "review")
    print(f"\n[{broker.kind}] the error as recorded: {full!r}\n  as listed:\n{listing}")
    lines = listing.splitlines()
    assert len(lines) == 2, listing
    assert lines[0].startswith(str(event.id)) and "IntegrityError" in lines[0]
    assert re.search("unique", lines[0], re.I), lines[0]
    assert ADDRESS not in listing and "bob.smith" not in listing and "@" not in listing
    assert "INSERT" not in listing and "[SQL" not in listing and "parameters" not in listing
    assert "ValueError: no juror writes to" in lines[1]

    out = broker.cli("dlq", "replay", "review", "--id", "00000000-0000-4000-8000-000000000000")
    assert "0 dead letter(s) sent back" in out and "2 left" in out and "no dead letter of event" in out, out
