"""OpenTelemetry traces through the whole app: a mention over signed HTTP into Bolt, the Agent, AnthropicLLM, the
real ticket tools on the seeded database, and the SDK's OTLP/HTTP exporter to a fake collector."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.otlp_collector import OtlpCollector
from tests.fakes.slack_payloads import mention
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import ALICE, MENTION, OPS_CHANNEL, SlackBot, start_bot

USAGE = {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 300, "cache_creation_input_tokens": 50}


@pytest.fixture(name="collector")
def collector_fixture() -> Iterator[OtlpCollector]:
    with OtlpCollector() as srv:
        assert isinstance(srv, OtlpCollector)
        yield srv


@pytest.fixture(name="traced_bot")
async def traced_bot_fixture(
    slack: FakeSlack, model: AnthropicServer, seeded_sqlite: Database, clock: FixedClock, collector: OtlpCollector
) -> AsyncIterator[SlackBot]:
    async for harness in start_bot(slack, model, seeded_sqlite, clock, otel_exporter_otlp_endpoint=collector.url):
        yield harness
        await asyncio.to_thread(harness.deps.tracing.shutdown)


async def test_a_mention_is_one_trace_with_its_model_and_tool_calls_and_no_ticket_text(traced_bot: SlackBot, collector: OtlpCollector) -> None:
    bot = traced_bot
    ticket = await bot.deps.tickets.get_ticket("OPS-1")
    bot.model.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_slack_1")], usage=USAGE),
        text_reply(f"OPS-1 is open: {ticket.summary}", usage=USAGE),
    )
    question = "is OPS-1 open? asking for the release notes"
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} {question}")
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} {question}", ts=asked)) == 200
    await bot.settle()
    assert await asyncio.to_thread(bot.deps.tracing.force_flush)

    spans = collector.spans()
    assert sorted(s.name for s in spans) == ["chat claude-sonnet-4-6", "chat claude-sonnet-4-6", "chatops.turn", "execute_tool get_ticket"]
    turn = next(s for s in spans if s.name == "chatops.turn")
    assert all(s.parent_span_id == turn.span_id and s.trace_id == turn.trace_id for s in spans if s is not turn)
    assert turn.attributes["chatops.turn.outcome"] == "answered"
    assert turn.attributes["gen_ai.usage.cache_read.input_tokens"] == 600
    assert turn.attributes["gen_ai.usage.cache_creation.input_tokens"] == 100
    tool = next(s for s in spans if s.name == "execute_tool get_ticket")
    assert (tool.attributes["gen_ai.tool.call.id"], tool.attributes["chatops.tool.outcome"]) == ("toolu_slack_1", "ok")

    everything = json.dumps([s.attributes for s in spans])
    for text in (ticket.summary, "release notes", ALICE, OPS_CHANNEL):
        assert text not in everything
