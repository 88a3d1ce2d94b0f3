"""Slash commands: `/ticket`, `/tickets`, `/comment`, `/summary` force a tool; `/chatops help|whoami|config|digest`.

Every command is acked at once (usage errors in the ack itself, ephemerally); the work runs in the background.
When the text fills the tool's arguments exactly (`/ticket OPS-12`) the tool runs without the model
(`Agent.run_tool`), else the loop runs with `tool_choice` naming the tool. Commands get no `say_stream`: the bot
posts "<@user> used /command" in the channel (never the text: it may name a private ticket or carry a comment
body) and answers in its thread, or, where it cannot post, ephemerally. A direct call the policy refuses in this
channel is answered to the asker only (the refusal's trace repeats the arguments).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.agent.checks import decide_call
from bot.agent.loop import ThreadRef
from bot.agent.types import ProgressEvent, TurnResult
from bot.logs import get_logger, log_event
from bot.messages import admin as admin_text
from bot.messages import agent as agent_text
from bot.messages import slack as slack_text
from bot.policy.roles import is_admin, role_of
from bot.slack import admin_modal
from bot.slack.conversation import Where, answer
from bot.slack.feedback import record_ephemeral_answer
from bot.slack.payloads import SlashCommand
from bot.slack.rendering import render_safely
from bot.slack.replies import approval_for
from bot.slack.schedule_commands import handle_digest_command
from bot.slack.surface import Surface
from bot.slack_api.markdown import escape_mrkdwn, shorten
from bot.tools.base import Actor
from integrations.llm.base import ToolChoice
from integrations.slack.failures import SLACK_FAILURES, error_code
from integrations.tickets.keys import ticket_key

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

    from bot.tools.base import Tool

TOOL_COMMANDS = ("/ticket", "/tickets", "/comment", "/summary")
COMMAND_TOOLS: dict[str, tuple[str, ...]] = {
    "/ticket": ("get_ticket",),
    "/tickets": ("search_tickets",),
    "/comment": ("add_comment",),
    "/summary": ("summarize_ticket", "workload_digest"),
}
"""The tools behind each command; a command is offered when the caller may use any of them."""
_log = get_logger("slack.commands")


@dataclass(frozen=True)
class CommandPlan:
    """What a tool command's text asks for: a direct tool call, a forced-tool turn, or a usage error."""

    kind: Literal["tool", "turn", "usage"]
    tool: str = ""
    arguments: dict[str, Any] = field(default_factory=dict)


def plan_command(command: str, text: str) -> CommandPlan:
    """Parse `/ticket OPS-12` and friends: the fast path when the text is exactly the tool's arguments."""
    text = text.strip()
    first, _, rest = text.partition(" ")
    rest = rest.strip()
    if not text:
        return CommandPlan("usage")
    whole, leading = ticket_key(text), ticket_key(first)  # the one key definition (integrations/tickets/keys.py)
    if command == "/ticket":
        if whole is not None:
            return CommandPlan("tool", "get_ticket", {"key": whole})
        return CommandPlan("turn", "get_ticket")
    if command == "/comment":
        if leading is not None and rest:
            return CommandPlan("tool", "add_comment", {"key": leading, "body": rest})
        if leading is not None:
            return CommandPlan("usage")
        return CommandPlan("turn", "add_comment")
    if command == "/summary":
        if whole is not None:
            return CommandPlan("tool", "summarize_ticket", {"key": whole})
        return CommandPlan("turn", "workload_digest")
    if command == "/tickets":
        return CommandPlan("turn", "search_tickets")
    return CommandPlan("usage")


async def _noop_progress(event: ProgressEvent) -> None:
    """Progress sink for answers that can only be sent at the end (ephemeral)."""


async def offered_tools(surface: Surface, actor: Actor) -> list[Tool]:
    """The tools this caller may use here, in the registry's order."""
    return await surface.deps.authorizer.offered_tools(actor, surface.deps.tools)


def _runner(surface: Surface, *, actor: Actor, thread: ThreadRef, plan: CommandPlan, command: str, text: str) -> Any:
    if plan.kind == "tool":
        return lambda _actor, progress: surface.agent.run_tool(
            actor=actor, thread=thread, tool_name=plan.tool, arguments=plan.arguments, on_progress=progress
        )
    choice = ToolChoice(type="tool", name=plan.tool)
    return lambda _actor, progress: surface.agent.run_turn(
        actor=actor, thread=thread, text=f"{command} {text}", tool_choice=choice, on_progress=progress
    )


async def run_tool_command(surface: Surface, *, payload: SlashCommand, plan: CommandPlan, respond: AsyncRespond) -> None:
    """Run a tool command after the ack: post that it was used, answer in its thread (or ephemerally)."""
    command, text = payload.command, payload.text.strip()
    user_id, channel_id, team_id = payload.user_id, payload.channel_id, payload.team_id
    # the channel's kind comes from Slack by id: `channel_name` is whatever someone named the channel
    actor = await surface.directory.actor(user_id=user_id, team_id=team_id, channel_id=channel_id)
    offered = {t.name: t for t in await offered_tools(surface, actor)}
    if plan.tool not in offered:
        await respond(text=slack_text.slash_unavailable(command), response_type="ephemeral")
        return
    if plan.kind == "tool" and not await _may_show_here(surface, actor, offered[plan.tool], plan.arguments):
        # A refused call's trace repeats its arguments (a private key, a comment body): only the asker sees it.
        thread = ThreadRef(team_id=team_id or "", channel_id=channel_id, thread_ts=f"cmd-{uuid.uuid4().hex[:20]}")
        await _answer_ephemerally(
            surface, respond, _runner(surface, actor=actor, thread=thread, plan=plan, command=command, text=text), actor=actor
        )
        return
    try:
        # Only the command name goes public: the text may name a private ticket or carry a comment body, and it
        # has not been authorized for this channel (the answer in the thread has).
        posted = await surface.client.chat_postMessage(channel=channel_id, text=slack_text.slash_used(user_id, command))
    except SLACK_FAILURES as exc:
        log_event(_log, "cannot post the request, answering ephemerally", logging.INFO, error=error_code(exc))
        thread = ThreadRef(team_id=team_id or "", channel_id=channel_id, thread_ts=f"cmd-{uuid.uuid4().hex[:20]}")
        await _answer_ephemerally(
            surface, respond, _runner(surface, actor=actor, thread=thread, plan=plan, command=command, text=text), actor=actor
        )
        return
    thread_ts = str(posted["ts"])
    thread = ThreadRef(team_id=team_id or "", channel_id=channel_id, thread_ts=thread_ts)
    await answer(
        surface,
        who=actor,
        where=Where(channel=channel_id, thread_ts=thread_ts),
        run=_runner(surface, actor=actor, thread=thread, plan=plan, command=command, text=text),
    )


async def _may_show_here(surface: Surface, actor: Actor, tool: Tool, arguments: dict[str, Any]) -> bool:
    """Whether a direct call may be answered in the channel: the policy allows it here (or asks for approval).

    Arguments that do not validate, and a check that fails (ticket system down), are no allowance: those answers
    repeat the arguments too, so they go to the asker only."""
    try:
        decision = await decide_call(surface.deps, actor, tool, arguments, conversation_id="slash-precheck")
    except ValidationError:
        return False
    except Exception as exc:  # noqa: BLE001 - the run itself reports the failure, to the asker only
        log_event(_log, "command pre-check failed", logging.WARNING, tool=tool.name, error=type(exc).__name__)
        return False
    return decision.outcome != "deny"


async def _answer_ephemerally(surface: Surface, respond: AsyncRespond, run: Any, *, actor: Actor) -> None:
    """Answer to the asker only (through the command's response_url), with the feedback buttons: an ephemeral
    message has no ts we could learn, so the answer is recorded under its turn (bot/slack/feedback.py)."""
    try:
        result: TurnResult = await run(None, _noop_progress)
    except Exception as exc:  # noqa: BLE001 - the user still gets an answer
        log_event(_log, "command crashed", logging.ERROR, error=repr(exc))
        result = TurnResult(status="failed", text=agent_text.internal_error())
    # ephemeral: only the asker sees it, as in a DM, so the trace may say why a call was refused
    for msg in render_safely(result, approval=approval_for(result), channel_type="im", feedback=True):
        await respond(text=msg.text, blocks=msg.blocks, response_type="ephemeral", replace_original=False)
    await record_ephemeral_answer(surface.deps, actor=actor, result=result)


def _section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=shorten(text, 3_000))).to_dict()


@dataclass(frozen=True)
class HelpLines:
    """What a caller may do, as the help's lines (`/chatops help` and the App Home show the same ones)."""

    commands: list[str]
    """The tool commands whose tool the caller is offered (in TOOL_COMMANDS order)."""
    tools: list[str]
    """One line per offered tool: its name and the first sentence of its description."""


def help_lines(tools: Sequence[Tool]) -> HelpLines:
    """The command and tool lines of the help for the tools a caller is offered (and nothing else)."""
    names = {t.name for t in tools}
    return HelpLines(
        commands=[f"• {slack_text.slash_usage(c)}" for c in TOOL_COMMANDS if names & set(COMMAND_TOOLS[c])],
        tools=[f"• *{t.name}*: {escape_mrkdwn(shorten(t.description.split('. ')[0], 140))}" for t in tools],
    )


async def help_blocks(surface: Surface, actor: Actor, *, bot_user_id: str | None) -> list[dict[str, Any]]:
    """/chatops help: only the commands and tools this caller may use here."""
    lines = help_lines(await offered_tools(surface, actor))
    # restricted commands are hidden: a non-admin may only preview digests and mute their reminders
    commands = lines.commands + slack_text.help_chatops_commands(admin=await is_admin(surface.deps, actor.user_id))
    tool_lines = lines.tools
    blocks = [_section(slack_text.help_intro(bot_user_id)), _section("*Commands*\n" + "\n".join(commands))]
    blocks.append(_section("*What I can do for you here*\n" + ("\n".join(tool_lines) or "_nothing in this channel_")))
    return blocks


async def run_chatops(surface: Surface, *, payload: SlashCommand, respond: AsyncRespond, bot_user_id: str | None) -> None:
    """`/chatops help | whoami | config | digest ...` after the ack."""
    sub, _, rest = payload.text.strip().partition(" ")
    user_id, channel_id = payload.user_id, payload.channel_id
    if sub.lower() == "config":
        if not payload.trigger_id:  # Slack always sends one; without it no modal can open
            await respond(text=admin_text.config_modal_failed(), response_type="ephemeral")
            return
        refusal = await admin_modal.open_config_modal(
            surface.client, surface.deps, user_id=user_id, trigger_id=payload.trigger_id
        )
        if refusal:
            await respond(text=refusal, response_type="ephemeral")
        return
    if sub.lower() == "digest":
        reply = await handle_digest_command(
            surface.client, surface.deps, user_id=user_id, channel_id=channel_id, text=rest, trigger_id=payload.trigger_id
        )
        await respond(text=reply, response_type="ephemeral")
        return
    actor = await surface.directory.actor(user_id=user_id, team_id=payload.team_id, channel_id=channel_id)
    if sub.lower() == "whoami":
        role = await role_of(surface.deps, user_id)
        tools = await offered_tools(surface, actor)
        await respond(text=slack_text.whoami(user_id, role, actor.name, len(tools)), response_type="ephemeral")
        return
    blocks = await help_blocks(surface, actor, bot_user_id=bot_user_id)
    await respond(text=slack_text.help_intro(bot_user_id), blocks=blocks, response_type="ephemeral")


def register_commands(app: AsyncApp, surface: Surface) -> None:
    """The slash command listeners."""

    async def on_tool_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        payload = SlashCommand.of(command)
        if payload is None:  # the app's middleware already ignores these
            log_event(_log, "malformed command ignored", logging.WARNING)
            await ack()
            return
        plan = plan_command(payload.command, payload.text)
        if plan.kind == "usage":
            await ack(text=slack_text.slash_usage(payload.command), response_type="ephemeral")
            return
        await ack()
        surface.tasks.spawn(
            run_tool_command(surface, payload=payload, plan=plan, respond=respond), name=f"command:{payload.command}"
        )

    async def on_chatops(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: Any) -> None:
        payload = SlashCommand.of(command)
        if payload is None:  # the app's middleware already ignores these
            log_event(_log, "malformed command ignored", logging.WARNING)
            await ack()
            return
        sub = payload.text.strip().partition(" ")[0].lower()
        if sub not in ("", "help", "whoami", "config", "digest"):
            await ack(text=slack_text.slash_usage("/chatops"), response_type="ephemeral")
            return
        await ack()
        surface.tasks.spawn(
            run_chatops(surface, payload=payload, respond=respond, bot_user_id=context.bot_user_id), name="command:/chatops"
        )

    for name in TOOL_COMMANDS:
        app.command(name)(on_tool_command)
    app.command("/chatops")(on_chatops)
