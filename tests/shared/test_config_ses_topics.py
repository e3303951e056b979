"""PRIZE_SES_TOPIC_ARNS: the SNS topics whose SES notifications notify accepts (issue 11, item 4)."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, load_settings

OURS = "arn:aws:sns:eu-west-1:123456789012:prize-ses-feedback"
SECOND = "arn:aws:sns:us-east-1:123456789012:prize-ses-bounces.fifo"


def _env(tmp_path, **extra) -> dict:
    return {"PRIZE_VAR_DIR": str(tmp_path / "var"), **extra}


def test_unset_or_empty_means_no_topic_is_trusted(tmp_path):
    assert load_settings(_env(tmp_path)).ses_topic_arns == ()
    assert load_settings(_env(tmp_path, PRIZE_SES_TOPIC_ARNS="")).ses_topic_arns == ()


def test_a_comma_separated_list_is_read_in_order_without_blanks_or_repeats(tmp_path):
    settings = load_settings(_env(tmp_path, PRIZE_SES_TOPIC_ARNS=f" {OURS} ,{SECOND},,{OURS}"))
    assert settings.ses_topic_arns == (OURS, SECOND)
    gov = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:feedback"
    china = "arn:aws-cn:sns:cn-north-1:123456789012:feedback"
    assert load_settings(_env(tmp_path, PRIZE_SES_TOPIC_ARNS=f"{gov},{china}")).ses_topic_arns == (gov, china)


@pytest.mark.parametrize("value", [
    "prize-ses-feedback",                                    # a topic name, not its ARN
    "arn:aws:sqs:eu-west-1:123456789012:prize-ses-feedback",  # a queue
    "arn:aws:sns:eu-west-1:1234:prize-ses-feedback",          # not a 12-digit account
    "arn:aws:sns:nowhere:123456789012:prize-ses-feedback",    # not a region
    "arn:aws:sns:eu-west-1:123456789012:",                    # no topic
    "arn:aws:sns:eu-west-1:123456789012:prize ses",           # a space in the name
    f"{OURS}:subscription-id",                                # a subscription ARN
    f"{OURS},*",                                              # no wildcards
    ",",                                                      # commas alone
])
def test_a_bad_value_stops_start_up_in_one_line_naming_the_variable(tmp_path, value):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, PRIZE_SES_TOPIC_ARNS=value))
    message = str(exc_info.value)
    assert exc_info.value.variable == "PRIZE_SES_TOPIC_ARNS"
    assert message.startswith("configuration error: PRIZE_SES_TOPIC_ARNS ") and "\n" not in message
