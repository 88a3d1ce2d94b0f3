"""Splitting the model's Markdown to Slack's sizes, and keeping tool data from pinging or leaking."""

from __future__ import annotations

import re

from bot.slack_api.markdown import escape_mrkdwn, plain_preview, split_markdown
from bot.slack_api.outbound import mask_secrets, neutralize_broadcasts


def _fences_balanced(part: str) -> bool:
    return len(re.findall(r"^ {0,3}```", part, flags=re.M)) % 2 == 0


def test_a_short_answer_stays_in_one_part() -> None:
    assert split_markdown("OPS-12 is *In Progress*.", 100) == ["OPS-12 is *In Progress*."]


def test_a_long_answer_is_split_between_paragraphs_within_the_limit() -> None:
    paragraphs = [f"Paragraph {i}: " + "word " * 30 for i in range(20)]
    parts = split_markdown("\n\n".join(paragraphs), 500)
    assert len(parts) > 1
    assert all(len(p) <= 500 for p in parts)
    assert all(p.startswith("Paragraph") for p in parts)
    assert "".join(parts).replace("\n", "").count("Paragraph") == 20


def test_no_part_ends_inside_a_code_block() -> None:
    code = "```python\n" + "\n".join(f"x_{i} = {i}" for i in range(40)) + "\n```"
    text = "Intro paragraph.\n\n" + code + "\n\nAfter the code."
    parts = split_markdown(text, 200)
    assert all(len(p) <= 200 for p in parts)
    assert all(_fences_balanced(p) for p in parts)
    code_parts = [p for p in parts if "x_" in p]
    assert all(p.startswith("```python\n") for p in code_parts)
    lines = [ln for p in code_parts for ln in p.splitlines() if ln.startswith("x_")]
    assert lines == [f"x_{i} = {i}" for i in range(40)]


def test_an_unclosed_code_block_is_closed() -> None:
    parts = split_markdown("Look:\n\n```\nprint(1)\n" + "more text " * 40, 120)
    assert all(_fences_balanced(p) for p in parts)


def test_a_single_huge_line_is_cut_at_spaces() -> None:
    parts = split_markdown("word " * 10_000, 3_000)
    assert all(len(p) <= 3_000 for p in parts)
    assert sum(p.count("word") for p in parts) == 10_000


def test_broadcast_mentions_are_made_inert_but_people_stay_mentionable() -> None:
    text = "Hey <!here> and <!channel|channel>, <!subteam^S0123|@oncall>, @everyone — ask <@U123>"
    out = neutralize_broadcasts(text)
    assert "<!" not in out
    assert "@everyone" not in out and "@\u200beveryone" in out
    assert "@\u200boncall" in out
    assert "<@U123>" in out


def test_tokens_and_password_pairs_are_redacted() -> None:
    text = "token xoxb-1234567890-abcdef and sk-ant-api03-SECRETSECRET, password=hunter2, Bearer abcdefghijkl"
    out = mask_secrets(text)
    assert "xoxb-1234567890" not in out
    assert "SECRETSECRET" not in out
    assert "hunter2" not in out
    assert "abcdefghijkl" not in out
    assert "password=[redacted]" in out


def test_mrkdwn_control_characters_are_escaped() -> None:
    assert escape_mrkdwn("<https://evil|click> & <@U1>") == "&lt;https://evil|click&gt; &amp; &lt;@U1&gt;"


def test_the_notification_preview_is_short_plain_text() -> None:
    preview = plain_preview("# Title\n\n**OPS-12** is `open`\n```\ncode\n```\n" + "x" * 500, limit=100)
    assert len(preview) <= 100
    assert preview.startswith("Title OPS-12 is open")
