"""PRIZE_OIDC_*: the organisation's own OpenID Connect provider for staff sign-in (Settings.oidc)."""
from __future__ import annotations

import pytest

from shared.config import ConfigError, OidcSettings, load_settings

COMPLETE = {"PRIZE_OIDC_ISSUER": "https://login.example.org/realms/seoul",
            "PRIZE_OIDC_CLIENT_ID": "smart-city-prize", "PRIZE_OIDC_CLIENT_SECRET": "hunter2-secret"}


def _env(tmp_path, **extra) -> dict:
    return {"PRIZE_VAR_DIR": str(tmp_path / "var"), **extra}


def _refused(tmp_path, **extra) -> ConfigError:
    with pytest.raises(ConfigError) as exc_info:
        load_settings(_env(tmp_path, **extra))
    assert "\n" not in str(exc_info.value)
    return exc_info.value


def test_oidc_unset_or_empty_means_no_provider(tmp_path):
    assert load_settings(_env(tmp_path)).oidc is None
    assert load_settings(_env(tmp_path, PRIZE_OIDC_ISSUER="", PRIZE_OIDC_LABEL="Ignored")).oidc is None


def test_oidc_complete_settings_are_read_with_the_default_label(tmp_path):
    settings = load_settings(_env(tmp_path, **COMPLETE))
    assert settings.oidc == OidcSettings(issuer="https://login.example.org/realms/seoul", client_id="smart-city-prize",
                                         client_secret="hunter2-secret", label="your organisation's sign-in")
    assert "hunter2" not in repr(settings)


def test_oidc_label_is_read_stripped_and_blank_means_the_default(tmp_path):
    assert load_settings(_env(tmp_path, **COMPLETE, PRIZE_OIDC_LABEL=" Seoul Metropolitan Government ")
                         ).oidc.label == "Seoul Metropolitan Government"
    assert load_settings(_env(tmp_path, **COMPLETE, PRIZE_OIDC_LABEL="  ")).oidc.label == "your organisation's sign-in"


@pytest.mark.parametrize("issuer", ["http://localhost:8080/realms/test", "http://127.0.0.1:4000",
                                    "https://login.example.org/"])
def test_oidc_issuer_on_https_or_on_this_machine_is_accepted(tmp_path, issuer):
    assert load_settings(_env(tmp_path, **{**COMPLETE, "PRIZE_OIDC_ISSUER": issuer})).oidc.issuer == issuer


@pytest.mark.parametrize("issuer", ["http://login.example.org", "login.example.org", "https://", "ftp://login.example.org",
                                    "https://login.example.org?realm=x", "https://login.example.org/#x",
                                    "https://login.example.org /", "http://localhost.example.org"])
def test_oidc_issuer_not_https_is_refused_naming_the_variable(tmp_path, issuer):
    error = _refused(tmp_path, **{**COMPLETE, "PRIZE_OIDC_ISSUER": issuer})
    assert error.variable == "PRIZE_OIDC_ISSUER"
    assert "https://" in str(error) and repr(issuer) in str(error)


def test_oidc_issuer_with_a_password_is_refused_without_showing_it(tmp_path):
    error = _refused(tmp_path, **{**COMPLETE, "PRIZE_OIDC_ISSUER": "http://admin:hunter2@login.example.org"})
    assert error.variable == "PRIZE_OIDC_ISSUER" and "hunter2" not in str(error)


@pytest.mark.parametrize("missing", ["PRIZE_OIDC_CLIENT_ID", "PRIZE_OIDC_CLIENT_SECRET"])
def test_oidc_issuer_without_client_id_or_secret_is_refused_naming_it(tmp_path, missing):
    error = _refused(tmp_path, **{**COMPLETE, missing: ""})
    assert error.variable == missing
    assert "PRIZE_OIDC_ISSUER" in str(error)


def test_oidc_client_id_without_an_issuer_is_refused(tmp_path):
    error = _refused(tmp_path, PRIZE_OIDC_CLIENT_ID="smart-city-prize")
    assert error.variable == "PRIZE_OIDC_ISSUER" and "PRIZE_OIDC_CLIENT_ID" in str(error)
