"""End to end on Amazon SQS (moto's server): `prize run` with PRIZE_BROKER_URL=sqs:// and
PostgreSQL, submit -> review -> notify -> SMTP, every service a real process."""
from __future__ import annotations

import json
import time

import pytest

from shared import sqs, topology
from tests.conftest import real_env
from tests.e2e.test_processes import RunningSystem, assert_review_knows, submit_over_http
from tests.support.moto import ENV
from tests.support.sqs import delete_queues, queue_depth


@pytest.mark.e2e
@pytest.mark.postgres
def test_submission_over_http_reaches_the_smtp_server_on_sqs_and_postgres(
        tmp_path, pg_database_urls, moto_endpoint, namespace, smtp_server, free_port):
    # As in production: a bare sqs:// and boto3's own variables (here pointing at moto)
    broker = "sqs://?wait_time_seconds=1"
    env = real_env(tmp_path / "var", pg_database_urls, namespace, PRIZE_MAIL_URL=smtp_server.url,
                   PRIZE_BROKER_URL=broker, AWS_ENDPOINT_URL=moto_endpoint, AWS_REGION="eu-west-1",
                   AWS_ACCESS_KEY_ID=ENV["AWS_ACCESS_KEY_ID"], AWS_SECRET_ACCESS_KEY=ENV["AWS_SECRET_ACCESS_KEY"])
    env["PRIZE_MAX_REDELIVERIES"] = "4"
    url = f"sqs://testing:testing@{moto_endpoint.split('//')[1]}"  # the same server, from this process
    ports = {svc: free_port() for svc in ("intake", "review", "notify")}
    try:
        with RunningSystem(env, ports, tmp_path / "prize-run.log") as system:
            application = submit_over_http(system, env["PRIZE_SECRET_KEY"], lambda: [
                smtp_server.text_of(m["message"]) for m in list(smtp_server.messages)])
            smtp_server.wait_for(3)  # the registration's sign-in link, the API code, the ack
            assert_review_knows(system, env["PRIZE_SECRET_KEY"], application["reference"])
            time.sleep(1.5)  # anything sent twice would arrive by now
            messages = list(smtp_server.messages)
            output = system.output()
            depths = {svc: queue_depth(url, topology.queue_name(svc, namespace)) for svc in topology.SUBSCRIPTIONS}
        assert len(messages) == 3, output[-3000:]
        acks = [m for m in messages if application["reference"] in m["message"]["Subject"]]
        assert len(acks) == 1
        assert all(m["to"] == ["joao.silva@guarulhos.example.br"] for m in messages)
        body = smtp_server.text_of(acks[0]["message"])
        assert "Guarulhos" in body and application["reference"] in body
        assert depths == {"intake": 0, "review": 0, "notify": 0}  # every event acknowledged
        # the workers created the queues with their dead-letter redrive policy
        client = sqs.client(url)
        for svc in topology.SUBSCRIPTIONS:
            q = client.get_queue_url(QueueName=sqs.sqs_name(topology.queue_name(svc, namespace)))["QueueUrl"]
            policy = json.loads(client.get_queue_attributes(
                QueueUrl=q, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"])
            assert int(policy["maxReceiveCount"]) == 4
            assert policy["deadLetterTargetArn"].endswith(f":{namespace}-{svc}-events-dead")
        for svc in ("intake", "review", "notify"):
            assert any(f'"service": "{svc}"' in line and application["id"] in line
                       for line in output.splitlines()), f"{svc} did not log the correlation id"
    finally:
        delete_queues(url, namespace)
