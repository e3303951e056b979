"""An edition that is no year, in notify's template API and pages (issue 11, item 10): a 404 or a
422, never a 500, on both stacks (an integer past PostgreSQL's range, or past 64 bits for SQLite,
used to reach the database and fail there)."""
from __future__ import annotations

import pytest

from shared.config import load_settings
from tests.conftest import env_for
from tests.notify.test_notify_outbox_page import sign_in
from tests.support.stack import Stack, auth

BASE = "/api/templates/submission_ack/en"
TEXT = "{% block subject %}Hi {{ reference }}{% endblock %}{% block text %}Dear {{ contact_name }}{% endblock %}"
NOT_YEARS = ["2147483648", "99999999999999999999999", "0", "1999", "3000", "00002027x"]


@pytest.fixture(params=["embedded", "real"])
def notify(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("notify",))
    yield s
    s.stop()


def test_the_api_answers_404_for_an_edition_that_is_no_year(notify):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    answers = {}
    for edition in NOT_YEARS:
        path = f"{BASE}/editions/{edition}"
        for method, kwargs in (("get", {}), ("delete", {}), ("put", {"json": {"text_source": TEXT, "html_source": "x"}})):
            answers[method, path] = getattr(client, method)(path, headers=sec, **kwargs)
        answers["get", f"{BASE}/preview?edition={edition}"] = client.get(f"{BASE}/preview?edition={edition}", headers=sec)
    codes = [r.status_code for r in answers.values()]
    print(f"\n{len(codes)} API requests with an edition that is no year: {sum(c >= 500 for c in codes)} answered 5xx, "
          f"{sum(c == 200 for c in codes)} answered 200")
    for (method, path), r in answers.items():
        wanted = (404, 422) if "preview" in path else (404,)
        assert r.status_code in wanted, (method, path, r.get_data(as_text=True)[:300])
        assert r.mimetype == "application/json" and r.get_json()["code"] == r.status_code
    # a year still works
    assert client.get(f"{BASE}/editions/2027", headers=sec).status_code == 200


@pytest.mark.parametrize("edition", [*NOT_YEARS, "²⁰²⁷", "٢٠٢٧x", "-2027"])
def test_the_pages_answer_404_for_an_edition_that_is_no_year(notify, edition):
    client = notify.clients["notify"]
    assert sign_in(client, notify.secretariat_token()).status_code == 303
    for path in ("/secretariat/templates/submission_ack/en", "/secretariat/templates/submission_ack/en/preview.html"):
        r = client.get(path, query_string={"edition": edition})
        assert r.status_code == 404, (path, edition, r.status_code)
    r = client.get("/secretariat/templates/submission_ack/en", query_string={"edition": "2027"})
    assert r.status_code == 200
    assert client.get("/secretariat/templates/submission_ack/en").status_code == 200  # no edition: the file
