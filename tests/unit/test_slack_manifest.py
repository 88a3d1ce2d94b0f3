"""manifest.yml makes a working app: every command, shortcut and event the code listens to, the scopes of
every Web API method it calls, within the manifest schema's limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings
from bot.slack.channels import CHANNEL_EVENTS
from bot.slack.commands import TOOL_COMMANDS
from bot.slack.manifest import manifest_for
from bot.slack.shortcuts import ASK_CALLBACK, TICKET_CALLBACK

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"


@pytest.fixture
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text())


def test_every_slash_command_the_bot_handles_is_declared(manifest: dict[str, Any]) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == {*TOOL_COMMANDS, "/chatops"}


def test_both_message_shortcuts_are_declared(manifest: dict[str, Any]) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert set(shortcuts) == {ASK_CALLBACK, TICKET_CALLBACK}
    assert all(s["type"] == "message" and s["description"] for s in shortcuts.values())


def test_the_events_the_listeners_need_are_subscribed(manifest: dict[str, Any]) -> None:
    # channel facts: conversions arrive only as message subtypes in the channel itself
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        *CHANNEL_EVENTS,
        "message.channels",
        "message.groups",
        "app_mention",
        "message.im",
        "app_home_opened",
        "app_context_changed",  # agent view context
        "link_shared",  # ticket links → chat.unfurl
        "entity_details_requested",  # Work Object flexpane
    }


def test_the_agent_view_is_declared_within_the_schema(manifest: dict[str, Any]) -> None:
    view = manifest["features"]["agent_view"]
    assert set(view) <= {"agent_description", "suggested_prompts", "actions"}
    assert 0 < len(view["agent_description"]) <= 300
    assert 1 <= len(view["suggested_prompts"]) <= 4
    assert all(set(p) == {"title", "message"} and p["title"] and p["message"] for p in view["suggested_prompts"])
    assert "assistant_view" not in manifest["features"]  # agent_view replaces it


def test_scopes_cover_every_method_the_bot_calls(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = {
        "app_mentions:read",  # app_mention
        "im:history",  # message.im
        "chat:write",  # chat.postMessage / update / *Stream, assistant.threads.setStatus
        "commands",  # slash commands, shortcuts
        "reactions:write",  # reactions.add
        "users:read",
        "users:read.email",  # users.info with the email
        "channels:history",
        "groups:history",  # conversations.replies
        "channels:read",
        "groups:read",  # conversations.info
        "im:write",  # DMs to users
        "assistant:write",  # assistant.threads.setSuggestedPrompts / setTitle
        "links:read",  # link_shared
        "links:write",  # chat.unfurl
        "im:read",
        "mpim:read",  # conversations.members / conversations.info beyond public channels
    }
    assert needed <= scopes


def test_socket_mode_interactivity_and_the_messages_tab_are_on(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] and home["messages_tab_enabled"] and not home["messages_tab_read_only_enabled"]


def test_fields_stay_within_the_manifest_schema_limits(manifest: dict[str, Any]) -> None:
    display = manifest["display_information"]
    assert len(display["name"]) <= 35 and len(display["description"]) <= 140
    assert 174 <= len(display["long_description"]) <= 4000
    assert manifest["features"]["bot_user"]["display_name"].replace("-", "").replace("_", "").replace(".", "").isalnum()
    for shortcut in manifest["features"]["shortcuts"]:
        assert len(shortcut["name"]) <= 24 and len(shortcut["description"]) <= 150
    for command in manifest["features"]["slash_commands"]:
        assert len(command["command"]) <= 32 and len(command["description"]) <= 2000


UNFURL_DOMAIN = r"^(?![.-])([-a-z0-9.])+([a-z0-9])$"
"""features.unfurl_domains items (manifest schema 2.0.0)."""


def test_unfurl_domains_are_valid_and_regenerated_for_the_teams_hosts(manifest: dict[str, Any]) -> None:
    import re

    assert 1 <= len(manifest["features"]["unfurl_domains"]) <= 5
    assert all(re.match(UNFURL_DOMAIN, d) for d in manifest["features"]["unfurl_domains"])
    jira = Settings(_env_file=None, jira_url="https://acme.atlassian.net", jira_pat="x")  # type: ignore[call-arg]
    local = Settings(_env_file=None, chatops_public_url="https://chatops.acme.io:8443/bot")  # type: ignore[call-arg]
    for settings, domains in ((jira, ["acme.atlassian.net"]), (local, ["chatops.acme.io"])):
        text = manifest_for(settings, MANIFEST.read_text())
        regenerated = yaml.safe_load(text)
        assert regenerated["features"]["unfurl_domains"] == domains
        assert {k: v for k, v in regenerated.items() if k != "features"} == {k: v for k, v in manifest.items() if k != "features"}
        assert "# chatops Slack app manifest." in text  # comments kept
    nothing = Settings(_env_file=None)  # type: ignore[call-arg]
    assert manifest_for(nothing, MANIFEST.read_text()) == MANIFEST.read_text()


def test_chatops_manifest_prints_it_for_the_configured_jira(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv("JIRA_URL", "https://acme.atlassian.net")
    monkeypatch.setenv("JIRA_PAT", "pat")
    assert main(["manifest"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["features"]["unfurl_domains"] == ["acme.atlassian.net"]
    assert "link_shared" in printed["settings"]["event_subscriptions"]["bot_events"]
