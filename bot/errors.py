"""The one error hierarchy. External errors are mapped to these at the adapter that sees them.

Every class but `SlackError` is defined in `integrations/errors.py` (adapters raise them, and `integrations/`
never imports `bot/`) and re-exported here: the same class objects, so `except` clauses match either name.

    ChatopsError
    ├── ConfigError                 bad settings, policy file or admin input; stops start-up with one message
    ├── Misconfigured               the service refuses the bot's own setup (a key, a model, a credential): an
    │                               operator must fix a setting. `summary` is the one wording the asker, the admins'
    │                               DM and `chatops doctor` all show; `problem` names it for "one DM per problem
    │                               per hour". Raised only as one of the classes marked (M) below.
    ├── ToolError                   goes back to the model as an `is_error` tool result (its str is the text)
    │   ├── InvalidArguments        arguments failed validation (field, expected, got)
    │   ├── NotFound                unknown ticket key, comment, person or project
    │   ├── PermissionDenied        the policy (or Slack) refused this call for this asker
    │   ├── Conflict                the request cannot apply now (status not reachable, ambiguous person, ...)
    │   └── BackendError            the ticket system failed
    │       ├── RateLimited         429; `retry_after` seconds when known
    │       ├── Unavailable         5xx, timeouts, connection errors, malformed responses
    │       ├── BackendCredentialsRejected  (M) Jira 401, or any answer with a failed login's `X-Seraph-LoginReason`
    │       │                       or an `X-Authentication-Denied-Reason` (Cloud's 404 for a bad token, Data Center's
    │       │                       403 CAPTCHA): "Jira rejected the bot's credentials", never "not found"/"not permitted"
    │       └── BackendPermissionMissing  (M) Jira 403 without a failed login (or a 400 naming a missing project
    │                               permission): the credential works but the bot's Jira account lacks a permission
    │                               for this call; an operator grants it (never "you may not")
    ├── ModelError                  the model provider failed after our bounded retries
    │   ├── ModelRateLimited        429 / 529 overloaded
    │   ├── ModelUnavailable        5xx, timeouts, connection errors
    │   ├── ModelRequestError       4xx other than 429: our request was wrong (a bug, never retried)
    │   ├── ModelAuthError          (M) 401/403: the API key is invalid or lacks access
    │   └── ModelNotFound           (M) 404 on the model: the configured model name is unknown to this key
    └── SlackError                  the Slack Web API failed after its retry handlers
"""

from __future__ import annotations

from integrations.errors import (
    BackendCredentialsRejected,
    BackendError,
    BackendPermissionMissing,
    ChatopsError,
    ConfigError,
    Conflict,
    InvalidArguments,
    Misconfigured,
    ModelAuthError,
    ModelError,
    ModelNotFound,
    ModelRateLimited,
    ModelRequestError,
    ModelUnavailable,
    NotFound,
    PermissionDenied,
    RateLimited,
    ToolError,
    Unavailable,
)

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
    "SlackError",
    "ToolError",
    "Unavailable",
]


class SlackError(ChatopsError):
    """The Slack Web API failed after retries."""
