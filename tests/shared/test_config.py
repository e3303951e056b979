"""Configuration: PRIZE_* variables, embedded defaults, one clear line for a bad value."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
PRIZE = Path(sys.executable).with_name("prize")
if not PRIZE.exists():
    PRIZE = ROOT / ".venv" / "bin" / "prize"


def _env(tmp_path, **extra) -> dict:
    env = {"PRIZE_VAR_DIR": str(tmp_path / "var")}
    env.update(extra)
    return env


def test_load_settings_without_prize_vars_gives_embedded_defaults(tmp_path):
    var = (tmp_path / "var").resolve()
    settings = load_settings(_env(tmp_path))
    assert isinstance(settings, Settings)
    assert settings.var_dir == var
    assert settings.broker_url == f"sqlite:///{var}/broker.sqlite"
    assert settings.database_urls == {svc: f"sqlite:///{var}/{svc}.sqlite"
                                      for svc in ("intake", "review", "notify")}
    assert settings.database_url("review") == f"sqlite:///{var}/review.sqlite"
    assert settings.storage_url == f"file://{var}/documents"
    assert settings.mail_url == f"file://{var}/mailbox"
    assert settings.ports == {"intake": 8001, "review": 8002, "notify": 8003}
    assert settings.hosts == {"intake": "127.0.0.1", "review": "127.0.0.1", "notify": "127.0.0.1"}
    assert settings.max_redeliveries == 5
    assert settings.log_level == "INFO"
    assert settings.namespace == ""
    assert settings.embedded is True
    assert settings.secret_key == "dev-only-secret-change-me"


def test_public_urls_unset_follow_the_ports_so_links_reach_the_services_on_this_machine(tmp_path):
    defaults = load_settings(_env(tmp_path))
    assert (defaults.public_url, defaults.review_public_url, defaults.notify_public_url) == (
        "http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003")
    moved = load_settings(_env(tmp_path, PRIZE_INTAKE_PORT="9001", PRIZE_REVIEW_PORT="9002",
                               PRIZE_NOTIFY_PORT="9003"))
    assert (moved.public_url, moved.review_public_url, moved.notify_public_url) == (
        "http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003")
    given = load_settings(_env(tmp_path, PRIZE_INTAKE_PORT="9001", PRIZE_PUBLIC_URL="https://prize.example.org"))
    assert given.public_url == "https://prize.example.org"


def test_load_settings_without_var_dir_uses_var_under_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.var_dir == (tmp_path / "var").resolve()
    assert settings.broker_url == f"sqlite:///{(tmp_path / 'var').resolve()}/broker.sqlite"


def test_load_settings_empty_values_mean_the_default(tmp_path):
    blank = {name: "" for name in (
        "PRIZE_BROKER_URL", "PRIZE_INTAKE_DATABASE_URL", "PRIZE_REVIEW_DATABASE_URL",
        "PRIZE_NOTIFY_DATABASE_URL", "PRIZE_STORAGE_URL", "PRIZE_MAIL_URL", "PRIZE_SECRET_KEY",
        "PRIZE_INTAKE_PORT", "PRIZE_REVIEW_PORT", "PRIZE_NOTIFY_PORT", "PRIZE_MAX_REDELIVERIES",
        "PRIZE_LOG_LEVEL")}
    assert load_settings(_env(tmp_path, **blank)) == load_settings(_env(tmp_path))


def test_load_settings_reads_every_variable(tmp_path):
    settings = load_settings(_env(
        tmp_path, PRIZE_BROKER_URL="amqp://guest:guest@rabbit:5672//",
        PRIZE_INTAKE_DATABASE_URL="postgresql://u:p@db/intake",
        PRIZE_REVIEW_DATABASE_URL="sqlite:////data/review.sqlite",
        PRIZE_NOTIFY_DATABASE_URL="postgresql+psycopg://u:p@db/notify",
        PRIZE_STORAGE_URL="s3://bucket/prefix", PRIZE_MAIL_URL="smtp://mail:25",
        PRIZE_SECRET_KEY="s3cret", PRIZE_INTAKE_PORT="9001", PRIZE_REVIEW_HOST="0.0.0.0",
        PRIZE_MAX_REDELIVERIES="3", PRIZE_LOG_LEVEL="debug", PRIZE_NAMESPACE="ci-run_7"))
    assert settings.broker_url == "amqp://guest:guest@rabbit:5672//"
    assert settings.database_urls == {"intake": "postgresql+psycopg://u:p@db/intake",
                                      "review": "sqlite:////data/review.sqlite",
                                      "notify": "postgresql+psycopg://u:p@db/notify"}
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings.mail_url == "smtp://mail:25"
    assert settings.secret_key == "s3cret"
    assert settings.ports == {"intake": 9001, "review": 8002, "notify": 8003}
    assert settings.hosts["review"] == "0.0.0.0"
    assert settings.max_redeliveries == 3
    assert settings.log_level == "DEBUG"
    assert settings.namespace == "ci-run_7"
    assert settings.embedded is False


@pytest.mark.parametrize("url", ["postgresql://u:p@db:5432/intake", "postgres://u:p@db:5432/intake"])
def test_load_settings_postgresql_url_gets_the_psycopg_driver(tmp_path, url):
    settings = load_settings(_env(tmp_path, PRIZE_INTAKE_DATABASE_URL=url))
    assert settings.database_url("intake") == "postgresql+psycopg://u:p@db:5432/intake"


def test_load_settings_other_mail_schemes_are_accepted(tmp_path):
    assert load_settings(_env(tmp_path, PRIZE_MAIL_URL="smtp://mail:25")).mail_url == "smtp://mail:25"
    assert load_settings(_env(tmp_path, PRIZE_MAIL_URL="file:///srv/mail")).mail_url == "file:///srv/mail"


@pytest.mark.parametrize("url", ["ses://eu-west-1", "ses://ap-northeast-2", "ses://us-gov-west-1", "ses://us-east-1/"])
def test_load_settings_ses_with_a_region_is_accepted(tmp_path, url):
    assert load_settings(_env(tmp_path, PRIZE_MAIL_URL=url)).mail_url == url


@pytest.mark.parametrize("url", ["ses://", "ses:///", "ses://eu-west", "ses://EU-WEST-1", "ses://localhost:4566",
                                 "ses://eu-west-1/extra", "ses://user:hunter2@eu-west-1"])
def test_load_settings_ses_without_a_region_is_refused_in_one_line(tmp_path, url):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, PRIZE_MAIL_URL=url))
    assert exc_info.value.variable == "PRIZE_MAIL_URL"
    message = str(exc_info.value)
    assert "\n" not in message and "ses://eu-west-1" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("variable,value", [("PRIZE_WEB_WORKERS", "two"), ("PRIZE_WEB_THREADS", "0"),
                                            ("PRIZE_WEB_WORKERS", "65")])
def test_load_settings_bad_web_sizes_name_the_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, **{variable: value}))
    assert exc_info.value.variable == variable


def test_load_settings_mail_retry_is_four_days_unless_set(tmp_path):
    assert load_settings(_env(tmp_path)).mail_retry_hours == 96
    assert load_settings(_env(tmp_path, PRIZE_MAIL_RETRY_HOURS="120")).mail_retry_hours == 120


def test_load_settings_screening_undo_window_is_five_minutes_unless_set(tmp_path):
    assert load_settings(_env(tmp_path)).screening_undo_seconds == 300
    assert load_settings(_env(tmp_path, PRIZE_SCREENING_UNDO_SECONDS="0")).screening_undo_seconds == 0  # at once
    assert load_settings(_env(tmp_path, PRIZE_SCREENING_UNDO_SECONDS="900")).screening_undo_seconds == 900


def test_load_settings_sqs_broker_is_accepted(tmp_path):
    assert load_settings(_env(tmp_path, PRIZE_BROKER_URL="sqs://")).broker_url == "sqs://"
    tuned = "sqs://?wait_time_seconds=5&visibility_timeout=120&region=ap-northeast-2"
    assert load_settings(_env(tmp_path, PRIZE_BROKER_URL=tuned)).broker_url == tuned


BAD_VALUES = [
    ("PRIZE_BROKER_URL", "http://x"),
    ("PRIZE_BROKER_URL", "rabbit"),
    ("PRIZE_BROKER_URL", "sqs://?wait_seconds=1"),
    ("PRIZE_BROKER_URL", "sqs://?visibility_timeout=soon"),
    ("PRIZE_INTAKE_DATABASE_URL", "mysql://root@db/intake"),
    ("PRIZE_REVIEW_DATABASE_URL", "/var/review.sqlite"),
    ("PRIZE_NOTIFY_DATABASE_URL", "postgresql+psycopg2://u@db/notify"),
    ("PRIZE_MAIL_URL", "ftp://"),
    ("PRIZE_MAIL_URL", "ftp://mail.example.org"),
    ("PRIZE_STORAGE_URL", "gopher://"),
    ("PRIZE_STORAGE_URL", "gopher://hole"),
    ("PRIZE_INTAKE_PORT", "abc"),
    ("PRIZE_REVIEW_PORT", "0"),
    ("PRIZE_NOTIFY_PORT", "70000"),
    ("PRIZE_INTAKE_PORT", "-1"),
    ("PRIZE_INTAKE_PORT", "²"),
    ("PRIZE_MAX_REDELIVERIES", "0"),
    ("PRIZE_MAX_REDELIVERIES", "many"),
    ("PRIZE_MAX_REDELIVERIES", "³"),
    ("PRIZE_LOG_LEVEL", "LOUD"),
    ("PRIZE_NAMESPACE", "a b"),
    ("PRIZE_MAIL_RETRY_HOURS", "0"),
    ("PRIZE_MAIL_RETRY_HOURS", "4d"),
    ("PRIZE_MAIL_RETRY_HOURS", "721"),
    ("PRIZE_SCREENING_UNDO_SECONDS", "-1"),
    ("PRIZE_SCREENING_UNDO_SECONDS", "5m"),
    ("PRIZE_SCREENING_UNDO_SECONDS", "86401"),
]


@pytest.mark.parametrize("variable,value", BAD_VALUES)
def test_load_settings_bad_value_raises_config_error_naming_the_variable(tmp_path, variable, value):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, **{variable: value}))
    message = str(exc_info.value)
    assert exc_info.value.variable == variable
    assert message.startswith(f"configuration error: {variable} ")
    assert message.splitlines() == [message]


def test_load_settings_bad_value_with_newline_stays_on_one_line(tmp_path):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, PRIZE_MAIL_URL="ftp://x\nsecond line"))
    assert str(exc_info.value).splitlines() == [str(exc_info.value)]


def test_load_settings_bad_url_does_not_echo_its_password(tmp_path):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, PRIZE_INTAKE_DATABASE_URL="mysql://root:hunter2@db/intake"))
    message = str(exc_info.value)
    assert "hunter2" not in message
    assert message == ("configuration error: PRIZE_INTAKE_DATABASE_URL must be a sqlite:/// or postgresql:// "
                       "URL (driver psycopg), got 'mysql://root:***@db/intake'")


def test_load_settings_production_without_secret_key_is_refused(tmp_path):
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, PRIZE_ENV="production"))
    assert exc_info.value.variable == "PRIZE_SECRET_KEY"


def test_config_error_is_a_system_exit_with_the_message():
    error = ConfigError("PRIZE_X", "is wrong")
    assert isinstance(error, SystemExit)
    assert error.code == "configuration error: PRIZE_X is wrong"


def _prize(tmp_path, *args, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIZE_")}
    env.update(_env(tmp_path, **extra))
    return subprocess.run([str(PRIZE), *args], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("variable,value", [
    ("PRIZE_BROKER_URL", "http://x"), ("PRIZE_REVIEW_DATABASE_URL", "mysql://root:pw@db/review"),
    ("PRIZE_INTAKE_PORT", "abc"), ("PRIZE_MAX_REDELIVERIES", "0"), ("PRIZE_LOG_LEVEL", "LOUD"),
])
def test_prize_db_upgrade_bad_variable_exits_with_one_line(tmp_path, variable, value):
    result = _prize(tmp_path, "db", "upgrade", **{variable: value})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable} ")
    assert not (tmp_path / "var").exists()  # nothing was touched


def test_prize_db_upgrade_good_settings_migrates_every_service(tmp_path):
    result = _prize(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"{svc}: database at the newest schema"
                                          for svc in ("intake", "review", "notify")]
    assert sorted(p.name for p in (tmp_path / "var").glob("*.sqlite")) == [
        "intake.sqlite", "notify.sqlite", "review.sqlite"]
