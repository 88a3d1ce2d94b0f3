"""The one `Settings` object: built once at start-up from the environment (or .env) and passed down.

Nothing else in the program reads the environment. Tests build `Settings(...)` with keyword arguments.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

Role = Literal["admin", "member", "viewer"]


class Settings(BaseSettings):
    """Every setting of the bot; field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"

    # Model provider
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    chatops_model: str = Field(default="claude-sonnet-4-6", min_length=1)
    chatops_summary_model: str | None = None
    chatops_max_tokens: int = Field(default=4096, ge=256, le=64000)
    chatops_provider: Literal["anthropic", "bedrock", "vertex", "openai"] = "anthropic"
    chatops_thinking_budget: int = Field(default=0, ge=0, le=64000)
    """Extended thinking's token budget per request (Anthropic providers); 0 is off, else at least 1024."""
    aws_region: str | None = None
    anthropic_vertex_project_id: str | None = None
    cloud_ml_region: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    chatops_price_table: Path | None = None
    """YAML file of model prices for `chatops eval` (default: evals/prices.yaml)."""

    # Ticket backend: Jira when JIRA_URL is set, else the local database
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_pat: SecretStr | None = None
    jira_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    jira_max_read_retries: int = Field(default=3, ge=0, le=10)
    jira_retry_max_seconds: float = Field(default=10.0, ge=0, le=120)

    # Storage
    database_url: str = "sqlite:///chatops.db"

    # Policy
    chatops_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    chatops_default_role: Role = "member"
    chatops_policy_file: Path | None = None

    # MCP servers (a JSON or YAML file in the `mcpServers` shape)
    chatops_mcp_config: Path | None = None
    chatops_mcp_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    chatops_mcp_tools_budget_bytes: int = Field(default=20_000, ge=1_000, le=1_000_000)

    # Other bots whose messages and mentions are answered (as that bot's user); the bot's own never are
    chatops_allowed_bot_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Loop limits
    chatops_max_steps: int = Field(default=10, ge=1, le=50)
    chatops_max_tool_calls: int = Field(default=30, ge=1, le=200)
    chatops_max_calls_per_response: int = Field(default=8, ge=1, le=50)
    chatops_max_parallel_calls: int = Field(default=5, ge=1, le=50)
    chatops_max_tool_failures: int = Field(default=3, ge=1, le=10)
    chatops_tool_timeout_seconds: float = Field(default=20.0, gt=0, le=600)
    chatops_max_result_chars: int = Field(default=8000, ge=500, le=100_000)
    chatops_max_message_chars: int = Field(default=8000, ge=100, le=40_000)
    chatops_history_chars: int = Field(default=60_000, ge=2_000, le=1_000_000)

    # Model API retries (our own bounded backoff; the SDK's own retries are off)
    chatops_llm_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    chatops_llm_max_retries: int = Field(default=3, ge=0, le=10)
    chatops_llm_retry_base_seconds: float = Field(default=0.5, ge=0, le=30)
    chatops_llm_retry_max_seconds: float = Field(default=8.0, ge=0, le=120)

    # Approvals
    chatops_approval_timeout_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    # Durable turns (bot/agent/recovery.py)
    chatops_turn_lease_seconds: float = Field(default=30.0, ge=0.5, le=3600)
    chatops_recovery_window_seconds: float = Field(default=300.0, ge=0, le=24 * 3600)
    chatops_shutdown_seconds: float = Field(default=30.0, ge=0, le=3600)
    chatops_database_wait_seconds: float = Field(default=300.0, ge=0, le=24 * 3600)

    # How often a process checks whether an admin changed the configuration (0: on every request). A change
    # made through this process applies at once; one made through another process within this many seconds.
    chatops_config_refresh_seconds: float = Field(default=2.0, ge=0, le=300)

    # Housekeeping
    chatops_retention_days: int = Field(default=90, ge=1, le=3650)

    # Public base URL of the bot's HTTP server (links to local-store tickets: <URL>/tickets/OPS-12, unfurled in Slack)
    chatops_public_url: str | None = None

    # Logging
    chatops_log_format: Literal["text", "json"] = "text"
    chatops_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # OpenTelemetry traces (bot/tracing.py): off unless an OTLP/HTTP endpoint is set (the standard OTEL_* names).
    # OTEL_EXPORTER_OTLP_ENDPOINT is the collector's base URL (/v1/traces is added); the TRACES one is used as is.
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_service_name: str = "chatops"
    # `key=value,key2=value2` (values URL-encoded), sent with every export: a collector's API key, say.
    otel_exporter_otlp_headers: SecretStr | None = None
    otel_exporter_otlp_traces_headers: SecretStr | None = None
    otel_sdk_disabled: bool = False
    # Attach prompts, answers and tool arguments/results to spans (secrets masked). Off: never any text.
    chatops_trace_content: bool = False

    @property
    def otlp_traces_endpoint(self) -> str | None:
        """Where spans are sent, or None: tracing off (also when OTEL_SDK_DISABLED=true)."""
        if self.otel_sdk_disabled:
            return None
        if self.otel_exporter_otlp_traces_endpoint:
            return self.otel_exporter_otlp_traces_endpoint
        if self.otel_exporter_otlp_endpoint:
            return self.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        return None

    @property
    def otlp_traces_headers(self) -> dict[str, str]:
        """The export headers (OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS), decoded."""
        raw = self.otel_exporter_otlp_traces_headers or self.otel_exporter_otlp_headers
        if raw is None:
            return {}
        pairs = (part.split("=", 1) for part in raw.get_secret_value().split(",") if "=" in part)
        return {unquote(k).strip().lower(): unquote(v).strip() for k, v in pairs if k.strip()}

    @field_validator("chatops_admins", "chatops_allowed_bot_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @field_validator("chatops_admins")
    @classmethod
    def _check_admin_ids(cls, value: list[str]) -> list[str]:
        for user_id in value:
            if user_id[:1] not in ("U", "W") or not user_id.isalnum():
                raise ValueError(f"Slack user ids look like U0123ABCD, got {user_id!r}")
        return value

    @field_validator("chatops_allowed_bot_ids")
    @classmethod
    def _check_bot_ids(cls, value: list[str]) -> list[str]:
        for bot_id in value:
            if not bot_id.startswith("B") or not bot_id.isalnum() or not bot_id.isupper():
                raise ValueError(f"Slack bot ids look like B0123ABCD (not the bot's user id U…), got {bot_id!r}")
        return value

    @field_validator("chatops_thinking_budget")
    @classmethod
    def _check_thinking_budget(cls, value: int) -> int:
        if 0 < value < 1024:
            raise ValueError("extended thinking needs a budget of at least 1024 tokens (0 turns it off)")
        return value

    @field_validator("jira_url", "anthropic_base_url", "chatops_public_url", "openai_base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {mask_url(value)!r}")
        return value.rstrip("/")

    @field_validator("slack_api_url")
    @classmethod
    def _check_slack_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        expected = "expected sqlite:///path.db or postgresql+psycopg://user:password@host:5432/db"
        if not value.startswith(("sqlite", "postgresql", "postgres:")):
            raise ValueError(f"{expected}, got {mask_url(value)!r}")
        if value.startswith(("postgresql://", "postgres://")):
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        from sqlalchemy.engine import make_url

        try:
            url = make_url(value)
            _ = url.port  # parsed lazily by some drivers' URL classes; fail here, not at the first query
        except Exception:  # noqa: BLE001 - SQLAlchemy's parse errors repeat the whole URL, password included
            raise ValueError(f"{expected}; this one cannot be parsed: {mask_url(value)!r}") from None
        return value

    @model_validator(mode="after")
    def _check_jira_credentials(self) -> Settings:
        if self.jira_url and not (self.jira_pat or (self.jira_email and self.jira_api_token)):
            raise ValueError(
                "JIRA_URL is set but no credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) "
                "or JIRA_PAT (Jira Data Center)"
            )
        return self

    @property
    def ticket_backend(self) -> Literal["jira", "local"]:
        """Which ticket backend the settings select."""
        return "jira" if self.jira_url else "local"


def environment() -> dict[str, str]:
    """The process environment, for `${VAR}` in the CHATOPS_MCP_CONFIG file (read here, like every setting)."""
    import os

    return dict(os.environ)


def load_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment, or fail with one message naming each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    """Turn pydantic's errors into lines of 'SETTING_NAME: what is expected, got what'."""
    lines = ["Invalid settings (environment or .env):"]
    for err in exc.errors():
        name = ".".join(str(part) for part in err["loc"]).upper() or "SETTINGS"
        message = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        secret = any(word in name for word in ("TOKEN", "SECRET", "KEY", "PAT", "PASSWORD"))
        hidden = secret or isinstance(got, dict) or got is None
        shown = "" if hidden else f" (got {mask_url(str(got))[:60]!r})"
        lines.append(f"  {name}: {message}{shown}")
    return "\n".join(lines)


_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*:/*[^/?#@\s:]*:)\S*@")  # greedy: a password may hold @ or /
_QUERY_PASSWORD = re.compile(r"(?P<head>[?&](?:password|pass|pwd)=)[^&#\s]*", re.IGNORECASE)


def mask_url(url: str) -> str:
    """`url` with its password hidden (`user:***@host`, `?password=***`), for every message and log line.

    Works on text that does not parse as a URL, since that is exactly when it gets echoed."""
    masked = _URL_PASSWORD.sub(lambda m: f"{m['head']}***@", url)
    return _QUERY_PASSWORD.sub(lambda m: f"{m['head']}***", masked)
