"""notify's preview of an email another service's page is about to cause: a signed link shows
the email as it will be sent (address, language, the edition's own wording), refuses a link that
was changed, forged or is too old, shows nothing for other templates, and is framed only by our
services. Nothing is recorded or sent."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.notify.models import Delivery, Recipient
from services.notify.ops import editions, suppressions
from shared.config import load_settings
from shared.email_preview import Preview, make_token, preview_url, read_token, PreviewRefused
from tests.conftest import env_for
from tests.support.stack import Stack

APP_ID = "5f0c8c55-1111-4222-8333-444455556666"
REASON = "The application form is not signed by the mayor."


@pytest.fixture(params=["embedded", "real"])
def notify(request, tmp_path):
    s = Stack(load_settings(env_for(request, tmp_path / "var", request.param)), services=("notify",))
    db = s.apps["notify"].extensions["prize"]["db"]
    with db.session() as session, session.begin():
        session.add(Recipient(application_id=APP_ID, reference="SSCP-2027-KHH001", title="Harbour buses",
                              category="tech_innovacity", year=2027, organisation="Kaohsiung City Government",
                              contact_name="Lin Mei-hua", contact_email="lin@kaohsiung.example", language="ko",
                              finalist_released=False, award_released=False))
    yield s
    s.stop()


def _path(stack, template="eligibility_result", application_id=APP_ID, **variables) -> str:
    url = preview_url(stack.settings, Preview(template, application_id, variables))
    assert url.startswith(stack.settings.notify_public_url + "/preview/")
    return url[len(stack.settings.notify_public_url):]


def test_a_preview_shows_the_email_as_it_will_be_sent_and_sends_nothing(notify):
    client = notify.clients["notify"]
    r = client.get(_path(notify, eligible=False, reason=REASON))
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    page = r.get_data(as_text=True)
    assert "lin@kaohsiung.example" in page and 'id="preview-language">ko<' in page  # their address and language
    assert REASON in page and "SSCP-2027-KHH001" in page
    assert r.headers["Cache-Control"] == "no-store"
    ancestors = r.headers["Content-Security-Policy"].split("frame-ancestors ")[1].split(";")[0]
    assert ancestors.split() == ["'self'", "http://127.0.0.1:8001", "http://127.0.0.1:8002"]
    body = client.get(_path(notify, eligible=False, reason=REASON).replace("/preview/", "/preview/", 1) + "/body.html")
    assert body.status_code == 200 and REASON in body.get_data(as_text=True)
    assert "sandbox" in body.headers["Content-Security-Policy"]
    db = notify.apps["notify"].extensions["prize"]["db"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0


def test_a_preview_uses_the_editions_own_wording(notify):
    text = ("{% block subject %}Ergebnis {{ reference }}{% endblock %}"
            "{% block text %}Grund: {{ reason }}{% endblock %}")
    editions.save(notify.apps["notify"].extensions["prize"]["db"], "eligibility_result", "ko", 2027, text,
                  "<p>Grund: {{ reason }}</p>", by="test")
    page = notify.clients["notify"].get(_path(notify, eligible=False, reason=REASON)).get_data(as_text=True)
    assert "Ergebnis SSCP-2027-KHH001" in page and f"Grund: {REASON}" in page


def test_a_suppressed_address_is_said(notify):
    db = notify.apps["notify"].extensions["prize"]["db"]
    with db.session() as s, s.begin():
        suppressions.suppress(s, "lin@kaohsiung.example", "bounce")
    page = notify.clients["notify"].get(_path(notify, eligible=True)).get_data(as_text=True)
    assert 'id="preview-suppressed"' in page


def test_changed_forged_or_old_links_and_other_templates_are_refused(notify):
    client, settings = notify.clients["notify"], notify.settings
    good = make_token(settings.secret_key, Preview("eligibility_result", APP_ID, {"eligible": True}))
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    forged = make_token("not-our-secret-key-not-our-secret", Preview("eligibility_result", APP_ID, {}))
    for token in (tampered, forged, "nonsense"):
        r = client.get(f"/preview/{token}")
        assert r.status_code == 403 and "not valid" in r.get_data(as_text=True)
        assert client.get(f"/preview/{token}/body.html").status_code == 403
    with pytest.raises(PreviewRefused):
        read_token(settings.secret_key, good, max_age=-1)
    # a template that is no applicant's decision (a sign-in link), and an application notify does not know
    assert client.get(_path(notify, template="signin_link")).status_code == 404
    r = client.get(_path(notify, application_id="00000000-0000-4000-8000-000000000000"))
    assert r.status_code == 404 and "not yet recorded" in r.get_data(as_text=True)


def test_variables_a_template_does_not_have_are_dropped(notify):
    page = notify.clients["notify"].get(_path(notify, eligible=True, contact_name="Somebody Else",
                                              reference="FORGED")).get_data(as_text=True)
    # the recipient's own details are notify's: the caller's variables cannot replace them
    assert "FORGED" not in page and "SSCP-2027-KHH001" in page
