"""The help's command and tool lines, built once for `/chatops help` and the App Home: only what the caller is
offered, in the registry's order, each tool with the first sentence of its description."""

from __future__ import annotations

import dataclasses

from bot.messages import slack as slack_text
from bot.slack.commands import help_lines
from bot.tools.registry import all_tools


def test_a_command_is_listed_when_any_of_its_tools_is_offered_and_each_offered_tool_gets_one_line() -> None:
    offered = [t for t in all_tools() if t.name in ("get_ticket", "workload_digest")]
    lines = help_lines(offered)
    assert lines.commands == [f"• {slack_text.slash_usage('/ticket')}", f"• {slack_text.slash_usage('/summary')}"]
    assert [line.split("*")[1] for line in lines.tools] == ["get_ticket", "workload_digest"]
    assert all(". " not in line.split(": ", 1)[1] for line in lines.tools)  # the first sentence only


def test_nothing_offered_lists_no_command_and_no_tool() -> None:
    lines = help_lines([])
    assert lines.commands == [] and lines.tools == []


def test_a_tool_description_is_escaped_for_mrkdwn() -> None:
    [tool] = [t for t in all_tools() if t.name == "get_ticket"]
    [line] = help_lines([dataclasses.replace(tool, description="Shows <!channel> & more. Second.")]).tools
    assert line == "• *get_ticket*: Shows &lt;!channel&gt; &amp; more"
