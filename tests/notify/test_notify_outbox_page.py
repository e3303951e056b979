"""The secretariat's outbox (issue 5): every email with its status, filtered and paged; one
email as it was rendered (its HTML in a sandboxed frame under a strict policy); Resend, which
sends the same email again as a new delivery through a real SMTP server, or says why not (a
suppressed address). Also the templates pages: preview, save (errors shown inline), delete."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.notify.ops import sns, templates
from services.notify.models import Delivery, TemplateOverride
from shared.auth import issue_token
from shared.config import load_settings
from shared.signin import new_secret
from tests.conftest import embedded_env, env_for
from tests.notify.test_notify_decisions import publish, submitted
from tests.support.stack import Stack, auth, wait_until

T0 = datetime(2026, 7, 14, 9, 0, tzinfo=timezone.utc)


def add_delivery(db, n: int = 0, **fields) -> str:
    """A delivery row as the worker leaves it (sent unless said otherwise)."""
    row = {"id": str(uuid.uuid4()), "event_id": str(uuid.uuid4()), "event_type": "application.submitted",
           "correlation_id": "c", "template": "submission_ack", "language": "en",
           "recipient": f"person{n}@kcg.example.tw", "subject": f"Application received: SSCP-2026-{n:04d}",
           "body_text": f"Dear person {n}\n", "body_html": f"<p>Dear <b>person {n}</b></p>", "status": "sent",
           "attempts": 1, "created_at": T0 + timedelta(minutes=n), "next_attempt_at": T0 + timedelta(minutes=n),
           "sent_at": T0 + timedelta(minutes=n, seconds=2)}
    row.update(fields)
    row.setdefault("key", f"{row['event_id']}:{row['template']}:{row['recipient']}")
    with db.session() as s, s.begin():
        s.add(Delivery(**row))
    return row["id"]


def rows(db) -> list[Delivery]:
    with db.session() as s:
        found = s.scalars(select(Delivery).order_by(Delivery.created_at)).all()
        s.expunge_all()
    return found


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, token: str):
    r = client.get("/secretariat/signin")
    return client.post("/secretariat/signin", data={"csrf_token": csrf_of(r.get_data(as_text=True)), "token": token})


@pytest.fixture
def notify(tmp_path, smtp_server):
    s = Stack(load_settings(embedded_env(tmp_path / "var", PRIZE_MAIL_URL=smtp_server.url)), services=("notify",))
    s.db = s.apps["notify"].extensions["prize"]["db"]
    s.client = s.clients["notify"]
    yield s
    s.stop()


@pytest.fixture
def office(notify):
    """notify's test client signed in to the pages as the secretariat."""
    r = sign_in(notify.client, notify.secretariat_token())
    assert r.status_code == 303 and r.headers["Location"].endswith("/secretariat/outbox")
    return notify.client


# --- resend through the API, end to end on both stacks ------------------------------------------------

@pytest.fixture(params=["embedded", "real"])
def stack(request, tmp_path, smtp_server):
    env = env_for(request, tmp_path / "var", request.param, PRIZE_MAIL_URL=smtp_server.url)
    s = Stack(load_settings(env), services=("review", "notify")).start_workers()
    yield s
    s.stop()


def test_resend_sends_the_same_email_again_as_a_new_delivery(stack, smtp_server):
    address = "ana.souza@guarulhos.example.br"
    _, event = submitted("SSCP-2026-GRU004", "Guarulhos listens", address, "en", organisation="Prefeitura de Guarulhos")
    publish(stack, event)
    db, client, sec = stack.apps["notify"].extensions["prize"]["db"], stack.clients["notify"], auth(stack.secretariat_token())
    assert wait_until(lambda: [d for d in rows(db) if d.status == "sent"], timeout=60)
    [original] = rows(db)

    r = client.post(f"/api/deliveries/{original.id}/resend", headers=sec)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "sent" and body["delivery"]["id"] != original.id
    assert body["delivery"]["key"] == f"{original.key}:resend:1"
    received = smtp_server.wait_for(2)
    assert [m["to"] for m in received] == [[address], [address]]
    first, second = (m["message"] for m in received)
    assert str(first["Subject"]) == str(second["Subject"]) == original.subject
    assert smtp_server.text_of(first) == smtp_server.text_of(second)
    assert second["X-Prize-Delivery-Key"].strip() == f"{original.key}:resend:1"
    r = client.post(f"/api/deliveries/{original.id}/resend", headers=sec)
    assert r.status_code == 201 and r.get_json()["delivery"]["key"] == f"{original.key}:resend:2"
    assert len(smtp_server.wait_for(3)) == 3
    after = rows(db)
    assert len(after) == 3 and {d.event_id for d in after} == {original.event_id}
    assert [(d.status, d.template, d.recipient) for d in after] == [("sent", "submission_ack", address)] * 3
    assert client.post(f"/api/deliveries/{uuid.uuid4()}/resend", headers=sec).status_code == 404


def test_resend_to_a_suppressed_address_is_refused_saying_why(notify, office, smtp_server):
    delivery_id = add_delivery(notify.db, 1, recipient="mei.lin@kcg.example.tw")
    with notify.db.session() as s, s.begin():
        sns.suppress(s, "Mei.Lin@kcg.example.tw", "bounce", "Permanent/General 5.1.1", "0100-x")
    r = notify.client.post(f"/api/deliveries/{delivery_id}/resend", headers=auth(notify.secretariat_token()))
    assert r.status_code == 409
    assert r.get_json()["message"] == ("not resent: mei.lin@kcg.example.tw is on the suppression list (bounce "
                                       "(Permanent/General 5.1.1)); clear it from the list before resending")
    page = office.get(f"/secretariat/outbox/{delivery_id}")
    r = office.post(f"/secretariat/outbox/{delivery_id}/resend", data={"csrf_token": csrf_of(page.get_data(as_text=True))},
                    follow_redirects=True)
    assert r.status_code == 200
    assert "Not resent: mei.lin@kcg.example.tw is on the suppression list (bounce" in r.get_data(as_text=True)
    assert len(rows(notify.db)) == 1 and smtp_server.messages == []


# --- the outbox pages -----------------------------------------------------------------------------------

def test_the_outbox_asks_to_sign_in_and_refuses_other_roles(notify):
    client = notify.client
    r = client.get("/secretariat/outbox?status=sent")
    assert r.status_code == 302 and r.headers["Location"].startswith(
        "http://127.0.0.1:8001/staff/go?service=notify&next=")  # staff sign in at intake, handed back here
    juror = issue_token(notify.settings.secret_key, "juror", "j-1")
    r = sign_in(client, juror)
    assert r.status_code == 401 and "not a valid secretariat token" in r.get_data(as_text=True)
    assert client.get("/secretariat/outbox").status_code == 302
    r = client.get("/secretariat/outbox", headers=auth(juror))  # a bearer token of another role
    assert r.status_code == 403 and "for the secretariat" in r.get_data(as_text=True)
    applicant = issue_token(notify.settings.secret_key, "applicant", "a-1")
    delivery_id = add_delivery(notify.db)
    for path in ("/secretariat/outbox", f"/secretariat/outbox/{delivery_id}", f"/secretariat/outbox/{delivery_id}/body.html",
                 "/secretariat/templates", "/secretariat/templates/submission_ack/en?edition=2027"):
        assert client.get(path, headers=auth(applicant)).status_code == 403, path
        assert client.get(path).status_code == 302, path
    r = client.post(f"/secretariat/outbox/{delivery_id}/resend", headers=auth(applicant))
    assert r.status_code == 403 and len(rows(notify.db)) == 1
    r = sign_in(client, notify.secretariat_token())
    assert r.status_code == 303
    assert client.get("/secretariat/outbox").status_code == 200


def test_the_outbox_lists_filters_and_pages(notify, office):
    for n in range(55):
        add_delivery(notify.db, n)
    add_delivery(notify.db, 60, status="failed", recipient="Ana_Souza@Guarulhos.example.br", attempts=3,
                 last_error="550 5.1.1 user unknown", template="eligibility_result", event_type="application.screened",
                 sent_at=None)
    add_delivery(notify.db, 61, status="pending", recipient="anaxsouza@other.example.org", template="juror_invited",
                 event_type="juror.invited", sent_at=None)
    r = office.get("/secretariat/outbox")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "57 emails, page 1 of 2" in html
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert html.index("anaxsouza@other.example.org") < html.index("Ana_Souza@Guarulhos.example.br")  # newest first
    assert "550 5.1.1 user unknown" in html and "person54@kcg.example.tw" in html
    assert "person0@kcg.example.tw" not in html  # on page 2
    page2 = office.get("/secretariat/outbox?page=2").get_data(as_text=True)
    assert "person0@kcg.example.tw" in page2 and "person54@kcg.example.tw" not in page2 and "page 2 of 2" in page2

    def listed(query: str) -> list[str]:
        text = office.get(f"/secretariat/outbox?{query}").get_data(as_text=True)
        return re.findall(r'<td class="wrap">([^<]+)</td>', text)
    assert listed("status=failed") == ["Ana_Souza@Guarulhos.example.br"]
    assert listed("status=pending&template=juror_invited") == ["anaxsouza@other.example.org"]
    assert listed("event_type=application.screened") == ["Ana_Souza@Guarulhos.example.br"]
    assert listed("recipient=ana_souza") == ["Ana_Souza@Guarulhos.example.br"]  # "_" is a letter, not a wildcard
    assert sorted(listed("recipient=ANA")) == ["Ana_Souza@Guarulhos.example.br", "anaxsouza@other.example.org"]
    assert len(listed("recipient=person1")) == 11 and listed("template=signin_link") == []
    assert "No email matches." in office.get("/secretariat/outbox?recipient=nobody").get_data(as_text=True)
    assert "57 emails, page 1 of 2" in office.get("/secretariat/outbox?page=x").get_data(as_text=True)


def test_one_email_as_rendered_and_resent_from_the_page(notify, office, smtp_server):
    delivery_id = add_delivery(notify.db, 7, recipient="lin.meihua@kcg.example.tw",
                               subject="Application received: 高雄 <harbour>",
                               body_html='<p onclick="x()">Dear <b>Lin</b></p><script>alert(1)</script>')
    r = office.get(f"/secretariat/outbox/{delivery_id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "Application received: 高雄 &lt;harbour&gt;" in html
    assert "Dear person 7" in html and "<script>alert(1)" not in html
    assert f'<iframe class="email-html" title="The email\'s HTML" sandbox src="/secretariat/outbox/{delivery_id}/body.html">' in html
    body = office.get(f"/secretariat/outbox/{delivery_id}/body.html")
    assert body.get_data(as_text=True) == '<p onclick="x()">Dear <b>Lin</b></p><script>alert(1)</script>'
    policy = body.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert office.get(f"/secretariat/outbox/{uuid.uuid4()}").status_code == 404

    # without the form's token: refused, nothing sent
    assert office.post(f"/secretariat/outbox/{delivery_id}/resend", data={}).status_code == 403
    assert office.post(f"/secretariat/outbox/{delivery_id}/resend", data={"csrf_token": "forged"}).status_code == 403
    assert len(rows(notify.db)) == 1
    r = office.post(f"/secretariat/outbox/{delivery_id}/resend", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 303
    new = [d for d in rows(notify.db) if d.id != delivery_id]
    assert len(new) == 1 and r.headers["Location"].endswith(f"/secretariat/outbox/{new[0].id}")
    assert (new[0].status, new[0].recipient, new[0].subject) == ("sent", "lin.meihua@kcg.example.tw",
                                                                  "Application received: 高雄 <harbour>")
    [message] = smtp_server.wait_for(1)
    assert message["to"] == ["lin.meihua@kcg.example.tw"] and smtp_server.text_of(message["message"]) == "Dear person 7\n"
    shown = office.get(r.headers["Location"]).get_data(as_text=True)
    assert "Resent to lin.meihua@kcg.example.tw." in shown
    original = office.get(f"/secretariat/outbox/{delivery_id}").get_data(as_text=True)
    assert f"/secretariat/outbox/{new[0].id}" in original  # the original lists its resends


def _signin_delivery(db, n: int, secret: str, purpose: str = "browser", **fields) -> str:
    """A sign-in email as the worker renders and stores it: the link or code whole."""
    url = ("https://apply.example.org/api/signin/token" if purpose == "api"
           else f"https://apply.example.org/signin/{secret}")
    subject, text, html = templates.render("signin_link", "en", {
        "contact_name": "Lin Mei-hua", "purpose": purpose, "url": url, "code": secret if purpose == "api" else "",
        "place": "the applicant portal", "site": "portal", "minutes": 15, "expires_at": "2026-07-14 09:15 UTC"})
    return add_delivery(db, n, template="signin_link", event_type="signin.requested", subject=subject,
                        body_text=text, body_html=html, **fields)


def test_the_outbox_shows_sign_in_links_and_codes_masked_and_resends_them_whole(notify, office, smtp_server):
    """The secretariat must not be able to sign in as an applicant or a juror from the outbox: a
    live link or code is masked in everything these pages and the API show, never in the email."""
    link, code, invitation = new_secret(), new_secret(), new_secret()
    browser_id = _signin_delivery(notify.db, 1, link, recipient="lin.meihua@kcg.example.tw", status="failed",
                                  last_error=f"552 message refused: https://apply.example.org/signin/{link}")
    api_id = _signin_delivery(notify.db, 2, code, purpose="api")
    subject, text, html = templates.render("juror_invited", "en", {
        "name": "Dr. Ana Souza", "url": f"https://jury.example.org/signin/{invitation}", "expires_at": "2026-07-21"})
    invitation_id = add_delivery(notify.db, 3, template="juror_invited", event_type="juror.invited", subject=subject,
                                 body_text=text, body_html=html)
    sec = auth(notify.secretariat_token())
    for delivery_id, secret in ((browser_id, link), (api_id, code), (invitation_id, invitation)):
        page = office.get(f"/secretariat/outbox/{delivery_id}").get_data(as_text=True)
        body = office.get(f"/secretariat/outbox/{delivery_id}/body.html").get_data(as_text=True)
        assert secret not in page and secret not in body, delivery_id
        assert "••••••" in re.search(r'<pre class="email-text" id="text">(.*?)</pre>', page, re.S).group(1)
        assert "••••••" in body
        for path in (f"/api/deliveries/{delivery_id}", "/api/deliveries"):
            assert secret not in notify.client.get(path, headers=sec).get_data(as_text=True), path
    shown = office.get(f"/secretariat/outbox/{browser_id}").get_data(as_text=True)
    assert "552 message refused: https://apply.example.org/signin/••••••" in shown
    listing = office.get("/secretariat/outbox").get_data(as_text=True)
    assert not any(secret in listing for secret in (link, code, invitation))
    stored = {d.id: d for d in rows(notify.db)}
    assert link in stored[browser_id].body_text and code in stored[api_id].body_html  # kept as sent

    page = office.get(f"/secretariat/outbox/{browser_id}").get_data(as_text=True)
    r = office.post(f"/secretariat/outbox/{browser_id}/resend", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 303
    [message] = smtp_server.wait_for(1)
    assert f"https://apply.example.org/signin/{link}" in smtp_server.text_of(message["message"])


# --- the templates pages -------------------------------------------------------------------------------------

def test_the_templates_pages_preview_save_with_errors_inline_and_delete(notify, office):
    listing = office.get("/secretariat/templates").get_data(as_text=True)
    assert "/secretariat/templates/submission_ack/ko" in listing and "delivery_failed_alert" in listing
    page = office.get("/secretariat/templates/submission_ack/en?edition=2027")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "The 2027 emails use the file." in html
    assert "Application received: SSCP-2026-KHH001" in html and "Seoul Smart City Prize 2027" in html  # the preview
    text = re.search(r'<textarea id="text_source"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert text.startswith("{% block subject %}Application received:")

    broken = {"csrf_token": csrf_of(html), "text_source": "{% block subject %}{{ mayor }}{% endblock %}",
              "html_source": "<p>{% if %}</p>"}
    r = office.post("/secretariat/templates/submission_ack/en?edition=2027", data=broken)
    shown = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "Subject and text: unknown variable mayor" in shown and "HTML: syntax error on line 1" in shown
    assert "{{ mayor }}" in shown  # what was typed stays in the form
    with notify.db.session() as s:
        assert s.scalars(select(TemplateOverride)).all() == []

    good = {"csrf_token": csrf_of(html), "action": "save", "html_source": "<p>Dear {{ contact_name }}</p>",
            "text_source": "{% block subject %}Edition {{ year }}: {{ reference }}{% endblock %}{% block text %}Hello{% endblock %}"}
    r = office.post("/secretariat/templates/submission_ack/en?edition=2027", data=good, follow_redirects=True)
    shown = r.get_data(as_text=True)
    assert r.status_code == 200 and "Saved: submission_ack (en) emails of 2027 use this wording" in shown
    assert "Edition 2027: SSCP-2026-KHH001" in shown and "version 1" in shown
    preview = office.get("/secretariat/templates/submission_ack/en/preview.html?edition=2027")
    assert preview.get_data(as_text=True) == "<p>Dear Lin Mei-hua</p>" and "sandbox" in preview.headers["Content-Security-Policy"]
    assert ">2027</a>" in office.get("/secretariat/templates").get_data(as_text=True)

    r = office.post("/secretariat/templates/submission_ack/en?edition=2027",
                    data={"csrf_token": csrf_of(html), "action": "delete"}, follow_redirects=True)
    assert "The 2027 wording is the file&#39;s again." in r.get_data(as_text=True)
    with notify.db.session() as s:
        assert s.scalars(select(TemplateOverride)).all() == []
    assert office.post("/secretariat/templates/submission_ack/en?edition=2027", data=good | {"csrf_token": "x"}).status_code == 403
    assert office.get("/secretariat/templates/nope/en").status_code == 404
