"""AnthropicLLM through the real `anthropic` SDK against the fake Messages API: mapping, retries, streaming."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any, Literal

import pytest

from bot.errors import (
    Misconfigured,
    ModelAuthError,
    ModelNotFound,
    ModelRateLimited,
    ModelRequestError,
    ModelUnavailable,
)
from bot.settings import Settings
from bot.wiring_adapters import llm_config
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.base import (
    Message,
    ModelResponse,
    TextBlock,
    ToolCall,
    ToolChoice,
    ToolResult,
    ToolSpec,
)
from tests.fakes.anthropic_server import (
    AnthropicServer,
    ApiError,
    Disconnect,
    authentication_error,
    bad_request,
    model_not_found,
    overloaded,
    permission_error,
    rate_limited,
    refusal_reply,
    server_error,
    text_reply,
    tool_use,
    tool_use_reply,
    unavailable,
)

QUESTION = [Message(role="user", content=[TextBlock(text="What is OPS-1?")])]
SPECS = [
    ToolSpec(name="search_tickets", description="Search.", input_schema={"type": "object", "properties": {}}),
    ToolSpec(name="get_ticket", description="One ticket.", input_schema={"type": "object", "properties": {}}),
]


@pytest.fixture(name="server")
def server_fixture() -> Iterator[AnthropicServer]:
    with AnthropicServer() as srv:
        yield srv


def make_llm(settings: Settings, server: AnthropicServer, **overrides: object) -> AnthropicLLM:
    # Pin the model: older ones are deprecated in anthropic 2.10 and warn on every request.
    update = {"anthropic_base_url": server.url, "chatops_model": "claude-sonnet-4-6", **overrides}
    merged = settings.model_copy(update=update)
    return AnthropicLLM.from_config(llm_config(merged))


@pytest.fixture(name="llm")
async def llm_fixture(settings: Settings, server: AnthropicServer) -> AnthropicLLM:
    return make_llm(settings, server)


async def ask(llm: AnthropicLLM, **kwargs: Any) -> ModelResponse:
    params: dict = {"system": "You help.", "messages": QUESTION, "tools": SPECS, "max_tokens": 1024}
    params.update(kwargs)
    return await llm.complete(**params)


# ---------------------------------------------------------------- mapping


async def test_text_reply_maps_text_stop_reason_usage_and_request_id(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("OPS-1 is open.", usage={"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 7, "cache_creation_input_tokens": 3}))
    response = await ask(llm)
    assert response.message.text == "OPS-1 is open."
    assert response.stop_reason == "end_turn"
    assert (response.usage.input_tokens, response.usage.output_tokens) == (12, 5)
    assert (response.usage.cache_read_tokens, response.usage.cache_write_tokens) == (7, 3)
    assert response.request_id and response.request_id.startswith("req_")


async def test_tool_use_blocks_become_tool_calls_in_order(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_a"), tool_use("search_tickets", {"text": "vpn"}, id="toolu_b")], text="Checking."))
    response = await ask(llm)
    assert response.stop_reason == "tool_use"
    assert response.message.text == "Checking."
    assert [(c.id, c.name, c.input) for c in response.message.tool_calls] == [
        ("toolu_a", "get_ticket", {"key": "OPS-1"}),
        ("toolu_b", "search_tickets", {"text": "vpn"}),
    ]


async def test_tool_input_that_is_not_an_object_gets_input_error(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("get_ticket", "OPS-1")]))
    call = (await ask(llm)).message.tool_calls[0]
    assert call.input == {}
    assert call.input_error is not None and "JSON object" in call.input_error and "str" in call.input_error


async def test_request_has_stable_tools_cache_breakpoints_system_block_and_hashed_user(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("ok"))
    await ask(llm, user_hash="c0ffee")
    body = server.bodies()[0]
    assert [t["name"] for t in body["tools"]] == ["search_tickets", "get_ticket"]
    assert "cache_control" not in body["tools"][0]
    assert body["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert body["system"] == [{"type": "text", "text": "You help.", "cache_control": {"type": "ephemeral"}}]
    assert body["metadata"] == {"user_id": "c0ffee"}
    assert "tool_choice" not in body
    assert body["model"] == "claude-sonnet-4-6" and body["max_tokens"] == 1024


async def test_a_model_named_for_one_request_is_sent_for_that_request_only(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("ok"), text_reply("ok"), text_reply("ok"), text_reply("ok"))
    await ask(llm, model="claude-haiku-4-5")
    await ask(llm)
    await ask(llm, model=None)
    await ask(llm, model="claude-haiku-4-5", on_text=_ignore)  # streamed requests too
    assert [body["model"] for body in server.bodies()] == ["claude-haiku-4-5", "claude-sonnet-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"]


async def _ignore(delta: str) -> None:
    """A text callback that drops the text (only the request matters)."""


async def test_forced_tool_choice_is_sent(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("search_tickets", {})]))
    await ask(llm, tool_choice=ToolChoice(type="tool", name="search_tickets"))
    assert server.bodies()[0]["tool_choice"] == {"type": "tool", "name": "search_tickets"}


async def test_tool_calls_and_results_round_trip_as_paired_blocks(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("done"))
    history = [
        *QUESTION,
        Message(role="assistant", content=[ToolCall(id="toolu_1", name="get_ticket", input={"key": "OPS-1"})]),
        Message(role="user", content=[ToolResult(tool_call_id="toolu_1", content="nope", is_error=True)]),
    ]
    await ask(llm, messages=history)
    sent = server.bodies()[0]["messages"]
    assert sent[1]["content"] == [{"type": "tool_use", "id": "toolu_1", "name": "get_ticket", "input": {"key": "OPS-1"}}]
    assert sent[2]["content"][0]["tool_use_id"] == "toolu_1" and sent[2]["content"][0]["is_error"] is True
    assert server.violations == []


async def test_stop_reasons_map_context_window_and_refusal(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("partial", stop_reason="model_context_window_exceeded"), refusal_reply("Not allowed."))
    assert (await ask(llm)).stop_reason == "context_exceeded"
    refused = await ask(llm)
    assert refused.stop_reason == "refusal" and refused.refusal_detail == "Not allowed."


async def test_prompt_too_long_400_is_a_context_exceeded_response(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(bad_request("prompt is too long: 210000 tokens > 200000 maximum"))
    response = await ask(llm)
    assert response.stop_reason == "context_exceeded" and response.message.content == []
    assert len(server.bodies()) == 1


async def test_prompt_cache_reads_when_tools_and_system_repeat(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("a"), text_reply("b"))
    first = await ask(llm)
    second = await ask(llm, messages=[Message(role="user", content=[TextBlock(text="Another question")])])
    assert first.usage.cache_write_tokens > 0 and first.usage.cache_read_tokens == 0
    assert second.usage.cache_read_tokens == first.usage.cache_write_tokens


# ---------------------------------------------------------------- retries


@pytest.mark.parametrize("error", [rate_limited(retry_after=0), server_error(), overloaded(), unavailable(503), unavailable(504), Disconnect()], ids=["429", "500", "529", "503", "504", "disconnect"])
async def test_transient_failures_are_retried_then_succeed(llm: AnthropicLLM, server: AnthropicServer, error: object) -> None:
    server.queue(error, text_reply("recovered"))  # type: ignore[arg-type]
    assert (await ask(llm)).message.text == "recovered"
    assert len(server.bodies()) == 2


@pytest.mark.parametrize(
    ("error", "raised"),
    [(rate_limited(retry_after=0), ModelRateLimited), (overloaded(), ModelRateLimited), (server_error(), ModelUnavailable)],
    ids=["429", "529", "500"],
)
async def test_persistent_failures_raise_after_the_retry_budget(llm: AnthropicLLM, server: AnthropicServer, error: ApiError, raised: type[Exception]) -> None:
    server.queue(*[error] * 4)
    with pytest.raises(raised) as info:
        await ask(llm)
    assert len(server.bodies()) == 4  # 1 + chatops_llm_max_retries (3)
    assert str(error.status) in str(info.value)


async def test_timeouts_are_retried_then_raise_model_unavailable(settings: Settings, server: AnthropicServer) -> None:
    llm = make_llm(settings, server, chatops_llm_timeout_seconds=0.2, chatops_llm_max_retries=1)
    server.queue(text_reply("late", delay=5), text_reply("late", delay=5))
    with pytest.raises(ModelUnavailable, match="APITimeoutError"):
        await ask(llm)
    assert len(server.bodies()) == 2


async def test_request_errors_are_not_retried(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(bad_request("tools.0: bad"), text_reply("never"))
    with pytest.raises(ModelRequestError, match="400"):
        await ask(llm)
    assert len(server.bodies()) == 1


@pytest.mark.parametrize(
    ("error", "raised", "says"),
    [
        (authentication_error(), ModelAuthError, "the model API key is invalid or lacks access: check ANTHROPIC_API_KEY"),
        (permission_error(), ModelAuthError, "the model API key is invalid or lacks access: check ANTHROPIC_API_KEY"),
        (model_not_found("claude-sonnet-4-6"), ModelNotFound, "the model API does not know the model 'claude-sonnet-4-6': check CHATOPS_MODEL"),
    ],
    ids=["401", "403", "404"],
)
async def test_a_refused_key_or_unknown_model_says_which_setting_to_fix_and_is_not_retried(
    llm: AnthropicLLM, server: AnthropicServer, error: ApiError, raised: type[Exception], says: str
) -> None:
    server.queue(error, text_reply("never"))
    with pytest.raises(raised) as caught:
        await ask(llm)
    assert isinstance(caught.value, Misconfigured) and caught.value.summary.startswith(says)
    assert len(server.bodies()) == 1


def recording_llm(settings: Settings, server: AnthropicServer) -> tuple[AnthropicLLM, list[float]]:
    """An adapter whose backoff sleeps are recorded instead of slept (the injected sleep seam)."""
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    llm = make_llm(settings, server)
    llm._sleep = record
    return llm, waits


async def test_retry_after_within_the_cap_is_obeyed_exactly(settings: Settings, server: AnthropicServer) -> None:
    llm, waits = recording_llm(settings, server)
    server.queue(rate_limited(retry_after=0.02), rate_limited(retry_after=settings.chatops_llm_retry_max_seconds), text_reply("ok"))
    assert (await ask(llm)).message.text == "ok"
    assert waits == [0.02, settings.chatops_llm_retry_max_seconds]


@pytest.mark.parametrize("headers", [{"retry-after": "3600"}, {"retry-after-ms": "3600000", "retry-after": "3600"}], ids=["seconds", "ms"])
async def test_retry_after_longer_than_the_cap_fails_at_once_instead_of_retrying_early(settings: Settings, server: AnthropicServer, headers: dict[str, str]) -> None:
    llm, waits = recording_llm(settings, server)
    server.queue(rate_limited(retry_after=None, headers=headers), text_reply("never"))
    with pytest.raises(ModelRateLimited, match="retry after 3600 s") as info:
        await ask(llm)
    assert len(server.bodies()) == 1 and waits == []
    assert "429" in str(info.value)


async def test_sdk_retries_are_off_so_only_our_budget_counts(settings: Settings, server: AnthropicServer) -> None:
    llm = make_llm(settings, server, chatops_llm_max_retries=0)
    server.queue(overloaded(), text_reply("never"))
    with pytest.raises(ModelRateLimited):
        await ask(llm)
    assert len(server.bodies()) == 1
    assert llm.client.max_retries == 0


# ---------------------------------------------------------------- streaming


async def test_streaming_delivers_text_deltas_before_the_response_ends(llm: AnthropicLLM, server: AnthropicServer) -> None:
    gate = threading.Event()
    first_delta = asyncio.Event()
    deltas: list[str] = []

    async def on_text(delta: str) -> None:
        deltas.append(delta)
        first_delta.set()

    server.queue(text_reply("Streaming answers arrive in pieces.", gate=gate))
    task = asyncio.create_task(ask(llm, on_text=on_text))
    await asyncio.wait_for(first_delta.wait(), 5)
    assert not task.done()  # the server is holding the rest of the stream
    gate.set()
    response = await task
    assert "".join(deltas) == "Streaming answers arrive in pieces." == response.message.text
    assert len(deltas) > 1
    assert server.bodies()[0]["stream"] is True
    assert response.usage.output_tokens > 0 and response.request_id


async def test_streamed_tool_use_is_parsed_and_malformed_json_gets_input_error(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(
        tool_use_reply(
            [tool_use("get_ticket", {"key": "OPS-1"}, id="toolu_ok"), tool_use("search_tickets", raw_json='{"text": vpn}', id="toolu_bad")],
            text="Let me look.",
        )
    )
    collected: list[str] = []

    async def on_text(delta: str) -> None:
        collected.append(delta)

    response = await ask(llm, on_text=on_text)
    ok, bad = response.message.tool_calls
    assert (ok.input, ok.input_error) == ({"key": "OPS-1"}, None)
    assert bad.input == {} and bad.input_error is not None and "not valid JSON" in bad.input_error
    assert response.stop_reason == "tool_use" and "".join(collected) == "Let me look."


async def test_mid_stream_overload_before_any_text_is_retried(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})], stream_error=overloaded()), text_reply("fine"))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    assert (await ask(llm, on_text=on_text)).message.text == "fine"
    assert len(server.bodies()) == 2


async def test_mid_stream_failure_after_text_was_shown_is_not_retried(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(text_reply("Half an ans", stream_error=overloaded()), text_reply("never"))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    with pytest.raises(ModelRateLimited):
        await ask(llm, on_text=on_text)
    assert "".join(seen) == "Half an ans" and len(server.bodies()) == 1


# ---------------------------------------------------------------- incomplete responses


@pytest.mark.parametrize("cut_by", ["eof", "reset"])
async def test_a_stream_cut_after_a_complete_tool_use_is_model_unavailable_never_a_response(settings: Settings, server: AnthropicServer, cut_by: Literal["eof", "reset"]) -> None:
    llm = make_llm(settings, server, chatops_llm_max_retries=0)
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Fixed"})], cut_after=1, cut_by=cut_by))
    with pytest.raises(ModelUnavailable, match="ended early: no stop_reason" if cut_by == "eof" else "broke off"):
        await ask(llm, on_text=_ignore)


async def test_a_stream_ending_after_message_delta_without_message_stop_is_incomplete(settings: Settings, server: AnthropicServer) -> None:
    llm = make_llm(settings, server, chatops_llm_max_retries=0)
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Fixed"})], cut_after="message_delta"))
    with pytest.raises(ModelUnavailable, match="ended early: no message_stop"):
        await ask(llm, on_text=_ignore)


async def test_a_cut_stream_before_any_text_is_asked_again(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("get_ticket", {"key": "OPS-1"})], cut_after=1), tool_use_reply([tool_use("get_ticket", {"key": "OPS-2"})]))
    response = await ask(llm, on_text=_ignore)
    assert [c.input for c in response.message.tool_calls] == [{"key": "OPS-2"}]
    assert response.stop_reason == "tool_use" and len(server.bodies()) == 2


async def test_a_cut_stream_after_text_was_shown_is_not_asked_again(llm: AnthropicLLM, server: AnthropicServer) -> None:
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Fixed"})], text="Adding the note.", cut_after=2), text_reply("never"))
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    with pytest.raises(ModelUnavailable):
        await ask(llm, on_text=on_text)
    assert "".join(seen) == "Adding the note." and len(server.bodies()) == 1


async def test_a_message_without_a_stop_reason_is_model_unavailable(settings: Settings, server: AnthropicServer) -> None:
    llm = make_llm(settings, server, chatops_llm_max_retries=0)
    server.queue(tool_use_reply([tool_use("add_comment", {"key": "OPS-1", "body": "Fixed"})], stop_reason=None))
    with pytest.raises(ModelUnavailable, match="no stop_reason"):
        await ask(llm)
