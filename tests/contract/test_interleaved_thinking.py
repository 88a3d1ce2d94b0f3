"""Extended thinking with tools asks for interleaved thinking (`anthropic-beta: interleaved-thinking-2025-05-14`) on
the models that need the beta, through every Anthropic provider: the first-party API and Vertex as a header,
Bedrock in the body's `anthropic_beta` (where its SDK client puts it). Asserted on what the fake servers received
from the real clients built by `build_llm`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from integrations.llm.anthropic_wire import INTERLEAVED_THINKING_BETA, needs_interleaved_beta
from integrations.llm.base import Message, TextBlock, ToolSpec
from tests.contract.providers import Rig, provider_rig
from tests.fakes.anthropic_server import text_reply
from tests.fakes.messages_events import Turn

TOOLS = [ToolSpec(name="get_ticket", description="Read one ticket.", input_schema={"type": "object", "properties": {"key": {"type": "string"}}})]
ASK = [Message(role="user", content=[TextBlock(text="What is OPS-1 about?")])]


async def _ask(rig: Rig, *, tools: list[ToolSpec]) -> None:
    if rig.name == "anthropic":
        rig.server.queue(text_reply("OPS-1 is about TLS."))
    else:
        rig.script(Turn(["OPS-1 is about TLS."]))
    await rig.llm.complete(system="s", messages=ASK, tools=tools, max_tokens=1024)


def _betas_sent(rig: Rig) -> list[str]:
    """The betas of the last model request: the `anthropic-beta` header, or Bedrock's body field."""
    request = [r for r in rig.server.requests if r.method == "POST"][-1]
    if rig.name == "bedrock":
        return list(request.json().get("anthropic_beta", []))
    header = {k.lower(): v for k, v in request.headers.items()}.get("anthropic-beta", "")
    return [b.strip() for b in header.split(",") if b.strip()]


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("anthropic", "claude-haiku-4-5"),
        ("anthropic", "claude-opus-4-5"),
        ("bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("vertex", "claude-sonnet-4-5@20250929"),
    ],
)
async def test_thinking_with_tools_asks_for_interleaved_thinking(
    provider: str, model: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with provider_rig(provider, settings.model_copy(update={"chatops_thinking_budget": 2048}), monkeypatch, tmp_path) as rig:
        rig.llm.model = model  # type: ignore[attr-defined]
        await _ask(rig, tools=TOOLS)
        body = rig.bodies()[-1]
        betas = _betas_sent(rig)
        await rig.llm.aclose()

    assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert betas == [INTERLEAVED_THINKING_BETA]


@pytest.mark.filterwarnings("ignore:The model 'claude-3-7-sonnet-20250219' is deprecated:DeprecationWarning")
@pytest.mark.parametrize(
    ("budget", "tools", "model", "why"),
    [
        (0, TOOLS, "claude-haiku-4-5", "thinking off"),
        (2048, [], "claude-haiku-4-5", "no tools to interleave with"),
        (2048, TOOLS, "claude-3-7-sonnet-20250219", "Claude 3.7 refuses the header"),
        (2048, TOOLS, "claude-opus-4-7", "adaptive only: interleaved is built in"),
    ],
)
async def test_the_beta_is_not_sent_where_it_does_not_apply(
    budget: int, tools: list[ToolSpec], model: str, why: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with provider_rig("anthropic", settings.model_copy(update={"chatops_thinking_budget": budget}), monkeypatch, tmp_path) as rig:
        rig.llm.model = model  # type: ignore[attr-defined]
        await _ask(rig, tools=tools)
        betas = _betas_sent(rig)
        await rig.llm.aclose()

    assert betas == [], why


@pytest.mark.parametrize(
    ("model", "needs"),
    [
        ("claude-opus-4-20250514", True),
        ("claude-opus-4-1", True),
        ("claude-sonnet-4-20250514", True),
        ("claude-sonnet-4-5-20250929", True),
        ("claude-haiku-4-5", True),
        ("claude-opus-4-5", True),
        ("claude-sonnet-4-6", True),
        ("anthropic.claude-opus-4-20250514-v1:0", True),
        ("claude-haiku-4-5@20251001", True),
        ("claude-opus-4-7", False),
        ("claude-3-7-sonnet-20250219", False),
        ("claude-3-5-haiku-latest", False),
        ("qwen2.5-7b-instruct", False),
    ],
)
def test_which_models_need_the_beta(model: str, needs: bool) -> None:
    assert needs_interleaved_beta(model) is needs
