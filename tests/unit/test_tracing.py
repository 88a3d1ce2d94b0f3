"""OpenTelemetry traces: the real agent, the real SDK and OTLP/HTTP exporter, a fake collector at the network edge.

Each test runs turns through the agent harness with an OTLP endpoint aimed at `OtlpCollector`, flushes the
provider (no sleeps) and asserts on the spans the collector decoded.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from opentelemetry import trace
from pydantic import SecretStr

from bot.settings import Settings
from bot.storage.db import Database
from bot.wiring import build_tracing
from tests.agent_harness import Harness, ScriptedAuthorizer, make_harness
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, overloaded, text_reply, tool_use, tool_use_reply
from tests.fakes.otlp_collector import OtlpCollector, ReceivedSpan

QUESTION = "What is OPS-1? The deploy token is xoxb-1234567890-abcdefghij, keep it quiet"
ANSWER = "OPS-1 is the flaky deploy job."
SLACK_TOKEN = "xoxb-1234567890-abcdefghij"


@pytest.fixture(name="collector")
def collector_fixture() -> Iterator[OtlpCollector]:
    with OtlpCollector() as srv:
        assert isinstance(srv, OtlpCollector)
        yield srv


@asynccontextmanager
async def _traced_harness(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector, **overrides: Any
) -> AsyncIterator[Harness]:
    h = await make_harness(settings, database, server, clock, otel_exporter_otlp_endpoint=collector.url, **overrides)
    try:
        yield h
    finally:
        assert h.deps.llm is not None
        await h.deps.llm.aclose()
        await asyncio.to_thread(h.deps.tracing.shutdown)


@pytest.fixture(name="traced")
async def traced_fixture(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> AsyncIterator[Harness]:
    """The agent harness with tracing on (content off: the default)."""
    async with _traced_harness(settings, database, server, clock, collector) as h:
        yield h


async def _spans(h: Harness, collector: OtlpCollector) -> list[ReceivedSpan]:
    assert await asyncio.to_thread(h.deps.tracing.force_flush)
    return collector.spans()


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def _strings(spans: list[ReceivedSpan]) -> list[str]:
    return [json.dumps(v) if not isinstance(v, str) else v for s in spans for v in s.attributes.values()]


def _tool_turn(h: Harness) -> None:
    h.server.queue(
        tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_01")], usage={"input_tokens": 50, "output_tokens": 10}),
        text_reply(ANSWER, usage={"input_tokens": 70, "output_tokens": 12}),
    )


async def test_a_turn_sends_one_turn_span_with_its_model_and_tool_calls_as_children(traced: Harness, collector: OtlpCollector) -> None:
    _tool_turn(traced)
    result = await traced.ask(QUESTION)
    assert result.status == "answered"

    spans = await _spans(traced, collector)
    turn = _one(spans, "chatops.turn")
    chats = [s for s in spans if s.name == "chat claude-sonnet-4-6"]
    tool = _one(spans, "execute_tool get_ticket")
    assert len(chats) == 2 and len(spans) == 4
    assert {s.trace_id for s in spans} == {turn.trace_id}
    assert turn.parent_span_id == ""
    assert all(s.parent_span_id == turn.span_id for s in [*chats, tool])
    assert turn.service == "chatops" and turn.scope == "chatops"
    assert turn.attributes == {
        "gen_ai.conversation.id": result.conversation_id,
        "chatops.turn.id": result.turn_id,
        "chatops.user.hash": turn.attributes["chatops.user.hash"],
        "chatops.turn.outcome": "answered",
        "chatops.turn.steps": 2,
        "chatops.turn.tool_calls": 1,
        "gen_ai.usage.input_tokens": 120,
        "gen_ai.usage.output_tokens": 22,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_creation.input_tokens": 0,
    }
    assert len(turn.attributes["chatops.user.hash"]) == 32 and "U0ALICE" not in turn.attributes["chatops.user.hash"]


async def test_a_model_call_span_follows_the_genai_semantic_conventions(traced: Harness, collector: OtlpCollector) -> None:
    _tool_turn(traced)
    await traced.ask(QUESTION)

    first, second = [s for s in await _spans(traced, collector) if s.name.startswith("chat ")]
    assert first.kind == "SPAN_KIND_CLIENT"
    assert first.attributes["gen_ai.operation.name"] == "chat"
    assert first.attributes["gen_ai.provider.name"] == "anthropic"
    assert first.attributes["gen_ai.system"] == "anthropic"
    assert first.attributes["gen_ai.request.model"] == "claude-sonnet-4-6"
    assert first.attributes["gen_ai.response.model"] == "claude-sonnet-4-6"
    assert first.attributes["gen_ai.request.max_tokens"] == traced.deps.settings.chatops_max_tokens
    assert first.attributes["gen_ai.response.finish_reasons"] == ["tool_use"]
    assert (first.attributes["gen_ai.usage.input_tokens"], first.attributes["gen_ai.usage.output_tokens"]) == (50, 10)
    assert second.attributes["gen_ai.response.finish_reasons"] == ["end_turn"]
    assert (second.attributes["gen_ai.usage.input_tokens"], second.attributes["gen_ai.usage.output_tokens"]) == (70, 12)
    assert first.status == "STATUS_CODE_UNSET"


async def test_a_tool_call_span_names_the_tool_the_call_and_how_it_ended(traced: Harness, collector: OtlpCollector) -> None:
    _tool_turn(traced)
    await traced.ask(QUESTION)

    tool = _one(await _spans(traced, collector), "execute_tool get_ticket")
    assert tool.kind == "SPAN_KIND_INTERNAL"
    assert tool.attributes == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "get_ticket",
        "gen_ai.tool.call.id": "toolu_01",
        "gen_ai.tool.type": "function",
        "chatops.tool.outcome": "ok",
        "chatops.tool.decision": "allow",
        "chatops.tool.rule": "default",
    }


async def test_by_default_no_prompt_answer_ticket_text_or_arguments_leave_in_any_attribute(traced: Harness, collector: OtlpCollector) -> None:
    _tool_turn(traced)
    await traced.ask(QUESTION)

    values = " ".join(_strings(await _spans(traced, collector)))
    for text in ("What is", "deploy token", SLACK_TOKEN, "flaky deploy", "Summary of OPS-1", "OPS-1", "U0ALICE"):
        assert text not in values
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.tool.call.a", "gen_ai.tool.call.r")) for s in collector.spans() for k in s.attributes)


async def test_a_denied_call_gets_its_span_under_the_turn_with_the_decision(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> None:
    async with _traced_harness(settings, database, server, clock, collector, authz=ScriptedAuthorizer({"add_comment": "deny"})) as h:
        h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "done"}, id="toolu_02")]), text_reply("Not allowed."))
        await h.ask("Comment done on OPS-1")
        spans = await _spans(h, collector)
    turn, tool = _one(spans, "chatops.turn"), _one(spans, "execute_tool add_comment")
    assert tool.parent_span_id == turn.span_id
    assert tool.attributes["chatops.tool.outcome"] == "denied"
    assert tool.attributes["chatops.tool.decision"] == "deny"
    assert tool.attributes["chatops.tool.rule"] == "test-rule"
    assert tool.attributes["error.type"] == "denied" and tool.status == "STATUS_CODE_ERROR"
    assert h.rec.calls == []


async def test_a_call_that_waits_for_approval_has_a_pending_span_and_the_approved_run_its_own_under_the_resumed_turn(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> None:
    async with _traced_harness(settings, database, server, clock, collector, authz=ScriptedAuthorizer({"add_comment": "confirm"})) as h:
        h.server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Deployed"}, id="toolu_04")]), text_reply("Commented."))
        paused = await h.ask("Comment Deployed on OPS-1")
        assert paused.status == "paused" and paused.pending is not None
        resumed = await h.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
        assert resumed.status == "answered"
        spans = await _spans(h, collector)
    first, second = [s for s in spans if s.name == "chatops.turn"]
    pending, ran = [s for s in spans if s.name == "execute_tool add_comment"]
    assert (first.attributes["chatops.turn.outcome"], second.attributes["chatops.turn.outcome"]) == ("paused", "answered")
    assert first.attributes["chatops.turn.id"] == second.attributes["chatops.turn.id"] == paused.turn_id
    assert pending.parent_span_id == first.span_id and ran.parent_span_id == second.span_id
    assert (pending.attributes["chatops.tool.outcome"], pending.attributes["chatops.tool.decision"]) == ("pending", "confirm")
    assert (ran.attributes["chatops.tool.outcome"], ran.attributes["chatops.tool.decision"]) == ("ok", "confirm")
    assert ran.attributes["chatops.tool.rule"] == "approval" and ran.attributes["gen_ai.tool.call.id"] == "toolu_04"
    assert pending.status != "STATUS_CODE_ERROR" and ran.status != "STATUS_CODE_ERROR"


async def test_a_failed_model_call_is_an_error_span_and_the_turn_says_failed(traced: Harness, collector: OtlpCollector) -> None:
    traced.server.queue(*[overloaded() for _ in range(5)])
    result = await traced.ask(QUESTION)
    assert result.status == "failed"

    spans = await _spans(traced, collector)
    turn = _one(spans, "chatops.turn")
    chats = [s for s in spans if s.name.startswith("chat ")]
    assert chats and all(s.status == "STATUS_CODE_ERROR" and s.attributes["error.type"] for s in chats)
    assert turn.attributes["chatops.turn.outcome"] == "failed" and turn.status == "STATUS_CODE_ERROR"


async def test_with_content_enabled_prompts_answers_and_tool_calls_are_attached_with_secrets_masked(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> None:
    async with _traced_harness(settings, database, server, clock, collector, chatops_trace_content=True) as h:
        h.server.queue(
            tool_use_reply([tool_use("login", {"user": "maya", "password": "s3cret-passw0rd"}, id="toolu_03")]),
            text_reply(f"Logged in; your token is {SLACK_TOKEN}."),
        )
        await h.ask(QUESTION)
        spans = await _spans(h, collector)
        first, second = [s for s in spans if s.name.startswith("chat ")]
        tool = _one(spans, "execute_tool login")

        asked = first.attributes["gen_ai.input.messages"]
        assert "What is OPS-1?" in asked and "[redacted]" in asked
        assert json.loads(asked)[0]["role"] == "user"
        assert json.loads(first.attributes["gen_ai.output.messages"])[0]["parts"][0]["name"] == "login"
        assert "Logged in" in second.attributes["gen_ai.output.messages"]
        assert json.loads(tool.attributes["gen_ai.tool.call.arguments"]) == {"user": "maya", "password": "[redacted]"}
        assert "logged in" in tool.attributes["gen_ai.tool.call.result"]
        values = " ".join(_strings(spans))
        assert SLACK_TOKEN not in values and "s3cret-passw0rd" not in values


async def test_closing_the_deps_at_exit_sends_the_spans_still_queued(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> None:
    h = await make_harness(settings, database, server, clock, otel_exporter_otlp_endpoint=collector.url)
    h.server.queue(text_reply(ANSWER))
    await h.ask(QUESTION)

    await h.deps.aclose()  # what `chatops run`, the shell and each eval try do on the way out (no force_flush here)
    assert sorted(s.name for s in collector.spans()) == ["chat claude-sonnet-4-6", "chatops.turn"]


async def test_tracing_is_off_without_an_endpoint(harness: Harness) -> None:
    harness.server.queue(text_reply(ANSWER))
    assert (await harness.ask(QUESTION)).status == "answered"

    tracing = harness.deps.tracing
    assert tracing.provider is None and not tracing.enabled and not tracing.content
    assert isinstance(tracing.tracer, trace.NoOpTracer)


def test_tracing_off_builds_no_exporter_and_starts_no_thread(settings: Settings) -> None:
    before = set(threading.enumerate())
    tracing = build_tracing(settings)
    assert tracing.provider is None and not set(threading.enumerate()) - before  # no new thread
    on = build_tracing(settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://127.0.0.1:9"}))
    try:  # the peer: with an endpoint there is an exporter and its thread
        assert on.provider is not None and [t for t in set(threading.enumerate()) - before if t.name.startswith("OtelBatch")]
    finally:
        on.shutdown()


def test_content_stays_off_without_an_endpoint_even_when_allowed(settings: Settings) -> None:
    assert not build_tracing(settings.model_copy(update={"chatops_trace_content": True})).content


def test_the_traces_endpoint_is_used_as_given_and_the_base_endpoint_gets_v1_traces(settings: Settings) -> None:
    base = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://collector:4318/"})
    assert base.otlp_traces_endpoint == "http://collector:4318/v1/traces"
    both = base.model_copy(update={"otel_exporter_otlp_traces_endpoint": "http://other:4318/custom"})
    assert both.otlp_traces_endpoint == "http://other:4318/custom"
    assert settings.otlp_traces_endpoint is None


def test_otel_sdk_disabled_switches_tracing_off_even_with_an_endpoint(settings: Settings) -> None:
    off = settings.model_copy(update={"otel_exporter_otlp_endpoint": "http://collector:4318", "otel_sdk_disabled": True})
    assert off.otlp_traces_endpoint is None and not build_tracing(off).enabled


def test_export_headers_are_decoded_and_the_traces_ones_win(settings: Settings) -> None:
    both = Settings(  # type: ignore[call-arg]
        _env_file=None,
        otel_exporter_otlp_headers="x-team=general",
        otel_exporter_otlp_traces_headers="Authorization=Bearer%20abc123, x-team = ops ,broken",
    )
    assert both.otlp_traces_headers == {"authorization": "Bearer abc123", "x-team": "ops"}
    assert Settings(_env_file=None, otel_exporter_otlp_headers="x-team=general").otlp_traces_headers == {"x-team": "general"}  # type: ignore[call-arg]
    assert settings.otlp_traces_headers == {}
    assert "abc123" not in repr(both)


async def test_the_export_headers_are_sent_to_the_collector(
    settings: Settings, database: Database, server: AnthropicServer, clock: FixedClock, collector: OtlpCollector
) -> None:
    async with _traced_harness(settings, database, server, clock, collector, otel_exporter_otlp_headers=SecretStr("x-collector-key=k%3D1")) as h:
        h.server.queue(text_reply(ANSWER))
        await h.ask(QUESTION)
        assert await _spans(h, collector)
    assert {r.headers.get("x-collector-key") for r in collector.requests} == {"k=1"}
