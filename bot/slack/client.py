"""The Slack Web API client: one `AsyncWebClient` on SLACK_API_URL with bounded retry handlers.

429s are retried after `Retry-After` (slack_sdk's RateLimitErrorRetryHandler), 500/503 and connection errors
with its bounded backoff. Every Slack client of the program (the app's, Socket Mode's) is this one.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

SLACK_FAILURES: tuple[type[Exception], ...] = (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError)
"""What a Web API call can raise once the retry handlers gave up: API errors, and raw transport errors (slack_sdk
lets aiohttp's and timeouts through unwrapped)."""

RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15


def retry_handlers() -> list[AsyncRetryHandler]:
    """Bounded retries: rate limits (after Retry-After), 5xx, and dropped connections."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        AsyncConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
    ]


def build_web_client(settings: Settings, *, token: str | None = None, pooled: bool = True) -> AsyncWebClient:
    """The bot's Web API client (token from SLACK_BOT_TOKEN unless given), on SLACK_API_URL.

    `pooled` (call it inside the running loop) gives the client one aiohttp session, so calls reuse connections;
    without it slack_sdk opens a new session and connection for every call. Close it with `close_web_client`.
    """
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) if pooled else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        session=session,
        retry_handlers=retry_handlers(),
    )


async def close_web_client(client: AsyncWebClient) -> None:
    """Close the client's pooled session, if it has one."""
    if client.session is not None and not client.session.closed:
        await client.session.close()
