"""/metrics stays the same size however strange the requests: the method and endpoint labels of
the HTTP series take a bounded set of values (the known methods or "other"; a route's rule or
"unmatched"), so made-up methods and paths cannot grow a web worker's memory or its page.

In-process embedded stack (Flask test clients, SQLite); no workers.
"""
from __future__ import annotations

import random
import re
import string

import pytest

from tests.support.stack import Stack

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
SAMPLE = re.compile(r'^(prize_http_[a-z_]+)\{([^}]*)\} ', re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from shared.config import load_settings
    from tests.conftest import embedded_env
    s = Stack(load_settings(embedded_env(tmp_path_factory.mktemp("metrics") / "var")))
    yield s
    s.stop()


def _series(client) -> tuple[set[tuple], int]:
    """The HTTP series on the page (name and labels of each sample) and the page's size."""
    page = client.get("/metrics").get_data(as_text=True)
    series = {(name, tuple(sorted(LABEL.findall(labels)))) for name, labels in SAMPLE.findall(page)}
    return series, len(page)


def _strange_requests(client, rules: list[str], rng: random.Random, n: int) -> None:
    for _ in range(n):
        made_up = "".join(rng.choices(string.ascii_uppercase + string.digits, k=rng.randint(1, 12)))
        made_up_path = "/" + "/".join("".join(rng.choices(string.ascii_lowercase, k=6))
                                      for _ in range(rng.randint(1, 3)))
        # a made-up method on a real route or anywhere; a known method on a made-up path
        method, path = rng.choice([(made_up, rng.choice(rules)), (made_up, made_up_path),
                                   (rng.choice(sorted(KNOWN_METHODS)), made_up_path)])
        client.open(path, method=method)


@pytest.mark.parametrize("service", ["intake", "review", "notify"])
def test_metrics_series_do_not_grow_with_made_up_methods_and_paths(stack, service):
    client = stack.clients[service]
    app = stack.apps[service]
    rules = sorted(r.rule for r in app.url_map.iter_rules() if "<" not in r.rule)
    rng = random.Random(20240611)
    before, size_before = _series(client)
    _strange_requests(client, rules, rng, 1000)
    middle, size_middle = _series(client)
    _strange_requests(client, rules, rng, 1000)
    after, size_after = _series(client)
    print(f"\n{service}: HTTP series before {len(before)} ({size_before} B page), after 1,000 made-up requests "
          f"{len(middle)} ({size_middle} B), after 1,000 more {len(after)} ({size_after} B)")

    # the first thousand may meet a few (method, endpoint, status) combinations for the first
    # time; a second thousand of the same kind finds nothing new
    assert after == middle
    assert len(middle) - len(before) < 200
    # and the page with them: only the counts' digits may grow (a series is ~100 bytes)
    assert size_after < size_middle + 100

    allowed_endpoints = {r.rule for r in app.url_map.iter_rules()} | {"unmatched"}
    for _, labels in after:
        labels = dict(labels)
        if "method" in labels:
            assert labels["method"] in KNOWN_METHODS | {"other"}, labels
        if "endpoint" in labels:
            assert labels["endpoint"] in allowed_endpoints, labels
