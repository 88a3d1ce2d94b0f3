"""Live progress of a turn in its Slack thread: status and reaction at once, then a chat stream in which each
tool call is a task (in_progress → complete / error) and the answer text streams in.

Answers read as one text: a model step's text is held until it is clearly the answer (HOLD_CHARS, or the turn
ended); when the step stops to call tools instead ("Let me check OPS-3."), its text is shown as a note task, not
as answer text. Text of consecutive answering steps is separated by a paragraph break. What is streamed is what
the final message says (bot/slack/replies.py replaces a stream that showed anything else).

The loop's `on_progress` only enqueues; one pump task talks to Slack, so a slow Slack never slows the model and
events that pile up while a call is in flight go out together. When streaming is not available or the stream
dies (`message_not_in_streaming_state`, about five minutes in), the pump switches to one ordinary message kept
current with `chat.update`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from slack_bolt.context.say_stream.async_say_stream import AsyncSayStream
from slack_bolt.context.set_status.async_set_status import AsyncSetStatus
from slack_sdk.models.blocks import MarkdownBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.messages.chunk import TaskUpdateChunk

from bot.agent.types import ProgressEvent
from bot.logs import get_logger, log_event
from bot.messages import slack as slack_text
from bot.slack.posting import failure_outcome, key_of, marker, new_key, post_once, thread_messages
from bot.slack.trace import clean
from bot.slack_api.markdown import shorten
from bot.slack_api.outbound import mask_secrets, neutralize_broadcasts
from integrations.slack.failures import SLACK_FAILURES, error_code

if TYPE_CHECKING:
    from slack_sdk.web.async_chat_stream import AsyncChatStream
    from slack_sdk.web.async_client import AsyncWebClient

Mode = Literal["idle", "stream", "update", "off"]
TaskStatus = Literal["pending", "in_progress", "complete", "error"]

STREAM_BUFFER_CHARS = 256
"""Text is sent in pieces of at least this size (slack_sdk's default buffer), tool updates at once."""
HOLD_CHARS = 280
"""A step's text is held back until it is this long (then it is the answer, and streams) or the step ends."""
STREAM_TEXT_BUDGET = 8_000
"""Text streamed into one message; a longer answer is finished with chat.update and follow-up messages."""
UNREACHABLE = frozenset({"channel_not_found", "not_in_channel", "is_archived", "channel_is_archived"})
_STATUS_FOR: dict[str, TaskStatus] = {"tool_started": "in_progress", "tool_finished": "complete", "tool_failed": "error"}
_ICONS: dict[TaskStatus, str] = {
    "pending": ":white_circle:",
    "in_progress": ":hourglass_flowing_sand:",
    "complete": ":white_check_mark:",
    "error": ":x:",
}
_log = get_logger("slack.progress")


@dataclass
class _Task:
    title: str
    status: TaskStatus
    output: str = ""


def _later(ts: object, than: str) -> bool:
    try:
        return float(str(ts)) > float(than)
    except ValueError:
        return False


_SPACE = re.compile(r"\s+")
HELD_WORDS = 3
"""Words kept back from each append: a `password: hunter2` pair, a URL or a broadcast never straddles two appends
(each append passes the outbound sanitizer on its own)."""


def _ready_text(pending: str) -> tuple[str, str]:
    """Split buffered text before its last HELD_WORDS words: (safe to send, keep). An unfinished private-key block
    is kept whole."""
    cuts = [m.end() for m in _SPACE.finditer(pending)]
    if len(cuts) < HELD_WORDS:
        return "", pending
    cut = cuts[-HELD_WORDS]
    begin = pending.rfind("-----BEGIN", 0, cut)
    if begin >= 0 and pending.find("-----END", begin) < 0:
        cut = begin
    return pending[:cut], pending[cut:]


class LiveProgress:
    """Shows one turn's progress in its thread; `deliver_turn` finishes the live message."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        user_id: str,
        team_id: str | None,
        message_ts: str | None = None,
        say_stream: AsyncSayStream | None = None,
        set_status: AsyncSetStatus | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.message_ts = message_ts
        self._say_stream = say_stream or AsyncSayStream(
            client=client, channel=channel, recipient_team_id=team_id, recipient_user_id=user_id, thread_ts=thread_ts
        )
        self._set_status = set_status or AsyncSetStatus(client=client, channel_id=channel, thread_ts=thread_ts)
        self.mode: Mode = "idle"
        self.stream: AsyncChatStream | None = None
        self.placeholder_ts: str | None = None
        self.streamed = ""
        """Text handed to the stream (what the live message shows, once flushed)."""
        self.text = ""
        """All answer text seen so far (notes before tool calls are not answer text)."""
        self._pending = ""
        self._step = ""
        """The current model step's text, held until it is known to be answer text."""
        self._step_is_answer = False
        self._notes = 0
        self.tasks: dict[str, _Task] = {}
        self.started_at = time.monotonic()
        self.feedback_at: float | None = None
        self._queue: asyncio.Queue[ProgressEvent | None] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self.key = new_key("progress")
        """Marker of the fallback progress message (bot/slack/posting.py)."""
        self.replied = False
        """The answer went out as a reply with chat.postMessage (`deliver_turn` says so): Slack cleared the status."""

    # ------------------------------------------------------------ the turn's side
    @property
    def ts(self) -> str | None:
        """The live message's ts, once there is one."""
        if self.placeholder_ts:
            return self.placeholder_ts
        return self.stream.ts if self.stream is not None else None

    async def start(self) -> bool:
        """First feedback (status with loading messages, and 👀 on the asking message); False if we cannot post."""
        calls: list[Any] = [self._set_status(status=slack_text.working_status(), loading_messages=slack_text.loading_messages())]
        if self.message_ts:
            calls.append(self.client.reactions_add(channel=self.channel, timestamp=self.message_ts, name="eyes"))
        results = await asyncio.gather(*calls, return_exceptions=True)
        self.feedback_at = time.monotonic()
        for result in results:
            if isinstance(result, SLACK_FAILURES):
                code = error_code(result)
                log_event(_log, "first feedback failed", logging.WARNING, channel=self.channel, error=code)
                if code in UNREACHABLE:
                    return False
            elif isinstance(result, BaseException):
                raise result
        self._pump = asyncio.get_running_loop().create_task(self._run_pump(), name=f"progress:{self.channel}")
        return True

    async def __call__(self, event: ProgressEvent) -> None:
        """The loop's on_progress: enqueue and return at once."""
        self._queue.put_nowait(event)

    async def drain(self) -> None:
        """Wait until every queued event was shown (the pump ends)."""
        if self._pump is None:
            return
        self._queue.put_nowait(None)
        await self._pump
        self._pump = None

    async def close(self) -> None:
        """Stop the pump if the turn ended without `drain` (cancelled, crashed)."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._pump = None

    async def clear_status(self) -> None:
        """Remove the thread status, unless the answer was posted as a reply (`replied`): Slack clears the status
        when the app posts a reply with chat.postMessage (Slack's maintainers, slackapi/bolt-js#2340), not when a
        stream stops nor on chat.update (reported: getsentry/junior#31, mastra-ai/mastra#21880), so a streamed or
        updated answer, or none, needs the explicit clear."""
        if self.replied:
            return
        try:
            await self._set_status(status="")
        except SLACK_FAILURES as exc:
            log_event(_log, "clearing status failed", logging.WARNING, channel=self.channel, error=error_code(exc))

    # ------------------------------------------------------------ finishing (used by deliver_turn)
    async def stop_stream(
        self, *, markdown_text: str, blocks: list[dict[str, Any]], entities: list[dict[str, Any]] | None = None
    ) -> bool:
        """End the stream with the rest of the answer, the final blocks and the answer's Work Objects (`entities`);
        False (and update mode) on failure."""
        if self.mode != "stream" or self.stream is None:
            return False
        try:
            metadata = marker(new_key("answer"), entities)
            await self.stream.stop(markdown_text=markdown_text or None, blocks=blocks, metadata=metadata)
        except SLACK_FAILURES as exc:
            log_event(_log, "stopping the stream failed", logging.WARNING, channel=self.channel, error=error_code(exc))
            self.mode = "update" if self.ts else "off"
            return False
        self.streamed += markdown_text
        self.mode = "off"
        return True

    async def abandon_stream(self) -> None:
        """Close a stream that will be replaced by chat.update (nothing to do if it never reached Slack)."""
        if self.mode != "stream" or self.stream is None:
            return
        self.mode = "update" if self.stream.ts else "off"
        if self.stream.ts:
            try:
                await self.stream.stop()
            except SLACK_FAILURES as exc:
                log_event(_log, "closing the stream failed", logging.INFO, channel=self.channel, error=error_code(exc))

    # ------------------------------------------------------------ the pump
    async def _run_pump(self) -> None:
        done = False
        while not done:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            done = None in batch
            events = [e for e in batch if e is not None]
            if (events or done) and self.mode != "off":
                try:
                    await self._show(events, final=done)
                except Exception as exc:  # noqa: BLE001 - progress is a nicety; the answer must still be delivered
                    log_event(_log, "progress display failed", logging.ERROR, channel=self.channel, error=repr(exc))
                    self.mode = "off"
            elif events or done:
                self._collect(events, final=done)  # keep the text and tasks for the final message

    def _answer_text(self, text: str) -> None:
        """Commit text to the answer (a paragraph break first when it starts a new step's text)."""
        if not self._step_is_answer:
            self._step_is_answer = True
            text = text.lstrip()
            if self.text.strip() and text:
                separator = "" if self.text.endswith("\n\n") else ("\n" if self.text.endswith("\n") else "\n\n")
                text = separator + text
        self.text += text
        self._pending += text

    def _collect(self, events: list[ProgressEvent], *, final: bool = False) -> dict[str, TaskUpdateChunk]:
        updates: dict[str, TaskUpdateChunk] = {}
        for event in events:
            if event.kind == "thinking":
                self._step, self._step_is_answer = "", False
            elif event.kind == "text":
                if self._step_is_answer:
                    self._answer_text(event.text)
                else:
                    self._step += event.text
                    if len(self._step) >= HOLD_CHARS:
                        held, self._step = self._step, ""
                        self._answer_text(held)
            elif event.kind == "interim":
                self._step = ""
                if not self._step_is_answer and event.text.strip():
                    self._notes += 1
                    note_id = f"note-{self._notes}"
                    title = shorten(" ".join(event.text.split()), 150)
                    self.tasks[note_id] = _Task(title=title, status="complete")
                    updates[note_id] = TaskUpdateChunk(id=note_id, title=title, status="complete")
                self._step_is_answer = False
            elif event.kind in _STATUS_FOR and event.tool_use_id:
                status = _STATUS_FOR[event.kind]
                title = shorten(mask_secrets(event.title or event.tool or "tool"), 150)
                output = shorten(neutralize_broadcasts(mask_secrets(event.detail)), 500)
                task = self.tasks.setdefault(event.tool_use_id, _Task(title=title, status=status))
                task.status, task.output = status, output if status != "in_progress" else ""
                # a later update of the same call replaces an earlier one not yet sent
                updates.pop(event.tool_use_id, None)
                updates[event.tool_use_id] = TaskUpdateChunk(
                    id=event.tool_use_id,
                    title=task.title,
                    status=status,
                    details=shorten(mask_secrets(event.detail), 500) if status == "in_progress" and event.detail else None,
                    output=task.output or None,
                )
        if final and self._step:
            held, self._step = self._step, ""
            self._answer_text(held)  # the turn ended: the last step's text is the answer
        return updates

    def _take_text(self, *, final: bool) -> str:
        ready, self._pending = (self._pending, "") if final else _ready_text(self._pending)
        room = STREAM_TEXT_BUDGET - len(self.streamed)
        return neutralize_broadcasts(ready[: max(0, room)])

    async def _show(self, events: list[ProgressEvent], *, final: bool) -> None:
        updates = self._collect(events, final=final)
        text = self._take_text(final=final)
        if self.mode == "idle" and (updates or text):
            self.mode = "stream"
            try:
                self.stream = await self._say_stream(buffer_size=STREAM_BUFFER_CHARS, task_display_mode="timeline")
            except SLACK_FAILURES as exc:
                await self._fall_back(exc)
        if self.mode == "stream" and self.stream is not None and (updates or text):
            try:
                await self.stream.append(markdown_text=text or None, chunks=list(updates.values()) or None)
                self.streamed += text
            except SLACK_FAILURES as exc:
                await self._fall_back(exc)
        elif self.mode == "update" and (updates or final):
            await self._update_live()

    async def _fall_back(self, exc: Exception) -> None:
        """Streaming failed: keep one ordinary message current instead."""
        log_event(_log, "streaming unavailable, falling back to chat.update", logging.WARNING, error=error_code(exc))
        if self.stream is not None and self.stream.ts:
            self.mode = "update"
            await self._update_live()
            return
        started_unknown = self.stream is not None and failure_outcome(exc) == "unknown"
        self.stream = None
        if started_unknown and (adopted := await self._stored_stream()) is not None:
            # chat.startStream may have been stored although its answer was lost: keep that message current
            self.placeholder_ts, self.mode = adopted, "update"
            await self._update_live()
            return
        try:
            self.placeholder_ts = await post_once(
                self.client, channel=self.channel, thread_ts=self.thread_ts, key=self.key,
                text=slack_text.working_status(), blocks=self.live_blocks(),
            )
        except SLACK_FAILURES as post_exc:
            log_event(_log, "progress message failed", logging.WARNING, error=error_code(post_exc))
            self.mode = "off"
            return
        self.mode = "update"

    async def _stored_stream(self) -> str | None:
        """The newest unmarked bot message after the question: a stream Slack started although it answered 5xx."""
        after = self.message_ts or self.thread_ts
        found: str | None = None
        try:
            async for message in thread_messages(self.client, self.channel, self.thread_ts):
                if message.get("bot_id") and key_of(message) is None and _later(message.get("ts"), after):
                    found = str(message["ts"])
        except SLACK_FAILURES as exc:
            log_event(_log, "could not look for a started stream", logging.WARNING, error=error_code(exc))
            return None
        if found is not None:
            log_event(_log, "stream was started after all", ts=found)
        return found

    async def _update_live(self) -> None:
        ts = self.ts
        if ts is None:
            self.mode = "off"
            return
        try:
            await self.client.chat_update(channel=self.channel, ts=ts, text=slack_text.working_status(), blocks=self.live_blocks())
        except SLACK_FAILURES as exc:
            log_event(_log, "progress update failed", logging.WARNING, error=error_code(exc))
            self.mode = "off"

    def live_blocks(self) -> list[dict[str, Any]]:
        """The fallback progress message: the calls so far, then the text so far."""
        lines = [f"{_ICONS[t.status]} {clean(t.title)}" + (f" — {clean(t.output)}" if t.output else "") for t in self.tasks.values()]
        blocks: list[dict[str, Any]] = []
        if lines:
            text = shorten("\n".join(lines[-20:]), 2_900)
            blocks.append(SectionBlock(text=MarkdownTextObject(text=text)).to_dict())
        if self.text.strip():
            blocks.append(MarkdownBlock(text=shorten(neutralize_broadcasts(self.text), STREAM_TEXT_BUDGET)).to_dict())
        if not blocks:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=f"_{slack_text.working_status()}_")).to_dict())
        return blocks
