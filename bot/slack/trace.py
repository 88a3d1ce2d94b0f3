"""The tool trace as Block Kit: a compact context line and collapsed `container` blocks, one section per call.

A container holds at most 10 children, so up to 30 calls are paged into containers of 10 and more are
grouped by tool. The whole trace stays within a character budget, so the answer and the trace fit one message.
Everything shown is redacted of secrets and escaped (tool data cannot form links or mentions). Outside DMs a
refused or invalid call shows only its tool and outcome: its arguments, reason and error text may name a private
ticket or carry a comment the channel may not see.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from slack_sdk.models.blocks import ContainerBlock, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.agent.types import TraceEntry, TurnResult
from bot.slack_api.markdown import escape_mrkdwn, shorten
from bot.slack_api.outbound import mask_secrets, neutralize_broadcasts
from bot.tools.base import ChannelType

TRACE_BUDGET = 3_600
"""Characters of trace text per message (the answer takes the rest of Slack's ~12k)."""
CALLS_PER_CONTAINER = 10
MAX_PAGED_CALLS = 30
_SECRET_KEYS = ("token", "secret", "password", "passwd", "api_key", "apikey", "authorization", "credential")

OUTCOME_ICONS: dict[str, str] = {
    "ok": ":white_check_mark:",
    "error": ":x:",
    "invalid": ":warning:",
    "denied": ":no_entry:",
    "capped": ":stop_button:",
    "timeout": ":hourglass:",
    "pending": ":double_vertical_bar:",
    "cancelled": ":heavy_multiplication_x:",
}
DECISION_LABELS: dict[str, str] = {"allow": "allowed", "deny": "denied", "confirm": "needs approval"}
PRIVATE_OUTCOMES = frozenset({"denied", "invalid"})
"""Calls whose arguments (and reason / error text, which repeat them) are shown only in DMs."""
ARGUMENTS_HIDDEN = "arguments hidden"


def clean(text: str) -> str:
    """Trace text as shown: secrets masked, broadcasts inert, mrkdwn escaped."""
    return escape_mrkdwn(neutralize_broadcasts(mask_secrets(text)))


def _redact_args(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "[redacted]" if any(s in str(k).lower() for s in _SECRET_KEYS) else _redact_args(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_args(v) for v in value]
    return value


def format_arguments(arguments: dict[str, Any]) -> str:
    """Compact JSON of a call's arguments, secret-named fields masked."""
    return json.dumps(_redact_args(arguments), ensure_ascii=False, separators=(", ", ": "), default=str)


def format_duration(ms: float) -> str:
    """`840 ms` or `4.2 s`."""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def decision_text(entry: TraceEntry) -> str:
    """The authorization decision in words, with its reason when there is one."""
    label = DECISION_LABELS.get(entry.decision, entry.decision)
    return f"{label}: {entry.decision_reason}" if entry.decision_reason and entry.decision != "allow" else label


def details_shown(entry: TraceEntry, channel_type: ChannelType) -> bool:
    """Whether a call's arguments, reason and error may be shown: always in a DM, elsewhere unless refused/invalid."""
    return channel_type == "im" or entry.outcome not in PRIVATE_OUTCOMES


def call_text(entry: TraceEntry, *, limit: int, channel_type: ChannelType = "unknown") -> str:
    """One call as mrkdwn: outcome, tool, duration, decision; arguments; result summary or error.

    Outside DMs a refused or invalid call shows only its tool and outcome, with "arguments hidden"."""
    icon = OUTCOME_ICONS.get(entry.outcome, ":grey_question:")
    if not details_shown(entry, channel_type):
        hidden = f"{icon} *{clean(entry.tool)}* · {format_duration(entry.duration_ms)} · _{entry.outcome}_"
        return f"{hidden}\n_{ARGUMENTS_HIDDEN}_"
    head = f"{icon} *{clean(entry.tool)}* · {format_duration(entry.duration_ms)} · {clean(decision_text(entry))}"
    if entry.outcome not in ("ok", "pending"):
        head += f" · _{entry.outcome}_"
    room = max(40, limit - len(head) - 8)
    args = clean(shorten(format_arguments(entry.arguments), room // 2)).replace("`", "'")
    summary = clean(shorten(entry.summary, room - len(args)))
    lines = [head, f"`{args}`"]
    if summary:
        lines.append(f"→ {summary}")
    return "\n".join(lines)


def _group_text(tool: str, entries: list[TraceEntry], *, limit: int, channel_type: ChannelType) -> str:
    outcomes = Counter(e.outcome for e in entries)
    decisions = Counter(
        decision_text(e) if details_shown(e, channel_type) else DECISION_LABELS.get(e.decision, e.decision)
        for e in entries
    )
    total = sum(e.duration_ms for e in entries)
    head = f"*{clean(tool)}* ×{len(entries)} · {format_duration(total)} · " + ", ".join(
        f"{n} {clean(d)}" for d, n in decisions.items()
    )
    lines = [head, ", ".join(f"{OUTCOME_ICONS.get(o, o)} {n}" for o, n in outcomes.items())]
    failed = next(
        (e for e in entries if e.outcome != "ok" and e.summary and details_shown(e, channel_type)), None
    )
    if failed is not None:
        lines.append(f"first problem: {clean(shorten(failed.summary, limit // 2))}")
    return shorten("\n".join(lines), limit)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _container(title: str, subtitle: str, children: list[SectionBlock]) -> dict[str, Any]:
    block = ContainerBlock(
        title=shorten(title, 150),
        subtitle=shorten(subtitle, 150) if subtitle else None,
        child_blocks=children,
        is_collapsible=True,
        default_collapsed=True,
    )
    return block.to_dict()


def _outcome_subtitle(entries: list[TraceEntry]) -> str:
    counts = Counter(e.outcome for e in entries)
    return " · ".join(f"{n} {o}" for o, n in counts.items())


def trace_blocks(
    trace: list[TraceEntry], *, budget: int = TRACE_BUDGET, channel_type: ChannelType = "unknown"
) -> list[dict[str, Any]]:
    """The collapsed trace: containers of ≤ 10 sections (paged up to 30 calls, grouped by tool beyond).

    `channel_type` is where it is posted: only in a DM ("im") do refused and invalid calls show their arguments."""
    if not trace:
        return []
    n = len(trace)
    if n <= MAX_PAGED_CALLS:
        per_call = max(120, budget // n)
        blocks = []
        for start in range(0, n, CALLS_PER_CONTAINER):
            page = trace[start : start + CALLS_PER_CONTAINER]
            title = f"Tool trace · {n} call{'s' if n != 1 else ''}"
            if n > CALLS_PER_CONTAINER:
                title = f"Tool trace · calls {start + 1}–{start + len(page)} of {n}"
            children = [_section(call_text(e, limit=per_call, channel_type=channel_type)) for e in page]
            blocks.append(_container(title, _outcome_subtitle(page), children))
        return blocks
    by_tool: dict[str, list[TraceEntry]] = {}
    for entry in trace:
        by_tool.setdefault(entry.tool, []).append(entry)
    groups = list(by_tool.items())
    if len(groups) > CALLS_PER_CONTAINER:
        rest = [e for _, entries in groups[CALLS_PER_CONTAINER - 1 :] for e in entries]
        groups = [*groups[: CALLS_PER_CONTAINER - 1], ("other tools", rest)]
    per_group = max(160, budget // len(groups))
    children = [
        _section(_group_text(tool, entries, limit=per_group, channel_type=channel_type))
        for tool, entries in groups
    ]
    return [_container(f"Tool trace · {n} calls, grouped by tool", _outcome_subtitle(trace), children)]


def summary_line(result: TurnResult) -> dict[str, Any]:
    """The compact context line: tools used, total time, tokens (and how the turn ended when not answered)."""
    tools = Counter(e.tool for e in result.trace)
    if tools:
        used = ", ".join(f"{clean(t)} ×{c}" if c > 1 else clean(t) for t, c in tools.items())
        first = f":wrench: {len(result.trace)} tool call{'s' if len(result.trace) != 1 else ''} ({used})"
    else:
        first = ":speech_balloon: no tools"
    tokens = result.usage.input_tokens + result.usage.output_tokens
    parts = [shorten(first, 1500), format_duration(result.duration_ms), f"{tokens:,} tokens"]
    if result.status != "answered":
        parts.append(f"_{result.status}_")
    return ContextBlock(elements=[MarkdownTextObject(text=" · ".join(parts))]).to_dict()
