"""CHATOPS_MCP_CONFIG: the mcpServers shape in JSON or YAML, ${VAR} expansion, one message naming each bad server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integrations.mcp.config import McpConfigError, load_mcp_config, parse_mcp_config

ENV = {"GIT_TOKEN": "t0k", "DOCS_KEY": "k3y", "HOST": "mcp.example.com"}


def test_stdio_and_http_servers_with_variables_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {
        "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"TOKEN": "${GIT_TOKEN}"}},
        "docs": {"type": "http", "url": "https://${HOST}/mcp", "headers": {"Authorization": "Bearer ${DOCS_KEY}"}, "timeout": 5},
    }}))
    git, docs = load_mcp_config(path, ENV)
    assert (git.name, git.transport, git.command, git.args, dict(git.env)) == ("git", "stdio", "uvx", ("mcp-server-git",), {"TOKEN": "t0k"})
    assert (docs.transport, docs.url, dict(docs.headers), docs.timeout) == ("http", "https://mcp.example.com/mcp", {"Authorization": "Bearer k3y"}, 5.0)
    assert "k3y" not in repr(docs) and "k3y" not in docs.describe()


def test_yaml_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "mcp.yaml"
    path.write_text("mcpServers:\n  time:\n    command: python\n    args: [-m, mcp_server_time]\n")
    [time] = load_mcp_config(path, {})
    assert time.args == ("-m", "mcp_server_time")


@pytest.mark.parametrize(
    ("servers", "message"),
    [
        ({"a__b": {"command": "x"}}, "server 'a__b': the name must be 1-32 letters"),
        ({"git": {"command": "x", "env": {"T": "${MISSING}"}}}, "server 'git': env.T uses ${MISSING}, which is not set"),
        ({"docs": {"type": "http", "url": "ftp://x"}}, "server 'docs': url must start with http:// or https://"),
        ({"docs": {"type": "sse", "url": "http://x"}}, "server 'docs': type must be 'stdio' or 'http'"),
        ({"git": {"args": ["x"]}}, "server 'git': command is required"),
        ({"git": {"command": "x", "timeout": 0}}, "server 'git': timeout must be a number of seconds"),
        ({"git": {"command": "x", "comand": "y"}}, "server 'git': unknown setting(s) comand"),
        ({"git": "uvx mcp-server-git"}, "server 'git': expected a mapping"),
    ],
)
def test_each_problem_names_the_server(servers: dict, message: str) -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_mcp_config({"mcpServers": servers}, ENV, source="mcp.json")
    assert f"mcp.json: {message}" in str(caught.value)


def test_every_bad_server_is_reported_at_once() -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_mcp_config({"mcpServers": {"a": {}, "b": {"type": "http"}}}, ENV)
    assert "server 'a'" in str(caught.value) and "server 'b'" in str(caught.value)


def test_a_file_without_mcp_servers_or_unreadable_is_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(McpConfigError, match="expected an object with an 'mcpServers' mapping"):
        parse_mcp_config({"servers": {}}, ENV)
    with pytest.raises(McpConfigError, match="does not exist"):
        load_mcp_config(tmp_path / "nope.json", ENV)
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(McpConfigError, match="is not valid JSON"):
        load_mcp_config(bad, ENV)
