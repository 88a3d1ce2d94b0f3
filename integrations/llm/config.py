"""`LLMConfig`: the plain values a model client is built from (`integrations/llm/providers.build_llm`).

The bot maps its `Settings` to this (`bot/wiring_adapters.py`); the adapters never see `Settings`. Keys are plain
strings kept out of the dataclass's repr, so a logged or printed config never shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROVIDERS = ("anthropic", "bedrock", "vertex", "openai")


@dataclass(frozen=True)
class LLMConfig:
    """Which provider, which model, how to reach it, and how hard to retry. Field names follow the settings
    they come from (`CHATOPS_PROVIDER` → `provider`, `ANTHROPIC_API_KEY` → `anthropic_api_key`, ...)."""

    provider: str = "anthropic"
    model: str = "claude-sonnet-4-6"
    anthropic_api_key: str | None = field(default=None, repr=False)
    anthropic_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_base_url: str | None = None
    aws_region: str | None = None
    cloud_ml_region: str | None = None
    vertex_project_id: str | None = None
    timeout_seconds: float = 60.0
    max_retries: int = 3
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 8.0
    thinking_budget: int = 0
    """Extended thinking's token budget per request (Messages API providers only); 0 is off."""
