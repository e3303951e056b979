"""The example monitoring in infra/ holds together: Prometheus's alert rules and scrape
configuration, and the Grafana dashboard.

- Their structure: each rule has its expression, duration, severity and texts; the dashboard
  is JSON Grafana imports (panels placed on its 24-column grid, each query with its refId,
  every variable used defined).
- Every metric they name is one the services export, with the labels they match on: read from a
  live /metrics of each service (the embedded stack), so renaming a metric or a label in the
  code fails here rather than leaving an alert that never fires.
- promtool (Debian's prometheus package) checks the rules' and the dashboard's PromQL, the
  configuration, and runs the rules' unit tests (alerts.test.yml: each alert fires on the series
  that should fire it, and not before its time). Outside CI a machine without promtool skips
  that test; in CI it fails.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from shared import topology
from shared.bus import connect
from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "infra" / "prometheus"
DASHBOARD = ROOT / "infra" / "grafana" / "prize-dashboard.json"
SEVERITIES = {"critical", "warning", "info"}
# What Prometheus adds to every series it scrapes, and the series it makes itself.
SCRAPE_LABELS = {"job", "instance"}
PROMETHEUS_SERIES = {"up": {"job", "instance"}}
# Grafana's own variables, and what stands in for them when promtool reads a panel's query.
GRAFANA_BUILTINS = {"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}

SELECTOR = re.compile(r'\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}')
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
PRIZE_NAME = re.compile(r'\bprize_[a-z0-9_]+\b')
VARIABLE = re.compile(r'\$\{?(\w+)')


def _rules() -> list[dict]:
    doc = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _queries(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def _for_promtool(expr: str) -> str:
    """A panel's query with Grafana's variables replaced as Grafana would."""
    expr = expr.replace("$service", ".*")
    for name, value in GRAFANA_BUILTINS.items():
        expr = expr.replace("$" + name, value)
    return expr


def test_each_alert_rule_has_its_parts():
    doc = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    assert doc["groups"], "no rule groups"
    rules = _rules()
    assert len({r["alert"] for r in rules}) == len(rules), "two rules share a name"
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"Prize[A-Za-z]+", rule["alert"]), rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule
        assert rule["labels"]["severity"] in SEVERITIES, rule
        assert rule["annotations"]["summary"].strip() and rule["annotations"]["description"].strip(), rule
    # what the issue asks the rules to watch
    watched = " ".join(r["expr"] for r in rules)
    for needed in ("prize_outbox_oldest_age_seconds", 'queue="dead"', 'status="failed"', "up{", 'status=~"5.."'):
        assert needed in watched, needed


def test_the_dashboard_is_one_grafana_imports():
    dashboard = _dashboard()
    assert dashboard["title"] and dashboard["uid"] and isinstance(dashboard["schemaVersion"], int)
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert "datasource" in variables
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(set(ids)) == len(ids), "two panels share an id"
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}, panel["type"]
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(set(refs)) == len(refs), panel["title"]
        for target in panel["targets"]:
            used = set(VARIABLE.findall(target["expr"]))
            assert used <= variables | set(GRAFANA_BUILTINS), (panel["title"], used - variables)
    # what the issue asks the dashboard to show
    shown = " ".join(_queries(dashboard))
    for needed in ("prize_http_requests_total", "prize_http_request_seconds_bucket", "prize_outbox_backlog",
                   "prize_outbox_oldest_age_seconds", "prize_queue_messages", "prize_emails", 'status=~"5.."'):
        assert needed in shown, needed


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, dict[str, set[str]]]:
    """Each metric the three services' /metrics show, with each label's values seen, read from
    the embedded stack after a request to each (so the HTTP series exist) and with the broker's
    queues declared (so their counts do)."""
    from shared.config import load_settings
    from tests.conftest import embedded_env
    from tests.support.stack import Stack
    stack = Stack(load_settings(embedded_env(tmp_path_factory.mktemp("monitoring") / "var")))
    try:
        with connect(stack.settings.broker_url) as conn:
            channel = conn.channel()
            topology.declare(channel, stack.settings.namespace)
            channel.close()
        metrics: dict[str, dict[str, set[str]]] = {}
        for service, client in stack.clients.items():
            client.get("/healthz")
            client.get("/made-up")
            page = client.get("/metrics").get_data(as_text=True)
            for family in text_string_to_metric_families(page):
                for sample in family.samples:
                    labels = metrics.setdefault(sample.name, {})
                    for name, value in sample.labels.items():
                        labels.setdefault(name, set()).add(value)
    finally:
        stack.stop()
    return metrics


def _check_names(expr: str, exported: dict[str, dict[str, set[str]]]) -> None:
    for name in PRIZE_NAME.findall(expr):
        assert name in exported, f"{name} (in {expr!r}) is not on any service's /metrics"
    for name, matchers in SELECTOR.findall(expr):
        labels = PROMETHEUS_SERIES.get(name) or {**exported[name], **dict.fromkeys(SCRAPE_LABELS)}
        for label, op, value in MATCHER.findall(matchers):
            assert label in labels, f"{name} has no label {label} (in {expr!r})"
            if op == "=" and label not in SCRAPE_LABELS and name not in PROMETHEUS_SERIES and "$" not in value:
                assert value in exported[name][label], f"{name}{{{label}={value!r}}} never appears (in {expr!r})"


def test_every_metric_the_rules_name_is_exported(exported):
    for rule in _rules():
        _check_names(rule["expr"], exported)


def test_every_metric_the_dashboard_names_is_exported(exported):
    for expr in _queries(_dashboard()):
        _check_names(expr, exported)


def test_every_service_exports_its_state(exported):
    for service in ("intake", "review", "notify"):
        for name in ("prize_outbox_backlog", "prize_outbox_oldest_age_seconds", "prize_queue_messages"):
            assert service in exported[name]["service"], (name, service)
    assert exported["prize_queue_messages"]["queue"] == {"events", "dead"}
    assert exported["prize_emails"]["status"] == {"pending", "sending", "sent", "failed", "unconfirmed"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = "promtool is not installed (Debian: apt-get install prometheus)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _run(*args, cwd=PROMETHEUS) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_promtool_checks_the_rules_the_configuration_and_the_dashboards_queries(tmp_path):
    promtool = _promtool()
    assert f"SUCCESS: {len(_rules())} rules found" in _run(promtool, "check", "rules", "alerts.yml")
    _run(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS" in _run(promtool, "test", "rules", "alerts.test.yml")
    # the dashboard's queries, as recording rules: promtool parses each one's PromQL
    queries = _queries(_dashboard())
    recording = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"prize:dashboard_query_{n}", "expr": _for_promtool(q)} for n, q in enumerate(queries)]}]}
    (tmp_path / "dashboard.yml").write_text(yaml.safe_dump(recording))
    assert f"SUCCESS: {len(queries)} rules found" in _run(promtool, "check", "rules", str(tmp_path / "dashboard.yml"))
