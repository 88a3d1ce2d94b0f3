"""What differs between OpenAI-compatible servers, and the bad inputs of every provider: unknown provider,
missing settings or credentials, a response shape we do not know — each a clear message, nothing run."""

from __future__ import annotations

from pathlib import Path

import pytest
from openai import AsyncOpenAI

from bot.errors import ConfigError, ModelRequestError, ModelUnavailable
from bot.settings import Settings, load_settings
from bot.wiring_adapters import build_llm
from integrations.llm.anthropic import AnthropicLLM
from integrations.llm.base import Message, TextBlock, ToolCall, ToolSpec
from integrations.llm.openai_compat import OpenAICompatLLM
from tests.contract.providers import provider_rig
from tests.fakes.openai_server import ChatCall, ChatError, ChatReply, OpenAIServer, RawJSON

QUESTION = [Message(role="user", content=[TextBlock(text="What is OPS-1?")])]
TOOLS = [ToolSpec(name="get_ticket", description="Fetch a ticket.", input_schema={"type": "object", "properties": {"key": {"type": "string"}}})]


@pytest.fixture
def openai_server() -> OpenAIServer:
    with OpenAIServer() as server:
        yield server


def llm_for(server: OpenAIServer) -> OpenAICompatLLM:
    client = AsyncOpenAI(api_key="sk-local", base_url=f"{server.url}/v1", max_retries=0)
    return OpenAICompatLLM(client=client, model="llama3.1", retry_base_seconds=0.0, retry_max_seconds=0.01)


async def test_ollama_style_whole_calls_without_ids_get_ids_that_pair_with_results(openai_server: OpenAIServer) -> None:
    openai_server.queue(ChatReply(calls=[ChatCall("get_ticket", {"key": "OPS-1"}), ChatCall("get_ticket", {"key": "OPS-2"})], whole_calls=True, omit_ids=True))
    llm = llm_for(openai_server)
    seen: list[str] = []

    async def on_text(delta: str) -> None:
        seen.append(delta)

    response = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100, on_text=on_text)

    assert response.stop_reason == "tool_use"
    calls = response.message.tool_calls
    assert [c.input for c in calls] == [{"key": "OPS-1"}, {"key": "OPS-2"}]
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)
    await llm.aclose()


async def test_a_stop_with_complete_tool_calls_runs_them_and_length_never_does(openai_server: OpenAIServer) -> None:
    openai_server.queue(
        ChatReply(calls=[ChatCall("get_ticket", {"key": "OPS-1"})], finish_reason="stop"),
        ChatReply(calls=[ChatCall("get_ticket", '{"key": "OP')], finish_reason="length"),
    )
    llm = llm_for(openai_server)

    stopped = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)
    cut = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)

    assert stopped.stop_reason == "tool_use"
    assert cut.stop_reason == "max_tokens"
    await llm.aclose()


async def test_a_stream_ending_without_finish_reason_is_retried_and_its_calls_never_seen(openai_server: OpenAIServer) -> None:
    openai_server.queue(ChatReply(calls=[ChatCall("get_ticket", {"key": "OPS-1"})], cut=True), ChatReply(text="OPS-1 is open."))
    llm = llm_for(openai_server)

    async def on_text(delta: str) -> None:
        return None

    response = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100, on_text=on_text)

    assert response.message.text == "OPS-1 is open." and response.message.tool_calls == []
    assert len(openai_server.bodies()) == 2
    await llm.aclose()


async def test_arguments_that_are_not_an_object_become_a_validation_error() -> None:
    with OpenAIServer() as server:
        server.queue(ChatReply(calls=[ChatCall("get_ticket", "[1, 2]"), ChatCall("get_ticket", '{"key": ')]))
        llm = llm_for(server)

        response = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)

        await llm.aclose()
    first, second = response.message.tool_calls
    assert first.input_error == "the tool input must be a JSON object, got list"
    assert second.input_error is not None and second.input_error.startswith("the tool input was not valid JSON")


async def test_a_shape_we_do_not_know_is_a_clear_error_not_a_crash(openai_server: OpenAIServer) -> None:
    openai_server.queue(RawJSON({"result": "hello", "status": "ok"}))
    llm = llm_for(openai_server)

    with pytest.raises(ModelRequestError, match=r"shape we do not know \(no choices; top-level keys: result, status"):
        await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)
    await llm.aclose()


async def test_a_rejected_key_fails_at_once_naming_the_error(openai_server: OpenAIServer) -> None:
    openai_server.queue(ChatError(401, "Incorrect API key provided: sk-local.", "invalid_api_key"))
    llm = llm_for(openai_server)

    with pytest.raises(ModelRequestError, match="401 invalid_api_key: Incorrect API key"):
        await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)
    assert len(openai_server.bodies()) == 1
    await llm.aclose()


async def test_a_context_overflow_is_reported_as_such(openai_server: OpenAIServer) -> None:
    openai_server.queue(ChatError(400, "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens.", None))
    llm = llm_for(openai_server)

    response = await llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)

    assert response.stop_reason == "context_exceeded"
    await llm.aclose()


async def test_results_go_back_as_tool_messages_and_errors_say_so(openai_server: OpenAIServer) -> None:
    from integrations.llm.base import ToolResult

    history = [
        *QUESTION,
        Message(role="assistant", content=[ToolCall(id="call_a", name="get_ticket", input={"key": "OPS-1"})]),
        Message(role="user", content=[ToolResult(tool_call_id="call_a", content="No ticket OPS-1.", is_error=True)]),
    ]
    openai_server.queue(ChatReply(text="There is no OPS-1."))
    llm = llm_for(openai_server)

    await llm.complete(system="s", messages=history, tools=TOOLS, max_tokens=100)

    sent = openai_server.bodies()[0]["messages"]
    assert sent[2] == {"role": "assistant", "content": None, "tool_calls": [{"id": "call_a", "type": "function", "function": {"name": "get_ticket", "arguments": '{"key": "OPS-1"}'}}]}
    assert sent[3] == {"role": "tool", "tool_call_id": "call_a", "content": "Error: No ticket OPS-1."}
    await llm.aclose()


# ---------------------------------------------------------------- configuration


def test_an_unknown_provider_names_the_setting_and_the_choices() -> None:
    with pytest.raises(ConfigError, match="CHATOPS_PROVIDER: Input should be 'anthropic', 'bedrock', 'vertex' or 'openai'"):
        load_settings(_env_file=None, chatops_provider="azure")


@pytest.mark.parametrize(
    ("provider", "expected"),
    [("openai", "needs OPENAI_API_KEY"), ("vertex", "needs CLOUD_ML_REGION and ANTHROPIC_VERTEX_PROJECT_ID"), ("bedrock", "Set AWS_REGION")],
)
def test_a_provider_missing_its_settings_names_them(provider: str, expected: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    with pytest.raises(ConfigError, match=expected):
        build_llm(settings.model_copy(update={"chatops_provider": provider}))


async def test_bedrock_without_aws_credentials_fails_the_request_clearly(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with provider_rig("bedrock", settings, monkeypatch, tmp_path) as rig:
        for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.delenv(var)
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        # another region: the SDK caches one boto3 session per (keys, region, profile) for the process
        rig.llm = build_llm(rig.settings.model_copy(update={"aws_region": "eu-north-1"}))  # type: ignore[assignment]

        with pytest.raises(ModelRequestError, match="model provider credentials: .*credentials"):
            await rig.llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100)

        assert rig.bodies() == []  # nothing unsigned was sent


def test_unexpected_stream_end_is_unavailable_not_a_crash() -> None:
    from integrations.llm.openai_wire import ChunkBuilder

    with pytest.raises(ModelUnavailable, match="no choices"):
        ChunkBuilder().result(request_id="req_1")


@pytest.mark.parametrize("provider", ["bedrock", "vertex", "openai"])
async def test_the_admins_model_choice_goes_to_the_configured_provider(provider: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.fakes.messages_events import Turn

    with provider_rig(provider, settings, monkeypatch, tmp_path) as rig:
        rig.script(Turn(["Hi."]))

        await rig.llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100, model="picked-in-the-modal")

        request = rig.server.requests[-1]
        await rig.llm.aclose()
    if provider == "bedrock":
        assert request.path == "/model/picked-in-the-modal/invoke"
    elif provider == "vertex":
        assert request.path.endswith("/models/picked-in-the-modal:rawPredict")
    else:
        assert request.json()["model"] == "picked-in-the-modal"


@pytest.mark.parametrize(("kind", "retried"), [("throttlingException", True), ("modelStreamErrorException", True), ("validationException", False)])
async def test_a_bedrock_exception_frame_mid_stream_is_classified(kind: str, retried: bool, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.fakes.cloud_servers import StreamException
    from tests.fakes.messages_events import Turn

    with provider_rig("bedrock", settings, monkeypatch, tmp_path) as rig:
        rig.server.queue(StreamException(Turn(["Partial answer that never ends"]), after=2, kind=kind, message="stream failed"), Turn(["Fine now."]))
        assert isinstance(rig.llm, AnthropicLLM)
        rig.llm.retry_base_seconds = 0.0

        async def on_text(delta: str) -> None:
            return None

        if retried:
            response = await rig.llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100, on_text=on_text)
            assert response.message.text == "Fine now." and len(rig.bodies()) == 2
        else:
            with pytest.raises(ModelRequestError, match=f"{kind}: stream failed"):
                await rig.llm.complete(system="s", messages=QUESTION, tools=TOOLS, max_tokens=100, on_text=on_text)
        await rig.llm.aclose()
