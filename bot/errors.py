"""The one error hierarchy. External errors are mapped to these at the adapter that sees them.

    ChatopsError
    ├── ConfigError                 bad settings, policy file or admin input; stops start-up with one message
    ├── Misconfigured               the service refuses the bot's own setup (a key, a model, a credential): an
    │                               operator must fix a setting. `summary` is the one wording the asker, the admins'
    │                               DM and `chatops doctor` all show; `problem` names it for "one DM per problem
    │                               per hour". Raised only as one of the classes marked (M) below.
    ├── ToolError                   goes back to the model as an `is_error` tool result (its str is the text)
    │   ├── InvalidArguments        arguments failed validation (field, expected, got)
    │   ├── NotFound                unknown ticket key, comment, person or project
    │   ├── PermissionDenied        the backend or the policy refused this call (the bot's credential works)
    │   ├── Conflict                the request cannot apply now (status not reachable, ambiguous person, ...)
    │   └── BackendError            the ticket system failed
    │       ├── RateLimited         429; `retry_after` seconds when known
    │       ├── Unavailable         5xx, timeouts, connection errors, malformed responses
    │       └── BackendCredentialsRejected  (M) Jira 401/403, or 404 with `X-Seraph-LoginReason` of a failed
    │                               login (Jira Cloud answers a bad token so): never "not found", never "not permitted"
    ├── ModelError                  the model provider failed after our bounded retries
    │   ├── ModelRateLimited        429 / 529 overloaded
    │   ├── ModelUnavailable        5xx, timeouts, connection errors
    │   ├── ModelRequestError       4xx other than 429: our request was wrong (a bug, never retried)
    │   ├── ModelAuthError          (M) 401/403: the API key is invalid or lacks access
    │   └── ModelNotFound           (M) 404 on the model: the configured model name is unknown to this key
    └── SlackError                  the Slack Web API failed after its retry handlers
"""

from __future__ import annotations


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


class SlackError(ChatopsError):
    """The Slack Web API failed after retries."""
