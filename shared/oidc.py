"""Staff sign-in through an organisation's own OpenID Connect provider (Authlib; no Flask).

``OidcSettings(issuer, client_id, client_secret, label)`` is ``Settings.oidc``, None when
``PRIZE_OIDC_ISSUER`` is unset (defined in shared.config, which stays light to import; named here
too). A sign-in page makes an ``OidcClient(settings, redirect_uri)``, ``redirect_uri`` being its
callback's absolute URL as registered at the provider, and uses it in two steps with the
browser's session (Flask's ``session``) as ``store``:

- ``begin(store) -> str``: the provider's authorization URL to redirect to (authorization code
  flow, PKCE S256, ``state``, ``nonce``, scope ``openid email profile``); state, nonce and code
  verifier wait in ``store[STORE_KEY]``.
- ``finish(query_args, store) -> VerifiedIdentity(email, name, subject)`` on the callback:
  checks ``state`` (and RFC 9207's ``iss`` when sent), exchanges the code, verifies the ID token
  (``verify_id_token``: signature by the provider's JWKS, issuer, audience, nonce, expiry) and
  reads the email from it, or from the userinfo endpoint when the ID token leaves it out (as
  providers may in the code flow). The email must be there with ``email_verified`` true; it comes
  back stripped and lower-cased, ``name`` is "" when the provider gives none. The pending sign-in
  is taken out of ``store`` first, so a callback works once; a second ``begin`` in the same
  browser replaces the first.

Anything that goes wrong raises ``OidcRefused(message, reason=..., status=...)``, a
``shared.refusals.Refused`` whose message can be shown to the person as it is; ``reason`` is one
of ``REASONS``. The discovery document (``<issuer>/.well-known/openid-configuration``) and the
JWKS are cached per issuer for an hour; an ID token signed with a key id not in the cached JWKS
fetches the JWKS again once (the provider rotated its keys).
"""
from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from .config import OidcSettings
from .refusals import Refused

__all__ = ["OidcClient", "OidcRefused", "OidcSettings", "VerifiedIdentity", "verify_id_token", "STORE_KEY", "REASONS"]

SCOPE = "openid email profile"
STORE_KEY = "oidc_pending"
TIMEOUT_SECONDS = 10  # each call to the provider; a person is waiting
CACHE_SECONDS = 3600
LEEWAY_SECONDS = 60  # clock skew between us and the provider
REASONS = ("state", "provider_error", "token_exchange", "id_token", "email_missing", "email_unverified",
           "unreachable", "misconfigured")


@dataclass(frozen=True)
class VerifiedIdentity:
    email: str
    name: str
    subject: str


class OidcRefused(Refused):
    """A sign-in through the provider that did not happen; ``message`` is for the person."""

    def __init__(self, message: str, *, reason: str, status: int = 401):
        assert reason in REASONS, reason
        super().__init__(status, message, reason=reason)
        self.reason = reason


def _unreachable(label: str, error: requests.RequestException) -> OidcRefused:
    what = (f"answered HTTP {error.response.status_code}" if error.response is not None
            else "could not be reached")
    return OidcRefused(f"{label} {what}. Try again in a few minutes, or sign in with an email link.",
                       reason="unreachable", status=503)


def _misconfigured(label: str, problem: str) -> OidcRefused:
    return OidcRefused(f"{label} is not set up correctly: {problem}. Please tell the secretariat.",
                       reason="misconfigured", status=502)


class _ProviderDocuments:
    """One issuer's discovery document and JWKS, fetched when first needed and after an hour."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self._lock = threading.Lock()
        self._metadata: dict | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    def metadata(self) -> dict:
        with self._lock:
            if self._metadata is None or time.monotonic() - self._fetched_at > CACHE_SECONDS:
                self._metadata, self._keys = self._discover(), None
                self._fetched_at = time.monotonic()
            return self._metadata

    def key_set(self, *, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                self._keys = KeySet.import_key_set(_get_json(metadata["jwks_uri"]))
            return self._keys

    def _discover(self) -> dict:
        metadata = _get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        # OpenID Connect Discovery 1.0, 4.3: the document must name exactly the issuer we asked
        if metadata.get("issuer") != self.issuer:
            raise ValueError(f"its discovery document names the issuer {metadata.get('issuer')!r}, "
                             f"not {self.issuer!r} (PRIZE_OIDC_ISSUER must be exactly that)")
        missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not metadata.get(k)]
        if missing:
            raise ValueError(f"its discovery document lacks {', '.join(missing)}")
        return metadata


def _get_json(url: str) -> dict:
    response = requests.get(url, timeout=TIMEOUT_SECONDS, headers={"Accept": "application/json"})
    response.raise_for_status()
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise ValueError(f"{url} did not answer with a JSON object")
    return document


_documents: dict[str, _ProviderDocuments] = {}


def _documents_of(issuer: str) -> _ProviderDocuments:
    return _documents.setdefault(issuer, _ProviderDocuments(issuer))


def verify_id_token(id_token: str, *, key_set: KeySet, issuer: str, client_id: str, nonce: str,
                    access_token: str | None = None, algorithms: list[str] | None = None,
                    now: int | None = None) -> dict:
    """The ID token's claims once its signature, issuer, audience, nonce, expiry (and at_hash,
    azp when present) are checked; raises joserfc's ``JoseError`` otherwise."""
    if not nonce:
        raise ValueError("a nonce is required: without one a replayed ID token would pass")
    registry = JWSRegistry(algorithms=[a for a in algorithms or () if a != "none"] or None,
                           strict_check_header=False)
    token = jwt.decode(id_token, key_set, registry=registry)
    claims = CodeIDToken(token.claims, token.header,
                         {"iss": {"essential": True, "value": issuer},
                          "aud": {"essential": True, "value": client_id},
                          "exp": {"essential": True}},
                         {"nonce": nonce, "client_id": client_id, "access_token": access_token})
    claims.validate(now=now, leeway=LEEWAY_SECONDS)
    return dict(claims)


class OidcClient:
    def __init__(self, settings: OidcSettings, redirect_uri: str):
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._documents = _documents_of(settings.issuer)

    def begin(self, store: MutableMapping) -> str:
        """The provider's authorization URL; what ``finish`` needs waits in ``store``."""
        metadata = self._metadata()
        pending = {"state": generate_token(32), "nonce": generate_token(32), "code_verifier": generate_token(64)}
        with self._session(metadata) as session:
            url, _ = session.create_authorization_url(
                metadata["authorization_endpoint"], state=pending["state"],
                code_verifier=pending["code_verifier"], nonce=pending["nonce"])
        store[STORE_KEY] = pending  # assigned whole, so a Flask session knows it changed
        return url

    def finish(self, query_args: Mapping, store: MutableMapping) -> VerifiedIdentity:
        """The person the provider vouches for, from the callback's query arguments."""
        label = self.settings.label
        pending = store.pop(STORE_KEY, None)
        self._check_answer(query_args, pending if isinstance(pending, dict) else {})
        metadata = self._metadata()
        token = self._exchange(metadata, query_args["code"], pending["code_verifier"])
        try:
            claims = self._verified_claims(metadata, token, pending["nonce"])
        except (JoseError, ValueError) as error:
            raise OidcRefused(f"{label} sent an identity that could not be verified ({error}). "
                              "Please start the sign-in again.", reason="id_token") from error
        if "email" not in claims and metadata.get("userinfo_endpoint"):
            claims = self._userinfo(metadata, token, claims)
        return self._identity(claims)

    def _check_answer(self, query_args: Mapping, pending: dict) -> None:
        label = self.settings.label
        state = query_args.get("state") or ""
        if (not all(pending.get(k) for k in ("state", "nonce", "code_verifier"))
                or not hmac.compare_digest(str(pending["state"]), str(state))):
            raise OidcRefused("This sign-in link is not the one this browser started, or it was already used. "
                              "Please start the sign-in again.", reason="state", status=400)
        if "iss" in query_args and query_args["iss"] != self.settings.issuer:  # RFC 9207: mix-up attacks
            raise OidcRefused(f"This sign-in answer did not come from {label}. Please start the sign-in again.",
                              reason="state", status=400)
        if query_args.get("error"):
            description = str(query_args.get("error_description") or query_args["error"])[:200]
            raise OidcRefused(f"{label} did not sign you in: {description}.", reason="provider_error")
        if not query_args.get("code"):
            raise OidcRefused(f"{label} sent no authorization code. Please start the sign-in again.",
                              reason="provider_error")

    def _metadata(self) -> dict:
        label = self.settings.label
        try:
            return self._documents.metadata()
        except requests.HTTPError as error:
            if error.response is not None and error.response.status_code < 500:  # 404: a wrong issuer
                raise _misconfigured(label, f"its discovery document answered HTTP {error.response.status_code}"
                                     ) from error
            raise _unreachable(label, error) from error
        except requests.RequestException as error:
            raise _unreachable(label, error) from error
        except ValueError as error:
            raise _misconfigured(label, str(error)) from error

    def _key_set(self, *, refresh: bool = False) -> KeySet:
        try:
            return self._documents.key_set(refresh=refresh)
        except requests.RequestException as error:
            raise _unreachable(self.settings.label, error) from error
        except (ValueError, JoseError) as error:
            raise _misconfigured(self.settings.label, f"its JWKS could not be read ({error})") from error

    def _session(self, metadata: dict) -> OAuth2Session:
        supported = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = "client_secret_basic" if "client_secret_basic" in supported else "client_secret_post"
        return OAuth2Session(self.settings.client_id, self.settings.client_secret, scope=SCOPE,
                             redirect_uri=self.redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method=method, default_timeout=TIMEOUT_SECONDS)

    def _exchange(self, metadata: dict, code: str, code_verifier: str) -> dict:
        label = self.settings.label
        try:
            with self._session(metadata) as session:
                token = session.fetch_token(metadata["token_endpoint"], grant_type="authorization_code",
                                            code=code, code_verifier=code_verifier)
        except OAuthError as error:  # the token endpoint said no: a used or expired code, a wrong secret
            raise OidcRefused(f"{label} refused to complete the sign-in ({error.error}). Please start it again.",
                              reason="token_exchange") from error
        except requests.RequestException as error:
            raise _unreachable(label, error) from error
        except ValueError as error:
            raise OidcRefused(f"{label} answered the sign-in with something unreadable. Please start it again.",
                              reason="token_exchange") from error
        if not token.get("id_token"):
            raise OidcRefused(f"{label} sent no ID token. Please tell the secretariat.", reason="token_exchange")
        return token

    def _verified_claims(self, metadata: dict, token: dict, nonce: str) -> dict:
        check = dict(issuer=self.settings.issuer, client_id=self.settings.client_id, nonce=nonce,
                     access_token=token.get("access_token"),
                     algorithms=metadata.get("id_token_signing_alg_values_supported"))
        try:
            return verify_id_token(token["id_token"], key_set=self._key_set(), **check)
        except InvalidKeyIdError:  # the provider may have rotated its keys since we cached them
            return verify_id_token(token["id_token"], key_set=self._key_set(refresh=True), **check)

    def _userinfo(self, metadata: dict, token: dict, claims: dict) -> dict:
        try:
            with self._session(metadata) as session:
                session.token = token
                response = session.get(metadata["userinfo_endpoint"])
            response.raise_for_status()
            userinfo = response.json()
        except (requests.RequestException, ValueError) as error:
            raise OidcRefused(f"{self.settings.label} did not tell us who you are (its userinfo endpoint failed). "
                              "Please try again.", reason="token_exchange") from error
        if not isinstance(userinfo, dict) or userinfo.get("sub") != claims["sub"]:  # OIDC Core 5.3.2
            raise OidcRefused(f"{self.settings.label} described another person than the one signed in. "
                              "Please try again.", reason="id_token")
        return {**userinfo, **claims}

    def _identity(self, claims: dict) -> VerifiedIdentity:
        label = self.settings.label
        email = claims.get("email")
        if not isinstance(email, str) or not email.strip():
            raise OidcRefused(f"{label} did not tell us your email address, so we cannot find your staff account. "
                              "Ask your provider's administrator to share it.", reason="email_missing", status=403)
        if claims.get("email_verified") is not True:
            raise OidcRefused(f"{label} has not verified your email address {email.strip()}, so we cannot use it "
                              "to sign you in. Sign in with an email link instead.",
                              reason="email_unverified", status=403)
        name = claims.get("name")
        return VerifiedIdentity(email=email.strip().lower(), name=name.strip() if isinstance(name, str) else "",
                                subject=str(claims["sub"]))
