"""What an Anthropic API error means for us: retry it, fail the turn, or tell an operator which setting to fix.

The API's error body is `{"type":"error","error":{"type":...,"message":...},"request_id":"req_..."}` (recorded
401: `authentication_error` "invalid x-api-key"; 404: `not_found_error` "model: <name>"; both with
`x-should-retry: false`). Errors that arrive mid-stream come on a 200 response, so the body's error type counts as
much as the status.
"""

from __future__ import annotations

from typing import Any

import anthropic

from integrations.errors import (
    ModelAuthError,
    ModelError,
    ModelNotFound,
    ModelRateLimited,
    ModelRequestError,
    ModelUnavailable,
)

RETRIED_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})
_BEDROCK_THROTTLED = ("throttlingException", "serviceQuotaExceededException")
_BEDROCK_TRANSIENT = ("internalServerException", "serviceUnavailableException", "modelStreamErrorException", "modelTimeoutException")
"""Bedrock's exception frames inside an invoke-with-response-stream body (the SDK raises them like an SSE error)."""
_AUTH_TYPES = frozenset({"authentication_error", "permission_error"})


def key_rejected(detail: str = "", *, credentials: str = "ANTHROPIC_API_KEY") -> ModelAuthError:
    """The one wording for a refused API key (the asker, the admins' DM and `chatops doctor`)."""
    return ModelAuthError(
        f"the model API key is invalid or lacks access: check {credentials}", problem="model.auth", detail=detail
    )


def model_unknown(model: str, detail: str = "") -> ModelNotFound:
    """The one wording for a model the API does not know (or this key may not use)."""
    return ModelNotFound(
        f"the model API does not know the model {model!r}: check CHATOPS_MODEL (or the model set in /chatops config)",
        problem=f"model.not_found:{model}",
        detail=detail,
    )


def classify(exc: anthropic.APIStatusError, *, model: str, credentials: str = "ANTHROPIC_API_KEY") -> ModelError:
    """The ModelError for a status error of a request to `model`."""
    status, kind, text = exc.status_code, exc.type or "", describe(exc)
    if status in (401, 403) or kind in _AUTH_TYPES:
        return key_rejected(text, credentials=credentials)
    if status == 404 and kind == "not_found_error":
        return model_unknown(model, text)
    if status in (429, 529) or kind in ("rate_limit_error", "overloaded_error", *_BEDROCK_THROTTLED):
        return ModelRateLimited(text)
    if status in RETRIED_STATUSES or status >= 500 or kind in ("api_error", "timeout_error", *_BEDROCK_TRANSIENT):
        return ModelUnavailable(text)
    return ModelRequestError(text)


def describe(exc: anthropic.APIStatusError) -> str:
    """Status, error type, the API's message and the request id (never the key)."""
    kind = exc.type or type(exc).__name__
    body = exc.body if isinstance(exc.body, dict) else {}
    message = exc.api_message or str(body.get("message") or "")  # Bedrock: {"message": ...}
    return f"model API error {exc.status_code} {kind}: {message} (request id {request_id(exc)})".replace(": (", " (")


def request_id(exc: anthropic.APIStatusError) -> str | None:
    """The `request-id` header, else the body's top-level `request_id` (every recorded error body has one; a proxy
    or a recorder may drop the header)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    found = exc.request_id or body.get("request_id")
    return str(found) if found else None


def retry_after(headers: Any) -> float | None:
    """`retry-after-ms` or `retry-after` in seconds, when given."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None
