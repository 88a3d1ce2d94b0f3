"""Posting a finished turn into its thread: the answer, approval buttons when paused, the context line and trace.

With a live stream that already shows the answer, the stream is stopped with the trace appended. Otherwise the
live message (stream or fallback) is replaced with `chat.update`, and the rest of a long answer follows as
thread replies; without a live message everything is posted with `chat.postMessage`. A stream that never reached
Slack (a short answer without tool calls stays in slack_sdk's buffer until the end) is no live message: the
answer is one `chat.postMessage` (marked, so an unknown outcome is resolved without a second copy) rather than
`chat.startStream` + `chat.stopStream`, and Slack clears the thread status itself when it is posted.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.errors import SlackError
from bot.logs import get_logger, log_event
from bot.slack.approval_blocks import approval_blocks
from bot.slack.posting import delete_quietly, marker, new_key, post_once
from bot.slack.rendering import SlackMessage, render_safely
from bot.slack.unfurls import answer_entities
from bot.slack_api.outbound import neutralize_broadcasts
from bot.tools.base import Actor, ChannelType
from integrations.slack.failures import SLACK_FAILURES, error_code

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


async def _post(
    client: AsyncWebClient, *, channel: str, thread_ts: str, msg: SlackMessage, key: str, entities: list[dict[str, Any]] | None
) -> str:
    """Post one message of the answer, once even when Slack's answer is lost (bot/slack/posting.py). Slack's own
    link previews stay off: the tickets the answer names come as Work Objects (`entities`), decided by the channel."""
    return await post_once(
        client, channel=channel, thread_ts=thread_ts, key=key, entities=entities, text=msg.text, blocks=msg.blocks,
        unfurl_links=False, unfurl_media=False,
    )


async def work_objects(deps: Deps | None, actor: Actor | None, result: TurnResult) -> list[dict[str, Any]]:
    """The Work Objects that go with a finished answer: the tickets it links or names that its channel may see
    (bot/slack/unfurls.py). None without the asker; a failure costs the Work Objects, never the answer."""
    if deps is None or actor is None or result.status == "paused":
        return []
    try:
        return await answer_entities(deps, actor, result.text)
    except Exception as exc:  # noqa: BLE001 - previews are a nicety; the answer must still be delivered
        log_event(_log, "work objects for the answer failed", logging.WARNING, error=repr(exc))
        return []


async def deliver_turn(
    client: AsyncWebClient,
    deps: Deps | None,
    *,
    channel: str,
    thread_ts: str,
    result: TurnResult,
    progress: LiveProgress | None = None,
    channel_type: ChannelType = "unknown",
    actor: Actor | None = None,
) -> list[str]:
    """Render `result` into the thread; returns the ts of each message that carries it (raises SlackError).

    `deps` and `actor` (who asked, in this channel) decide the Work Objects of the tickets the answer names; without
    them the answer goes alone. `channel_type` is the asker's Actor's: only in a DM does the trace show refused
    calls' arguments. The last message carries the Work Objects, with the trace and the feedback buttons.
    """
    approval = approval_for(result)
    messages = render_safely(result, approval=approval, channel_type=channel_type, feedback=True)
    entities = await work_objects(deps, actor, result)
    last = len(messages) - 1
    try:
        # a stream that never reached Slack (a short answer, no task shown: slack_sdk still buffers it) is no live
        # message: abandoning it sends nothing, and the answer is posted below (one call, not start + stop)
        if progress is not None and progress.mode == "stream" and progress.ts is not None and len(messages) == 1:
            rest = remaining_answer(progress.streamed, result.text)
            # the stream already shows the answer: keep what follows it (approval, context line, trace)
            extras = [b for b in messages[0].blocks if b.get("type") != "markdown"]
            if rest is not None and await progress.stop_stream(markdown_text=rest, blocks=extras, entities=entities):
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
                    extra: dict[str, Any] = {"metadata": marker(progress.key, entities)} if progress and index == last and entities else {}
                    await client.chat_update(channel=channel, ts=live_ts, text=msg.text, blocks=msg.blocks, **extra)
                    posted.append(live_ts)
                    continue
                except SLACK_FAILURES as exc:
                    log_event(_log, "final update failed, posting instead", logging.WARNING, error=error_code(exc))
                    leftover = live_ts
            shown = entities if index == last else None
            posted.append(await _post(client, channel=channel, thread_ts=thread_ts, msg=msg, key=f"{key}:{index}", entities=shown))
            if progress is not None:
                progress.replied = True  # a reply in the thread: Slack clears its status itself
        if leftover is not None:
            await delete_quietly(client, channel, leftover)  # never leave a stale progress message behind
        return posted
    except SLACK_FAILURES as exc:
        log_event(
            _log, "delivering the answer failed", logging.ERROR, channel=channel, thread_ts=thread_ts, error=error_code(exc)
        )
        raise SlackError(f"could not post the answer in {channel}: {error_code(exc)}") from exc
