"""The adapters get plain values from the bot's settings; the error classes they raise are the bot's own."""

from __future__ import annotations

from pydantic import SecretStr

import bot.errors
import integrations.errors
from bot.settings import Settings
from bot.wiring_adapters import jira_tickets, llm_config


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_model_config_carries_every_model_setting() -> None:
    settings = _settings(
        chatops_provider="openai", chatops_model="m-1", openai_api_key=SecretStr("sk-test-1"),
        openai_base_url="http://localhost:8000/v1", chatops_llm_timeout_seconds=7.0, chatops_llm_max_retries=1,
        chatops_llm_retry_base_seconds=0.1, chatops_llm_retry_max_seconds=2.0, chatops_thinking_budget=2048,
        aws_region="eu-north-1", cloud_ml_region="us-east5", anthropic_vertex_project_id="proj",
    )  # fmt: skip
    config = llm_config(settings)
    assert (config.provider, config.model, config.openai_api_key, config.openai_base_url) == (
        "openai", "m-1", "sk-test-1", "http://localhost:8000/v1",
    )  # fmt: skip
    assert (config.timeout_seconds, config.max_retries, config.retry_base_seconds, config.retry_max_seconds) == (7.0, 1, 0.1, 2.0)
    assert (config.thinking_budget, config.aws_region, config.cloud_ml_region, config.vertex_project_id) == (
        2048, "eu-north-1", "us-east5", "proj",
    )  # fmt: skip


def test_a_printed_or_logged_model_config_never_shows_a_key() -> None:
    config = llm_config(_settings(anthropic_api_key=SecretStr("sk-ant-secret-1"), openai_api_key=SecretStr("sk-secret-2")))
    assert config.anthropic_api_key == "sk-ant-secret-1"
    assert "secret" not in repr(config) and "secret" not in str(config)


def test_the_jira_backend_gets_the_site_and_credentials_from_the_settings() -> None:
    settings = _settings(jira_url="https://example.atlassian.net", jira_email="bot@example.com", jira_api_token=SecretStr("t-1"), jira_timeout_seconds=3.0)
    backend = jira_tickets(settings)
    assert backend.client.url == "https://example.atlassian.net"
    assert backend.client.timeout_seconds == 3.0


def test_the_errors_adapters_raise_are_the_bot_errors_the_surfaces_catch() -> None:
    for name in integrations.errors.__all__:
        assert getattr(bot.errors, name) is getattr(integrations.errors, name), name
    assert issubclass(bot.errors.SlackError, bot.errors.ChatopsError)
