"""Which model provider serves the bot: `CHATOPS_PROVIDER=anthropic|bedrock|vertex|openai`, and the client for it.

- `anthropic`: the Anthropic API (`ANTHROPIC_API_KEY`, optional `ANTHROPIC_BASE_URL`).
- `bedrock`: Claude on Amazon Bedrock through the anthropic SDK's `AsyncAnthropicBedrock` (`AWS_REGION` and the
  usual AWS credential chain — keys, profile, SSO, instance role — or `AWS_BEARER_TOKEN_BEDROCK`). The model is a
  Bedrock model or inference-profile id (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`) or an ARN.
- `vertex`: Claude on Google Vertex AI through `AsyncAnthropicVertex` (`CLOUD_ML_REGION`,
  `ANTHROPIC_VERTEX_PROJECT_ID`, Application Default Credentials). Models look like `claude-sonnet-4-5@20250929`.
- `openai`: any OpenAI-compatible Chat Completions server through the `openai` SDK (`OPENAI_BASE_URL`,
  `OPENAI_API_KEY`; local servers such as vLLM, Ollama or llama.cpp accept any key).

Bedrock and Vertex speak the Messages API, so they share `AnthropicLLM` (prompt caching and extended thinking
included); only the client differs. `CHATOPS_MODEL` names the model in every case. Both cloud endpoints are sent
the `anthropic_version` their documentation names, in the body (the SDK's default is the first-party header date).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from integrations.errors import ConfigError
from integrations.llm.config import PROVIDERS, LLMConfig

if TYPE_CHECKING:
    from integrations.llm.base import LLM

__all__ = ["BEDROCK_VERSION", "PROVIDERS", "VERTEX_VERSION", "LLMConfig", "build_llm"]
BEDROCK_VERSION = "bedrock-2023-05-31"
VERTEX_VERSION = "vertex-2023-10-16"


def build_llm(config: LLMConfig, *, http_client: Any = None) -> LLM | None:
    """The configured provider's client; None when the Anthropic API has no key (callers say what to set).

    Raises `ConfigError` naming the setting when a provider cannot be configured (no region, no key, ...).
    `http_client` (an httpx2.AsyncClient) is for tests and benchmarks.
    """
    provider = config.provider
    if provider == "anthropic":
        if config.anthropic_api_key is None:
            return None
        from anthropic import AsyncAnthropic

        from integrations.llm.anthropic import AnthropicLLM

        client = AsyncAnthropic(api_key=config.anthropic_api_key, base_url=config.anthropic_base_url, max_retries=0, timeout=config.timeout_seconds, http_client=http_client, open_telemetry=False)
        return AnthropicLLM.from_config(config, client=client)
    if provider == "bedrock":
        return _bedrock(config, http_client)
    if provider == "vertex":
        return _vertex(config, http_client)
    if provider == "openai":
        return _openai(config, http_client)
    raise ConfigError(f"CHATOPS_PROVIDER: unknown provider {provider!r}; use one of {', '.join(PROVIDERS)}")


def _bedrock(config: LLMConfig, http_client: Any) -> LLM:
    try:
        import botocore  # noqa: F401  (SigV4 signing and the event-stream decoder)
        from anthropic import AsyncAnthropicBedrock
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ConfigError(f"CHATOPS_PROVIDER=bedrock needs boto3 and botocore ({exc})") from None
    from integrations.llm.anthropic import AnthropicLLM

    try:
        client = AsyncAnthropicBedrock(
            aws_region=config.aws_region,
            max_retries=0,
            timeout=config.timeout_seconds,
            http_client=http_client,
            open_telemetry=False,
        )
    except Exception as exc:  # the SDK raises ValueError without a region; boto3 errors on a broken profile
        raise ConfigError(
            f"CHATOPS_PROVIDER=bedrock: {exc}. Set AWS_REGION (e.g. us-east-1) and AWS credentials "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or AWS_BEARER_TOKEN_BEDROCK)"
        ) from None
    llm = AnthropicLLM.from_config(config, client=client)
    llm.extra_body = {"anthropic_version": BEDROCK_VERSION}
    return llm


def _vertex(config: LLMConfig, http_client: Any) -> LLM:
    from anthropic import AsyncAnthropicVertex

    from integrations.llm.anthropic import AnthropicLLM

    missing = [name for name, value in (("CLOUD_ML_REGION", config.cloud_ml_region), ("ANTHROPIC_VERTEX_PROJECT_ID", config.vertex_project_id)) if not value]
    if missing:
        raise ConfigError(
            f"CHATOPS_PROVIDER=vertex needs {' and '.join(missing)} (e.g. CLOUD_ML_REGION=us-east5 or global, "
            "ANTHROPIC_VERTEX_PROJECT_ID=my-gcp-project); credentials come from Application Default Credentials "
            "(gcloud auth application-default login, or GOOGLE_APPLICATION_CREDENTIALS)"
        )
    client = AsyncAnthropicVertex(
        region=config.cloud_ml_region or "",
        project_id=config.vertex_project_id or "",
        max_retries=0,
        timeout=config.timeout_seconds,
        http_client=http_client,
        open_telemetry=False,
    )
    llm = AnthropicLLM.from_config(config, client=client)
    llm.extra_body = {"anthropic_version": VERTEX_VERSION}
    return llm


def _openai(config: LLMConfig, http_client: Any) -> LLM:
    from integrations.llm.openai_compat import OpenAICompatLLM

    if config.openai_api_key is None or not config.openai_api_key.strip():
        raise ConfigError(
            "CHATOPS_PROVIDER=openai needs OPENAI_API_KEY (any non-empty value for a local server such as vLLM, "
            "Ollama or llama.cpp) and usually OPENAI_BASE_URL (e.g. http://localhost:8000/v1)"
        )
    from integrations.llm.tool_choice import ForcedToolChoice

    # Ollama drops `tool_choice`: a forced tool is asked for once more when the answer ignored it
    return ForcedToolChoice(OpenAICompatLLM.from_config(config, http_client=http_client))

