"""Email templates for people (issue 14): a catalogue of what each template is for, the list page
by audience, the people's editor (subject and text with placeholders, previewed without saving,
saved as the edition's override) and the raw Jinja kept for administrators, enforced on the server.

No mocks: notify's web app on the embedded stack, staff sessions as intake would hand them over,
and the email rendered the way the worker renders it (ops.templates.render with a session)."""
from __future__ import annotations

import html
import inspect
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from services.notify import handlers
from services.notify.models import TemplateOverride, staff_tables
from services.notify.ops import plain_wording, templates
from services.notify.ops.template_catalogue import AUDIENCES, CATALOGUE
from services.notify.samples import SAMPLES
from shared.config import load_settings
from shared.staff import store
from tests.conftest import embedded_env
from tests.notify.test_notify_outbox_page import csrf_of, sign_in
from tests.support.stack import Stack, auth

PAGE = "/secretariat/templates/finalist_notice/en"
PAIRS = sorted((name, language) for name, languages in templates.available().items() for language in languages)


# --- the catalogue ----------------------------------------------------------------------------------

def test_every_template_file_has_a_catalogue_entry_and_every_entry_a_file():
    files = {p.name.split(".")[0] for p in templates.FOLDER.iterdir() if p.suffix in (".txt", ".html")}
    assert files, "no email templates found"
    assert sorted(files - set(CATALOGUE)) == [], "template files without an entry in ops/template_catalogue.py"
    assert sorted(set(CATALOGUE) - files) == [], "catalogue entries of templates that do not exist"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_a_catalogue_entry_names_exactly_the_sample_variables_and_real_events(name):
    entry = CATALOGUE[name]
    assert sorted(entry.variables) == sorted(SAMPLES[name]), "catalogue variables differ from samples.py"
    assert all(said.strip() for said in entry.variables.values()), "a variable without a description"
    assert entry.title.strip() and entry.purpose.strip().endswith(".") and entry.audience in AUDIENCES
    assert set(entry.events) <= set(handlers.HANDLERS), f"{name}: events no handler consumes"


def test_the_events_are_those_whose_handlers_send_the_template():
    """Read from handlers.py: a template named in a handler (or in _send_due, which the decision
    handlers share) lists that handler's event."""
    shared_send = inspect.getsource(handlers._send_due)
    for event, handler in handlers.HANDLERS.items():
        if getattr(handler, "__module__", "") != handlers.__name__:
            continue  # the staff events' handlers send nothing
        source = inspect.getsource(handler)
        named = {n for n in CATALOGUE if f'"{n}"' in source}
        for name in named:
            assert event in CATALOGUE[name].events, (event, name)
    assert {"results.released", "application.advanced"} <= set(CATALOGUE["finalist_notice"].events)
    assert '"finalist_notice"' in shared_send and CATALOGUE["delivery_failed_alert"].events == ()


@pytest.mark.parametrize("name,language", PAIRS)
def test_the_peoples_editor_keeps_every_templates_structure(name, language):
    """The wording as people see it, saved unchanged, renders the email exactly as the file does:
    conditions and loops are kept as parts."""
    text, _ = templates.file_sources(name, language)
    wording = plain_wording.wording_of(text)
    assert "{%" not in wording.subject + wording.body
    sample = templates.sample_of(name, language)
    sources = plain_wording.sources_of(wording.subject, wording.body, wording.parts, sample, language)
    subject, text_out, html_out = templates.check(name, language, *sources)
    assert (subject, text_out) == templates.render(name, language, sample)[:2]
    assert html_out.startswith("<!doctype html>")


# --- staff in browsers --------------------------------------------------------------------------------

@pytest.fixture
def notify(tmp_path):
    s = Stack(load_settings(embedded_env(tmp_path / "var")), services=("notify",))
    s.db = s.apps["notify"].extensions["prize"]["db"]
    yield s
    s.stop()


def email_free(stack, email: str) -> bool:
    with stack.db.session() as s:
        return s.execute(select(staff_tables.members).where(staff_tables.members.c.email == email)).first() is None


def member_of(stack, role: str) -> str:
    """A staff member of ``role`` as the staff.changed event copies them to notify; their id."""
    staff_id = str(uuid.uuid4())
    email = f"{role}@wego.example" if email_free(stack, f"{role}@wego.example") else f"{role}-{staff_id[:8]}@wego.example"
    member = {"staff_id": staff_id, "email": email, "name": role.title(),
              "language": "en", "role": role, "active": True, "version": 1, "changed_by": "test"}
    with stack.db.session() as s, s.begin():
        store.apply_member(s, staff_tables, member, datetime.now(timezone.utc))
    return member["staff_id"]


def token_of(stack, role: str) -> str:
    """A personal API token of a new member of ``role`` (as staff.token_changed copies it)."""
    staff_id, secret, now = member_of(stack, role), store.new_token_secret(), datetime.now(timezone.utc)
    with stack.db.session() as s, s.begin():
        store.apply_token(s, staff_tables, {"token_id": str(uuid.uuid4()), "staff_id": staff_id, "name": "test",
                                            "token_hash": store.hash_secret(secret),
                                            "expires_at": now + timedelta(days=1)}, now)
    return secret


def browser_of(stack, role: str):
    """A test client with a staff session of a member of ``role`` (as intake's hand-off opens it)."""
    staff_id, now = member_of(stack, role), datetime.now(timezone.utc)
    with stack.db.session() as s, s.begin():
        secret = store.open_session(s, staff_tables, staff_id, "family-" + role, now)
    client = stack.apps["notify"].test_client()
    client.set_cookie("prize_staff_notify", secret)
    return client


def overrides(stack) -> int:
    with stack.db.session() as s:
        return s.scalar(select(func.count()).select_from(TemplateOverride))


def form_of(client, path: str) -> tuple[str, str]:
    r = client.get(path)
    assert r.status_code == 200, r.status_code
    page = r.get_data(as_text=True)
    return page, csrf_of(page)


def field(page: str, name: str) -> str:
    """A field's value as the browser shows it: an input's value, a textarea's text."""
    found = re.search(rf'<input[^>]*name="{name}" value="([^"]*)"', page) or \
        re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1))


def rendered(stack, name="finalist_notice", year=2026) -> tuple[str, str, str]:
    """The email as the worker renders it for an email of ``year``."""
    with stack.db.session() as s:
        return templates.render(name, "en", {**SAMPLES[name], "year": year}, s)


def test_the_list_page_shows_titles_and_purposes_by_audience(notify):
    r = browser_of(notify, "secretariat").get("/secretariat/templates")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    headings = [page.index(f">{label}</h2>") for label in (str(escape(t)) for t in AUDIENCES.values())]
    assert headings == sorted(headings), "audiences out of order"
    finalist = page[page.index('id="tpl-finalist_notice"'):]
    finalist = finalist[:finalist.index("</li>")]
    assert ">Finalist notice</a>" in finalist and str(escape(CATALOGUE["finalist_notice"].purpose)) in finalist
    assert "<code>results.released</code>" in finalist and "<code>application.advanced</code>" in finalist
    assert '<code class="codename"' in finalist and ">finalist_notice</code>" in finalist
    assert "English" in finalist and "Korean" in finalist
    jurors = page[page.index(">Jurors</h2>"):page.index(">The secretariat</h2>")]
    assert ">Jury invitation</a>" in jurors and ">Finalist notice</a>" not in jurors
    assert "<table" not in page  # cards: nothing scrolls sideways on a phone


def test_the_api_lists_the_catalogue_facts_beside_the_existing_fields(notify):
    client = notify.clients["notify"]
    items = {i["name"]: i for i in client.get("/api/templates", headers=auth(notify.secretariat_token())).get_json()["items"]}
    finalist = items["finalist_notice"]
    assert (finalist["title"], finalist["audience"]) == ("Finalist notice", "applicants")
    assert finalist["events"] == ["results.released", "application.advanced"]
    assert {"name": "reference", "description": "the application's reference, e.g. SSCP-2026-KHH001"} in finalist["variables"]
    assert [v["name"] for v in finalist["variables"]] == sorted(SAMPLES["finalist_notice"])
    assert [lang["language"] for lang in finalist["languages"]] == ["en", "ko", "pt"]  # the fields there were
    assert items["delivery_failed_alert"]["events"] == []


def test_through_the_api_only_administrators_and_operators_store_raw_jinja(notify):
    client = notify.clients["notify"]
    text, html_source = templates.file_sources("finalist_notice", "en")
    path, body = "/api/templates/finalist_notice/en/editions/2026", {"text_source": text, "html_source": html_source}
    for role, status in (("secretariat", 403), ("observer", 403), ("admin", 200)):
        r = client.put(path, headers=auth(token_of(notify, role)), json=body)
        assert r.status_code == status, (role, r.get_json())
        if role == "secretariat":
            assert "only an administrator writes the raw Jinja" in r.get_json()["message"]
    assert client.put(path, headers=auth(notify.secretariat_token()), json=body).get_json()["version"] == 2
    assert client.get("/api/templates", headers=auth(token_of(notify, "observer"))).status_code == 200


# --- the people's editor -----------------------------------------------------------------------------

def test_a_secretariat_member_edits_subject_and_text_and_the_next_email_uses_it(notify):
    client = browser_of(notify, "secretariat")
    page, csrf = form_of(client, PAGE + "?edition=2026")
    assert 'name="subject"' in page and 'name="body"' in page and 'name="text_source"' not in page
    assert "<code>{{ reference }}</code></dt><dd>the application&#39;s reference, e.g. SSCP-2026-KHH001</dd>" in page
    subject, body = field(page, "subject"), field(page, "body")
    assert subject == "Finalist of the Seoul Smart City Prize {{ year }}: {{ reference }} — {{ title }}"
    assert body.startswith("Dear {{ contact_name }},\n\nCongratulations:")
    body = body.replace("Congratulations: the jury", "Great news & congratulations <b>: the jury") \
        + "\nQuestions: https://wego.example/faq"
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "subject": "You are a finalist: {{ reference }}",
                                                  "body": body, "action": "save"})
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    with notify.db.session() as s:
        row = s.get(TemplateOverride, ("finalist_notice", "en", 2026))
        assert (row.version, row.updated_by) == (1, "secretariat:Secretariat <secretariat@wego.example>")
    subject, text, html_out = rendered(notify)
    assert subject == "You are a finalist: SSCP-2026-KHH001"
    assert "Great news & congratulations <b>: the jury" in text and "Dear Lin Mei-hua," in text
    assert "<p>Dear Lin Mei-hua,</p>" in html_out and "Great news &amp; congratulations &lt;b&gt;: the jury" in html_out
    assert '<a href="https://wego.example/faq">https://wego.example/faq</a>' in html_out
    assert rendered(notify, year=2027)[0].startswith("Finalist of the Seoul Smart City Prize 2027")  # its edition only
    again, _ = form_of(client, PAGE + "?edition=2026")  # the saved wording is what the editor shows next
    assert field(again, "subject") == "You are a finalist: {{ reference }}" and "Great news &amp; congratulations" in again


def test_the_preview_renders_the_typed_wording_without_saving(notify):
    client = browser_of(notify, "secretariat")
    page, csrf = form_of(client, PAGE + "?edition=2026")
    body = field(page, "body").replace("What happens next:", "Next steps:")
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "subject": "Preview only {{ reference }}",
                                                  "body": body, "action": "preview"})
    assert r.status_code == 200
    shown = r.get_data(as_text=True)
    assert '<strong id="preview-subject">Preview only SSCP-2026-KHH001</strong>' in shown
    assert "Next steps: the jury evaluates" in shown and "not saved yet" in shown
    assert 'srcdoc="<!doctype html>' in html.unescape(shown) or "srcdoc=\"&lt;!doctype html&gt;" in shown
    assert field(shown, "subject") == "Preview only {{ reference }}" and "Next steps:" in field(shown, "body")
    assert overrides(notify) == 0
    assert rendered(notify)[0].startswith("Finalist of the Seoul Smart City Prize 2026")


@pytest.mark.parametrize("body,said", [
    ("Dear {{ contact_name }},\n{% if year %}Hello{% endif %}", "only placeholders such as {{ reference }}"),
    ("Dear {# note #} {{ contact_name }}", "only placeholders such as {{ reference }}"),
    ("Dear {{ contact_name|upper }}", "only placeholders such as {{ reference }}"),
    ("Dear {{ mayor }}", "unknown placeholder {{ mayor }}; this email has: category_title, contact_name"),
    ("Dear {{ contact_name }} [[part 3]]", "there is no [[part 3]]"),
    ("Dear {{ contact_name", "a placeholder is not closed"),
    ("Dear {{ contact_name.__class__ }}", "not allowed: access to attribute"),
])
def test_markup_other_than_placeholders_is_refused_beside_the_text_and_kept(notify, body, said):
    client = browser_of(notify, "secretariat")
    _, csrf = form_of(client, PAGE + "?edition=2026")
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "subject": "Finalist {{ reference }}",
                                                  "body": body, "action": "save"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    errors = page[page.index('id="body-error"'):]
    assert str(escape(said)) in errors[:errors.index("</ul>")]
    assert field(page, "body") == body and field(page, "subject") == "Finalist {{ reference }}"
    assert 'aria-invalid="true" aria-describedby="body-error"' in page
    assert overrides(notify) == 0


def test_a_bad_subject_is_refused_beside_the_subject(notify):
    client = browser_of(notify, "secretariat")
    page, csrf = form_of(client, PAGE + "?edition=2026")
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "subject": "{% if year %}x{% endif %}",
                                                  "body": field(page, "body"), "action": "save"})
    assert r.status_code == 422 and 'id="subject-error"' in r.get_data(as_text=True) and overrides(notify) == 0


def test_conditions_are_kept_as_parts_that_people_move_but_do_not_write(notify):
    path = "/secretariat/templates/eligibility_result/en?edition=2026"
    client = browser_of(notify, "secretariat")
    page, csrf = form_of(client, path)
    subject, body = field(page, "subject"), field(page, "body")
    assert subject.startswith("[[part 1: if eligible]]: {{ reference }}") and "[[part 2: if eligible]]" in body
    r = client.post(path, data={"csrf_token": csrf, "subject": subject, "action": "save",
                                "body": body.replace("Dear {{ contact_name }},", "Hello {{ contact_name }},")})
    assert r.status_code == 303
    with notify.db.session() as s:
        sample = {**SAMPLES["eligibility_result"], "year": 2026}
        subject_out, text, _ = templates.render("eligibility_result", "en", sample, s)
        passed = templates.render("eligibility_result", "en", {**sample, "eligible": True}, s)
    assert subject_out.startswith("Eligibility screening: not eligible: SSCP-2026-KHH001")
    assert text.startswith("Hello Lin Mei-hua,") and "The application form is not signed by the mayor" in text
    assert passed[0].startswith("Eligibility screening passed") and "passed the eligibility screening" in passed[1]


# --- who gets which editor -----------------------------------------------------------------------------

def test_raw_sources_from_a_secretariat_member_are_refused(notify):
    client = browser_of(notify, "secretariat")
    _, csrf = form_of(client, PAGE + "?edition=2026")
    text, html_source = templates.file_sources("finalist_notice", "en")
    for data in ({"text_source": text, "html_source": html_source}, {"html_source": "<p>{{ title }}</p>"}):
        r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "action": "save", **data})
        assert r.status_code == 403 and "Only an administrator writes the raw Jinja" in r.get_data(as_text=True)
        r = client.post(PAGE + "?edition=2026&editor=raw", data={"csrf_token": csrf, "action": "preview", **data})
        assert r.status_code == 403
    assert overrides(notify) == 0


def test_an_administrator_still_edits_the_raw_jinja(notify):
    client = browser_of(notify, "admin")
    page, csrf = form_of(client, PAGE + "?edition=2026")
    assert 'name="text_source"' in page and 'name="html_source"' in page and 'name="body"' not in page
    assert 'editor=people' in page  # the people's editor is a link away
    people, _ = form_of(client, PAGE + "?edition=2026&editor=people")
    assert 'name="body"' in people
    text, html_source = templates.file_sources("finalist_notice", "en")
    text = text.replace("Congratulations:", "{% if year > 2025 %}Congratulations again:{% endif %}")
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "action": "save", "text_source": text,
                                                  "html_source": html_source.replace("<p>Dear", "<p class=x>Dear")})
    assert r.status_code == 303
    with notify.db.session() as s:
        row = s.get(TemplateOverride, ("finalist_notice", "en", 2026))
        assert "{% if year > 2025 %}" in row.text_source and row.updated_by == "secretariat:Admin <admin@wego.example>"
    assert "Congratulations again: the jury" in rendered(notify)[1]


def test_an_operators_token_counts_as_an_administrator(notify):
    client = notify.clients["notify"]
    assert sign_in(client, notify.secretariat_token()).status_code == 303
    page, csrf = form_of(client, PAGE + "?edition=2026")
    assert 'name="text_source"' in page
    text, html_source = templates.file_sources("finalist_notice", "en")
    r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "action": "preview",
                                                  "text_source": text.replace("Dear", "Hi"), "html_source": html_source})
    assert r.status_code == 200 and "Hi Lin Mei-hua," in r.get_data(as_text=True) and overrides(notify) == 0


@pytest.mark.parametrize("role", ["observer", "jury_chair"])
def test_observers_and_jury_chairs_read_but_cannot_save(notify, role):
    client = browser_of(notify, role)
    assert "Finalist notice" in client.get("/secretariat/templates").get_data(as_text=True)
    page, csrf = form_of(client, PAGE + "?edition=2026")
    assert 'id="read-only"' in page and "readonly" in page and ">Save for 2026<" not in page
    body = field(page, "body")
    for action in ("save", "preview", "delete"):
        r = client.post(PAGE + "?edition=2026", data={"csrf_token": csrf, "action": action,
                                                      "subject": "Changed {{ reference }}", "body": body})
        assert r.status_code == 403, action
    assert overrides(notify) == 0
