"""Posting a finished turn into its thread: the answer, approval buttons when paused, the context line and trace.

With a live stream that already shows the answer, the stream is stopped with the trace appended. Otherwise the
live message (stream or fallback) is replaced with `chat.update`, and the rest of a long answer follows as
thread replies; without a live message everything is posted with `chat.postMessage`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import SlackError
from bot.logs import get_logger, log_event
from bot.slack.approval_blocks import approval_blocks
from bot.slack.client import SLACK_FAILURES
from bot.slack.identity import error_code
from bot.slack.markdown import neutralize_broadcasts
from bot.slack.posting import delete_quietly, new_key, post_once
from bot.slack.rendering import SlackMessage, render_safely
from bot.tools.base import ChannelType

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.agent.types import TurnResult
    from bot.deps import Deps
    from bot.slack.progress import LiveProgress

_log = get_logger("slack.replies")


def remaining_answer(streamed: str, answer: str) -> str | None:
    """What must still be appended to a stream that showed `streamed` so it shows `answer` exactly (None: it cannot,
    e.g. it showed a note the model wrote before calling tools; then the message is replaced with the answer)."""
    shown, full = streamed.lstrip(), neutralize_broadcasts(answer).strip()
    if not shown.strip():
        return full
    if full.startswith(shown):
        return full[len(shown) :]
    if full.startswith(shown.rstrip()):
        return full[len(shown.rstrip()) :].lstrip()
    return None


def approval_for(result: TurnResult) -> list[dict[str, Any]] | None:
    """Approve / Cancel blocks when the turn waits for confirmation."""
    if result.status == "paused" and result.pending is not None:
        return approval_blocks(result.pending)
    return None


async def _post(client: AsyncWebClient, *, channel: str, thread_ts: str, msg: SlackMessage, key: str) -> str:
    """Post one message of the answer, once even when Slack's answer is lost (bot/slack/posting.py)."""
    return await post_once(
        client, channel=channel, thread_ts=thread_ts, key=key, text=msg.text, blocks=msg.blocks, unfurl_links=False, unfurl_media=False
    )


async def deliver_turn(
    client: AsyncWebClient,
    deps: Deps | None,
    *,
    channel: str,
    thread_ts: str,
    result: TurnResult,
    progress: LiveProgress | None = None,
    channel_type: ChannelType = "unknown",
) -> list[str]:
    """Render `result` into the thread; returns the ts of each message that carries it (raises SlackError).

    `deps` is part of the seam the approvals UI calls; rendering itself needs nothing from it (None is fine).
    `channel_type` is the asker's Actor's: only in a DM does the trace show refused calls' arguments.
    """
    approval = approval_for(result)
    messages = render_safely(result, approval=approval, channel_type=channel_type, feedback=True)
    try:
        if progress is not None and progress.mode == "stream" and len(messages) == 1:
            rest = remaining_answer(progress.streamed, result.text)
            # the stream already shows the answer: keep what follows it (approval, context line, trace)
            extras = [b for b in messages[0].blocks if b.get("type") != "markdown"]
            if rest is not None and await progress.stop_stream(markdown_text=rest, blocks=extras):
                return [progress.ts] if progress.ts else []
        if progress is not None:
            await progress.abandon_stream()
        live_ts = progress.ts if progress is not None and progress.mode == "update" else None
        posted: list[str] = []
        key = new_key("answer")
        leftover: str | None = None
        for index, msg in enumerate(messages):
            if index == 0 and live_ts is not None:
                try:
                    await client.chat_update(channel=channel, ts=live_ts, text=msg.text, blocks=msg.blocks)
                    posted.append(live_ts)
                    continue
                except SLACK_FAILURES as exc:
                    log_event(_log, "final update failed, posting instead", logging.WARNING, error=error_code(exc))
                    leftover = live_ts
            posted.append(await _post(client, channel=channel, thread_ts=thread_ts, msg=msg, key=f"{key}:{index}"))
        if leftover is not None:
            await delete_quietly(client, channel, leftover)  # never leave a stale progress message behind
        return posted
    except SLACK_FAILURES as exc:
        log_event(
            _log, "delivering the answer failed", logging.ERROR, channel=channel, thread_ts=thread_ts, error=error_code(exc)
        )
        raise SlackError(f"could not post the answer in {channel}: {error_code(exc)}") from exc
