"""Replay of real Slack recordings (../shared/corpus/slack/, skipped with the reason where absent): every recorded
event and interactivity payload is a shape our request layer accepts and the app answers without a 5xx; recorded
Web API answers are read right by the code that calls those methods; and the fake answers with the recorded
shapes where they matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.slack.payloads import shape_problem
from bot.slack_api.channel_kinds import channel_type_from_info
from tests.corpus import load, slack_dir, slack_files
from tests.fakes.slack_payloads import signed_headers
from tests.slack_harness import (
    OPS_CHANNEL,
    SlackBot,
)

RECORDED = slack_files("bolt-python")
WEBAPI = "webapi-recorded"


def _ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _recorded_payloads() -> list[Path]:
    slack_dir("bolt-python")
    return RECORDED


@pytest.mark.parametrize("path", RECORDED or [None], ids=_ids(RECORDED) or ["corpus-absent"])
def test_every_recorded_payload_is_a_shape_the_request_layer_accepts(path: Path | None) -> None:
    _recorded_payloads()
    assert path is not None
    assert shape_problem(load(path)) is None


def test_the_recorded_slash_command_form_is_accepted() -> None:
    form = slack_dir("bolt-python") / "slash_command.form"
    fields = dict(parse_qsl(form.read_text().strip(), keep_blank_values=True))
    assert fields["command"].startswith("/")
    assert shape_problem(fields) is None


async def test_every_recorded_payload_is_answered_without_a_5xx(sqlite_bot: SlackBot) -> None:
    paths = _recorded_payloads()
    for path in paths:
        payload = load(path)
        if path.name.startswith(("event_callback", "url_verification")):
            body, content_type = json.dumps(payload), "application/json"
        else:
            body, content_type = urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
        status, text, _ = await sqlite_bot.post(body, signed_headers(body, content_type=content_type))
        assert status < 500, f"{path.name}: {status} {text[:200]}"
        if path.name == "url_verification.json":
            assert payload["challenge"] in text
    await sqlite_bot.surface.tasks.join(timeout=30)


def _webapi(name: str) -> bytes:
    for path in slack_files(WEBAPI, "slack-ruby-client") + slack_files(WEBAPI, "slack-incident-bot"):
        if path.name == name:
            return path.read_bytes()
    slack_dir(WEBAPI)
    pytest.skip(f"{name} is missing from the corpus")


def test_a_recorded_group_dm_from_conversations_info_is_a_group_dm() -> None:
    recorded = json.loads(_webapi("conversations_info.01.response.json"))
    assert channel_type_from_info(recorded["channel"]) == "mpim"


async def test_the_directory_reads_a_recorded_conversations_info_answer(sqlite_bot: SlackBot) -> None:
    sqlite_bot.slack.answer_with("conversations.info", _webapi("conversations_info.01.response.json"))
    assert await sqlite_bot.surface.directory.channel_type(OPS_CHANNEL) == "mpim"


async def test_the_directory_reads_recorded_auth_test_answers(sqlite_bot: SlackBot) -> None:
    directory = sqlite_bot.surface.directory
    sqlite_bot.slack.answer_with("auth.test", _webapi("auth_test_error.00.response.json"))
    assert await directory.team_url() is None  # not_authed: logged, no link
    sqlite_bot.slack.answer_with("auth.test", _webapi("auth_test_success.00.response.json"))
    recorded = json.loads(_webapi("auth_test_success.00.response.json"))
    assert await directory.team_url() == recorded["url"]


async def test_a_recorded_chat_post_message_answer_is_read_for_its_ts(sqlite_bot: SlackBot) -> None:
    raw = _webapi("chat_postMessage.00.response.json")
    sqlite_bot.slack.answer_with("chat.postMessage", raw)
    response = await sqlite_bot.deps.slack.chat_postMessage(channel=OPS_CHANNEL, text="hi")
    assert response["ts"] == json.loads(raw)["ts"] and isinstance(response["ts"], str)


async def test_the_fakes_chat_post_message_answer_has_the_recorded_shape(sqlite_bot: SlackBot) -> None:
    recorded: dict[str, Any] = json.loads(_webapi("chat_postMessage.00.response.json"))
    ours = (await sqlite_bot.deps.slack.chat_postMessage(channel=OPS_CHANNEL, text="hi")).data
    assert set(recorded) <= set(ours)
    assert set(recorded["message"]) <= set(ours["message"])
    assert set(recorded["message"]["bot_profile"]) <= set(ours["message"]["bot_profile"])
    assert ours["message"]["ts"] == ours["ts"] and isinstance(ours["ts"], str)


async def test_a_last_page_has_an_empty_cursor_in_the_recordings_and_in_the_fake(sqlite_bot: SlackBot) -> None:
    pages = [json.loads(p.read_text()) for p in slack_files(WEBAPI, "slack-ruby-client", pattern="*.response.json")]
    slack_dir(WEBAPI)
    cursors = [p["response_metadata"]["next_cursor"] for p in pages if "next_cursor" in p.get("response_metadata", {})]
    assert "" in cursors, "the recordings show the last page's cursor present and empty"
    ts = sqlite_bot.slack.post_user_message(OPS_CHANNEL, user="U0ALICE", text="hello")
    replies = await sqlite_bot.deps.slack.conversations_replies(channel=OPS_CHANNEL, ts=ts)
    assert replies["response_metadata"] == {"next_cursor": ""}
