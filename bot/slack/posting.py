"""A Slack post has three outcomes: done, not done, unknown.

Slack's answer proves a post was not applied only when it is an `ok: false` answer or a 4xx (a 429 included). A
5xx, a dropped connection or a timeout may come after Slack stored the message: the outcome is unknown, and
posting again blindly shows the user two copies. So every message we post carries a marker in its `metadata`
(`event_type` chatops_message, `event_payload.key`), and an unknown outcome is resolved by looking at the thread
(`conversations.replies` with `include_all_metadata`) before posting again: a stored message is found and kept
(its ts returned), never duplicated.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError

from bot.logs import get_logger, log_event
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

Outcome = Literal["done", "not_done", "unknown"]
EVENT_TYPE = "chatops_message"
MAX_PAGES = 5
"""Pages of 200 replies looked at when searching a thread for our message (newest threads are short)."""

_log = get_logger("slack.posting")


def failure_outcome(exc: BaseException) -> Outcome:
    """`not_done` when Slack's answer proves nothing was applied; `unknown` when it may have been (5xx, lost)."""
    if isinstance(exc, SlackApiError) and exc.response is not None and exc.response.status_code < 500:
        return "not_done"
    return "unknown"


def new_key(kind: str) -> str:
    """A fresh marker key for one message (`kind:random`)."""
    return f"{kind}:{uuid.uuid4().hex[:16]}"


def marker(key: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The message metadata that lets us find our own message again, with the Work Objects the message carries
    (`entities`, Slack's message metadata beside `event_type` / `event_payload`)."""
    metadata: dict[str, Any] = {"event_type": EVENT_TYPE, "event_payload": {"key": key[:200]}}
    if entities:
        metadata["entities"] = entities
    return metadata


def key_of(message: dict[str, Any]) -> str | None:
    """The marker key a message carries, if it is one of ours."""
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    key = payload.get("key") if isinstance(payload, dict) else None
    return str(key) if key else None


async def thread_messages(client: AsyncWebClient, channel: str, thread_ts: str) -> AsyncIterator[dict[str, Any]]:
    """The messages of a thread with their metadata, oldest first (raises on Slack failures)."""
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        response = await client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=cursor
        )
        for message in response.get("messages") or []:
            if isinstance(message, dict):
                yield message
        cursor = ((response.get("response_metadata") or {}).get("next_cursor")) or None
        if not cursor:
            return


async def find_marked(client: AsyncWebClient, channel: str, thread_ts: str, key: str) -> str | None:
    """The ts of our message marked `key` in the thread, or None (raises on Slack failures)."""
    async for message in thread_messages(client, channel, thread_ts):
        if key_of(message) == key:
            return str(message.get("ts"))
    return None


async def post_once(
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str | None,
    key: str,
    entities: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> str:
    """chat.postMessage marked with `key` (and carrying `entities`, Work Objects); on an unknown outcome, look in
    the thread before posting again.

    Returns the message's ts; raises the Slack failure when it was not posted (or looking was impossible)."""
    args: dict[str, Any] = {"channel": channel, "metadata": marker(key, entities), **kwargs}
    if thread_ts:
        args["thread_ts"] = thread_ts
    try:
        response = await client.chat_postMessage(**args)
        return str(response["ts"])
    except SLACK_FAILURES as exc:
        if failure_outcome(exc) == "not_done" or not thread_ts:
            raise
        log_event(_log, "post outcome unknown, looking before posting again", logging.WARNING, key=key, error=error_code(exc))
        try:
            found = await find_marked(client, channel, thread_ts, key)
        except SLACK_FAILURES as look_exc:
            log_event(_log, "could not look for the post", logging.WARNING, key=key, error=error_code(look_exc))
            raise exc from look_exc
        if found is not None:
            log_event(_log, "post was stored after all", key=key, ts=found)
            return found
    response = await client.chat_postMessage(**args)
    return str(response["ts"])


async def delete_quietly(client: AsyncWebClient, channel: str, ts: str) -> None:
    """Remove a message of ours that would be left behind (e.g. a progress message replaced by a new post)."""
    try:
        await client.chat_delete(channel=channel, ts=ts)
    except SLACK_FAILURES as exc:
        log_event(_log, "could not delete a leftover message", logging.WARNING, channel=channel, ts=ts, error=error_code(exc))
