"""The failures of a Slack Web API call, and the error code of one.

Shared by the Slack surface, the scheduler's jobs and the tools that call Slack, so none of them reaches up into
the surface for them.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError)
"""What a Web API call can raise once the retry handlers gave up: API errors, and raw transport errors (slack_sdk
lets aiohttp's and timeouts through unwrapped)."""


def error_code(exc: Exception) -> str:
    """Slack's error code of a failed call (or the exception's type for transport errors)."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown"))
    return type(exc).__name__
