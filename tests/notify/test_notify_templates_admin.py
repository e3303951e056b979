"""The secretariat's wording of the emails per edition (issue 5): stored overrides of the template
files, checked on save, used by notify's worker for that edition's emails only, previewed with
sample data, deleted back to the file; only the secretariat may touch them.

End to end on both stacks: the API in the web app stores an override, events go through review's
outbox and the broker to notify's worker, which renders and sends to a real SMTP server.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.notify.models import TemplateOverride
from shared.auth import issue_token
from shared.config import load_settings
from shared.events import make_event
from tests.conftest import embedded_env, env_for
from tests.notify.test_notify_decisions import publish, submitted
from tests.support.stack import Stack, auth, wait_until

BASE = "/api/templates/submission_ack/en"


def _submitted(year: int, reference: str, email: str):
    _, event = submitted(reference, f"Smart harbour {year}", email, "en")
    event.data["year"] = year
    return event


def _invited(email: str):
    return make_event("juror.invited", {
        "juror_id": str(uuid.uuid4()), "name": "Ana Souza", "email": email, "language": "en",
        "url": "https://jury.example.org/signin/x", "expires_at": datetime.now(timezone.utc) + timedelta(days=7),
    }, producer="review")


@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path, smtp_server):
    env = env_for(request, tmp_path / "var", request.param, PRIZE_MAIL_URL=smtp_server.url)
    s = Stack(load_settings(env), services=("review", "notify")).start_workers()
    yield s
    s.stop()


@pytest.fixture
def notify(tmp_path):
    """notify's web app alone, on the embedded stack."""
    s = Stack(load_settings(embedded_env(tmp_path / "var")), services=("notify",))
    yield s
    s.stop()


def sources(client, headers, path=BASE, edition=2027) -> dict:
    r = client.get(f"{path}/editions/{edition}", headers=headers)
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def put(client, headers, text, html, path=BASE, edition=2027):
    return client.put(f"{path}/editions/{edition}", headers=headers, json={"text_source": text, "html_source": html})


def subject_to(smtp, address: str) -> str | None:
    found = [str(m["message"]["Subject"]) for m in list(smtp.messages) if m["to"] == [address]]
    return found[-1] if found else None


def test_an_override_applies_to_its_edition_only_until_deleted(stack, smtp_server):
    client, sec = stack.clients["notify"], auth(stack.secretariat_token())
    original = sources(client, sec)
    assert original["overridden"] is False and "{% block subject %}Application received" in original["text_source"]

    text = original["text_source"].replace("Application received:", "Received with thanks (v1):")
    r = put(client, sec, text, original["html_source"].replace("Thank you for applying", "Thank you, v1, for applying"))
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["version"], r.get_json()["updated_by"]) == (1, "secretariat:operator test-secretariat")
    # a juror invitation has no edition: the latest edition's override (2027, not 2025) is used
    juror = sources(client, sec, "/api/templates/juror_invited/en")
    for edition, word in ((2025, "OLD 2025"), (2027, "NEW 2027")):
        r = put(client, sec, juror["text_source"].replace("{% block subject %}", "{% block subject %}" + word + " "),
                juror["html_source"], "/api/templates/juror_invited/en", edition)
        assert r.status_code == 200, r.get_json()

    publish(stack, _submitted(2027, "SSCP-2027-KHH001", "a2027@kcg.example.tw"),
            _submitted(2026, "SSCP-2026-KHH002", "a2026@kcg.example.tw"), _invited("juror@jury.example.org"))
    assert wait_until(lambda: subject_to(smtp_server, "juror@jury.example.org"), timeout=60)
    assert wait_until(lambda: subject_to(smtp_server, "a2026@kcg.example.tw"), timeout=30)
    assert subject_to(smtp_server, "a2027@kcg.example.tw") == "Received with thanks (v1): SSCP-2027-KHH001 — Smart harbour 2027"
    assert subject_to(smtp_server, "a2026@kcg.example.tw") == "Application received: SSCP-2026-KHH002 — Smart harbour 2026"
    assert subject_to(smtp_server, "juror@jury.example.org").startswith("NEW 2027 ")
    [m2027] = [m["message"] for m in smtp_server.messages if m["to"] == ["a2027@kcg.example.tw"]]
    assert "Thank you, v1, for applying" in m2027.get_body(preferencelist=("html",)).get_content()

    # saved again: the very next email of 2027 has the new wording (the worker's cache follows)
    r = put(client, sec, original["text_source"].replace("Application received:", "Second wording (v2):"),
            original["html_source"])
    assert r.status_code == 200 and r.get_json()["version"] == 2
    publish(stack, _submitted(2027, "SSCP-2027-KHH003", "b2027@kcg.example.tw"))
    assert wait_until(lambda: subject_to(smtp_server, "b2027@kcg.example.tw"), timeout=30)
    assert subject_to(smtp_server, "b2027@kcg.example.tw").startswith("Second wording (v2): SSCP-2027-KHH003")

    # deleted: the file again
    assert client.delete(f"{BASE}/editions/2027", headers=sec).status_code == 204
    assert client.delete(f"{BASE}/editions/2027", headers=sec).status_code == 404
    assert sources(client, sec)["overridden"] is False
    publish(stack, _submitted(2027, "SSCP-2027-KHH004", "c2027@kcg.example.tw"))
    assert wait_until(lambda: subject_to(smtp_server, "c2027@kcg.example.tw"), timeout=30)
    assert subject_to(smtp_server, "c2027@kcg.example.tw").startswith("Application received: SSCP-2027-KHH004")


FILE_TEXT = "{% block subject %}Application received: {{ reference }}{% endblock %}{% block text %}Dear {{ contact_name }}{% endblock %}"
FILE_HTML = "<p>Dear {{ contact_name }}</p>"


@pytest.mark.parametrize("text,html,field,expected", [
    ("{% block subject %}Hi{% endblock %}\n{% block text %}\nDear {{ contact_name }\n{% endblock %}", FILE_HTML,
     "text_source", "syntax error on line 3: unexpected '}'"),
    ("{% block subject %}Hi {{ reference }}{% endblock %}{% block text %}{% if eligible %}x{% endif %}{% endblock %}",
     FILE_HTML, "text_source", "unknown variable eligible; this email has: category_title, city, closes, contact_name"),
    (FILE_TEXT, "<p>{{ mayor.name }}</p>", "html_source", "unknown variable mayor"),
    (FILE_TEXT, "<p>{{ title.upper.__globals__ }}</p>", "html_source", "fails with the sample data"),
    ("{% block subject %}Hi{% endblock %}", FILE_HTML, "text_source", "missing block {% block text %}"),
    ("Dear {{ contact_name }}", FILE_HTML, "text_source", "missing blocks {% block subject %} and {% block text %}"),
    ("{% block subject %}  {% if false %}x{% endif %} {% endblock %}{% block text %}x{% endblock %}", FILE_HTML,
     "text_source", "the subject is empty"),
    (FILE_TEXT, "<p>{% for x in range(10) %}{{ x ** 1000 }}{% endfor %}</p>", "html_source", "not allowed"),
    (FILE_TEXT, "   ", "html_source", "is empty"),
])
def test_a_broken_override_is_refused_naming_the_problem_and_nothing_is_stored(notify, text, html, field, expected):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    r = put(client, sec, text, html)
    assert r.status_code == 422, r.get_json()
    body = r.get_json()
    assert any(p.startswith(expected) for p in body["errors"]["json"][field]), body
    assert body["message"].startswith("the template is not saved: ") and expected in body["message"]
    db = notify.apps["notify"].extensions["prize"]["db"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(TemplateOverride)) == 0
    assert sources(client, sec)["overridden"] is False


def test_a_broken_save_keeps_the_override_there_was(notify):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    assert put(client, sec, FILE_TEXT, FILE_HTML).status_code == 200
    assert put(client, sec, FILE_TEXT, "{% if %}").status_code == 422
    kept = sources(client, sec)
    assert (kept["overridden"], kept["version"], kept["html_source"]) == (True, 1, FILE_HTML)
    r = put(client, sec, FILE_TEXT, "x", edition=1999)  # not an edition
    assert r.status_code == 404


def test_the_preview_renders_the_sample_with_the_editions_wording(notify):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    r = client.get(f"{BASE}/preview", headers=sec)
    assert r.status_code == 200, r.get_json()
    plain = r.get_json()
    assert plain["overridden"] is False and plain["edition"] is None
    assert plain["subject"] == "Application received: SSCP-2026-KHH001 — Hydrogen buses for the harbour of 高雄"
    assert "Kaohsiung City Government" in plain["text"] and "<strong>Kaohsiung City Government</strong>" in plain["html"]

    assert put(client, sec, FILE_TEXT.replace("Application received", "Edition {{ year }}"),
               "<p>Dear {{ contact_name }}, {{ title }}</p>", edition=2028).status_code == 200
    shown = client.get(f"{BASE}/preview?edition=2028", headers=sec).get_json()
    assert (shown["overridden"], shown["edition"]) == (True, 2028)
    assert shown["subject"] == "Edition 2028: SSCP-2026-KHH001" and shown["text"] == "Dear Lin Mei-hua\n"
    assert shown["html"] == "<p>Dear Lin Mei-hua, Hydrogen buses for the harbour of 高雄</p>"  # autoescaped, no markup
    other = client.get(f"{BASE}/preview?edition=2029", headers=sec).get_json()
    assert other["overridden"] is False and "Seoul Smart City Prize 2029" in other["text"]
    korean = client.get("/api/templates/submission_ack/ko/preview", headers=sec).get_json()
    assert korean["subject"].startswith("신청서 접수")

    listed = {i["name"]: i for i in client.get("/api/templates", headers=sec).get_json()["items"]}
    assert {"submission_ack", "signin_link", "juror_invited", "delivery_failed_alert",
            "contact_email_changed"} <= set(listed)
    notice = client.get("/api/templates/contact_email_changed/en/preview", headers=sec).get_json()
    assert notice["subject"] == "Security notice: Your sign-in address for the Seoul Smart City Prize was changed"
    assert "mei.lin@kcg.example.tw" in notice["text"] and "smartcity@kcg.example.tw" in notice["text"]
    langs = {lang["language"]: lang["overridden"] for lang in listed["submission_ack"]["languages"]}
    assert [o["edition"] for o in langs["en"]] == [2028] and langs["ko"] == []


@pytest.mark.parametrize("path", [
    "/api/templates/nope/en/preview", "/api/templates/submission_ack/fr/preview",
    "/api/templates/delivery_failed_alert/ko/preview", "/api/templates/nope/en/editions/2027",
])
def test_an_unknown_template_or_language_is_a_json_404(notify, path):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    r = client.get(path, headers=sec)
    assert r.status_code == 404 and r.get_json()["code"] == 404 and "no email template" in r.get_json()["message"]
    if path.endswith("2027"):
        assert put(client, sec, FILE_TEXT, FILE_HTML, "/api/templates/nope/en").status_code == 404
        assert client.delete(path, headers=sec).status_code == 404


ENDPOINTS = [
    ("get", "/api/templates", None),
    ("get", f"{BASE}/preview?edition=2027", None),
    ("get", f"{BASE}/editions/2027", None),
    ("put", f"{BASE}/editions/2027", {"text_source": FILE_TEXT, "html_source": FILE_HTML}),
    ("delete", f"{BASE}/editions/2027", None),
    ("post", f"/api/deliveries/{uuid.uuid4()}/resend", None),
]


@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_only_the_secretariat_may_use_the_new_endpoints(notify, method, path, body):
    client, secret = notify.clients["notify"], notify.settings.secret_key
    assert put(client, auth(notify.secretariat_token()), FILE_TEXT, FILE_HTML).status_code == 200
    callers = [({}, 401), ({"Authorization": "Bearer not-a-token"}, 401),
               (auth(issue_token(secret, "secretariat", "x")[:-3] + "abc"), 401),
               (auth(issue_token(secret, "applicant", "a-1")), 403), (auth(issue_token(secret, "juror", "j-1")), 403)]
    for headers, status in callers:
        r = getattr(client, method)(path, headers=headers, json=body)
        assert r.status_code == status, (headers, r.get_json())
        assert r.get_json()["code"] == status
    stored = sources(client, auth(notify.secretariat_token()))
    assert (stored["overridden"], stored["version"]) == (True, 1)  # nobody else changed anything


def test_the_check_on_save_uses_the_editions_year(notify):
    client, sec = notify.clients["notify"], auth(notify.secretariat_token())
    text = FILE_TEXT.replace("{% endblock %}", " {{ 100 // (year - 2027) }}{% endblock %}", 1)
    r = put(client, sec, text, FILE_HTML, edition=2027)
    assert r.status_code == 422
    assert r.get_json()["errors"]["json"]["text_source"] == [
        "fails with the sample data: ZeroDivisionError: integer division or modulo by zero"]
    assert put(client, sec, text, FILE_HTML, edition=2028).status_code == 200


def test_a_stored_wording_that_fails_on_a_real_email_falls_back_to_the_file(stack, smtp_server):
    """The samples cannot foresee every email: one that the stored wording cannot render still goes
    out, in the file's wording, instead of stopping the event."""
    client, sec = stack.clients["notify"], auth(stack.secretariat_token())
    text = FILE_TEXT.replace("{% endblock %}", " {{ 1 // (title|length - 18) }}{% endblock %}", 1)
    assert put(client, sec, text, FILE_HTML, edition=2027).status_code == 200  # the sample's title is longer
    publish(stack, _submitted(2027, "SSCP-2027-KHH009", "d2027@kcg.example.tw"))  # "Smart harbour 2027": 18
    assert wait_until(lambda: subject_to(smtp_server, "d2027@kcg.example.tw"), timeout=60)
    assert subject_to(smtp_server, "d2027@kcg.example.tw") == "Application received: SSCP-2027-KHH009 — Smart harbour 2027"
