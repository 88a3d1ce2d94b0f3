"""Settings: one object, built from the environment, failing with a message that names the setting."""

from __future__ import annotations

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


def test_defaults_select_the_local_backend_on_a_sqlite_file() -> None:
    settings = load_settings(_env_file=None)
    assert settings.ticket_backend == "local"
    assert settings.database_url == "sqlite:///chatops.db"
    assert settings.chatops_default_role == "member"


def test_admins_are_read_from_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_ADMINS", "U111, U222,W333")
    assert load_settings(_env_file=None).chatops_admins == ["U111", "U222", "W333"]


def test_a_malformed_value_names_the_setting_and_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_MAX_STEPS", "lots")
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert "CHATOPS_MAX_STEPS" in str(err.value)
    assert "integer" in str(err.value)


def test_an_unknown_default_role_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATOPS_DEFAULT_ROLE", "owner")
    with pytest.raises(ConfigError, match="CHATOPS_DEFAULT_ROLE"):
        load_settings(_env_file=None)


def test_jira_url_without_credentials_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_URL", "https://example.atlassian.net")
    with pytest.raises(ConfigError, match="JIRA_EMAIL and JIRA_API_TOKEN"):
        load_settings(_env_file=None)


def test_secret_values_never_appear_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_URL", "not-a-url")
    monkeypatch.setenv("JIRA_PAT", "super-secret-pat")
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=None)
    assert "super-secret-pat" not in str(err.value)
    assert "JIRA_URL" in str(err.value)


def test_a_plain_postgres_url_gets_the_psycopg_driver() -> None:
    settings = load_settings(_env_file=None, database_url="postgresql://u@db:5432/chatops")
    assert settings.database_url == "postgresql+psycopg://u@db:5432/chatops"


def test_settings_read_a_dotenv_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CHATOPS_MODEL=claude-test-model\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().chatops_model == "claude-test-model"


def test_database_fixture_is_real(database) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    assert asyncio.run(database.ping()) is True
