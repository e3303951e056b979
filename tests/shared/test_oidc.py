"""shared.oidc: staff sign-in through an OpenID Connect provider, against a real one (oidc-provider
under node, tests/support/oidc.py), and its ID-token checks on tokens signed here."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, InvalidClaimError, JoseError, MissingClaimError
from joserfc.jwk import KeySet, RSAKey

from shared import config
from shared.oidc import STORE_KEY, OidcClient, OidcRefused, OidcSettings, VerifiedIdentity, verify_id_token
from shared.refusals import Refused
from tests.support.oidc import RunningProvider, running_provider


def _client(provider, **changes) -> OidcClient:
    return OidcClient(provider.settings(**changes), provider.redirect_uri)


def _signed_in(provider, login="chair", client=None):
    """(client, store, callback query) after ``login`` signed in at the provider."""
    client = client or _client(provider)
    store = {}
    query = provider.authorize(client.begin(store), login)
    return client, store, query


def _refusal(client, query, store) -> OidcRefused:
    with pytest.raises(OidcRefused) as refused:
        client.finish(query, store)
    return refused.value


# --- the whole flow against the real provider --------------------------------------------------

def test_oidc_settings_are_the_ones_settings_carry():
    assert OidcSettings is config.OidcSettings

def test_begin_asks_for_the_code_flow_with_pkce_state_and_nonce(oidc_provider):
    store = {}
    url = _client(oidc_provider).begin(store)
    args = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    pending = store[STORE_KEY]
    assert url.startswith(oidc_provider.issuer + "/auth?")
    assert args["response_type"] == "code"
    assert args["scope"] == "openid email profile"
    assert args["client_id"] == oidc_provider.client_id
    assert args["redirect_uri"] == oidc_provider.redirect_uri
    assert args["state"] == pending["state"] and args["nonce"] == pending["nonce"]
    assert args["code_challenge_method"] == "S256"
    assert pending["code_verifier"] not in url


def test_finish_after_signing_in_at_the_provider_gives_the_verified_identity(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    assert set(query) >= {"code", "state"}
    identity = client.finish(query, store)
    assert identity == VerifiedIdentity(email="chair@example.org", name="Ji-woo Park", subject="chair")
    assert STORE_KEY not in store


def test_finish_with_email_in_the_id_token_gives_the_verified_identity():
    with running_provider(claims_in_id_token=True) as provider:
        client, store, query = _signed_in(provider)
        assert client.finish(query, store) == VerifiedIdentity("chair@example.org", "Ji-woo Park", "chair")


def test_finish_with_another_state_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    refused = _refusal(client, {**query, "state": "not-" + query["state"]}, store)
    assert (refused.reason, refused.status) == ("state", 400)
    assert isinstance(refused, Refused) and refused.body()["reason"] == "state"
    assert "start the sign-in again" in refused.message


def test_finish_without_a_pending_sign_in_is_refused(oidc_provider):
    client, _, query = _signed_in(oidc_provider)
    assert _refusal(client, query, {}).reason == "state"


def test_finish_with_an_iss_of_another_provider_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    assert query["iss"] == oidc_provider.issuer  # RFC 9207: oidc-provider says who answers
    assert _refusal(client, {**query, "iss": "https://elsewhere.example.org"}, store).reason == "state"


def test_finish_twice_with_the_same_code_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    replayed_store = {STORE_KEY: dict(store[STORE_KEY])}  # as if the state and verifier were stolen too
    client.finish(query, store)
    refused = _refusal(client, query, replayed_store)
    assert refused.reason == "token_exchange" and "invalid_grant" in refused.message


def test_finish_with_the_same_store_twice_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    client.finish(query, store)
    assert _refusal(client, query, store).reason == "state"


def test_finish_with_a_tampered_nonce_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    store[STORE_KEY] = {**store[STORE_KEY], "nonce": "another-nonce"}
    refused = _refusal(client, query, store)
    assert refused.reason == "id_token" and "nonce" in refused.message


def test_finish_with_a_tampered_code_verifier_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    store[STORE_KEY] = {**store[STORE_KEY], "code_verifier": "x" * 64}
    refused = _refusal(client, query, store)
    assert refused.reason == "token_exchange" and "invalid_grant" in refused.message


def test_finish_with_a_wrong_client_secret_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider)
    wrong = _client(oidc_provider, client_secret="not-the-secret")
    refused = _refusal(wrong, query, store)
    assert refused.reason == "token_exchange" and "invalid_client" in refused.message


def test_finish_for_an_unverified_email_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider, "unverified")
    refused = _refusal(client, query, store)
    assert (refused.reason, refused.status) == ("email_unverified", 403)
    assert "unverified@example.org" in refused.message


def test_finish_for_an_account_without_email_is_refused(oidc_provider):
    client, store, query = _signed_in(oidc_provider, "no-email")
    assert _refusal(client, query, store).reason == "email_missing"


def test_finish_after_the_person_denies_at_the_provider_is_refused(oidc_provider):
    client = _client(oidc_provider)
    store = {}
    query = oidc_provider.authorize(client.begin(store), deny=True)
    assert query["error"] == "access_denied" and "code" not in query
    refused = _refusal(client, query, store)
    assert refused.reason == "provider_error"
    assert refused.message == "Test Provider did not sign you in: End-User aborted interaction."


def test_begin_with_an_issuer_that_is_down_is_refused(free_port):
    down = RunningProvider(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    with pytest.raises(OidcRefused) as refused:
        _client(down).begin({})
    assert (refused.value.reason, refused.value.status) == ("unreachable", 503)
    assert refused.value.message.startswith("Test Provider could not be reached.")


def test_finish_when_the_provider_went_down_after_the_sign_in_is_refused():
    with running_provider() as provider:
        client, store, query = _signed_in(provider)
    assert _refusal(client, query, store).reason == "unreachable"


def test_begin_with_an_issuer_unlike_the_discovery_document_is_refused(oidc_provider):
    with pytest.raises(OidcRefused) as refused:
        _client(oidc_provider, issuer=oidc_provider.issuer + "/").begin({})
    assert (refused.value.reason, refused.value.status) == ("misconfigured", 502)
    assert oidc_provider.issuer in refused.value.message


# --- ID-token checks, on tokens signed here ------------------------------------------------------

ISSUER, CLIENT_ID, NONCE = "https://id.example.org", "prize", "n-0123456789"


@pytest.fixture(scope="module")
def signing_key():
    return RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})


def _id_token(key, **changes) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "u1", "iat": now, "exp": now + 300, "nonce": NONCE}
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, key)


def _verify(token: str, key, nonce: str = NONCE) -> dict:
    return verify_id_token(token, key_set=KeySet([key]), issuer=ISSUER, client_id=CLIENT_ID, nonce=nonce,
                           algorithms=["RS256"])


def test_verify_id_token_with_every_check_passing_gives_the_claims(signing_key):
    assert _verify(_id_token(signing_key, email="a@example.org"), signing_key)["email"] == "a@example.org"


@pytest.mark.parametrize("claim,value,error", [
    ("aud", "another-client", InvalidClaimError),
    ("iss", "https://elsewhere.example.org", InvalidClaimError),
    ("nonce", "another-nonce", InvalidClaimError),
    ("nonce", None, MissingClaimError),
    ("exp", int(time.time()) - 3600, ExpiredTokenError),
    ("exp", None, MissingClaimError),
])
def test_verify_id_token_with_a_wrong_claim_is_refused(signing_key, claim, value, error):
    with pytest.raises(error):
        _verify(_id_token(signing_key, **{claim: value}), signing_key)


def test_verify_id_token_signed_by_another_key_is_refused(signing_key):
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1", "alg": "RS256", "use": "sig"})
    with pytest.raises(BadSignatureError):
        _verify(_id_token(impostor), signing_key)


def test_verify_id_token_without_a_signature_is_refused(signing_key):
    header, payload, _ = _id_token(signing_key).split(".")
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."  # {"alg":"none"}
    with pytest.raises(JoseError):
        _verify(unsigned, signing_key)
    with pytest.raises(BadSignatureError):
        _verify(f"{header}.{payload}.", signing_key)


def test_verify_id_token_without_an_expected_nonce_is_a_programming_error(signing_key):
    with pytest.raises(ValueError):
        _verify(_id_token(signing_key), signing_key, nonce="")
