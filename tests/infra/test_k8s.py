"""infra/k8s checked against the Kubernetes schemas and against the code, as no test deploys it.

The example overlay is built (tests/support/kustomize.py; and by `kubectl kustomize` where kubectl
exists, which must give the same objects) with its secrets.env made from secrets.env.example,
as an operator makes it; every object is validated strictly against the Kubernetes schemas.
Then, as tests/infra/test_compose_file.py does for compose: every PRIZE_* variable the code reads
is in the ConfigMap or the Secret, the commands are real `prize` commands, the ports are the
code's, the probes ask paths the apps serve, and no secret is in a file.
"""
from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from shared.config import DEFAULT_PORTS, SERVICES, load_settings
from tests.conftest import IN_CI
from tests.infra import test_compose_file
from tests.support.kustomize import build, load_yaml, pod_spec, read_env_file

ROOT = Path(__file__).resolve().parents[2]
# The compose file's checks: the real CLI parsing a command line, the variables the code reads.
run_cli = test_compose_file.run_cli  # a fixture
variables_read_by_code = test_compose_file.variables_read_by_code
K8S = ROOT / "infra" / "k8s"
OVERLAY = K8S / "overlays" / "example"
SECRETS_EXAMPLE = OVERLAY / "secrets.env.example"
# The newest Kubernetes whose schemas kubernetes-validate bundles; strict: unknown fields fail.
K8S_VERSION = kubernetes_validate.latest_version()
IMAGE = "seoul-smart-city-prize"  # the base's image name, which an overlay points at its registry
IMAGE_UID = 10001  # the user infra/Dockerfile creates

# PRIZE_* variables the code reads that the cluster deliberately leaves to the default: none yet.
DELIBERATELY_ABSENT: dict[str, str] = {}

# What an operator writes into secrets.env (the example has no values).
FILLED_SECRETS = {
    "PRIZE_SECRET_KEY": "k8s-test-secret-key-0123456789",
    "PRIZE_BROKER_URL": "amqps://prize:pw@rabbitmq.example.internal:5671/prize",
    "PRIZE_INTAKE_DATABASE_URL": "postgresql://prize:pw@postgres.example.internal:5432/intake",
    "PRIZE_REVIEW_DATABASE_URL": "postgresql://prize:pw@postgres.example.internal:5432/review",
    "PRIZE_NOTIFY_DATABASE_URL": "postgresql://prize:pw@postgres.example.internal:5432/notify",
    "PRIZE_MAIL_URL": "smtp://prize:pw@smtp.example.internal:587",
}


def made_overlay(tmp: Path) -> Path:
    """A copy of infra/k8s with the example overlay's secrets.env filled in."""
    copy = tmp / "k8s"
    shutil.copytree(K8S, copy, ignore=shutil.ignore_patterns("secrets.env"))
    lines = [f"{key}={FILLED_SECRETS.get(key, '')}" for key, _ in read_env_file(SECRETS_EXAMPLE)]
    (copy / "overlays" / "example" / "secrets.env").write_text("\n".join(lines) + "\n")
    return copy / "overlays" / "example"


@pytest.fixture(scope="module")
def overlay_dir(tmp_path_factory) -> Path:
    return made_overlay(tmp_path_factory.mktemp("k8s"))


@pytest.fixture(scope="module")
def objects(overlay_dir) -> list[dict]:
    return build(overlay_dir)


def by_kind(objects, kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def pod_environment(objects, spec: dict) -> dict[str, str]:
    """What envFrom hands the container: the ConfigMap's data, then the Secret's (decoded)."""
    env = {}
    for source in spec["containers"][0].get("envFrom", []):
        if "configMapRef" in source:
            env.update(by_kind(objects, "ConfigMap")[source["configMapRef"]["name"]]["data"])
        else:
            data = by_kind(objects, "Secret")[source["secretRef"]["name"]]["data"]
            env.update({k: base64.b64decode(v).decode() for k, v in data.items()})
    return env


def command_args(container: dict) -> list[str]:
    """The prize arguments: the image's ENTRYPOINT is prize, so args are its arguments."""
    assert "command" not in container, f"{container['name']} replaces the image's entrypoint"
    return [str(a) for a in container["args"]]


def test_every_object_is_valid_for_kubernetes(objects, overlay_dir):
    base = build(K8S / "base")
    for obj in [*objects, *base]:
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
    kinds = sorted(o["kind"] for o in objects)
    assert kinds.count("Deployment") == 6 and kinds.count("HorizontalPodAutoscaler") == 3
    assert {"Job", "Namespace", "ConfigMap", "Secret", "Service", "PodDisruptionBudget"} <= set(kinds)


def test_the_loader_builds_what_kubectl_kustomize_builds(objects, overlay_dir):
    if shutil.which("kubectl") is None:
        if IN_CI:
            pytest.fail("kubectl is not installed: it checks tests/support/kustomize.py")
        pytest.skip("kubectl is not installed")
    out = subprocess.run(["kubectl", "kustomize", str(overlay_dir)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    theirs = {(o["kind"], o["metadata"]["name"]): decoded(o) for o in yaml.safe_load_all(out.stdout) if o}
    mine = {(o["kind"], o["metadata"]["name"]): decoded(o) for o in objects}
    assert set(mine) == set(theirs)
    for key, obj in mine.items():
        assert obj == theirs[key], f"{key} differs from kubectl kustomize's"


def decoded(obj: dict) -> dict:
    """A Secret with its values decoded (kubectl wraps long base64 lines)."""
    if obj["kind"] != "Secret":
        return obj
    return dict(obj, data={k: base64.b64decode(v).decode() for k, v in obj["data"].items()})


def test_a_web_and_a_worker_deployment_per_service_running_real_prize_commands(objects, run_cli):
    roles = {}
    for name, deployment in by_kind(objects, "Deployment").items():
        spec = pod_spec(deployment)
        assert len(spec["containers"]) == 1, name
        path, params = run_cli(command_args(spec["containers"][0]), pod_environment(objects, spec))
        roles[name] = (path, params.get("service"))
    assert roles == {**{f"{s}-web": (("web",), s) for s in SERVICES},
                     **{f"{s}-worker": (("worker",), s) for s in SERVICES}}
    job = by_kind(objects, "Job")["prize-db-upgrade"]
    spec = pod_spec(job)
    path, params = run_cli(command_args(spec["containers"][0]), pod_environment(objects, spec))
    assert path == ("db", "upgrade") and not params.get("only"), "the Job must migrate every service"
    assert spec["restartPolicy"] in ("Never", "OnFailure")


def test_web_pods_listen_on_the_code_ports_and_their_services_reach_them(objects, run_cli):
    services = by_kind(objects, "Service")
    for svc in SERVICES:
        deployment = by_kind(objects, "Deployment")[f"{svc}-web"]
        spec = pod_spec(deployment)
        env = pod_environment(objects, spec)
        _, params = run_cli(command_args(spec["containers"][0]), env)
        host = params["host"] or env.get(f"PRIZE_{svc.upper()}_HOST", "127.0.0.1")
        port = params["port"] or int(env.get(f"PRIZE_{svc.upper()}_PORT") or DEFAULT_PORTS[svc])
        assert host == "0.0.0.0", f"{svc}-web listens on {host}: unreachable from its Service"
        assert port == DEFAULT_PORTS[svc]
        ports = {p["name"]: p["containerPort"] for p in spec["containers"][0]["ports"]}
        assert ports == {"http": port}, f"{svc}-web declares {ports}, listens on {port}"
        service = services[svc]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), f"Service {svc} selects no {svc}-web pod"
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(port, "http")]


@pytest.fixture(scope="module")
def served_paths(tmp_path_factory) -> dict[str, set[str]]:
    """The URL rules each service's app answers."""
    import importlib
    settings = load_settings({"PRIZE_VAR_DIR": str(tmp_path_factory.mktemp("var")),
                              "PRIZE_SECRET_KEY": "test-secret"})
    paths = {}
    for svc in SERVICES:
        app = importlib.import_module(f"services.{svc}.app").create_app(settings=settings)
        paths[svc] = {rule.rule for rule in app.url_map.iter_rules()}
        app.extensions["prize"]["db"].dispose()
    return paths


def test_web_probes_ask_healthz_and_readyz_which_the_apps_serve(objects, served_paths):
    for svc in SERVICES:
        container = pod_spec(by_kind(objects, "Deployment")[f"{svc}-web"])["containers"][0]
        probes = {kind: container.get(kind) for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
        assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness must check the database and broker"
        for kind, probe in probes.items():
            if probe is None:
                continue
            get = probe["httpGet"]
            assert get["path"] in served_paths[svc], f"{svc}-web's {kind} asks {get['path']}, which it does not serve"
            assert get["port"] in ("http", DEFAULT_PORTS[svc]), f"{svc}-web's {kind} asks port {get['port']}"


def test_worker_probes_run_the_worker_health_command_of_their_service(objects, run_cli):
    for svc in SERVICES:
        spec = pod_spec(by_kind(objects, "Deployment")[f"{svc}-worker"])
        container = spec["containers"][0]
        assert container.get("livenessProbe"), f"{svc}-worker has no liveness probe"
        for kind in ("startupProbe", "livenessProbe"):
            command = container[kind]["exec"]["command"]
            assert command[0] == "prize", command
            path, params = run_cli(command[1:], pod_environment(objects, spec))
            assert (path, params["service"]) == (("worker-health",), svc), command
            assert container[kind]["timeoutSeconds"] >= 5, "the command starts a Python: give it time"


def test_configmap_and_secret_hold_every_variable_the_code_reads_and_no_other(objects):
    config = set(by_kind(objects, "ConfigMap")["prize-config"]["data"])
    secret = {key for key, _ in read_env_file(SECRETS_EXAMPLE)}
    assert set(by_kind(objects, "Secret")["prize-secrets"]["data"]) == secret
    read = variables_read_by_code()
    missing = sorted(read - config - secret - set(DELIBERATELY_ABSENT))
    assert not missing, (f"neither infra/k8s/base/configmap.yaml nor {SECRETS_EXAMPLE.name} sets {missing}: "
                         "add them, or to DELIBERATELY_ABSENT with the reason")
    unknown = sorted(v for v in config | secret if v.startswith("PRIZE_") and v not in read)
    assert not unknown, f"PRIZE_ variables that no code reads: {unknown}"
    assert not config & secret, f"in both the ConfigMap and the Secret: {sorted(config & secret)}"
    assert not set(DELIBERATELY_ABSENT) & (config | secret)


def test_what_carries_a_password_is_in_the_secret_not_the_configmap(objects):
    config = by_kind(objects, "ConfigMap")["prize-config"]["data"]
    for name, value in config.items():
        assert not any(word in name for word in ("SECRET_KEY", "CLIENT_SECRET", "PASSWORD", "DATABASE_URL",
                                                   "BROKER_URL", "MAIL_URL")), \
            f"{name} belongs in the Secret"
        assert "@" not in value.split("<")[0] or "://" not in value, f"{name} looks like a URL with credentials"
    for needed in ("PRIZE_SECRET_KEY", "PRIZE_BROKER_URL", "PRIZE_MAIL_URL", "PRIZE_OIDC_CLIENT_SECRET",
                   *(f"PRIZE_{s.upper()}_DATABASE_URL" for s in SERVICES)):
        assert needed in by_kind(objects, "Secret")["prize-secrets"]["data"], needed


def test_no_secret_value_is_in_a_file():
    for path in K8S.rglob("*"):
        if path.suffix in (".yaml", ".yml"):
            for doc in load_yaml(path):
                assert doc.get("kind") != "Secret", f"{path} holds a Secret: generate it from secrets.env"
    assert not (OVERLAY / "secrets.env").exists() or _ignored(OVERLAY / "secrets.env")
    assert _ignored(OVERLAY / "secrets.env"), "git must ignore the overlay's secrets.env"
    values = [value for _, value in read_env_file(SECRETS_EXAMPLE)]
    assert values and all(v == "" for v in values), "secrets.env.example must hold no value"


def _ignored(path: Path) -> bool:
    """Whether a .gitignore between the repository root and the file names it (plain names only)."""
    folder = path.parent
    while True:
        ignore = folder / ".gitignore"
        if ignore.exists() and path.name in {line.strip().lstrip("/") for line in ignore.read_text().splitlines()}:
            return True
        if folder == ROOT:
            return False
        folder = folder.parent


def test_the_overlay_configuration_is_accepted_and_runs_on_real_servers(objects):
    spec = pod_spec(by_kind(objects, "Deployment")["intake-web"])
    env = pod_environment(objects, spec)
    settings = load_settings(env)  # raises ConfigError naming the variable if refused
    assert not settings.embedded
    assert settings.storage_url.startswith("s3://"), "pods share no disk: documents must go to S3"
    assert env["PRIZE_ENV"] == "production"
    assert all(url.startswith("postgresql") for url in settings.database_urls.values())
    secretless = dict(env, PRIZE_SECRET_KEY="")
    with pytest.raises(SystemExit):
        load_settings(secretless)  # an operator who forgets the key gets pods that refuse to start


def test_every_pod_runs_the_one_image_as_its_user_within_limits(objects):
    images = set()
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        name = f"{obj['kind']} {obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] == IMAGE_UID, name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"]:
            images.add(container["image"])
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"], name
            assert security["capabilities"]["drop"] == ["ALL"], name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and "memory" in resources["limits"], name
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            assert {"/var/lib/prize", "/tmp"} <= mounts, f"{name}: the runtime folder must be writable"
    assert images == {"registry.example.org/wego/seoul-smart-city-prize:0.1.0"}, images
    base_images = {c["image"] for o in build(K8S / "base") if pod_spec(o) for c in pod_spec(o)["containers"]}
    assert base_images == {IMAGE}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["intake-web"]["image"].split(":")[0] == IMAGE, "the image compose builds"


def test_web_deployments_scale_by_autoscaler_and_every_deployment_has_a_disruption_budget(objects):
    deployments = by_kind(objects, "Deployment")
    scalers = {h["spec"]["scaleTargetRef"]["name"]: h for h in by_kind(objects, "HorizontalPodAutoscaler").values()}
    assert set(scalers) == {f"{s}-web" for s in SERVICES}
    for name, hpa in scalers.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        container = pod_spec(deployments[name])["containers"][0]
        assert "cpu" in container["resources"]["requests"], f"{name}: CPU utilisation needs a CPU request"
    budgets = list(by_kind(objects, "PodDisruptionBudget").values())
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, f"{name} is covered by {len(covering)} PodDisruptionBudgets"
        if name.endswith("-web"):
            assert covering[0]["spec"].get("minAvailable") == 1, name
    assert deployments["notify-worker"]["spec"]["replicas"] == 2  # the overlay's replicas
