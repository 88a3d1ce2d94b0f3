"""The Block Kit payloads people see, pinned by snapshots: a finished answer with its collapsed trace (allowed,
failed and denied calls), the same answer as posted (feedback buttons, its Work Object in the message metadata),
a ticket's unfurl and flexpane entities, and a write waiting for Approve / Cancel. Each payload also passes
slack_sdk's models."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_sdk.models.blocks import Block

from bot.agent.types import PendingAction, TraceEntry, TurnResult
from bot.slack.approval_blocks import approval_blocks
from bot.slack.feedback import feedback_block
from bot.slack.posting import marker
from bot.slack.rendering import render_turn
from bot.slack.work_objects import TicketLink, task_entity
from integrations.llm.base import Usage
from integrations.tickets.base import Comment, Person, Ticket
from tests.fakes.slack_agent import entity_problem
from tests.snapshot import assert_snapshot


def _valid(blocks: list[dict]) -> None:  # type: ignore[type-arg]
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, raw
        parsed.validate_json()


def answered_turn() -> TurnResult:
    return TurnResult(
        status="answered",
        text="**OPS-12** is *Blocked* on the vendor; Maya owns it.\n\n- OPS-7 is waiting for review",
        trace=[
            TraceEntry("tu_1", "search_tickets", {"project": "OPS", "status": "Blocked"}, "ok",
                       summary='{"tickets":[{"key":"OPS-12"}],"count":1}', duration_ms=41.2),
            TraceEntry("tu_2", "get_ticket", {"key": "OPS-99"}, "error",
                       summary="No ticket OPS-99", duration_ms=12.0),
            TraceEntry("tu_3", "add_comment", {"key": "SEC-1", "body": "hi"}, "denied",
                       decision="deny", decision_reason="not permitted", duration_ms=0.4),
        ],
        usage=Usage(input_tokens=1200, output_tokens=85, cache_read_tokens=900),
        duration_ms=2350.0,
        steps=2,
        turn_id="turn-1",
        conversation_id="conv-1",
    )


def test_an_answer_with_its_trace() -> None:
    [message] = render_turn(answered_turn())
    _valid(message.blocks)
    assert_snapshot("answer_with_trace", {"text": message.text, "blocks": message.blocks})


def test_a_write_waiting_for_approval() -> None:
    pending = PendingAction(
        approval_id="ap-1",
        tool="transition_ticket",
        arguments={"key": "OPS-12", "status": "Done"},
        description="Move OPS-12 to Done",
        requester_id="U0ALICE",
        expires_at_iso="2026-11-18T15:30:00+00:00",
    )
    blocks = approval_blocks(pending)
    _valid(blocks)
    assert_snapshot("approval_request", blocks)


TICKET = Ticket(
    key="OPS-12",
    project="OPS",
    summary="Vendor outage blocks the @here TLS rollout",
    description="The vendor's API returns 503 since Monday.\n\nWorkaround: none yet.",
    status="Blocked",
    priority="High",
    issue_type="Bug",
    assignee=Person(id="maya", name="Maya Chen"),
    created=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
    updated=datetime(2026, 11, 17, 16, 45, tzinfo=UTC),
)
POSTED = "https://acme.atlassian.net/browse/ops-12?focusedCommentId=10001"
LINK = TicketLink(url=POSTED, key="OPS-12", canonical="https://acme.atlassian.net/browse/OPS-12", system="jira")


def test_an_answer_as_posted_with_feedback_buttons_and_its_work_object() -> None:
    [message] = render_turn(answered_turn(), feedback=True)
    _valid(message.blocks)
    entity = task_entity(TICKET, LINK, product="Jira", unfurl=False)
    assert entity_problem(entity, unfurl=False) is None
    metadata = marker("answer:0123456789abcdef", [entity])
    assert_snapshot("answer_as_posted", {"text": message.text, "blocks": message.blocks, "metadata": metadata})


def test_each_answer_gets_its_own_feedback_buttons_with_its_own_block_id() -> None:
    first = feedback_block("turn-1")
    first["elements"][0]["positive_button"]["value"] = "changed"  # what one message does to its copy stays there
    second = feedback_block("turn-2")
    assert second["block_id"] == "feedback-turn-2"
    assert second["elements"][0]["positive_button"]["value"] == "up"
    _valid([second])


def test_a_tickets_unfurl_and_flexpane_entities() -> None:
    comment = Comment(id="10001", ticket_key="OPS-12", author=Person(id="leo", name="Leo Park"), body="Pinged the vendor again.",
                      created=datetime(2026, 11, 17, 16, 40, tzinfo=UTC))
    unfurl = task_entity(TICKET, LINK, product="Jira")
    flexpane = task_entity(TICKET, LINK, product="Jira", details=True, comments=[comment], unfurl=False)
    assert entity_problem(unfurl, unfurl=True) is None and entity_problem(flexpane, unfurl=False) is None
    assert_snapshot("work_object_entities", {"unfurl": unfurl, "flexpane": flexpane})
