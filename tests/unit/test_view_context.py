"""What the person is viewing, as Slack's context payloads say it: any shape of payload gives either nothing or a
well-formed channel (and message) of this workspace, never an exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.slack.assistant import entities_of, thread_title
from bot.slack.view_context import CHANNEL_ID, MESSAGE_TS, Viewed, viewed_of

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.sampled_from(["slack#/types/channel_id", "slack#/types/message_context", "C0OPS", "T0TEAM", "1763476201.000001"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "value", "team_id", "entities", "channel_id", "message_ts", "x"]), inner, max_size=4
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_context_payload_gives_nothing_or_a_well_formed_view_of_this_workspace(payload: Any) -> None:
    entities = entities_of(payload)
    assert all(isinstance(e, dict) and isinstance(e["type"], str) for e in entities)
    viewed = viewed_of(entities, team_id="T0TEAM")
    if viewed is not None:
        assert CHANNEL_ID.match(viewed.channel_id)
        assert viewed.message_ts is None or MESSAGE_TS.match(viewed.message_ts)


def test_the_most_relevant_entity_of_this_workspace_wins() -> None:
    entities = [
        {"type": "slack#/types/canvas_id", "value": "F0CANVAS"},
        {"type": "slack#/types/channel_id", "value": "C0SHARED", "team_id": "T0OTHER"},
        {"type": "slack#/types/message_context", "value": {"channel_id": "C0OPS", "message_ts": "1763476201.000001"}},
        {"type": "slack#/types/channel_id", "value": "C0LATER"},
    ]
    assert viewed_of(entities, team_id="T0TEAM") == Viewed("C0OPS", "1763476201.000001")


@given(st.text(max_size=300))
def test_a_thread_title_is_one_short_line(question: str) -> None:
    title = thread_title(question)
    assert len(title) <= 60 and "\n" not in title
    assert thread_title(f"<@U0BOT> {question}") == thread_title(question)
