"""The errors integrations raise, and the base of the bot's one error hierarchy (documented in `bot/errors.py`).

They are defined here so that `integrations/` never imports `bot/`; `bot.errors` re-exports these very classes
(so `from bot.errors import NotFound` and `except bot.errors.NotFound` match what an adapter raises) and adds
the errors only the bot raises (`SlackError`). The tree with what each class means is in `bot/errors.py`.
"""

from __future__ import annotations

__all__ = [
    "BackendCredentialsRejected",
    "BackendError",
    "BackendPermissionMissing",
    "ChatopsError",
    "ConfigError",
    "Conflict",
    "InvalidArguments",
    "Misconfigured",
    "ModelAuthError",
    "ModelError",
    "ModelNotFound",
    "ModelRateLimited",
    "ModelRequestError",
    "ModelUnavailable",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ToolError",
    "Unavailable",
]


class ChatopsError(Exception):
    """Base of every error the bot raises on purpose."""


class ConfigError(ChatopsError):
    """A setting, policy file or configuration value is missing or malformed."""


class Misconfigured(ChatopsError):
    """A service refused the bot's own configuration; `summary` says which setting to fix (safe to show: it names
    settings, never their values), `detail` what the service answered, `problem` identifies it for de-duplication."""

    def __init__(self, summary: str, *, problem: str, detail: str = "") -> None:
        super().__init__(f"{summary} ({detail})" if detail else summary)
        self.summary = summary
        self.problem = problem
        self.detail = detail


class ToolError(ChatopsError):
    """A tool call failed in a way the model should hear about (sent as an is_error tool result)."""


class InvalidArguments(ToolError):
    """The tool's arguments did not validate."""


class NotFound(ToolError):
    """The thing asked for does not exist (or the asker may not know it exists)."""


class PermissionDenied(ToolError):
    """The backend or the policy does not allow this."""


class Conflict(ToolError):
    """The request is well-formed but cannot apply to the current state."""


class BackendError(ToolError):
    """The ticket backend failed."""


class RateLimited(BackendError):
    """The backend answered 429."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(BackendError):
    """The backend is down, slow or answered something we cannot read."""


class BackendCredentialsRejected(BackendError, Misconfigured):
    """The ticket system refused the bot's credentials (not this call's arguments, not this user)."""


class BackendPermissionMissing(BackendError, Misconfigured):
    """The ticket system accepts the bot's credentials, but the bot's account lacks a permission this call needs
    (Jira's 403): an operator grants it (or means the bot not to have it); never worded as "you may not"."""


class ModelError(ChatopsError):
    """The model provider failed after bounded retries."""


class ModelRateLimited(ModelError):
    """429 or 529 overloaded."""


class ModelUnavailable(ModelError):
    """5xx, timeout or connection error."""


class ModelRequestError(ModelError):
    """A 4xx other than 429: the request itself was rejected."""


class ModelAuthError(ModelError, Misconfigured):
    """401/403: the model API key is invalid, revoked or lacks access."""


class ModelNotFound(ModelError, Misconfigured):
    """404 naming the model: the configured model does not exist for this key."""
