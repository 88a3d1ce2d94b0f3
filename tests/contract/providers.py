"""One rig per model provider for the provider contract suite: the real client built by
`integrations.llm.providers.build_llm` from settings and the SDK's own environment variables, aimed at the
provider's local fake server, plus a way to script the same conversation on each.

Conversations are scripted provider-neutrally as `messages_events.Turn`s; each rig renders them in its
server's wire format (Anthropic Reply, Bedrock/Vertex message events, Chat Completions reply).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.wiring_adapters import build_llm
from integrations.llm.base import LLM
from tests.fakes.anthropic_server import AnthropicServer, Reply, ToolUse, rate_limited
from tests.fakes.cloud_servers import BedrockServer, CloudError, VertexServer
from tests.fakes.messages_events import Call, Turn
from tests.fakes.openai_server import ChatCall, ChatError, ChatReply, OpenAIServer

PROVIDERS = ("anthropic", "bedrock", "vertex", "openai")
_FINISH = {"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length"}


@dataclass
class Rig:
    """A provider under test: its LLM, its fake server, and how to script and read it."""

    name: str
    llm: LLM
    server: Any
    settings: Settings

    def script(self, *turns: Turn | str) -> None:
        """Queue responses; the string `"rate_limited"` queues the provider's 429."""
        self.server.queue(*(self._item(t) for t in turns))

    def _item(self, turn: Turn | str) -> Any:
        if turn == "rate_limited":
            if self.name == "anthropic":
                return rate_limited(retry_after=0)
            if self.name == "openai":
                return ChatError(429, "Rate limit reached for requests", "rate_limit_exceeded")
            return CloudError(429, "Too many requests, please wait before trying again.")
        assert isinstance(turn, Turn)
        if self.name in ("bedrock", "vertex"):
            return turn
        if self.name == "anthropic":
            content: list[str | ToolUse] = [
                b if isinstance(b, str) else ToolUse(name=b.name, input=b.input, id=b.id, raw_json=b.raw)
                for b in turn.blocks
                if isinstance(b, str | Call)
            ]
            return Reply(content=content, stop_reason=turn.stop_reason, usage=turn.usage)
        text = "".join(b for b in turn.blocks if isinstance(b, str)) or None
        calls = [ChatCall(b.name, b.raw if b.raw is not None else b.input, b.id) for b in turn.blocks if isinstance(b, Call)]
        usage = {"prompt_tokens": turn.usage["input_tokens"], "completion_tokens": turn.usage["output_tokens"]}
        return ChatReply(text=text, calls=calls, finish_reason=_FINISH[turn.stop_reason], usage=usage)

    def bodies(self) -> list[dict[str, Any]]:
        """Request bodies the server received, in order."""
        return list(self.server.bodies())

    def result_ids(self, body: dict[str, Any]) -> list[str]:
        """The tool-result ids the request answers, in order."""
        if self.name == "openai":
            return [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
        return [b["tool_use_id"] for m in body["messages"] if m["role"] == "user" for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]

    def result_texts(self, body: dict[str, Any]) -> list[str]:
        """The tool-result contents the request carries, in order."""
        if self.name == "openai":
            return [m["content"] for m in body["messages"] if m["role"] == "tool"]
        return [str(b["content"]) for m in body["messages"] if m["role"] == "user" for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result"]

    def violations(self) -> list[str]:
        return list(self.server.violations)


@functools.cache
def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def service_account_info(token_uri: str) -> dict[str, str]:
    """A service-account key file (a throwaway key) whose token endpoint is the fake: google-auth signs a JWT
    assertion and exchanges it there, as Application Default Credentials do in production."""
    return {
        "type": "service_account",
        "project_id": "chatops-test",
        "private_key_id": "0123456789abcdef",
        "private_key": _private_key_pem(),
        "client_email": "chatops@chatops-test.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }


@contextmanager
def provider_rig(name: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Rig]:
    """Start the provider's fake server, point the provider's settings and SDK variables at it, build the LLM."""
    for var in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION", "OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    servers = {"anthropic": AnthropicServer, "bedrock": BedrockServer, "vertex": VertexServer, "openai": OpenAIServer}
    with servers[name]() as server:
        update: dict[str, Any] = {"chatops_provider": name}
        if name == "anthropic":
            update |= {"anthropic_base_url": server.url, "chatops_model": "claude-sonnet-4-6"}
        elif name == "bedrock":
            monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", server.url)
            monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLECONTRACT")
            monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            update |= {"aws_region": "us-east-1", "chatops_model": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}
        elif name == "vertex":
            adc = tmp_path / "adc.json"
            adc.write_text(json.dumps(service_account_info(f"{server.url}/token")))
            monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(adc))
            monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", f"{server.url}/v1")
            update |= {"cloud_ml_region": "us-east5", "anthropic_vertex_project_id": "chatops-test", "chatops_model": "claude-sonnet-4-5@20250929"}
        else:
            update |= {"openai_base_url": f"{server.url}/v1", "openai_api_key": SecretStr("sk-local-any"), "chatops_model": "qwen2.5-7b-instruct"}
        s = settings.model_copy(update=update)
        llm = build_llm(s)
        assert llm is not None
        yield Rig(name=name, llm=llm, server=server, settings=s)
