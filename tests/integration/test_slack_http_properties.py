"""Property: whatever a signed request carries, POST /slack/events never answers 5xx; every unsigned, badly signed or
stale variant of it gets 401; and the bot still answers a normal mention afterwards.

Payloads are derived from real shapes (the recorded bolt-python payloads in ../shared/corpus/slack/ when present,
and our own fixtures of the same shapes): one field deleted or replaced with a wrong type, null, a huge string;
bodies as JSON arrays or scalars, invalid UTF-8, unknown charsets, duplicated form fields. Derandomized and capped,
so it runs the same examples every time in a few seconds.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpus import load, slack_files
from tests.fakes.anthropic_server import text_reply
from tests.fakes.slack_payloads import event_callback, mention, message, slash_command
from tests.fakes.slack_server import FakeSlack
from tests.slack_harness import (
    ALICE,
    ALICE_DM,
    MENTION,
    OPS_CHANNEL,
    SlackBot,
)

EXAMPLES = 120
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
Base = tuple[str, dict[str, Any]]
"""(how it is sent: event | interactive | command, the payload)."""


def _ours() -> list[Base]:
    block_actions = {
        "type": "block_actions",
        "user": {"id": ALICE, "team_id": FakeSlack.TEAM_ID},
        "team": {"id": FakeSlack.TEAM_ID},
        "container": {"type": "message", "message_ts": "1763476201.000001", "channel_id": OPS_CHANNEL},
        "channel": {"id": OPS_CHANNEL},
        "trigger_id": "111.222.abc",
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": "chatops.approval/v1/approve/a1", "block_id": "b1", "value": "a1", "type": "button",
                     "action_ts": "1763476202.000001"}],
    }  # fmt: skip
    view_submission = {
        "type": "view_submission",
        "user": {"id": ALICE, "team_id": FakeSlack.TEAM_ID},
        "team": {"id": FakeSlack.TEAM_ID},
        "view": {"id": "V0001", "type": "modal", "callback_id": "chatops.schedule", "hash": "1.abc",
                 "private_metadata": json.dumps({"origin": OPS_CHANNEL}),
                 "state": {"values": {"project": {"value": {"type": "plain_text_input", "value": "OPS"}}}}},
        "response_urls": [],
    }  # fmt: skip
    command = slash_command("/ticket", "OPS-1", user=ALICE, channel=OPS_CHANNEL, response_url="https://hooks.slack.com/commands/1")
    # The admin (Alice) submitting the config modal and the schedule editor, clicking their buttons: the
    # listeners that read payloads through bot/slack/payloads.py.
    config_view = {"id": "V0002", "type": "modal", "callback_id": "chatops.config", "private_metadata": '{"version": 1}',
                   "state": {"values": {"model": {"value": {"type": "plain_text_input", "value": "claude-x"}},
                                        "default_role": {"value": {"type": "static_select", "selected_option": {"value": "member"}}},
                                        "enabled_tools": {"value": {"type": "multi_static_select", "selected_options": [{"value": "get_ticket"}]}},
                                        "assign:member": {"value": {"type": "multi_users_select", "selected_users": ["U0BOB"]}}}}}  # fmt: skip
    editor_view = {"id": "V0003", "type": "modal", "callback_id": "chatops_schedule_modal",
                   "private_metadata": json.dumps({"schedule_id": None, "origin": OPS_CHANNEL, "parent": {"view_id": "V0002", "opened_at": 1}}),
                   "state": {"values": {"project": {"value": {"type": "plain_text_input", "value": "OPS"}},
                                        "channel": {"value": {"type": "conversations_select", "selected_conversation": OPS_CHANNEL}},
                                        "every": {"value": {"type": "static_select", "selected_option": {"value": "cron"}}},
                                        "cron": {"value": {"type": "plain_text_input", "value": "0 9 * * 1-5"}}}}}  # fmt: skip
    modal_click = {**block_actions, "container": {"type": "view", "view_id": "V0002"}, "view": config_view}
    del modal_click["channel"]
    return [
        ("event", event_callback(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} hi", ts="1763476201.000009"))),
        ("event", event_callback(message(channel=ALICE_DM, user=ALICE, text="hi", ts="1763476201.000010"))),
        ("interactive", block_actions),
        ("interactive", view_submission),
        ("command", dict(command)),
        ("interactive", {**view_submission, "view": config_view}),
        ("interactive", {**view_submission, "view": editor_view}),
        ("interactive", {**modal_click, "actions": [{"action_id": "chatops.schedule.pause", "value": "d1234567", "type": "button"}]}),
        ("interactive", {**modal_click, "actions": [{"action_id": "chatops.mcp.tool", "type": "static_select",
                                                     "selected_option": {"value": "srv|tool"}}]}),  # fmt: skip
    ]


def _recorded() -> list[Base]:
    bases: list[Base] = []
    for path in slack_files("bolt-python"):
        kind = "event" if path.name.startswith(("event_callback", "url_verification")) else "interactive"
        bases.append((kind, load(path)))
    for path in slack_files("bolt-python", pattern="*.form"):
        bases.append(("command", dict(parse_qsl(path.read_text().strip(), keep_blank_values=True))))
    return bases


BASES = _ours() + _recorded()


def _paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if depth > 4:
        return out
    if isinstance(value, dict):
        for key, item in value.items():
            out.append((*prefix, key))
            out += _paths(item, (*prefix, key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            out.append((*prefix, index))
            out += _paths(item, (*prefix, index), depth + 1)
    return out


REPLACEMENTS = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.text(max_size=40),
    st.just("x" * 200_000),
    st.just("\udcff"[:0] + "\u0000\u202e<!channel>"),
    st.lists(st.integers(), max_size=3),
)
DELETE = object()


@st.composite
def mutated(draw: st.DrawFn) -> Base:
    kind, payload = draw(st.sampled_from(BASES))
    payload = json.loads(json.dumps(payload))
    paths = _paths(payload)
    if kind == "command":
        paths = [p for p in paths if len(p) == 1]
    if paths:
        path = draw(st.sampled_from(paths))
        new = draw(st.one_of(st.just(DELETE), REPLACEMENTS))
        if kind == "command" and new is not DELETE:
            new = draw(st.one_of(st.text(max_size=30), st.just("x" * 100_000)))
        parent: Any = payload
        for step in path[:-1]:
            parent = parent[step]
        if new is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = new
    return kind, payload


def _encode(kind: str, payload: dict[str, Any]) -> tuple[bytes, str]:
    if kind == "event":
        return json.dumps(payload).encode(), JSON_TYPE
    if kind == "interactive":
        return urlencode({"payload": json.dumps(payload)}).encode(), FORM_TYPE
    return urlencode({k: v if isinstance(v, str) else json.dumps(v) for k, v in payload.items()}).encode(), FORM_TYPE


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """A request body and its content type: a mutated payload, or one of the encodings Slack never sends."""
    kind, payload = draw(mutated())
    raw, content_type = _encode(kind, payload)
    odd = draw(st.sampled_from(["none", "none", "none", "array", "scalar", "bad-utf8", "charset", "duplicate", "garbage"]))
    if odd == "array":
        raw, content_type = json.dumps([payload]).encode(), JSON_TYPE
    elif odd == "scalar":
        raw, content_type = draw(st.sampled_from([b"null", b"42", b'"event"', b"true"])), JSON_TYPE
    elif odd == "bad-utf8":
        raw = raw[: len(raw) // 2] + b"\xff\xfe\xc3" + raw[len(raw) // 2 :]
    elif odd == "charset":
        content_type += "; charset=" + draw(st.sampled_from(["latin-1", "x-unknown-42", "utf-16", ""]))
    elif odd == "duplicate":
        raw, content_type = urlencode([("payload", json.dumps(payload)), ("payload", "[]")]).encode(), FORM_TYPE
    elif odd == "garbage":
        raw = draw(st.binary(max_size=200))
    return raw, content_type


def sign(raw: bytes, *, secret: str = FakeSlack.SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


async def _post(bot: SlackBot, raw: bytes, headers: dict[str, str]) -> int:
    async with bot.session.post(f"{bot.url}/slack/events", data=raw, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_signed_garbage_never_gets_a_5xx_unsigned_always_a_401_and_the_bot_still_answers(sqlite_bot: SlackBot) -> None:
    bot = sqlite_bot
    loop = asyncio.get_running_loop()
    seen: list[int] = []

    async def check(raw: bytes, content_type: str) -> None:
        status = await _post(bot, raw, {"content-type": content_type, **sign(raw)})
        assert status < 500, f"signed body answered {status}: {raw[:300]!r}"
        seen.append(status)
        unsigned = [
            {"content-type": content_type},
            {"content-type": content_type, **sign(raw, secret="not-the-secret")},
            {"content-type": content_type, **sign(raw, timestamp=int(time.time()) - 3600)},
        ]
        for headers in unsigned:
            assert await _post(bot, raw, headers) == 401, f"unsigned variant of {raw[:200]!r} was not refused"

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(bodies())
    def prop(body: tuple[bytes, str]) -> None:
        asyncio.run_coroutine_threadsafe(check(*body), loop).result(timeout=30)

    await asyncio.to_thread(prop)
    await bot.surface.tasks.join(timeout=30)
    assert {400, 200} <= set(seen), "the examples reached both the body check and the shape check"

    # afterwards the bot still answers a normal signed mention
    bot.model.queue(text_reply("Still here."))
    asked = bot.slack.post_user_message(OPS_CHANNEL, user=ALICE, text=f"{MENTION} are you ok?")
    assert await bot.send_event(mention(channel=OPS_CHANNEL, user=ALICE, text=f"{MENTION} are you ok?", ts=asked)) == 200
    await bot.surface.tasks.join(timeout=30)
    assert any("Still here." in m.text for m in bot.slack.thread(OPS_CHANNEL, asked))
