"""Configuration from ``PRIZE_*`` environment variables.

Unset means the embedded default (SQLite files, a server-less broker, local folders under
``var/``). A bad value stops start-up with one line that names the variable.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

SERVICES = ("intake", "review", "notify")
DEFAULT_PORTS = {"intake": 8001, "review": 8002, "notify": 8003}
# An AWS region name: "us-east-1", "eu-west-1", "ap-northeast-2", "us-gov-west-1", "cn-north-1".
AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


# An SNS topic's ARN, in any AWS partition: arn:aws:sns:eu-west-1:123456789012:prize-ses-feedback
SNS_TOPIC_ARN = re.compile(r"arn:aws(-[a-z]+)*:sns:" + AWS_REGION.pattern + r":\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?")


class ConfigError(SystemExit):
    """Raised with one human line naming the variable that is wrong."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        super().__init__(f"configuration error: {variable} {problem}")


def _var_dir(env) -> Path:
    return Path(env.get("PRIZE_VAR_DIR") or (Path.cwd() / "var")).resolve()


def _get(env, name: str, default: str) -> str:
    """The variable's value; unset or empty means the default."""
    return env.get(name) or default


def _redact(value: str) -> str:
    """The value for an error message, with any password in a URL replaced by ***."""
    try:
        parts = urlparse(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
            return parts._replace(netloc=netloc).geturl()
    except ValueError:
        pass
    return value


def _whole_number(raw: str) -> int | None:
    # str.isdigit() also accepts digits such as '²' that int() refuses
    return int(raw) if raw.isascii() and raw.isdigit() else None


SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}
POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


def _check_db_url(name: str, value: str) -> str:
    scheme = urlparse(value).scheme
    if scheme not in SQLITE_SCHEMES | POSTGRES_SCHEMES:
        raise ConfigError(name, "must be a sqlite:/// or postgresql:// URL (driver psycopg), "
                                f"got {_redact(value)!r}")
    if scheme in ("postgresql", "postgres"):
        # SQLAlchemy would pick psycopg2, which we do not ship; psycopg 3 is the driver.
        value = "postgresql+psycopg" + value[len(scheme):]
    return value


def _check_broker_url(name: str, value: str) -> str:
    scheme = urlparse(value).scheme
    if scheme not in {"amqp", "amqps", "pyamqp", "sqs", "sqlite", "sqla+sqlite", "memory"}:
        raise ConfigError(name, f"must be an amqp://, sqs:// or sqlite:/// URL, got {_redact(value)!r}")
    return value


def _check_file_or(name: str, value: str, schemes: set[str]) -> str:
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        wanted = ", ".join(sorted(f"{s}://" for s in schemes))
        raise ConfigError(name, f"must start with one of {wanted}, got {_redact(value)!r}")
    return value


@dataclass(frozen=True)
class Settings:
    broker_url: str
    database_urls: dict[str, str]
    storage_url: str
    mail_url: str
    secret_key: str
    var_dir: Path
    hosts: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    namespace: str = ""
    log_level: str = "INFO"
    max_redeliveries: int = 5
    mail_from: str = "Seoul Smart City Prize <prize@wego-cities.org>"
    web_workers: int = 2
    web_threads: int = 4
    public_url: str = "http://127.0.0.1:8001"
    review_public_url: str = "http://127.0.0.1:8002"
    signin_limit_per_address: int = 5
    signin_limit_per_client: int = 20
    mail_retry_hours: int = 96
    # SNS topics whose SES notifications notify accepts; none: every SNS message is refused
    ses_topic_arns: tuple[str, ...] = ()

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    @property
    def embedded(self) -> bool:
        return self.broker_url.startswith(("sqlite", "sqla+sqlite"))


def load_settings(env=None) -> Settings:
    env = os.environ if env is None else env
    var_dir = _var_dir(env)

    broker = _get(env, "PRIZE_BROKER_URL", f"sqlite:///{var_dir / 'broker.sqlite'}")
    broker = _check_broker_url("PRIZE_BROKER_URL", broker)

    dbs = {}
    for svc in SERVICES:
        name = f"PRIZE_{svc.upper()}_DATABASE_URL"
        dbs[svc] = _check_db_url(name, env.get(name) or f"sqlite:///{var_dir / (svc + '.sqlite')}")

    storage = env.get("PRIZE_STORAGE_URL") or (var_dir / "documents").as_uri()
    storage = _check_file_or("PRIZE_STORAGE_URL", storage, {"file", "s3"})
    mail = env.get("PRIZE_MAIL_URL") or (var_dir / "mailbox").as_uri()
    mail = _check_file_or("PRIZE_MAIL_URL", mail, {"file", "smtp", "ses"})
    if urlparse(mail).scheme == "ses":
        # Check it here, in one line, rather than let the notify worker die on it later.
        parts = urlparse(mail)
        if not AWS_REGION.fullmatch(parts.netloc) or parts.path not in ("", "/") or parts.query:
            raise ConfigError("PRIZE_MAIL_URL", "must be ses://<AWS region> for Amazon SES, such as "
                                                f"ses://eu-west-1, got {_redact(mail)!r}")

    ports = {}
    hosts = {}
    for svc, default in DEFAULT_PORTS.items():
        name = f"PRIZE_{svc.upper()}_PORT"
        raw = _get(env, name, str(default))
        port = _whole_number(raw)
        if port is None or not 0 < port < 65536:
            raise ConfigError(name, f"must be a TCP port number, got {raw!r}")
        ports[svc] = port
        hosts[svc] = _get(env, f"PRIZE_{svc.upper()}_HOST", "127.0.0.1")

    web = {}
    for name, default in (("PRIZE_WEB_WORKERS", "2"), ("PRIZE_WEB_THREADS", "4")):
        raw = _get(env, name, default)
        web[name] = _whole_number(raw)
        if web[name] is None or not 1 <= web[name] <= 64:
            raise ConfigError(name, f"must be a whole number from 1 to 64, got {raw!r}")

    raw = _get(env, "PRIZE_MAX_REDELIVERIES", "5")
    max_redeliveries = _whole_number(raw)
    if max_redeliveries is None or max_redeliveries < 1:
        raise ConfigError("PRIZE_MAX_REDELIVERIES", f"must be a whole number of at least 1, got {raw!r}")

    namespace = _get(env, "PRIZE_NAMESPACE", "")
    if namespace and not namespace.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("PRIZE_NAMESPACE", f"may hold only letters, digits, - and _, got {namespace!r}")

    level = _get(env, "PRIZE_LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("PRIZE_LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")

    secret = env.get("PRIZE_SECRET_KEY") or "dev-only-secret-change-me"
    if env.get("PRIZE_ENV") == "production" and secret == "dev-only-secret-change-me":
        raise ConfigError("PRIZE_SECRET_KEY", "must be set in production")

    limits = {}
    for name, default in (("PRIZE_SIGNIN_LIMIT_PER_ADDRESS", "5"), ("PRIZE_SIGNIN_LIMIT_PER_CLIENT", "20")):
        raw = _get(env, name, default)
        limits[name] = _whole_number(raw)
        if limits[name] is None or limits[name] < 1:
            raise ConfigError(name, f"must be a whole number of at least 1, got {raw!r}")

    raw = _get(env, "PRIZE_MAIL_RETRY_HOURS", str(Settings.mail_retry_hours))
    mail_retry_hours = _whole_number(raw)
    if mail_retry_hours is None or not 1 <= mail_retry_hours <= 720:
        raise ConfigError("PRIZE_MAIL_RETRY_HOURS", f"must be a whole number of hours from 1 to 720, got {raw!r}")

    public_url = _get(env, "PRIZE_PUBLIC_URL", Settings.public_url)
    review_public_url = _get(env, "PRIZE_REVIEW_PUBLIC_URL", Settings.review_public_url)
    for name, value, who in (("PRIZE_PUBLIC_URL", public_url, "applicants reach intake"),
                             ("PRIZE_REVIEW_PUBLIC_URL", review_public_url, "jurors reach review")):
        parts = urlparse(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
            raise ConfigError(name, f"must be the http:// or https:// address where {who}, "
                                    f"such as https://prize.example.org, got {value!r}")

    raw = env.get("PRIZE_SES_TOPIC_ARNS") or ""
    topics = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    if raw and not topics:
        raise ConfigError("PRIZE_SES_TOPIC_ARNS", f"names no topic, got {raw!r}")
    for topic in topics:
        if not SNS_TOPIC_ARN.fullmatch(topic):
            raise ConfigError("PRIZE_SES_TOPIC_ARNS", "must be SNS topic ARNs separated by commas, such as "
                                                      f"arn:aws:sns:eu-west-1:123456789012:prize-ses-feedback, got {topic!r}")

    return Settings(
        broker_url=broker,
        database_urls=dbs,
        storage_url=storage,
        mail_url=mail,
        secret_key=secret,
        var_dir=var_dir,
        hosts=hosts,
        ports=ports,
        namespace=namespace,
        log_level=level,
        max_redeliveries=max_redeliveries,
        mail_from=_get(env, "PRIZE_MAIL_FROM", Settings.mail_from),
        signin_limit_per_address=limits["PRIZE_SIGNIN_LIMIT_PER_ADDRESS"],
        signin_limit_per_client=limits["PRIZE_SIGNIN_LIMIT_PER_CLIENT"],
        mail_retry_hours=mail_retry_hours,
        web_workers=web["PRIZE_WEB_WORKERS"],
        web_threads=web["PRIZE_WEB_THREADS"],
        # links in emails are built as public_url + "/signin/..."
        public_url=public_url.rstrip("/"),
        review_public_url=review_public_url.rstrip("/"),
        ses_topic_arns=topics,
    )
