"""Every recorded Messages API answer in ../shared/corpus/anthropic/, served byte for byte by the fake, through the
real `anthropic` SDK and our AnthropicLLM: the stop reason, text and tool inputs we make of it are what the
recording says; recorded errors become the right error class; nothing recorded (thinking, server tools, padding,
pings, a tool cut off by max_tokens) crashes the adapter."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.errors import ModelAuthError, ModelError, ModelNotFound, ModelRateLimited, ModelRequestError
from bot.settings import Settings
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.base import Message, ModelResponse, TextBlock, ToolSpec
from tests.fakes.anthropic_server import AnthropicServer, Raw
from tests.fakes.recordings import ANTHROPIC, Recording, anthropic_recordings
from tests.shared_files import skip_unless

pytestmark = skip_unless(ANTHROPIC)

RECORDINGS = {r.name: r for r in anthropic_recordings()}
OK = [name for name, r in RECORDINGS.items() if r.status == 200]
ERRORS = [name for name, r in RECORDINGS.items() if r.status != 200]
STOP = {"model_context_window_exceeded": "context_exceeded"}
ERROR_CLASSES: dict[int, type[ModelError]] = {400: ModelRequestError, 401: ModelAuthError, 404: ModelNotFound, 429: ModelRateLimited}
QUESTION = [Message(role="user", content=[TextBlock(text="What is the weather in Paris?")])]
SPECS = [ToolSpec(name="get_weather", description="Weather.", input_schema={"type": "object", "properties": {}})]


@dataclass
class Expected:
    """What a recording says, read by this test on its own (not by the adapter's code)."""

    stop_reason: str
    text: str = ""
    tools: list[tuple[str, Any]] = field(default_factory=list)
    """(name, input) per tool_use block; input None when the recorded JSON never closes."""
    refusal: str | None = None


def expected_from_json(body: dict[str, Any]) -> Expected:
    blocks = body["content"]
    text = "".join(b["text"] for b in blocks if b["type"] == "text")
    tools = [(b["name"], b["input"]) for b in blocks if b["type"] == "tool_use"]
    details = body.get("stop_details") or {}
    return Expected(STOP.get(body["stop_reason"], body["stop_reason"]), text, tools, details.get("explanation"))


def sse_events(raw: bytes) -> Iterator[dict[str, Any]]:
    for chunk in raw.decode().replace("\r\n", "\n").split("\n\n"):
        data = [line[5:].strip() for line in chunk.splitlines() if line.startswith("data:")]
        if data:
            yield json.loads("\n".join(data))


def expected_from_sse(raw: bytes) -> Expected:
    blocks: dict[int, dict[str, Any]] = {}
    stop, refusal = "", None
    for event in sse_events(raw):
        kind = event["type"]
        if kind == "content_block_start":
            blocks[event["index"]] = {**event["content_block"], "json": ""}
        elif kind == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            if delta["type"] == "text_delta":
                block["text"] = block.get("text", "") + delta["text"]
            elif delta["type"] == "input_json_delta":
                block["json"] += delta["partial_json"]
        elif kind == "message_delta":
            stop = event["delta"]["stop_reason"]
            refusal = (event["delta"].get("stop_details") or {}).get("explanation")
    text = "".join(b.get("text", "") for _, b in sorted(blocks.items()) if b["type"] == "text")
    tools: list[tuple[str, Any]] = []
    for _, block in sorted(blocks.items()):
        if block["type"] == "tool_use":
            try:
                tools.append((block["name"], json.loads(block["json"]) if block["json"].strip() else {}))
            except json.JSONDecodeError:
                tools.append((block["name"], None))
    return Expected(STOP.get(stop, stop), text, tools, refusal)


@pytest.fixture(name="server")
def server_fixture() -> Iterator[AnthropicServer]:
    with AnthropicServer() as srv:
        yield srv


def llm_for(settings: Settings, server: AnthropicServer, *, retries: int = 0) -> AnthropicLLM:
    merged = settings.model_copy(
        update={"anthropic_base_url": server.url, "chatops_model": "claude-sonnet-4-6", "chatops_llm_max_retries": retries}
    )
    return AnthropicLLM.from_config(llm_config(merged))


async def replay(llm: AnthropicLLM, server: AnthropicServer, recording: Recording) -> tuple[ModelResponse, str]:
    server.queue(Raw(recording.status, recording.body, recording.headers))
    streamed: list[str] = []

    async def on_text(delta: str) -> None:
        streamed.append(delta)

    response = await llm.complete(
        system="You help.", messages=QUESTION, tools=SPECS, max_tokens=1024, on_text=on_text if recording.is_sse else None
    )
    return response, "".join(streamed)


def test_the_corpus_has_every_kind_of_answer() -> None:
    assert len(OK) >= 40 and {RECORDINGS[n].status for n in ERRORS} >= {400, 401, 404, 429}
    assert sum(r.is_sse for r in RECORDINGS.values()) >= 15


@pytest.mark.parametrize("name", OK)
async def test_a_recorded_answer_means_what_it_says(settings: Settings, server: AnthropicServer, name: str) -> None:
    recording = RECORDINGS[name]
    expected = expected_from_sse(recording.body) if recording.is_sse else expected_from_json(recording.json())
    llm = llm_for(settings, server)
    try:
        response, streamed = await replay(llm, server, recording)
    finally:
        await llm.aclose()

    assert response.stop_reason == expected.stop_reason
    assert response.message.text == expected.text
    if recording.is_sse:
        assert streamed == expected.text, "the streamed text and the final answer agree"
    calls = response.message.tool_calls
    assert [c.name for c in calls] == [name for name, _ in expected.tools]
    for call, (_, tool_input) in zip(calls, expected.tools, strict=True):
        if tool_input is None:  # never closed: unusable, and never run (the response did not stop for tool_use)
            assert call.input_error and response.stop_reason != "tool_use"
        else:
            assert call.input_error is None and call.input == tool_input
    assert response.refusal_detail == expected.refusal
    assert response.usage.input_tokens > 0
    if "request-id" in recording.headers:
        assert response.request_id == recording.headers["request-id"]


@pytest.mark.parametrize("name", ERRORS)
async def test_a_recorded_error_is_classified(settings: Settings, server: AnthropicServer, name: str) -> None:
    recording = RECORDINGS[name]
    llm = llm_for(settings, server)
    try:
        with pytest.raises(ModelError) as caught:
            await replay(llm, server, recording)
    finally:
        await llm.aclose()

    assert type(caught.value) is ERROR_CLASSES[recording.status]
    assert recording.json()["request_id"] in str(caught.value), "the request id is kept for the operator"


# ---------------------------------------------------------------- the shapes the corpus README warns about


async def test_a_tool_without_arguments_streams_only_an_empty_delta_and_gets_an_empty_object(settings: Settings, server: AnthropicServer) -> None:
    llm = llm_for(settings, server)
    response, _ = await replay(llm, server, RECORDINGS["llm-anthropic/test_tools.00"])
    await llm.aclose()
    assert [(c.name, c.input, c.input_error) for c in response.message.tool_calls] == [("pelican_name_generator", {}, None)] * 2


async def test_max_tokens_inside_a_tool_call_leaves_it_unusable(settings: Settings, server: AnthropicServer) -> None:
    llm = llm_for(settings, server)
    response, _ = await replay(llm, server, RECORDINGS["anthropic-sdk-python/incomplete_partial_json_response"])
    await llm.aclose()
    assert response.stop_reason == "max_tokens"
    assert response.message.tool_calls[-1].input_error is not None


async def test_a_rate_limit_is_retried_and_the_recorded_success_returned(settings: Settings, server: AnthropicServer) -> None:
    llm = llm_for(settings, server, retries=2)
    for step in ("00", "01", "02"):
        r = RECORDINGS[f"anthropic-sdk-python/rate_limited_then_ok.{step}"]
        server.queue(Raw(r.status, r.body, r.headers))
    response = await llm.complete(system="You help.", messages=QUESTION, tools=SPECS, max_tokens=1024)
    await llm.aclose()
    assert len(server.bodies()) == 3
    assert response.stop_reason == expected_from_json(RECORDINGS["anthropic-sdk-python/rate_limited_then_ok.02"].json()).stop_reason
