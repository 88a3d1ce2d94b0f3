"""MCP tools in the tool loop, against real servers started as processes: the SDK-built fixture over stdio,
`mcp-server-time` and `mcp-server-git` (on a temporary repository)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.storage.db import Database
from tests.conftest import FixedClock
from tests.fakes.anthropic_server import AnthropicServer, text_reply, tool_use, tool_use_reply
from tests.integration.mcp_harness import (
    ALICE,
    VIEWER,
    McpWorld,
    fixture_stdio,
    git_repo,
    lines,
    make_world,
    stdio,
)


@pytest.fixture
async def world(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock) -> AsyncIterator[McpWorld]:
    """The fixture, mcp-server-time and mcp-server-git, enabled."""
    repo = git_repo(tmp_path / "repo")
    servers = {
        "fx": fixture_stdio(timeout=1),
        "time": stdio("-m", "mcp_server_time", "--local-timezone", "UTC"),
        "git": stdio("-m", "mcp_server_git", "--repository", str(repo)),
    }
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, servers)
    await w.enable("fx", "time", "git")
    yield w
    await w.close()


@pytest.fixture
async def fx(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock) -> AsyncIterator[McpWorld]:
    """Only the fixture over stdio (1 s call timeout), enabled."""
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"fx": fixture_stdio(timeout=1)})
    await w.enable("fx")
    yield w
    await w.close()


def commits(repo: Path) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%s"], cwd=repo, check=True, capture_output=True, text=True)
    return out.stdout.split()


async def test_granted_roles_are_offered_the_tools_of_enabled_servers_named_server__tool(world: McpWorld) -> None:
    world.server.queue(text_reply("hi"), text_reply("hi"))
    await world.ask(actor=ALICE)
    offered = world.offered()
    assert {"fx__echo", "time__get_current_time", "time__convert_time"} <= set(offered)
    assert "search_tickets" in offered  # built-in tools stay
    assert not any(name.startswith("git__") for name in offered)  # git is bound to C0DEVOPS and DMs only
    spec = next(t for t in world.server.bodies()[-1]["tools"] if t["name"] == "fx__echo")
    assert spec["description"] == "[MCP server fx, tool echo] Echo the text back."
    assert spec["input_schema"]["properties"]["text"] == {"type": "string", "maxLength": 100}
    assert "Echo the text back" not in world.server.bodies()[-1]["system"][0]["text"]
    await world.ask(actor=VIEWER)
    assert not any("__" in name for name in world.offered())  # no MCP grant: nothing offered


async def test_a_channel_toolset_offers_its_server_only_in_the_channels_it_names(world: McpWorld) -> None:
    world.server.queue(text_reply("a"), text_reply("b"))
    from dataclasses import replace

    await world.ask(actor=replace(ALICE, channel_id="C0DEVOPS"))
    assert "git__git_status" in world.offered()
    await world.ask(actor=replace(ALICE, channel_id=None, channel_type="im"))
    assert "git__git_log" in world.offered()


async def test_a_read_runs_and_its_result_comes_back_as_data(world: McpWorld) -> None:
    world.server.queue(tool_use_reply([tool_use("time__get_current_time", {"timezone": "UTC"}, id="t1")]), text_reply("It is noon."))
    result = await world.ask("what time is it in UTC?")
    assert result.status == "answered"
    [block] = world.results()
    assert block["is_error"] is False
    assert block["content"].startswith('<tool_output tool="time__get_current_time" trust="untrusted">')
    assert '"timezone":"UTC"' in block["content"]  # structuredContent, as JSON
    [entry] = result.trace
    assert (entry.tool, entry.outcome, entry.decision) == ("time__get_current_time", "ok", "allow")
    rows = await world.deps.store.list_tool_calls(turn_id=result.turn_id)
    assert [(r.tool, r.outcome, r.decision) for r in rows] == [("time__get_current_time", "ok", "allow")]
    assert [e.kind for e in world.progress if e.kind.startswith("tool_")] == ["tool_started", "tool_finished"]


async def test_a_call_the_policy_denies_reaches_no_server(world: McpWorld, tmp_path: Path) -> None:
    world.server.queue(tool_use_reply([tool_use("git__git_add", {"repo_path": str(tmp_path / "repo"), "files": ["README.md"]}, id="t1")]), text_reply("ok"))
    (tmp_path / "repo" / "README.md").write_text("changed\n")
    result = await world.ask()  # in C0GENERAL: git is not offered here
    [block] = world.results()
    assert block["is_error"] is True and "Unknown tool 'git__git_add'" in block["content"]
    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=tmp_path / "repo", capture_output=True, text=True, check=True)
    assert staged.stdout == ""
    assert result.trace[0].outcome == "invalid"


async def test_a_write_waits_for_approval_then_runs_once_with_an_audit_row(world: McpWorld, tmp_path: Path) -> None:
    from dataclasses import replace

    repo = tmp_path / "repo"
    (repo / "notes.txt").write_text("note\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=repo, check=True)
    dm = replace(ALICE, channel_id="D0ALICE", channel_type="im")
    world.server.queue(tool_use_reply([tool_use("git__git_commit", {"repo_path": str(repo), "message": "Add notes"}, id="t1")]), text_reply("Committed."))
    paused = await world.ask("commit the notes", actor=dm, thread=replace(world_thread(), channel_id="D0ALICE"))
    assert paused.status == "paused" and paused.pending is not None
    assert paused.pending.tool == "git__git_commit"
    assert paused.pending.description == f"Run git_commit on MCP server git (git__git_commit) with repo_path={str(repo)!r}, message='Add notes'"
    assert commits(repo) == ["first"]  # nothing ran yet
    done = await world.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by=ALICE.user_id)
    assert done.status == "answered"
    assert commits(repo) == ["Add", "notes", "first"]
    again = await world.agent.resume(approval_id=paused.pending.approval_id, approved=True, decided_by=ALICE.user_id)
    assert again.status == "failed" and commits(repo) == ["Add", "notes", "first"]
    row = await world.deps.store.audit_for_key(f"approval:{paused.pending.approval_id}")
    assert row is not None and row.tool == "git__git_commit" and row.status == "done"
    assert row.details["arguments"]["message"] == "Add notes"


def world_thread():  # type: ignore[no-untyped-def]
    from tests.integration.mcp_harness import THREAD

    return THREAD


async def test_arguments_are_checked_against_the_json_schema_before_the_call(fx: McpWorld) -> None:
    fx.server.queue(tool_use_reply([tool_use("fx__echo", {"text": "x" * 101, "loud": True}, id="t1")]), tool_use_reply([tool_use("fx__stats", {}, id="t2")]), text_reply("ok"))
    await fx.ask()
    [block] = fx.results(1)
    assert block["is_error"] is True
    assert "2 validation errors in the arguments of fx__echo" in block["content"]
    assert "- loud: expected no such field (remove it)" in block["content"]
    assert "- text: expected text of at most 100 characters" in block["content"]
    [stats] = fx.results(2)
    assert "calls=1 " in stats["content"]  # only the stats call reached the server


async def test_server_errors_images_and_huge_results_come_back_bounded(fx: McpWorld) -> None:
    calls = [tool_use("fx__fail", {}, id="t1"), tool_use("fx__picture", {}, id="t2"), tool_use("fx__huge", {"chars": 3_000_000}, id="t3")]
    fx.server.queue(tool_use_reply(calls), text_reply("ok"))
    result = await fx.ask()
    fail, picture, huge = fx.results()
    assert fail["is_error"] is True and "the fixture failed on purpose" in fail["content"]
    assert picture["is_error"] is False
    assert "[image: image/png, 12 bytes, not shown]" in picture["content"]
    assert "[resource link: report file:///tmp/report.pdf (application/pdf)]" in picture["content"]
    assert huge["is_error"] is False and len(huge["content"]) < 10_000 and "[truncated: showing 8000 of" in huge["content"]
    assert [t.outcome for t in result.trace] == ["error", "ok", "ok"]


async def test_a_result_that_never_comes_times_out_and_the_server_hears_the_cancel(fx: McpWorld) -> None:
    fx.server.queue(tool_use_reply([tool_use("fx__slow", {}, id="t1")]), tool_use_reply([tool_use("fx__stats", {}, id="t2")]), text_reply("ok"))
    result = await fx.ask()
    [slow] = fx.results(1)
    assert slow["is_error"] is True and "fx did not answer slow within 1 seconds; the call was cancelled." in slow["content"]
    [stats] = fx.results(2)
    assert "cancelled=1" in stats["content"]
    assert result.trace[0].outcome == "error"


async def test_a_crashed_server_is_reported_then_reconnected(fx: McpWorld) -> None:
    fx.server.queue(tool_use_reply([tool_use("fx__crash", {}, id="t1")]), text_reply("it broke"))
    await fx.ask()
    [crash] = fx.results()
    assert crash["is_error"] is True and "connection to MCP server fx was lost" in crash["content"]
    hub = fx.deps.mcp
    assert hub is not None
    assert await hub.servers["fx"].wait_connected(connects=2, timeout=30)
    fx.server.queue(tool_use_reply([tool_use("fx__echo", {"text": "back"}, id="t2")]), text_reply("ok"))
    await fx.ask()
    [echo] = fx.results()
    assert echo["is_error"] is False and "echo: back" in echo["content"]


async def test_invalid_schemas_and_clashing_names_are_withheld_with_a_log_line(fx: McpWorld, caplog: pytest.LogCaptureFixture) -> None:
    fx.server.queue(text_reply("hi"))
    await fx.ask()
    offered = fx.offered()
    assert "fx__bad_schema" not in offered and "fx__clash_x" not in offered
    hub = fx.deps.mcp
    assert hub is not None
    _tools, withheld = hub.tools(await _policy(fx))
    reasons = {(w.tool, w.reason.split(":")[0]) for w in withheld}
    assert ("bad.schema", "invalid input schema at properties/n/minimum") in reasons
    assert ("clash.x", "name clash") in reasons and ("clash_x", "name clash") in reasons


async def _policy(world: McpWorld):  # type: ignore[no-untyped-def]

    return (await world.deps.live.current()).policy


async def test_a_server_that_cannot_start_is_reported_and_does_not_stop_the_bot(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    servers = {"fx": fixture_stdio(), "broken": {"command": sys.executable, "args": ["-c", "import sys; sys.exit(4)"]}}
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, servers, wait=0)
    try:
        hub = w.deps.mcp
        assert hub is not None
        assert await hub.servers["fx"].wait_connected(timeout=30)
        broken = hub.servers["broken"].status
        assert broken.state in ("starting", "reconnecting") and broken.last_error
        assert lines(caplog, "mcp server broken: connection failed")
        await w.enable("fx")
        w.server.queue(text_reply("still here"))
        result = await w.ask()
        assert result.text == "still here" and "fx__echo" in w.offered()
    finally:
        await w.close()


async def test_malformed_json_rpc_gives_an_error_result_and_a_log_line_never_a_crash(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    raw = str(Path(__file__).resolve().parents[1] / "fakes" / "mcp_raw.py")
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"fx": {**stdio(raw), "timeout": 1}})
    try:
        await w.enable("fx")
        calls = [tool_use("fx__garbage", {}, id="t1"), tool_use("fx__wrong_shape", {}, id="t2"), tool_use("fx__ok", {}, id="t3")]
        w.server.queue(tool_use_reply(calls), text_reply("done"))
        result = await w.ask()
        garbage, wrong, ok = w.results()
        assert garbage["is_error"] is True and "did not answer garbage within 1 seconds" in garbage["content"]
        assert wrong["is_error"] is True and "malformed result" in wrong["content"]
        assert ok["is_error"] is False and "fine" in ok["content"]
        assert result.status == "answered"
        assert lines(caplog, "mcp server fx: malformed message ignored")
        assert lines(caplog, "mcp server fx: unusable result of wrong_shape")
    finally:
        await w.close()


WRITES_UNCONFIRMED = """
roles:
  member:
    tools: ["mcp:fx:*"]
    projects: ["*"]
mcp_effects:
  "mcp:fx:slow": write
"""


async def test_a_write_that_times_out_is_reported_as_unknown_and_never_sent_again(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock) -> None:
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"fx": fixture_stdio(timeout=1)}, policy=WRITES_UNCONFIRMED)
    try:
        await w.enable("fx")
        w.server.queue(
            tool_use_reply([tool_use("fx__slow", {"seconds": 30}, id="t1")]),
            tool_use_reply([tool_use("fx__slow", {"seconds": 30}, id="t2"), tool_use("fx__stats", {}, id="t3")]),
            text_reply("ok"),
        )
        result = await w.ask()
        [first] = w.results(1)
        assert first["is_error"] is True and "The change may or may not have been applied" in first["content"]
        repeat, stats = w.results(2)
        assert repeat["is_error"] is True and repeat["content"].startswith("Not run again")
        assert "calls=2 " in stats["content"]  # the slow write reached the server once, then stats
        assert [t.outcome for t in result.trace] == ["timeout", "capped", "ok"]
        audit = await w.deps.store.list_audit()
        [row] = [r for r in audit if r.tool == "fx__slow"]
        assert row.status == "timeout"
    finally:
        await w.close()


async def test_tools_beyond_the_byte_budget_are_left_out_with_a_log_line(tmp_path: Path, settings: Settings, sqlite_database: Database, server: AnthropicServer, clock: FixedClock, caplog: pytest.LogCaptureFixture) -> None:
    w = await make_world(tmp_path, settings, sqlite_database, server, clock, {"fx": fixture_stdio()}, chatops_mcp_tools_budget_bytes=1000)
    try:
        await w.enable("fx")
        w.server.queue(text_reply("ok"))
        await w.ask()
        mcp = [t for t in w.server.bodies()[-1]["tools"] if t["name"].startswith("fx__")]
        assert 0 < len(mcp) < 9  # 9 usable fixture tools; not all fit in 1000 bytes
        assert sum(len(json.dumps({k: t[k] for k in ("name", "description", "input_schema")}, separators=(",", ":"))) for t in mcp) <= 1000
        assert [t["name"] for t in mcp] == sorted(t["name"] for t in mcp)
        [record] = [r for r in caplog.records if r.getMessage() == "mcp tools left out of the request"]
        left_out = record.fields["left_out"]  # type: ignore[attr-defined]
        assert left_out and all(name.startswith("fx:") for name in left_out.split(", "))
        assert not any(f"fx__{name.removeprefix('fx:')}" in [t["name"] for t in mcp] for name in left_out.split(", "))
    finally:
        await w.close()


async def test_an_approval_survives_a_restart_and_runs_the_mcp_write_once(fx: McpWorld) -> None:
    fx.server.queue(tool_use_reply([tool_use("fx__mutate", {}, id="t1")]), text_reply("Changed."))
    paused = await fx.ask("change it")
    assert paused.status == "paused" and paused.pending is not None
    assert paused.pending.description == "Run mutate on MCP server fx (fx__mutate) with no arguments"
    await fx.restart(wait=40)  # the bot restarts while the request waits
    fresh = fx.agent
    done = await fresh.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert done.status == "answered"
    [block] = fx.results()
    assert block["is_error"] is False and "now generation 2" in block["content"]
    again = await fresh.resume(approval_id=paused.pending.approval_id, approved=True, decided_by="U0ALICE")
    assert again.status == "failed"
