"""Settings → the plain values the integration adapters take (integrations never see `Settings`).

`bot/wiring.py`'s `build_llm` and `build_tickets` call these; `chatops doctor` and `chatops eval` use the same
mapping, so every part of the bot builds a model client or a Jira backend from the same settings the same way.
Secrets are unwrapped here, at the last moment, and handed straight to the client that sends them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.settings import Settings
from integrations.llm.config import LLMConfig

if TYPE_CHECKING:
    from integrations.llm.base import LLM
    from integrations.tickets.jira import JiraTickets
    from integrations.tickets.jira_client import OnFailure


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def llm_config(settings: Settings) -> LLMConfig:
    """The model client's configuration: CHATOPS_PROVIDER, CHATOPS_MODEL, the provider's keys and endpoints,
    CHATOPS_LLM_* timeouts and retries, CHATOPS_THINKING_BUDGET."""
    return LLMConfig(
        provider=settings.chatops_provider,
        model=settings.chatops_model,
        anthropic_api_key=_secret(settings.anthropic_api_key),
        anthropic_base_url=settings.anthropic_base_url,
        openai_api_key=_secret(settings.openai_api_key),
        openai_base_url=settings.openai_base_url,
        aws_region=settings.aws_region,
        cloud_ml_region=settings.cloud_ml_region,
        vertex_project_id=settings.anthropic_vertex_project_id,
        timeout_seconds=settings.chatops_llm_timeout_seconds,
        max_retries=settings.chatops_llm_max_retries,
        retry_base_seconds=settings.chatops_llm_retry_base_seconds,
        retry_max_seconds=settings.chatops_llm_retry_max_seconds,
        thinking_budget=settings.chatops_thinking_budget,
    )


def build_llm(settings: Settings, *, http_client: Any = None) -> LLM | None:
    """The configured provider's client, or None when the Anthropic API has no key (the caller says what to set);
    a provider that cannot be configured raises ConfigError naming the setting. `http_client` is for tests."""
    from integrations.llm.providers import build_llm as build_provider

    return build_provider(llm_config(settings), http_client=http_client)


def jira_tickets(settings: Settings, *, on_failure: OnFailure | None = None) -> JiraTickets:
    """The Jira backend for JIRA_URL with JIRA_EMAIL + JIRA_API_TOKEN (Cloud) or JIRA_PAT (Data Center); no I/O."""
    from integrations.tickets.jira import JiraTickets

    return JiraTickets.connect(
        url=settings.jira_url or "",
        email=settings.jira_email,
        api_token=_secret(settings.jira_api_token),
        pat=_secret(settings.jira_pat),
        timeout_seconds=settings.jira_timeout_seconds,
        max_read_retries=settings.jira_max_read_retries,
        retry_max_seconds=settings.jira_retry_max_seconds,
        on_failure=on_failure,
    )
