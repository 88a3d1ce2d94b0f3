"""The "Schedules" section of the `/chatops config` modal: every schedule with Edit, Pause/Resume and Delete
buttons, and an Add button.

Rendering only. The buttons' handlers are in `bot/slack/schedule_buttons.py` (they act at once and rebuild the
modal with `views.update`; Edit and Add push the digest editor). A modal holds at most 100 blocks, so the
section shows as many schedules as fit and counts the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.messages import schedules as schedule_text
from bot.scheduler.descriptions import next_run_of, target_of, when_of
from bot.slack_api.markdown import escape_mrkdwn, shorten

if TYPE_CHECKING:
    from bot.deps import Deps

ScheduleVerb = Literal["add", "edit", "pause", "resume", "delete"]
ACTION_PREFIX = "chatops.schedule."
ACTION_PATTERN = re.compile(r"^chatops\.schedule\.(" + "|".join(get_args(ScheduleVerb)) + r")$")
"""Every schedule button in the config modal (one Bolt listener)."""
MAX_VIEW_BLOCKS = 100
"""Slack's limit on blocks in a modal."""
_FIXED_BLOCKS = 4
"""Divider, header, intro and the Add button."""


def action_id(verb: ScheduleVerb) -> str:
    """The action id of a schedule button."""
    return ACTION_PREFIX + verb


def verb_of(action: str) -> ScheduleVerb | None:
    """The verb of a schedule button's action id, or None for anything else."""
    match = ACTION_PATTERN.match(action)
    return match.group(1) if match else None  # type: ignore[return-value]


@dataclass(frozen=True)
class ScheduleLine:
    """What the modal shows of one schedule."""

    schedule_id: str
    name: str
    kind: str
    target: str
    when: str
    enabled: bool
    next_run: str | None


async def schedule_lines(deps: Deps) -> list[ScheduleLine]:
    """Every schedule, oldest first, with its next run in its own time zone."""
    now = deps.clock()
    return [
        ScheduleLine(
            schedule_id=row.id,
            name=row.name,
            kind=row.kind,
            target=target_of(row),
            when=when_of(row),
            enabled=row.enabled,
            next_run=next_run_of(row, now),
        )
        for row in await deps.store.list_schedules()
    ]


def _buttons(line: ScheduleLine) -> ActionsBlock:
    name = escape_mrkdwn(shorten(line.name, 100))
    elements: list[Any] = []
    if line.kind == "digest":  # reminders are changed with `/chatops digest reminders`
        elements.append(ButtonElement(text="Edit", action_id=action_id("edit"), value=line.schedule_id))
    toggle: ScheduleVerb = "pause" if line.enabled else "resume"
    elements.append(
        ButtonElement(text=toggle.capitalize(), action_id=action_id(toggle), value=line.schedule_id)
    )
    elements.append(
        ButtonElement(
            text="Delete",
            action_id=action_id("delete"),
            value=line.schedule_id,
            style="danger",
            confirm=ConfirmObject(
                title="Delete this schedule?",
                text=MarkdownTextObject(text=schedule_text.schedule_delete_confirm(name)),
                confirm="Delete",
                deny="Keep it",
                style="danger",
            ),
        )
    )
    return ActionsBlock(block_id=f"schedule:{line.schedule_id}", elements=elements)


def section_blocks(lines: list[ScheduleLine], *, room: int, note: str | None = None) -> list[Block]:
    """The section, in at most `room` blocks; `note` (the outcome of the last click) goes above the list."""
    if room < _FIXED_BLOCKS + 1:
        return []  # the policy fields already fill the modal (many roles); `/chatops digest list` still works
    intro = schedule_text.schedules_section_intro() + (f"\n*{note}*" if note else "")
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(block_id="schedules", text="Schedules"),
        ContextBlock(block_id="schedules:intro", elements=[MarkdownTextObject(text=shorten(intro, 3000))]),
    ]
    fits = max(0, (room - _FIXED_BLOCKS) // 2)
    if len(lines) > fits:
        fits = max(0, (room - _FIXED_BLOCKS - 1) // 2)  # one more block says how many were left out
    for line in lines[:fits]:
        text = schedule_text.schedule_row(
            schedule_id=line.schedule_id,
            name=escape_mrkdwn(shorten(line.name, 100)),
            target=line.target,
            when=line.when,
            enabled=line.enabled,
            next_run=line.next_run,
        )
        blocks += [
            SectionBlock(block_id=f"schedule-info:{line.schedule_id}", text=MarkdownTextObject(text=text)),
            _buttons(line),
        ]
    if len(lines) > fits:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=schedule_text.schedules_more(len(lines) - fits))])
        )
    blocks.append(
        ActionsBlock(
            block_id="schedules:add",
            elements=[
                ButtonElement(text="Add schedule", action_id=action_id("add"), value="add", style="primary")
            ],
        )
    )
    return blocks
