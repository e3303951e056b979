"""Figure 9's load, for locust: the deadline hour of one edition, time-compressed.

Two kinds of user, each its own exact count (locust's ``fixed_count``):

``Applicant`` (one per prepared applicant, already signed in: an API session's bearer token)
    autosaves its draft every ``autosave_s`` seconds (``PATCH /api/applications/<id>`` with every
    criterion's answer so far and the revision it holds: the endpoint and body portal.js sends),
    uploads two documents through the presigned path as portal.js does (``POST .../documents``
    for a signed form, the file to the form's URL, ``POST /api/documents/<id>/complete``) at two
    moments before the last stretch, then submits (``POST /api/applications/<id>/submit``) at its
    moment within the last ``submit_window_s`` seconds of the hour, and is done.
``Juror`` browses: the page ``GET /jury``, ``GET /api/jury/assignments``, one of its
    assignments ``GET /api/jury/assignments/<id>``, with 1-3 s between clicks.

Every moment is fixed before the start, from a seeded random generator, relative to ``start_at``
(set once locust is up, ``lead_s`` ahead for the users to spawn), so the shape is the same each run.

The plan is a JSON file named by ``BENCH_DEADLINE_PLAN`` (bench/deadline.py writes it). Run as

    python -m bench.deadline_locust PLAN.json RESULT.json     # locust as a library (what make bench does)
    BENCH_DEADLINE_PLAN=PLAN.json locust -f bench/deadline_locust.py --headless -u N -r N -t 5m

The first writes every request's time (ms, by request type), its failures and each applicant's
submit answer to RESULT.json.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
from urllib.parse import urlsplit

from locust import HttpUser, between, events, task

try:
    from bench.deadline_plan import answers, pdf, schedule
except ImportError:  # `locust -f bench/deadline_locust.py` puts bench/ itself on the path
    from deadline_plan import answers, pdf, schedule


def _plan() -> dict:
    path = os.environ.get("BENCH_DEADLINE_PLAN")
    if not path:
        raise RuntimeError("BENCH_DEADLINE_PLAN names no plan file (see bench/deadline.py)")
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _why(r) -> str:
    """A failed answer in a line: its status and body, or the connection error (status 0)."""
    return f"{r.status_code} {r.text[:200]}" if r.status_code else f"no answer: {r.error!r}"[:300]


class Applicant(HttpUser):
    """One signed-in applicant of the edition through the deadline hour."""
    fixed_count = 0  # set from the plan
    wait_time = between(0, 0)
    _numbers = itertools.count()
    plan: dict = {}

    def on_start(self):
        self.index = next(Applicant._numbers)
        self.me = self.plan["applicants"][self.index]
        self.auth = {"Authorization": f"Bearer {self.me['token']}"}
        self.revision = self.me["revision"]
        self.todo = schedule(self.plan, self.index)
        self.done = False

    @task
    def next_moment(self):
        if not self.todo:
            self.done = True
            time.sleep(0.5)  # gevent-patched: the rest of the hour idle
            return
        at, what = self.todo.pop(0)
        delay = self.plan["start_at"] + at - time.time()
        if delay > 0:
            time.sleep(delay)
        if what == "autosave":
            self.autosave(at)
        elif what.startswith("upload:"):
            self.upload(int(what.split(":")[1]))
        else:
            self.submit()

    def autosave(self, at: float) -> None:
        body = {"answers": answers(self.me["criteria"], at / self.plan["hour_s"] * 1.3, self.index),
                "revision": self.revision}
        with self.client.patch(f"/api/applications/{self.me['id']}", json=body, headers=self.auth,
                               name="autosave PATCH /api/applications/<id>", catch_response=True) as r:
            if r.status_code == 200:
                self.revision = r.json().get("revision", self.revision + 1)
            else:
                r.failure(_why(r))

    def upload(self, n: int) -> None:
        doc = self.plan["documents"][n]
        content = pdf(doc["size"], self.index * 2 + n)
        filename = f"{doc['kind']}-{self.index}.pdf"
        with self.client.post(f"/api/applications/{self.me['id']}/documents", headers=self.auth,
                              json={"kind": doc["kind"], "filename": filename, "content_type": "application/pdf",
                                    "size": len(content)},
                              name="upload 1/3 POST /api/applications/<id>/documents", catch_response=True) as r:
            if r.status_code != 201 and r.status_code != 200:
                r.failure(_why(r))
                return
            started = r.json()
        # the local store's form is on intake itself: its path and query, on the host locust targets
        url = urlsplit(started["upload"]["url"])
        url = f"{url.path}?{url.query}" if url.netloc and not self.plan.get("absolute_upload") else url.geturl()
        with self.client.post(url, data=started["upload"]["fields"],
                              files={"file": (filename, content, "application/pdf")},
                              name="upload 2/3 POST the presigned form", catch_response=True) as r:
            if not 200 <= r.status_code < 300:
                r.failure(_why(r))
                return
        with self.client.post(f"/api/documents/{started['document']['id']}/complete", headers=self.auth,
                              name="upload 3/3 POST /api/documents/<id>/complete", catch_response=True) as r:
            if r.status_code != 200 or "verified" not in r.text:
                r.failure(_why(r))

    def submit(self) -> None:
        with self.client.post(f"/api/applications/{self.me['id']}/submit", headers=self.auth,
                              name="submit POST /api/applications/<id>/submit", catch_response=True) as r:
            try:
                ok = r.status_code == 200 and r.json().get("status") == "submitted"
            except ValueError:
                ok = False
            if not ok:
                r.failure(_why(r))
            RESULT["submitted"].append({"id": self.me["id"], "reference": self.me["reference"], "ok": ok,
                                        "at": time.time() - self.plan["start_at"]})


class Juror(HttpUser):
    """One of the jurors, browsing their pages meanwhile."""
    fixed_count = 0  # set from the plan
    wait_time = between(1, 3)
    _numbers = itertools.count()
    plan: dict = {}

    def on_start(self):
        me = self.plan["jurors"][next(Juror._numbers) % len(self.plan["jurors"])]
        self.auth = {"Authorization": f"Bearer {me['token']}"}
        self.assignments: list[str] = []

    @task(2)
    def page(self):
        with self.client.get("/jury", headers=self.auth, name="juror GET /jury", catch_response=True) as r:
            if r.status_code != 200 or b"/jury/applications/" not in r.content:
                r.failure(_why(r))

    @task(2)
    def assignments_json(self):
        with self.client.get("/api/jury/assignments", headers=self.auth, name="juror GET /api/jury/assignments",
                             catch_response=True) as r:
            if r.status_code != 200:
                r.failure(_why(r))
                return
            self.assignments = [a["id"] for rnd in r.json()["rounds"] for a in rnd["assignments"]]
            if not self.assignments:
                r.failure("no assignments listed")

    @task(1)
    def one_assignment(self):
        if not self.assignments:
            return self.assignments_json()
        assignment = random.choice(self.assignments)
        with self.client.get(f"/api/jury/assignments/{assignment}", headers=self.auth,
                             name="juror GET /api/jury/assignments/<id>", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(_why(r))


RESULT: dict = {"times": {}, "failures": {}, "submitted": []}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    RESULT["times"].setdefault(name, []).append(response_time)
    if exception is not None:
        RESULT["failures"].setdefault(name, []).append(str(exception)[:300])


def configure(plan: dict) -> None:
    """Hosts, counts and the plan onto the user classes (a locustfile run reads the same file)."""
    Applicant.plan, Juror.plan = plan, plan
    Applicant.host, Juror.host = plan["intake"], plan["review"]
    Applicant.fixed_count, Juror.fixed_count = len(plan["applicants"]), plan["juror_users"]


if os.environ.get("BENCH_DEADLINE_PLAN"):  # `locust -f` on this file: the hour starts now
    configure(dict(_plan(), start_at=time.time() + 5.0))


def main(plan_path: str, result_path: str) -> None:
    """Run the plan with locust as a library (Environment + LocalRunner) and write RESULT."""
    import gevent
    from locust.env import Environment

    with open(plan_path, encoding="utf-8") as fh:
        plan = json.load(fh)
    # the hour starts once locust is up (a loaded machine may take seconds to import it)
    plan["start_at"] = time.time() + plan.get("lead_s", 3.0)
    configure(plan)
    env = Environment(user_classes=[Applicant, Juror], events=events)
    runner = env.create_local_runner()
    users = Applicant.fixed_count + Juror.fixed_count
    runner.start(users, spawn_rate=max(users, 1))
    ends = plan["start_at"] + plan["hour_s"] + plan.get("grace_s", 5.0)
    gevent.spawn_later(max(0.0, ends - time.time()), runner.quit)
    runner.greenlet.join()
    RESULT["users"] = users
    RESULT["start_at"] = plan["start_at"]
    RESULT["cpu_s"] = time.process_time()
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(RESULT, fh)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
