"""docker-compose.yml and infra/ checked against the code, since no test starts the compose stack.

Every container built from infra/Dockerfile must run a command that the ``prize`` CLI accepts,
with only variables that the code reads, on the ports and databases that the code expects.
"""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import urlparse

import click
import pytest
import yaml
from click.testing import CliRunner

from services import cli
from shared.config import DEFAULT_PORTS, SERVICES, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
INITDB_DIR = "/docker-entrypoint-initdb.d"

# f"PRIZE_{svc.upper()}_PORT" counts once per service; "PRIZE_<SERVICE>_HOST" in help text and
# "PRIZE_*" in docstrings do not count.
_VARIABLE = re.compile(r"PRIZE_(\{[^}]*\}_)?([A-Z][A-Z0-9_]*[A-Z0-9])")
# Compose interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, $NAME
_INTERPOLATION = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}|\$(\w+)")


def variables_read_by_code() -> set[str]:
    names = set()
    for path in [*(ROOT / "shared").rglob("*.py"), *(ROOT / "services").rglob("*.py")]:
        for per_service, rest in _VARIABLE.findall(path.read_text(encoding="utf-8")):
            if per_service:
                names.update(f"PRIZE_{svc.upper()}_{rest}" for svc in SERVICES)
            else:
                names.add(f"PRIZE_{rest}")
    return names


def interpolate(value) -> str:
    """The value as compose hands it over when the host sets none of the referenced variables."""
    def replace(match):
        if match.group(0) == "$$":
            return "$"
        name, operator, default = match.group(1), match.group(2), match.group(3)
        if operator and operator.endswith("?"):
            pytest.fail(f"the stack must start with nothing set, but ${{{name}}} is required")
        if name is None:
            return ""  # $NAME, unset
        return default if operator else ""
    return _INTERPOLATION.sub(replace, str(value))


def environment_of(container: dict) -> dict[str, str]:
    env = container.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {name: interpolate("" if value is None else value) for name, value in env.items()}


def command_of(container: dict) -> list[str]:
    command = container.get("command") or []
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    return args[1:] if args[:1] == ["prize"] else args


def published_ports(container: dict) -> set[tuple[int, int]]:
    """(host port, container port) pairs, from the short or the long syntax."""
    pairs = set()
    for entry in container.get("ports") or []:
        if isinstance(entry, dict):
            pairs.add((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:
            pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def prize_containers(compose) -> dict[str, dict]:
    """The services built from infra/Dockerfile: every process of the prize itself."""
    found = {name: svc for name, svc in compose["services"].items()
             if isinstance(svc.get("build"), dict)
             and Path(svc["build"].get("dockerfile", "Dockerfile")) == Path("infra/Dockerfile")}
    assert found, "no service in docker-compose.yml is built from infra/Dockerfile"
    return found


@pytest.fixture
def run_cli(monkeypatch):
    """Parse a command line with the real ``prize`` CLI, but run no command: return what the
    command would have been called with, as (command path, parameters)."""
    calls = []

    def stub_out(group: click.Group, path: tuple[str, ...]) -> None:
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                stub_out(command, path + (name,))
            else:
                def record(_path=path + (name,), **params):
                    calls.append((_path, params))
                monkeypatch.setattr(command, "callback", record)

    stub_out(cli.main, ())

    def run(args: list[str], env: dict[str, str]):
        calls.clear()
        result = CliRunner().invoke(cli.main, args, env=env)
        assert result.exit_code == 0 and len(calls) == 1, \
            f"'prize {' '.join(args)}' is refused by the CLI:\n{result.output}{result.exception or ''}"
        return calls[0]

    return run


def test_compose_file_builds_every_prize_container_from_the_one_image(prize_containers):
    images = {svc.get("image") for svc in prize_containers.values()}
    contexts = {Path(svc["build"].get("context", ".")) for svc in prize_containers.values()}
    assert len(images) == 1 and None not in images
    assert contexts == {Path(".")}, "the build context must be the repository root"


def test_compose_file_runs_a_web_and_a_worker_container_per_service(prize_containers, run_cli):
    roles = {}
    for name, container in prize_containers.items():
        path, params = run_cli(command_of(container), environment_of(container))
        roles.setdefault((path, params.get("service")), []).append(name)
    for service in SERVICES:
        assert roles.get((("web",), service)) == [f"{service}-web"], roles
        assert roles.get((("worker",), service)) == [f"{service}-worker"], roles
    assert roles.get((("db", "upgrade"), None)) == ["migrate"], roles


def test_compose_file_web_containers_listen_on_all_interfaces_and_publish_the_fixed_ports(
        prize_containers, run_cli):
    for service in SERVICES:
        container = prize_containers[f"{service}-web"]
        env = environment_of(container)
        _, params = run_cli(command_of(container), env)
        host = params["host"] or env.get(f"PRIZE_{service.upper()}_HOST", "127.0.0.1")
        port = params["port"] or int(env.get(f"PRIZE_{service.upper()}_PORT") or DEFAULT_PORTS[service])
        assert host == "0.0.0.0", f"{service}-web listens on {host}: unreachable from outside"
        assert (DEFAULT_PORTS[service], port) in published_ports(container), \
            f"{service}-web listens on {port} but publishes {published_ports(container)}"


def test_compose_file_web_healthchecks_ask_readyz_on_the_served_port(prize_containers):
    for service in SERVICES:
        container = prize_containers[f"{service}-web"]
        env = environment_of(container)
        port = env.get(f"PRIZE_{service.upper()}_PORT") or str(DEFAULT_PORTS[service])
        test = container.get("healthcheck", {}).get("test")
        probe = " ".join(test) if isinstance(test, list) else str(test)
        assert f":{port}/readyz" in probe, f"{service}-web's healthcheck does not ask /readyz: {probe}"


def test_compose_file_starts_services_only_after_the_migration_succeeded(compose, prize_containers):
    migrate = prize_containers["migrate"]
    assert migrate.get("restart") in (None, "no"), "a one-shot that restarts never completes"
    for name, container in prize_containers.items():
        if name == "migrate":
            continue
        condition = (container.get("depends_on") or {}).get("migrate", {}).get("condition")
        assert condition == "service_completed_successfully", f"{name} does not wait for migrate"
        for server in ("postgres", "rabbitmq"):
            assert container["depends_on"][server]["condition"] == "service_healthy", name
            assert "healthcheck" in compose["services"][server], f"{server} has no healthcheck"


def test_compose_file_sets_only_variables_the_code_reads(prize_containers):
    read = variables_read_by_code()
    for name, container in prize_containers.items():
        env = environment_of(container)
        foreign = sorted(v for v in env if not v.startswith(("PRIZE_", "AWS_")))
        unknown = sorted(v for v in env if v.startswith("PRIZE_") and v not in read)
        assert not foreign, f"{name} sets variables the prize does not read: {foreign}"
        assert not unknown, f"{name} sets PRIZE_ variables that no code reads: {unknown}"


def test_compose_file_sets_every_variable_the_code_reads(prize_containers):
    read = variables_read_by_code()
    for name, container in prize_containers.items():
        missing = sorted(read - set(environment_of(container)))
        assert not missing, f"{name} leaves these to the embedded defaults: {missing}"


def test_compose_file_configuration_is_accepted_and_names_compose_hosts(compose, prize_containers):
    for name, container in prize_containers.items():
        env = environment_of(container)
        settings = load_settings(env)  # raises ConfigError with the variable's name if refused
        assert not settings.embedded, f"{name} would run on the embedded SQLite broker"
        urls = [settings.broker_url, settings.mail_url, *settings.database_urls.values()]
        for url in urls:
            host = urlparse(url).hostname
            assert host is None or host in compose["services"], f"{name}: {url} names no service"
        for service, url in settings.database_urls.items():
            assert url.startswith("postgresql"), f"{name}: {service}'s database is not PostgreSQL"


def test_postgres_init_script_creates_the_databases_of_the_urls(compose, prize_containers):
    postgres = compose["services"]["postgres"]
    mounts = [v.split(":") for v in postgres.get("volumes", []) if isinstance(v, str)]
    sources = [source for source, target, *_ in mounts if target == INITDB_DIR]
    assert sources, f"postgres mounts nothing on {INITDB_DIR}"
    init_dir = (ROOT / sources[0]).resolve()
    scripts = sorted(init_dir.glob("*.sql")) + sorted(init_dir.glob("*.sh")) if init_dir.is_dir() \
        else [init_dir]
    created = set()
    for script in scripts:
        created.update(name.lower() for name in re.findall(
            r'CREATE\s+DATABASE\s+"?(\w+)"?', script.read_text(encoding="utf-8"), re.IGNORECASE))
    wanted = set()
    for container in prize_containers.values():
        env = environment_of(container)
        for service in SERVICES:
            url = urlparse(env[f"PRIZE_{service.upper()}_DATABASE_URL"])
            assert url.hostname == "postgres"
            wanted.add(url.path.lstrip("/").lower())
    assert wanted == set(SERVICES) and wanted <= created, f"created {created}, the URLs name {wanted}"


def test_dockerfile_installs_the_project_and_runs_prize_as_a_user():
    text = DOCKERFILE.read_text(encoding="utf-8")
    instructions = [line.strip() for line in text.replace("\\\n", " ").splitlines()
                    if line.strip() and not line.strip().startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    copied = " ".join(i for i in instructions if i.startswith("COPY"))
    for needed in ("pyproject.toml", "README.md", "shared", "services"):
        assert needed in copied, f"the image is built without {needed}"
    assert any(re.search(r"\bpip install\b.*\s\.(\s|$)", i) for i in instructions if i.startswith("RUN")), \
        "no 'pip install .' of the project"
    users = [i.split()[1] for i in instructions if i.startswith("USER")]
    assert users and users[-1] not in ("root", "0"), "the processes must not run as root"
    assert 'ENTRYPOINT ["prize"]' in instructions
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts.get("prize") == "services.cli:main"


def test_dockerignore_keeps_what_the_image_needs():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not ignored & {"pyproject.toml", "README.md", "shared", "services", "*", "**"}
    assert {".git", ".venv", "var"} <= ignored


def test_readme_documents_every_variable_the_code_reads():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = sorted(v for v in variables_read_by_code() if f"`{v}`" not in readme)
    assert not missing, f"README.md does not document {missing}"


def test_compose_file_worker_healthchecks_run_worker_health_for_their_service(prize_containers, run_cli):
    for service in SERVICES:
        container = prize_containers[f"{service}-worker"]
        healthcheck = container.get("healthcheck") or {}
        test = healthcheck.get("test")
        assert isinstance(test, list) and test[0] == "CMD", f"{service}-worker: no exec-form healthcheck: {test}"
        assert test[1] == "prize", test
        path, params = run_cli(test[2:], environment_of(container))
        assert (path, params["service"]) == (("worker-health",), service), test
        # compose's timing must allow the heartbeat to be missed several times before unhealthy
        assert _seconds(healthcheck["interval"]) * healthcheck["retries"] >= 30, healthcheck
        assert _seconds(healthcheck["timeout"]) >= 5, "the command starts a Python: give it time"


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration)))


def _version(image: str) -> tuple[int, ...]:
    tag = image.rsplit(":", 1)[1] if ":" in image else "latest"
    numbers = re.match(r"v?(\d+(?:\.\d+)*)", tag)
    assert numbers, f"{image} names no version: pin one"
    return tuple(int(n) for n in numbers.group(1).split("."))


def test_compose_file_servers_run_supported_versions(compose):
    services = compose["services"]
    rabbitmq, postgres, mailpit = (services[name]["image"] for name in ("rabbitmq", "postgres", "mailpit"))
    assert rabbitmq.startswith("rabbitmq:") and rabbitmq.endswith("-management"), rabbitmq
    assert _version(rabbitmq)[0] == 4, f"{rabbitmq}: RabbitMQ 3.x is out of support"
    assert postgres.startswith("postgres:") and _version(postgres)[0] in (16, 17), postgres
    assert mailpit.startswith("axllent/mailpit:") and _version(mailpit) >= (1, 30), mailpit
    # a new major version does not start on the old one's data: the volume names its major
    volumes = {name: [v.split(":")[0] for v in services[name].get("volumes", []) if isinstance(v, str)]
               for name in ("rabbitmq", "postgres")}
    assert f"rabbitmq-{_version(rabbitmq)[0]}-data" in volumes["rabbitmq"], volumes
    assert f"postgres-{_version(postgres)[0]}-data" in volumes["postgres"], volumes


def test_compose_file_public_urls_can_be_set_from_the_shell(prize_containers):
    for name, container in prize_containers.items():
        raw = container["environment"]
        for variable in ("PRIZE_PUBLIC_URL", "PRIZE_REVIEW_PUBLIC_URL", "PRIZE_NOTIFY_PUBLIC_URL"):
            match = _INTERPOLATION.fullmatch(str(raw[variable]))
            assert match and match.group(1) == variable and match.group(2) == ":-", \
                f"{name}: {variable} is not ${{{variable}:-default}}: {raw[variable]}"
        env = environment_of(container)
        assert env["PRIZE_PUBLIC_URL"] == f"http://localhost:{DEFAULT_PORTS['intake']}"
