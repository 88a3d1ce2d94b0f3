"""The Slack Web API client: one `SlackClient` (an `AsyncWebClient`) on SLACK_API_URL with bounded retry handlers,
and the outbound boundary built into it.

Every Web API call goes through `AsyncWebClient.api_call`; `SlackClient.api_call` sanitizes the payload first
(`bot.slack_api.outbound.sanitize_payload`: broadcasts inert, secrets masked), so nothing reaches Slack around it.
`SafeRespond` and `SafeAck` do the same for `respond()` (response_url) and `ack()` (the HTTP / socket answer);
`bot.slack.app` installs them for every request. No other module builds a Web API or webhook client (a test
checks the source).

429s are retried for every method after `Retry-After` (slack_sdk's RateLimitErrorRetryHandler): Slack applied
nothing. A 500/503 or a dropped connection may come after Slack already applied the call, so those are retried
only for methods that are safe to repeat (reads, and updates that set a state rather than add one); a post,
stream, reaction or `views.open` fails instead and its caller's fallback answers. Every Slack client of the
program (the app's, Socket Mode's) is this one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook import WebhookResponse

from bot.settings import Settings
from bot.slack_api.outbound import sanitize, sanitize_payload

if TYPE_CHECKING:
    from bot.metrics import Metrics


RATE_LIMIT_RETRIES = 3
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15

REPEATABLE_METHODS = frozenset(
    {
        # reads
        "auth.test",
        "bots.info",
        "chat.getPermalink",
        "conversations.history",
        "conversations.info",
        "conversations.replies",
        "team.info",
        "users.info",
        "users.list",
        "users.lookupByEmail",
        # updates that set a state: applying one twice leaves the same result
        "assistant.threads.setStatus",
        "chat.update",
        "views.publish",
        "views.update",
    }
)
"""Methods retried after a 500/503 or a dropped connection. Anything else (chat.postMessage, chat.postEphemeral,
chat.*Stream, views.open, reactions.add, ...) may already have been applied and is never sent twice."""


def api_method(request: HttpRequest) -> str:
    """The Web API method a request calls (`https://slack.com/api/chat.postMessage?x=1` -> `chat.postMessage`)."""
    return urlsplit(request.url).path.rstrip("/").rsplit("/", 1)[-1]


def is_repeatable(request: HttpRequest) -> bool:
    """Whether sending this request again is harmless even if Slack applied the first one."""
    return api_method(request) in REPEATABLE_METHODS


class _RepeatableOnly(AsyncRetryHandler):
    """Mixin: defer to slack_sdk's handler, but only for methods that are safe to send again."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not is_repeatable(request):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class RepeatableServerErrorRetryHandler(_RepeatableOnly, AsyncServerErrorRetryHandler):
    """slack_sdk's 500/503 retry, for repeatable methods only."""


class RepeatableConnectionErrorRetryHandler(_RepeatableOnly, AsyncConnectionErrorRetryHandler):
    """slack_sdk's dropped-connection retry, for repeatable methods only."""


class _Counted(AsyncRetryHandler):
    """Mixin: count each retry (by method and `reason`) before slack_sdk's handler waits and sends again."""

    reason = "retry"
    metrics: Metrics | None = None

    async def prepare_for_next_attempt_async(self, **kwargs: Any) -> None:
        if self.metrics is not None:
            self.metrics.slack_retry(api_method(kwargs["request"]), self.reason)
        await super().prepare_for_next_attempt_async(**kwargs)


class _CountedRateLimit(_Counted, AsyncRateLimitErrorRetryHandler):
    reason = "rate_limited"


class _CountedServerError(_Counted, RepeatableServerErrorRetryHandler):
    reason = "server_error"


class _CountedConnection(_Counted, RepeatableConnectionErrorRetryHandler):
    reason = "connection"


class RateLimitCounter(AsyncRetryHandler):
    """Never retries: counts every 429 (retried or not) into `chatops_slack_rate_limited_total`."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(max_retry_count=0)
        self.metrics = metrics

    async def can_retry_async(self, *, state: RetryState, request: HttpRequest, response: HttpResponse | None = None, error: Exception | None = None) -> bool:
        if response is not None and response.status_code == 429:
            self.metrics.slack_429(api_method(request))
        return False


def retry_handlers(
    *, interval: RetryIntervalCalculator = default_interval_calculator, metrics: Metrics | None = None
) -> list[AsyncRetryHandler]:
    """Bounded retries: rate limits for every method; 5xx and dropped connections for repeatable methods only.

    `interval` is the backoff between 5xx / connection retries (slack_sdk's exponential backoff with jitter);
    with `metrics`, 429s and retries are counted."""
    handlers: list[_Counted] = [
        _CountedRateLimit(max_retry_count=RATE_LIMIT_RETRIES),
        _CountedServerError(max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=interval),
        _CountedConnection(max_retry_count=CONNECTION_RETRIES, interval_calculator=interval),
    ]
    for handler in handlers:
        handler.metrics = metrics
    return ([RateLimitCounter(metrics)] if metrics is not None else []) + list(handlers)


class SlackClient(AsyncWebClient):
    """The bot's Web API client: every call's payload passes the outbound boundary before it is sent."""

    async def api_call(  # type: ignore[override]
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=sanitize_payload(data) if isinstance(data, dict) else data,
            params=sanitize_payload(params),
            json=sanitize_payload(json),
            headers=headers,
            auth=auth,
        )


def as_slack_client(client: AsyncWebClient) -> SlackClient:
    """`client` itself if it is a SlackClient, else a SlackClient with the same token, URL, session and retries.

    Bolt builds a plain AsyncWebClient for every request (`context.client`, which `say`, `say_stream` and
    `set_status` use); the app's middleware swaps it for this copy before any listener runs."""
    if isinstance(client, SlackClient):
        return client
    return SlackClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers) if client.retry_handlers is not None else None,
    )


def _payload_args(text: Any, kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """`text` (a string or a whole-message dict) and the other arguments of respond()/ack(), sanitized."""
    if isinstance(text, dict):
        text = sanitize_payload(text)
    elif isinstance(text, str):
        text = sanitize(text)
    out = sanitize_payload({k: _as_dicts(v) for k, v in kwargs.items()}) or {}
    if isinstance(out.get("errors"), dict):  # view_submission errors: {block_id: message}
        out["errors"] = {k: sanitize(v) if isinstance(v, str) else v for k, v in out["errors"].items()}
    return text, out


def _as_dicts(value: Any) -> Any:
    """Block Kit model objects as plain dicts (so the sanitizer sees their text)."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list | tuple):
        return [_as_dicts(v) for v in value]
    return value


class SafeRespond(AsyncRespond):
    """`respond()` whose message passes the outbound boundary (response_url posts bypass the Web API client)."""

    async def __call__(self, text: Any = "", **kwargs: Any) -> WebhookResponse:  # type: ignore[override]
        text, kwargs = _payload_args(text, kwargs)
        return await super().__call__(text, **kwargs)


class SafeAck(AsyncAck):
    """`ack()` whose text, blocks, errors and view pass the outbound boundary."""

    async def __call__(self, text: Any = "", **kwargs: Any) -> BoltResponse:  # type: ignore[override]
        text, kwargs = _payload_args(text, kwargs)
        return await super().__call__(text, **kwargs)


def build_web_client(
    settings: Settings, *, token: str | None = None, pooled: bool = True, metrics: Metrics | None = None
) -> SlackClient:
    """The bot's Web API client (token from SLACK_BOT_TOKEN unless given), on SLACK_API_URL.

    `pooled` (call it inside the running loop) gives the client one aiohttp session, so calls reuse connections;
    without it slack_sdk opens a new session and connection for every call. Close it with `close_web_client`.
    """
    if token is None and settings.slack_bot_token is not None:
        token = settings.slack_bot_token.get_secret_value()
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)) if pooled else None
    return SlackClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_SECONDS,
        session=session,
        retry_handlers=retry_handlers(metrics=metrics),
    )


async def close_web_client(client: AsyncWebClient) -> None:
    """Close the client's pooled session, if it has one."""
    if client.session is not None and not client.session.closed:
        await client.session.close()
