"""The MCP server configuration file (CHATOPS_MCP_CONFIG): the common `mcpServers` shape, JSON or YAML.

    {"mcpServers": {
        "git":  {"command": "uvx", "args": ["mcp-server-git", "-r", "/srv/repo"], "env": {"TOKEN": "${GIT_TOKEN}"}},
        "docs": {"type": "http", "url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${DOCS_KEY}"},
                 "timeout": 10}
    }}

`${VAR}` in `env`, `url` and `headers` is read from the environment given to `load_mcp_config` (never written
to the file). Every problem is reported at once, each line naming the server: `mcp.json: server 'git': ...`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

SERVER_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]|_(?!_)){0,31}$")
"""Server names: letters, digits, '-', single '_' (a double '_' separates server and tool), at most 32."""
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_KEYS_STDIO = {"command", "args", "env", "cwd", "timeout", "type"}
_KEYS_HTTP = {"type", "url", "headers", "timeout"}


class McpConfigError(Exception):
    """The configuration file is missing, unreadable or invalid; the message names each server and problem."""


@dataclass(frozen=True)
class ServerConfig:
    """One configured server, with `${VAR}` already expanded."""

    name: str
    transport: Literal["stdio", "http"]
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float | None = None
    """Per-call timeout in seconds; None means the bot's default (CHATOPS_MCP_TIMEOUT_SECONDS)."""

    def describe(self) -> str:
        """Where the server is, for people (never the env values or headers: they may hold secrets)."""
        if self.transport == "http":
            return f"http {re.sub(r'//[^/@]*@', '//', self.url)}"
        return " ".join(["stdio", self.command, *self.args])


def load_mcp_config(path: Path, environ: Mapping[str, str]) -> list[ServerConfig]:
    """Read, expand and validate the file; raises McpConfigError listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise McpConfigError(f"CHATOPS_MCP_CONFIG: {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise McpConfigError(f"CHATOPS_MCP_CONFIG: cannot read {path}: {exc}") from None
    try:
        raw = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise McpConfigError(f"CHATOPS_MCP_CONFIG: {path} is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from None
    return parse_mcp_config(raw, environ, source=path.name)


def parse_mcp_config(raw: Any, environ: Mapping[str, str], *, source: str = "CHATOPS_MCP_CONFIG") -> list[ServerConfig]:
    """Validate parsed file content; raises McpConfigError listing every problem."""
    if not isinstance(raw, dict) or not isinstance(raw.get("mcpServers"), dict):
        raise McpConfigError(f"{source}: expected an object with an 'mcpServers' mapping of server name → settings")
    servers: list[ServerConfig] = []
    problems: list[str] = []
    for name, entry in raw["mcpServers"].items():
        try:
            servers.append(_server(str(name), entry, environ))
        except ValueError as exc:
            problems.append(f"{source}: server {str(name)[:40]!r}: {exc}")
    if problems:
        raise McpConfigError("Invalid MCP configuration:\n  " + "\n  ".join(problems))
    return servers


def _server(name: str, entry: Any, environ: Mapping[str, str]) -> ServerConfig:
    if not SERVER_NAME.match(name):
        raise ValueError("the name must be 1-32 letters, digits, '-' or '_' (no '__'); tools are offered as <server>__<tool>")
    if not isinstance(entry, dict):
        raise ValueError("expected a mapping with 'command' (stdio) or 'type: http' and 'url'")
    kind = entry.get("type", "http" if "url" in entry else "stdio")
    if kind in ("streamable-http", "streamable_http", "streamableHttp"):
        kind = "http"
    timeout = _timeout(entry.get("timeout"))
    if kind == "http":
        _unknown(entry, _KEYS_HTTP)
        url = _expand(_text(entry.get("url"), "url"), environ, "url")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https:// (got {url[:60]!r})")
        headers = {str(k): _expand(_text(v, f"headers.{k}"), environ, f"headers.{k}") for k, v in _mapping(entry, "headers").items()}
        return ServerConfig(name=name, transport="http", url=url, headers=headers, timeout=timeout)
    if kind != "stdio":
        raise ValueError(f"type must be 'stdio' or 'http' (got {kind!r}); SSE-only servers are not supported")
    _unknown(entry, _KEYS_STDIO)
    command = _text(entry.get("command"), "command")
    args = entry.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str | int | float) for a in args):
        raise ValueError("args must be a list of strings")
    env = {str(k): _expand(_text(v, f"env.{k}"), environ, f"env.{k}") for k, v in _mapping(entry, "env").items()}
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise ValueError("cwd must be a path")
    return ServerConfig(name=name, transport="stdio", command=command, args=tuple(str(a) for a in args), env=env, cwd=cwd, timeout=timeout)


def _text(value: Any, where: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where} is required and must be a non-empty string")
    return value


def _mapping(entry: dict[str, Any], key: str) -> dict[str, Any]:
    value = entry.get(key) or {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be a mapping of name → value")
    return value


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 600:
        raise ValueError(f"timeout must be a number of seconds between 0 and 600 (got {value!r})")
    return float(value)


def _unknown(entry: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(entry) - allowed)
    if extra:
        raise ValueError(f"unknown setting(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")


def _expand(value: str, environ: Mapping[str, str], where: str) -> str:
    missing = [m.group(1) for m in _VAR.finditer(value) if m.group(1) not in environ]
    if missing:
        raise ValueError(f"{where} uses ${{{missing[0]}}}, which is not set in the environment")
    return _VAR.sub(lambda m: environ[m.group(1)], value)
