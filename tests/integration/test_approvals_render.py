"""The Approve/Cancel message: every argument stated, Slack control sequences neutralised, valid Block Kit."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.agent.types import PendingAction
from bot.messages.approvals import action_description
from bot.slack.approval_blocks import approval_blocks, parse_action_id


def pending(arguments: dict[str, object], tool: str = "create_ticket") -> PendingAction:
    return PendingAction(
        approval_id="a1b2c3",
        tool=tool,
        arguments=arguments,
        description=action_description(tool, arguments),
        requester_id="U0MAYA",
        expires_at_iso="2026-11-18T15:30:00+00:00",
    )


def text_of(blocks: list[dict[str, object]]) -> str:
    return "\n".join(str(b.get("text") or b.get("elements")) for b in blocks)


def test_every_argument_is_stated_in_words() -> None:
    args = {"project": "OPS", "summary": "Disk alerts", "labels": ["db", "oncall"], "assignee": None, "issue_type": "Bug"}
    shown = text_of(approval_blocks(pending(args)))
    for line in ("*Project:* OPS", "*Summary:* Disk alerts", "*Labels:* db, oncall", "*Assignee:* (none)", "*Issue type:* Bug"):
        assert line in shown
    assert "Create a Bug in OPS" in shown and "Tool: `create_ticket`" in shown


def test_a_long_value_shows_its_start_and_end_and_how_much_is_hidden() -> None:
    body = "START " + "x" * 5000 + " END"
    shown = text_of(approval_blocks(pending({"key": "OPS-1", "body": body}, tool="add_comment")))
    assert "START" in shown and "END" in shown
    assert "more characters, not shown here" in shown


def test_the_blocks_are_valid_block_kit_within_the_limits() -> None:
    blocks = approval_blocks(pending({"key": "OPS-1", "body": "y" * 20_000}, tool="add_comment"))
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None
        parsed.validate_json()
        if raw["type"] == "section":
            assert len(raw["text"]["text"]) <= 3000  # type: ignore[index]
    assert len(blocks) <= 6


def test_the_expiry_is_shown_in_the_readers_time_zone_with_a_utc_fallback() -> None:
    footer = text_of(approval_blocks(pending({"key": "OPS-1"}, tool="transition_ticket")))
    assert "<!date^1795015800^{date_short_pretty} at {time}|2026-11-18 15:30 UTC>" in footer


def test_action_ids_carry_the_version_and_the_approval_id() -> None:
    actions = next(b for b in approval_blocks(pending({"key": "OPS-1"})) if b["type"] == "actions")
    ids = [e["action_id"] for e in actions["elements"]]  # type: ignore[index, union-attr]
    parsed = [parse_action_id(i) for i in ids]
    assert [(p.version, p.choice, p.approval_id) for p in parsed if p] == [(1, "approve", "a1b2c3"), (1, "cancel", "a1b2c3")]
    assert parse_action_id("chatops.approval/v1/approve/../../etc") is None
    assert parse_action_id("approve") is None
