"""The admin configuration modal as a view: built from the live configuration, the MCP servers and the schedules.

`build_config_view` fills every input with the current value and remembers, in `private_metadata`, the
configuration version the modal was opened at (a Save made against an older version is refused). The MCP servers
section (bot/slack/mcp_section.py) and the Schedules section (bot/slack/schedules_section.py) fill what room the
100-block limit leaves; their buttons act at once and rebuild the view with `refresh_config_view`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
)
from slack_sdk.models.blocks.block_elements import (
    NumberInputElement,
    PlainTextInputElement,
    StaticMultiSelectElement,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.logs import get_logger, log_event
from bot.messages import admin as admin_text
from bot.policy.live import LIMIT_SETTINGS, PolicyState
from bot.policy.model import ALL, EFFECTS
from bot.policy.text import channel_scopes_text, scope_text
from bot.settings import Settings
from bot.slack.mcp_section import section_blocks as mcp_section
from bot.slack.payloads import ViewFields
from bot.slack.schedules_section import MAX_VIEW_BLOCKS, ScheduleLine, schedule_lines, section_blocks
from integrations.slack.failures import SLACK_FAILURES

if TYPE_CHECKING:
    from bot.deps import Deps
    from bot.mcp.hub import McpHub
    from bot.tools.base import Tool

logger = get_logger("slack.admin")

CALLBACK_ID = "chatops.config"
VALUE = "value"
"""The action id of every input in the modal."""


def _options(tools: Sequence[Tool], *, effects: bool) -> list[Option]:
    opts = []
    if effects:
        opts.append(Option(value=ALL, label="* (every tool)"))
        opts += [Option(value=e, label=f"{e} (every {e} tool)") for e in EFFECTS]
    opts += [Option(value=t.name, label=f"{t.name} ({t.effect.value})") for t in tools]
    return opts


def _selected(options: list[Option], values: Sequence[str]) -> list[Option] | None:
    chosen = [o for o in options if o.value in values]
    return chosen or None


def _number(name: str, value: Any) -> NumberInputElement:
    info = Settings.model_fields[name]
    bounds = {type(m).__name__: m for m in info.metadata}
    low = getattr(bounds.get("Ge"), "ge", None) or getattr(bounds.get("Gt"), "gt", None)
    high = getattr(bounds.get("Le"), "le", None)
    return NumberInputElement(
        action_id=VALUE,
        is_decimal_allowed=info.annotation is float,
        initial_value=str(value),
        min_value=str(low) if low is not None else None,
        max_value=str(high) if high is not None else None,
    )


def build_config_view(
    state: PolicyState,
    tools: Sequence[Tool],
    *,
    schedules: Sequence[ScheduleLine] = (),
    note: str | None = None,
    opened_at: int | None = None,
    mcp: McpHub | None = None,
    mcp_note: str | None = None,
) -> dict[str, Any]:
    """The modal, filled with the current configuration and the schedules; remembers the version it was opened at.

    `opened_at` keeps the version of a modal being refreshed (after a schedule button), so a Save still refuses
    to overwrite a configuration someone else changed since the modal was opened."""
    policy, settings = state.policy, state.settings
    tool_opts, selector_opts = _options(tools, effects=False), _options(tools, effects=True)
    enabled = [t.name for t in tools if policy.tool_enabled(t.name, t.effect.value)]
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(text=admin_text.config_intro(state.version, sorted(state.env_admins)))),
        InputBlock(
            block_id="model",
            label="Model",
            element=PlainTextInputElement(action_id=VALUE, initial_value=settings.chatops_model),
            hint=f"The model id used for conversations, on the configured provider ({settings.chatops_provider}; set by CHATOPS_PROVIDER).",
        ),
        InputBlock(
            block_id="enabled_tools",
            label="Enabled tools",
            optional=True,
            element=StaticMultiSelectElement(
                action_id=VALUE, options=tool_opts, initial_options=_selected(tool_opts, enabled)
            ),
            hint="A tool left out is offered to nobody, admins included.",
        ),
        InputBlock(
            block_id="default_role",
            label="Default role (people with no assignment)",
            element=StaticSelectElement(
                action_id=VALUE,
                options=[Option(value=r, label=r) for r in policy.roles],
                initial_option=Option(value=policy.default_role, label=policy.default_role),
            ),
        ),
    ]
    for name, role in policy.roles.items():
        members = sorted(u for u, r in state.assignments.items() if r == name and u not in state.env_admins)
        blocks += [
            DividerBlock(),
            HeaderBlock(text=f"Role: {name}"[:150]),
            InputBlock(
                block_id=f"assign:{name}",
                label=f"People with the {name} role",
                optional=True,
                element=UserMultiSelectElement(action_id=VALUE, initial_users=members or None),
            ),
            InputBlock(
                block_id=f"tools:{name}",
                label="May use",
                optional=True,
                element=StaticMultiSelectElement(
                    action_id=VALUE, options=selector_opts, initial_options=_selected(selector_opts, role.tools)
                ),
            ),
            InputBlock(
                block_id=f"projects:{name}",
                label="On projects",
                optional=True,
                element=PlainTextInputElement(action_id=VALUE, initial_value=scope_text(role.projects) or None),
                hint="Project keys separated by commas; * for every project; public for every non-private one.",
            ),
            InputBlock(
                block_id=f"confirm:{name}",
                label="Needs Approve/Cancel first",
                optional=True,
                element=StaticMultiSelectElement(
                    action_id=VALUE, options=selector_opts, initial_options=_selected(selector_opts, role.confirm)
                ),
            ),
        ]
    blocks += [
        DividerBlock(),
        HeaderBlock(text="Projects and channels"),
        InputBlock(
            block_id="private_projects",
            label="Private projects",
            optional=True,
            element=PlainTextInputElement(action_id=VALUE, initial_value=scope_text(policy.private_projects) or None),
            hint="Besides those the ticket system marks private. Never shown in shared channels unless scoped below.",
        ),
        InputBlock(
            block_id="channel_scopes",
            label="Projects shown per channel",
            element=PlainTextInputElement(action_id=VALUE, multiline=True, initial_value=channel_scopes_text(state.policy.channel_scopes)),
            hint="One line each: a channel type (im, mpim, public, private, ext_shared, shell) or a channel id, a colon, "
            "then projects (* means everything the asker may see).",
        ),
        DividerBlock(),
        HeaderBlock(text="Limits"),
    ]
    for name in LIMIT_SETTINGS:
        label = name.removeprefix("chatops_").replace("_", " ").capitalize()
        blocks.append(
            InputBlock(block_id=f"limit:{name}", label=label, element=_number(name, getattr(settings, name)))
        )
    blocks += mcp_section(mcp, policy, room=MAX_VIEW_BLOCKS - len(blocks) - 8, note=mcp_note)
    blocks += section_blocks(list(schedules), room=MAX_VIEW_BLOCKS - len(blocks) - 1, note=note)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=admin_text.config_audited())]))
    view = View(
        type="modal",
        callback_id=CALLBACK_ID,
        title="chatops configuration",
        submit="Save",
        close="Cancel",
        private_metadata=json.dumps({"version": state.version if opened_at is None else opened_at}),
        blocks=blocks,
    )
    return view.to_dict()


async def config_view(deps: Deps, *, opened_at: int | None = None, note: str | None = None) -> dict[str, Any]:
    """The modal as it should look now: the live configuration and every schedule."""
    state = await deps.live.current()
    lines = await schedule_lines(deps)
    mcp_note, note = (note, None) if deps.mcp is not None and note and note.startswith(tuple(deps.mcp.servers)) else (None, note)
    return build_config_view(state, deps.tools, schedules=lines, note=note, opened_at=opened_at, mcp=deps.mcp, mcp_note=mcp_note)


def opened_version(view: ViewFields) -> int:
    """The configuration version a modal was opened at (-1 when its metadata is missing or forged)."""
    try:
        return int(view.metadata().get("version"))  # type: ignore[arg-type]  # anything else: -1
    except (TypeError, ValueError, OverflowError):
        return -1


async def refresh_config_view(
    client: Any, deps: Deps, *, view_id: str, opened_at: int, note: str | None = None
) -> None:
    """Show the schedules as they are now in an open modal (inputs the admin typed are kept by Slack)."""
    # No `hash`: the view is rebuilt from the database every time, so a late update never shows lost data.
    view = await config_view(deps, opened_at=opened_at, note=note)
    try:
        await client.views_update(view_id=view_id, view=view)
    except SLACK_FAILURES as exc:
        log_event(logger, "views.update failed", logging.WARNING, error=type(exc).__name__)


def notice_view(text: str) -> dict[str, Any]:
    """A modal that only says something (replaces the form when the submitter may not configure)."""
    return View(
        type="modal", title="chatops configuration", close="Close", blocks=[SectionBlock(text=text)]
    ).to_dict()
