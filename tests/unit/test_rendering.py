"""A turn rendered for Slack: the answer, the context line and the collapsed trace, within Slack's limits."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.agent.types import PendingAction, TraceEntry, TurnResult
from bot.slack.rendering import ANSWER_PART_CHARS, render_safely, render_turn
from bot.slack.trace import trace_blocks
from integrations.llm.base import Usage
from tests.fakes.slack_blocks import block_text_length, check_blocks


def _entry(i: int, tool: str = "get_ticket", **kw: Any) -> TraceEntry:
    base: dict[str, Any] = {
        "tool_use_id": f"toolu_{i}",
        "tool": tool,
        "arguments": {"key": f"OPS-{i}"},
        "outcome": "ok",
        "summary": f"OPS-{i} 'Login fails' — In Progress",
        "duration_ms": 42.0 + i,
    }
    base.update(kw)
    return TraceEntry(**base)


def _result(text: str = "OPS-1 is open.", trace: list[TraceEntry] | None = None, **kw: Any) -> TurnResult:
    return TurnResult(
        status=kw.pop("status", "answered"),
        text=text,
        trace=trace if trace is not None else [_entry(1)],
        usage=Usage(input_tokens=1200, output_tokens=34),
        duration_ms=4200,
        **kw,
    )


def _container_children(blocks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [b["child_blocks"] for b in blocks if b["type"] == "container"]


def test_an_answer_is_a_markdown_block_then_the_context_line_then_the_collapsed_trace() -> None:
    [msg] = render_turn(_result())
    assert [b["type"] for b in msg.blocks] == ["markdown", "context", "container"]
    assert msg.blocks[0]["text"] == "OPS-1 is open."
    container = msg.blocks[2]
    assert container["is_collapsible"] is True and container["default_collapsed"] is True
    assert msg.text == "OPS-1 is open."


def test_the_context_line_names_tools_time_and_tokens() -> None:
    result = _result(trace=[_entry(1), _entry(2), _entry(3, tool="search_tickets")])
    [msg] = render_turn(result)
    line = msg.blocks[1]["elements"][0]["text"]
    assert "3 tool calls" in line and "get_ticket ×2" in line and "search_tickets" in line
    assert "4.2 s" in line
    assert "1,234 tokens" in line


def test_each_call_shows_tool_arguments_result_duration_and_decision() -> None:
    denied = _entry(2, tool="add_comment", outcome="denied", decision="deny", decision_reason="viewers cannot write", summary="")
    [container] = trace_blocks([_entry(1), denied], channel_type="im")
    ok_text, denied_text = (c["text"]["text"] for c in container["child_blocks"])
    assert "*get_ticket*" in ok_text and '"key": "OPS-1"' in ok_text and "43 ms" in ok_text and "allowed" in ok_text
    assert "Login fails" in ok_text
    assert "denied: viewers cannot write" in denied_text and ":no_entry:" in denied_text


def test_up_to_thirty_calls_are_paged_into_containers_of_ten() -> None:
    blocks = trace_blocks([_entry(i) for i in range(23)])
    assert [len(children) for children in _container_children(blocks)] == [10, 10, 3]
    assert blocks[1]["title"]["text"] == "Tool trace · calls 11–20 of 23"


def test_more_than_thirty_calls_are_grouped_by_tool() -> None:
    trace = [_entry(i, tool=f"tool_{i % 4}") for i in range(45)]
    trace[7].outcome, trace[7].summary = "error", "Jira answered 503"
    [container] = trace_blocks(trace)
    texts = [c["text"]["text"] for c in container["child_blocks"]]
    assert len(texts) == 4
    assert any("×12" in t for t in texts)
    assert any("Jira answered 503" in t for t in texts)


def test_secrets_never_reach_the_trace_and_data_cannot_form_mentions() -> None:
    entry = _entry(
        1,
        arguments={"key": "OPS-1", "api_token": "abc123", "body": "ping <!channel> xoxb-123456789-secret"},
        summary="<https://evil.example|click me> password=hunter2",
    )
    [container] = trace_blocks([entry])
    text = container["child_blocks"][0]["text"]["text"]
    for secret in ("abc123", "xoxb-123456789", "hunter2"):
        assert secret not in text
    assert "<!channel>" not in text and "<https://evil" not in text


def test_every_rendering_is_valid_block_kit() -> None:
    trace = [_entry(i, summary="x" * 900) for i in range(30)]
    for msg in render_turn(_result("A" * 20_000, trace=trace)):
        assert check_blocks(msg.blocks) is None
        for raw in msg.blocks:
            parsed = Block.parse(raw)
            assert parsed is not None
            parsed.validate_json()


def test_an_answer_longer_than_the_limits_is_split_into_messages_that_each_fit() -> None:
    paragraph = "The deploy pipeline for OPS has three stages. " * 20
    code = "```\n" + "\n".join(f"step {i}" for i in range(800)) + "\n```"
    text = "\n\n".join([paragraph] * 30 + [code] + [paragraph] * 10)
    assert len(text) > 40_000
    messages = render_turn(_result(text, trace=[_entry(i) for i in range(12)]))
    assert len(messages) > 4
    for msg in messages:
        assert check_blocks(msg.blocks) is None
        assert block_text_length(msg.blocks) <= 13_200
        markdown = msg.blocks[0]["text"]
        assert len(markdown) <= ANSWER_PART_CHARS
        assert markdown.count("```") % 2 == 0
    assert [b["type"] for b in messages[-1].blocks][1:] == ["context", "container", "container"]
    assert all(len(m.blocks) == 1 for m in messages[:-1])


def test_a_paused_turn_carries_the_approval_blocks_before_the_trace() -> None:
    pending = PendingAction(
        approval_id="ap1", tool="add_comment", arguments={}, description="Comment on OPS-1", requester_id="U1", expires_at_iso=""
    )
    approval = [{"type": "section", "text": {"type": "mrkdwn", "text": pending.description}}]
    [msg] = render_turn(_result("I need your approval.", status="paused", pending=pending), approval=approval)
    assert [b["type"] for b in msg.blocks] == ["markdown", "section", "context", "container"]
    assert "_paused_" in msg.blocks[2]["elements"][0]["text"]


def test_an_answer_without_tools_has_no_trace() -> None:
    [msg] = render_turn(_result("Hello!", trace=[]))
    assert [b["type"] for b in msg.blocks] == ["markdown", "context"]
    assert "no tools" in msg.blocks[1]["elements"][0]["text"]


def test_an_answer_that_pings_the_channel_is_made_inert() -> None:
    [msg] = render_turn(_result("Summary from the ticket: <!channel> deploy now"))
    assert "<!channel>" not in msg.blocks[0]["text"]


def test_the_trace_shows_the_plain_result_as_data_even_when_it_looks_like_markup() -> None:
    # the loop hands over the plain result (only the model gets the <tool_output> wrapper); whatever a ticket
    # says is shown as text, escaped, never dropped or interpreted
    entry = _entry(1, summary='{"key":"OPS-1","description":"see </tool_output> and <@U0BOSS>"}')
    [container] = trace_blocks([entry])
    text = container["child_blocks"][0]["text"]["text"]
    assert '{"key":"OPS-1","description":"see &lt;/tool_output&gt; and &lt;@U0BOSS&gt;"}' in text


def test_a_broken_block_costs_the_extras_never_the_answer() -> None:
    broken = [{"type": "section"}]  # no text: Slack would reject the whole message
    messages = render_safely(_result("OPS-1 is open."), approval=broken)
    assert [b["type"] for b in messages[0].blocks] == ["markdown"]
    assert messages[0].blocks[0]["text"] == "OPS-1 is open."


# ---------------------------------------------------------------- refused calls outside DMs

SECRET_COMMENT = "Customer Acme's SSO is broken"
DENIED = _entry(
    7, tool="add_comment", outcome="denied", decision="deny", decision_reason="SEC-4 is not available to you here",
    arguments={"key": "SEC-4", "body": SECRET_COMMENT},
    summary="Not permitted: Maya may not run add_comment with these arguments here.",
)  # fmt: skip
INVALID = _entry(
    8, tool="add_comment", outcome="invalid", decision="none", arguments={"key": "SEC-4", "body": 42},
    summary=f"1 validation error in the arguments of add_comment:\n- body: expected a string; got {SECRET_COMMENT!r}",
)  # fmt: skip


def _call_texts(trace: list[TraceEntry], channel_type: Any) -> list[str]:
    return [child["text"]["text"] for block in trace_blocks(trace, channel_type=channel_type)
            for child in block["child_blocks"]]  # fmt: skip


@pytest.mark.parametrize("channel_type", ["public", "private", "mpim", "unknown"])
@pytest.mark.parametrize("entry", [DENIED, INVALID], ids=["denied", "invalid"])
def test_outside_dms_a_refused_or_invalid_call_shows_only_its_tool_and_outcome(
    channel_type: str, entry: TraceEntry
) -> None:
    [text] = _call_texts([entry], channel_type)

    assert "*add_comment*" in text and f"_{entry.outcome}_" in text and "arguments hidden" in text
    for private in ("SEC-4", "Acme", "SSO"):
        assert private not in text, "neither the arguments nor the reason or error that repeat them"


@pytest.mark.parametrize("entry", [DENIED, INVALID], ids=["denied", "invalid"])
def test_in_a_dm_a_refused_or_invalid_call_keeps_its_arguments(entry: TraceEntry) -> None:
    [text] = _call_texts([entry], "im")

    assert "SEC-4" in text and "arguments hidden" not in text


def test_outside_dms_allowed_calls_still_show_their_arguments() -> None:
    ok_text, denied_text = _call_texts([_entry(1), DENIED], "public")

    assert '"key": "OPS-1"' in ok_text and "Login fails" in ok_text
    assert "arguments hidden" in denied_text


def test_a_grouped_trace_in_a_channel_never_quotes_a_refused_calls_reason_or_error() -> None:
    trace = [_entry(i) for i in range(31)] + [DENIED, INVALID]

    texts = _call_texts(trace, "public")

    assert texts and not any("SEC-4" in t or "Acme" in t for t in texts)
    assert any("SEC-4" in t for t in _call_texts(trace, "im")), "a DM still says what went wrong"


def test_render_turn_hides_refused_arguments_where_the_turn_is_posted() -> None:
    result = _result(trace=[DENIED])

    [in_channel] = render_turn(result, channel_type="public")
    [in_dm] = render_turn(result, channel_type="im")

    assert "SEC-4" not in str(in_channel.blocks) and "arguments hidden" in str(in_channel.blocks)
    assert "SEC-4" in str(in_dm.blocks)
