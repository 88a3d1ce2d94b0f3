"""The fake Messages API streams the shapes the recordings show (corpus README, "Shapes a fake Anthropic server
could get wrong"): each feature is checked on the fake's bytes, and on a recording where the corpus is present,
so the fake cannot drift from what the real service sends."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.fakes.recordings import ANTHROPIC, anthropic_recordings
from tests.shared_files import absent_reason

REQUEST = {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}], "stream": True}


def events(raw: bytes) -> list[tuple[str, str]]:
    """(event name, raw data line) pairs."""
    out = []
    for chunk in raw.decode().split("\n\n"):
        name = re.search(r"^event: (.+)$", chunk, re.M)
        data = re.search(r"^data: (.+)$", chunk, re.M)
        if name and data:
            out.append((name.group(1), data.group(1)))
    return out


def fake_stream(server: AnthropicServer, *items: Any) -> bytes:
    server.queue(*items)
    response = httpx2.post(f"{server.url}/v1/messages", json=REQUEST, headers={"x-api-key": "sk-ant-test"}, timeout=10)
    assert response.status_code == 200
    return response.content


def recorded(name: str) -> bytes:
    if not ANTHROPIC.is_dir():
        pytest.skip(absent_reason(ANTHROPIC))
    return next(r.body for r in anthropic_recordings() if r.name == name)


@pytest.fixture(name="server")
def server_fixture() -> Iterator[AnthropicServer]:
    with AnthropicServer() as srv:
        yield srv


def padded_inside_the_closing_brace(stream: bytes) -> bool:
    return any(data.endswith(" }") for name, data in events(stream) if name != "ping")


def ping_between_a_start_and_its_first_delta(stream: bytes) -> bool:
    names = [name for name, _ in events(stream)]
    return any(a == "content_block_start" and b == "ping" and c == "content_block_delta" for a, b, c in zip(names, names[1:], names[2:], strict=False))


def tool_starts_direct_and_empty_with_an_empty_first_delta(stream: bytes) -> bool:
    parsed = [(name, json.loads(data)) for name, data in events(stream)]
    for i, (name, data) in enumerate(parsed):
        if name == "content_block_start" and data["content_block"]["type"] == "tool_use":
            block = data["content_block"]
            first = next(d for n, d in parsed[i + 1 :] if n == "content_block_delta")
            return block["input"] == {} and block.get("caller") == {"type": "direct"} and first["delta"]["partial_json"] == ""
    return False


def delta_usage_repeats_the_input_counters(stream: bytes) -> bool:
    delta = next(json.loads(data) for name, data in events(stream) if name == "message_delta")
    return {"input_tokens", "output_tokens"} <= delta["usage"].keys() and "stop_details" in delta["delta"]


def ping_is_written_with_a_space(stream: bytes) -> bool:
    return any(name == "ping" and data == '{"type": "ping"}' for name, data in events(stream))


FEATURES = {
    "padding": (padded_inside_the_closing_brace, "llm-anthropic/test_tools.00"),
    "ping placement": (ping_between_a_start_and_its_first_delta, "llm-anthropic/test_tools.00"),
    "ping wording": (ping_is_written_with_a_space, "llm-anthropic/test_tools.00"),
    "tool start": (tool_starts_direct_and_empty_with_an_empty_first_delta, "llm-anthropic/test_tools.00"),
    "delta usage": (delta_usage_repeats_the_input_counters, "llm-anthropic/test_tools.00"),
}


@pytest.mark.parametrize("feature", FEATURES)
def test_the_fakes_stream_has_the_recorded_shape(server: AnthropicServer, feature: str) -> None:
    check, recording = FEATURES[feature]
    stream = fake_stream(server, tool_use_reply([tool_use("pelican_name_generator", {})], text="Let me see."))
    assert check(stream), f"the fake lacks: {feature}"


@pytest.mark.parametrize("feature", FEATURES)
def test_the_recording_has_the_shape_the_fake_copies(feature: str) -> None:
    check, recording = FEATURES[feature]
    assert check(recorded(recording)), f"the recording lacks: {feature}"


def test_the_output_limit_inside_a_tool_call_sends_no_block_stop_like_the_recording(server: AnthropicServer) -> None:
    cut = tool_use_reply([tool_use("write_file", raw_json='{"filename": "taxes.txt", "lines": ["# Guide')], text="Writing.", stop_reason="max_tokens")
    for stream in (fake_stream(server, cut), recorded("anthropic-sdk-python/incomplete_partial_json_response")):
        names = [name for name, _ in events(stream)]
        last_start = max(i for i, n in enumerate(names) if n == "content_block_start")
        assert "content_block_stop" not in names[last_start:]
        assert names[-2:] == ["message_delta", "message_stop"]


def test_a_plain_answer_streams_like_the_recordings(server: AnthropicServer) -> None:
    names = [name for name, _ in events(fake_stream(server, text_reply("Hello there.")))]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    assert "ping" in names
