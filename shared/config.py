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
    if scheme == "sqs":
        from .sqs import split_url
        try:
            split_url(value)  # a misspelt option fails here, at start, not in a worker
        except ValueError as exc:
            raise ConfigError(name, str(exc)) from None
    return value


def _check_file_or(name: str, value: str, schemes: set[str]) -> str:
    scheme = urlparse(value).scheme
    if scheme not in schemes:
        wanted = ", ".join(sorted(f"{s}://" for s in schemes))
        raise ConfigError(name, f"must start with one of {wanted}, got {_redact(value)!r}")
    return value


@dataclass(frozen=True)
class OidcSettings:
    """An organisation's own OpenID Connect provider for staff sign-in (shared.oidc uses it)."""
    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    label: str = "your organisation's sign-in"  # the button: "Sign in with {label}"


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
    # RabbitMQ's queue type: "quorum" (replicated, with max_redeliveries as the delivery limit) or "classic"
    queue_type: str = "classic"
    mail_from: str = "Seoul Smart City Prize <prize@wego-cities.org>"
    web_workers: int = 2
    web_threads: int = 4
    public_url: str = "http://127.0.0.1:8001"
    review_public_url: str = "http://127.0.0.1:8002"
    notify_public_url: str = "http://127.0.0.1:8003"  # the secretariat reaches notify's pages here
    signin_limit_per_address: int = 5
    signin_limit_per_client: int = 20
    mail_retry_hours: int = 96
    # how long a screening decision waits, undoable, before its email goes (0: at once)
    screening_undo_seconds: int = 300
    # SNS topics whose SES notifications notify accepts; none: every SNS message is refused
    ses_topic_arns: tuple[str, ...] = ()
    oidc: OidcSettings | None = None  # staff may also sign in through this provider
    # where applicants write to the secretariat (every portal page's footer, the privacy notice)
    secretariat_email: str = "prize@wego-cities.org"
    # days after the ceremony at which intake deletes the visa and passport details of the answers
    travel_data_days: int = 30

    def database_url(self, service: str) -> str:
        return self.database_urls[service]

    def service_url(self, service: str) -> str:
        """Where people's browsers reach a service (staff pages hand a session over to it)."""
        return {"intake": self.public_url, "review": self.review_public_url,
                "notify": self.notify_public_url}[service]

    @property
    def embedded(self) -> bool:
        return self.broker_url.startswith(("sqlite", "sqla+sqlite"))


def _whole(env, name: str, default: int, low: int, high: int | None, problem: str) -> int:
    """A whole-number variable within [low, high] (no upper bound if ``high`` is None)."""
    raw = _get(env, name, str(default))
    value = _whole_number(raw)
    if value is None or value < low or (high is not None and value > high):
        raise ConfigError(name, f"{problem}, got {raw!r}")
    return value


def _mail_url(env, var_dir: Path) -> str:
    mail = env.get("PRIZE_MAIL_URL") or (var_dir / "mailbox").as_uri()
    mail = _check_file_or("PRIZE_MAIL_URL", mail, {"file", "smtp", "ses"})
    if urlparse(mail).scheme == "ses":
        # Check it here, in one line, rather than let the notify worker die on it later.
        parts = urlparse(mail)
        if not AWS_REGION.fullmatch(parts.netloc) or parts.path not in ("", "/") or parts.query:
            raise ConfigError("PRIZE_MAIL_URL", "must be ses://<AWS region> for Amazon SES, such as "
                                                f"ses://eu-west-1, got {_redact(mail)!r}")
    return mail


def _ports_and_hosts(env) -> tuple[dict[str, int], dict[str, str]]:
    ports, hosts = {}, {}
    for svc, default in DEFAULT_PORTS.items():
        ports[svc] = _whole(env, f"PRIZE_{svc.upper()}_PORT", default, 1, 65535, "must be a TCP port number")
        hosts[svc] = _get(env, f"PRIZE_{svc.upper()}_HOST", "127.0.0.1")
    return ports, hosts


def _public_url(env, name: str, default: str, who: str) -> str:
    value = _get(env, name, default)
    parts = urlparse(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(name, f"must be the http:// or https:// address where {who}, "
                                f"such as https://prize.example.org, got {value!r}")
    return value.rstrip("/")  # links in emails are built as public_url + "/signin/..."


def _public_urls(env, ports: dict[str, int]) -> dict:
    """Where people reach each service; unset: the service on this machine, at its port."""
    return {"public_url": _public_url(env, "PRIZE_PUBLIC_URL", f"http://127.0.0.1:{ports['intake']}",
                                      "applicants reach intake"),
            "review_public_url": _public_url(env, "PRIZE_REVIEW_PUBLIC_URL", f"http://127.0.0.1:{ports['review']}",
                                             "jurors reach review"),
            "notify_public_url": _public_url(env, "PRIZE_NOTIFY_PUBLIC_URL", f"http://127.0.0.1:{ports['notify']}",
                                             "the secretariat reaches notify")}


def _ses_topics(env) -> tuple[str, ...]:
    raw = env.get("PRIZE_SES_TOPIC_ARNS") or ""
    topics = tuple(dict.fromkeys(t.strip() for t in raw.split(",") if t.strip()))
    if raw and not topics:
        raise ConfigError("PRIZE_SES_TOPIC_ARNS", f"names no topic, got {raw!r}")
    for topic in topics:
        if not SNS_TOPIC_ARN.fullmatch(topic):
            raise ConfigError("PRIZE_SES_TOPIC_ARNS", "must be SNS topic ARNs separated by commas, such as "
                                                      f"arn:aws:sns:eu-west-1:123456789012:prize-ses-feedback, got {topic!r}")
    return topics


def _oidc(env) -> OidcSettings | None:
    issuer = env.get("PRIZE_OIDC_ISSUER") or ""
    if not issuer:
        for name in ("PRIZE_OIDC_CLIENT_ID", "PRIZE_OIDC_CLIENT_SECRET"):
            if env.get(name):
                raise ConfigError("PRIZE_OIDC_ISSUER", f"must be set when {name} is (or unset {name})")
        return None
    parts = urlparse(issuer)
    # http only for a provider on this machine (tests, a local trial): tokens travel in the clear
    secure = parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1"))
    if not secure or not parts.hostname or parts.query or parts.fragment or any(c.isspace() for c in issuer):
        raise ConfigError("PRIZE_OIDC_ISSUER", "must be the https:// address of the OpenID Connect provider, "
                                               "such as https://login.example.org (http:// only on localhost), "
                                               f"got {_redact(issuer)!r}")
    for name in ("PRIZE_OIDC_CLIENT_ID", "PRIZE_OIDC_CLIENT_SECRET"):
        if not env.get(name):
            raise ConfigError(name, "must be set when PRIZE_OIDC_ISSUER is (the provider gives it when you register "
                                    "the prize as a client)")
    return OidcSettings(issuer=issuer, client_id=env["PRIZE_OIDC_CLIENT_ID"],
                        client_secret=env["PRIZE_OIDC_CLIENT_SECRET"],
                        label=(env.get("PRIZE_OIDC_LABEL") or "").strip() or OidcSettings.label)


# An email address as a person types it: something@domain.tld, no spaces, no display name.
EMAIL_ADDRESS = re.compile(r"[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+")


def _personal_data(env) -> dict:
    """The secretariat's address (portal pages, the privacy notice) and when travel data go."""
    email = _get(env, "PRIZE_SECRETARIAT_EMAIL", Settings.secretariat_email).strip()
    if not EMAIL_ADDRESS.fullmatch(email) or len(email) > 320:
        raise ConfigError("PRIZE_SECRETARIAT_EMAIL", f"must be an email address, such as prize@wego-cities.org, "
                                                     f"got {email!r}")
    return {"secretariat_email": email,
            "travel_data_days": _whole(env, "PRIZE_TRAVEL_DATA_DAYS", Settings.travel_data_days, 0, 730,
                                       "must be a whole number of days from 0 to 730")}


def _queues(env) -> dict:
    """The broker's names (PRIZE_NAMESPACE) and RabbitMQ's queue type (PRIZE_QUEUE_TYPE)."""
    namespace = _get(env, "PRIZE_NAMESPACE", "")
    if namespace and not namespace.replace("-", "").replace("_", "").isalnum():
        raise ConfigError("PRIZE_NAMESPACE", f"may hold only letters, digits, - and _, got {namespace!r}")
    queue_type = _get(env, "PRIZE_QUEUE_TYPE", "classic").strip().lower()
    if queue_type not in ("classic", "quorum"):
        raise ConfigError("PRIZE_QUEUE_TYPE", f"must be classic or quorum (RabbitMQ's queue type), got {queue_type!r}")
    return {"namespace": namespace, "queue_type": queue_type}


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
    ports, hosts = _ports_and_hosts(env)

    level = _get(env, "PRIZE_LOG_LEVEL", "INFO").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        raise ConfigError("PRIZE_LOG_LEVEL", f"must be DEBUG, INFO, WARNING or ERROR, got {level!r}")

    secret = env.get("PRIZE_SECRET_KEY") or "dev-only-secret-change-me"
    if env.get("PRIZE_ENV") == "production" and secret == "dev-only-secret-change-me":
        raise ConfigError("PRIZE_SECRET_KEY", "must be set in production")

    return Settings(
        broker_url=broker,
        database_urls=dbs,
        storage_url=storage,
        mail_url=_mail_url(env, var_dir),
        secret_key=secret,
        var_dir=var_dir,
        hosts=hosts,
        ports=ports,
        log_level=level,
        max_redeliveries=_whole(env, "PRIZE_MAX_REDELIVERIES", 5, 1, None, "must be a whole number of at least 1"),
        **_queues(env),
        mail_from=_get(env, "PRIZE_MAIL_FROM", Settings.mail_from),
        signin_limit_per_address=_whole(env, "PRIZE_SIGNIN_LIMIT_PER_ADDRESS", 5, 1, None,
                                        "must be a whole number of at least 1"),
        signin_limit_per_client=_whole(env, "PRIZE_SIGNIN_LIMIT_PER_CLIENT", 20, 1, None,
                                       "must be a whole number of at least 1"),
        mail_retry_hours=_whole(env, "PRIZE_MAIL_RETRY_HOURS", Settings.mail_retry_hours, 1, 720,
                                "must be a whole number of hours from 1 to 720"),
        screening_undo_seconds=_whole(env, "PRIZE_SCREENING_UNDO_SECONDS", Settings.screening_undo_seconds, 0,
                                      86400, "must be a whole number of seconds from 0 to 86400"),
        web_workers=_whole(env, "PRIZE_WEB_WORKERS", 2, 1, 64, "must be a whole number from 1 to 64"),
        web_threads=_whole(env, "PRIZE_WEB_THREADS", 4, 1, 64, "must be a whole number from 1 to 64"),
        **_public_urls(env, ports),
        ses_topic_arns=_ses_topics(env),
        oidc=_oidc(env),
        **_personal_data(env),
    )
