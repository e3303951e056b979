"""What the secretariat is shown of an email (services/notify/ops/masking.py): its one-time sign-in
links and codes masked, everything else as it was rendered; the email itself is sent whole."""
from __future__ import annotations

import pytest

from services.notify.ops import templates
from services.notify.ops.masking import MASK, mask_signin_secrets
from shared.signin import new_secret

SIGNIN = {"contact_name": "Lin Mei-hua", "place": "the applicant portal", "site": "portal", "minutes": 15,
          "expires_at": "2026-07-14 09:15 UTC"}


def test_the_token_of_a_sign_in_link_is_masked_and_the_rest_of_the_address_kept():
    token = new_secret()
    text = f"Open this link:\n\n  https://apply.example.org/signin/{token}\n\nIt works only once."
    assert mask_signin_secrets(text) == (f"Open this link:\n\n  https://apply.example.org/signin/{MASK}\n\n"
                                         "It works only once.")
    assert mask_signin_secrets(f"https://jury.example.org/prize/signin/{token}?lang=ko.") == (
        f"https://jury.example.org/prize/signin/{MASK}?lang=ko.")
    assert mask_signin_secrets("/signin/abc") == f"/signin/{MASK}"  # whatever its length


def test_a_link_in_html_is_masked_in_the_address_and_the_text():
    token = new_secret()
    html = (f'<p><a href="https://apply.example.org/signin/{token}">Sign in</a></p>'
            f'<p style="word-break:break-all">https://apply.example.org/signin/{token}</p>')
    masked = mask_signin_secrets(html)
    assert token not in masked and masked.count(f"/signin/{MASK}") == 2
    assert masked.startswith('<p><a href="https://apply.example.org/signin/') and ">Sign in</a>" in masked


def test_an_api_code_is_masked_wherever_it_stands():
    code = new_secret()
    text = (f"Your one-time code:\n\n  {code}\n\n"
            f"  curl -X POST https://apply.example.org/api/signin/token -d '{{\"token\": \"{code}\"}}'\n")
    masked = mask_signin_secrets(text)
    assert code not in masked and masked.count(MASK) == 2
    assert "https://apply.example.org/api/signin/token -d" in masked  # the API's address is no secret
    html = f"<code>{{&#34;token&#34;: &#34;{code}&#34;}}</code>"
    assert mask_signin_secrets(html) == f"<code>{{&#34;token&#34;: &#34;{MASK}&#34;}}</code>"


@pytest.mark.parametrize("text", [
    "Application received: SSCP-2026-KHH001", "https://apply.example.org/signin", "/api/signin/token",
    "Delivery 0b9e1c9a-54a4-4d5c-8d4b-1a0f3e6f7a21 for 서울스마트도시상",
    "https://apply.example.org/portal/applications/0b9e1c9a-54a4-4d5c-8d4b-1a0f3e6f7a21/ceremony",
    "a-short_word-of-42-url-safe-characters-xxx", "",
])
def test_text_without_a_sign_in_secret_is_left_as_it_is(text):
    assert mask_signin_secrets(text) == text


def test_masking_twice_is_masking_once():
    text = f"https://apply.example.org/signin/{new_secret()} and {new_secret()}"
    assert mask_signin_secrets(mask_signin_secrets(text)) == mask_signin_secrets(text)


def test_every_secret_shared_signin_makes_is_masked():
    """The code is found by its shape (shared.signin.new_secret's): hold the two together."""
    for _ in range(500):
        secret = new_secret()
        assert mask_signin_secrets(f"code: {secret}.") == f"code: {MASK}."


@pytest.mark.parametrize("language", ["en", "ko"])
@pytest.mark.parametrize("case", ["browser", "already registered", "api"])
def test_no_sign_in_email_shows_its_secret_once_masked(language, case):
    token = new_secret()
    url, code = (("https://apply.example.org/api/signin/token", token) if case == "api"
                 else (f"https://apply.example.org/signin/{token}", ""))
    context = dict(SIGNIN, purpose="api" if case == "api" else "browser", url=url, code=code,
                   already_registered=case == "already registered")
    rendered = templates.render("signin_link", language, context)
    assert all(token in part for part in rendered[1:])  # the email itself carries it
    for part in rendered:
        assert token not in mask_signin_secrets(part)
    assert MASK in mask_signin_secrets(rendered[1]) and MASK in mask_signin_secrets(rendered[2])


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_jurors_invitation_shows_its_link_masked(language):
    token = new_secret()
    rendered = templates.render("juror_invited", language, {
        "name": "Dr. Ana Souza", "url": f"https://jury.example.org/signin/{token}", "expires_at": "2026-07-21 09:00 UTC"})
    assert token in rendered[1]
    assert not any(token in mask_signin_secrets(part) for part in rendered)
