"""The agent-surface methods of the fake Slack Web API (mixed into `FakeSlack`): suggested prompts, thread titles,
Work Object unfurls and flexpanes, channel membership and history.

Shapes follow the shape unions in `../shared/corpus/slack/shape-unions-java-slack-sdk/api/assistant.threads.*`
(`{"ok": ...}` plus `error`/`needed`/`provided` on failure) and Slack's method docs:
- `assistant.threads.setSuggestedPrompts`: 1–4 prompts `{title, message}`. With a `thread_ts` under agent_view the
  real call "will cause the call to silently fail": the fake answers ok and sets nothing (`prompts_ignored` counts it).
- `assistant.threads.setTitle`: `channel_id`, `thread_ts`, `title` all required.
- `chat.unfurl`: `channel`+`ts` (or `unfurl_id`+`source`); "Either unfurls or metadata must be provided"; each Work
  Object entity needs `entity_type` (task, file, item, incident, content_item), `url`, `external_ref.id`,
  `entity_payload.attributes.title.text` and, for chat.unfurl, `app_unfurl_url` (the exact URL posted).
- `entity.presentDetails`: `trigger_id` required; then `metadata`, `error` (status one of restricted, internal_error,
  not_found, custom, custom_partial_view, timeout, edit_error) or `user_auth_required`.
- `conversations.members` (cursor pages; `channel_not_found` for a private channel the bot is not in) and
  `conversations.history` (newest first; `latest`/`inclusive`/`limit`; `not_in_channel` when the bot cannot read).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_payloads import interaction

if TYPE_CHECKING:
    from tests.fakes.slack_data import Channel, StoredMessage

ENTITY_TYPES = {f"slack#/entities/{t}" for t in ("task", "file", "item", "incident", "content_item")}
DETAIL_ERRORS = {"restricted", "internal_error", "not_found", "custom", "custom_partial_view", "timeout", "edit_error"}


def entity_problem(entity: Any, *, unfurl: bool) -> str | None:
    """Why Slack would reject this Work Object entity (None when it is well formed)."""
    if not isinstance(entity, dict):
        return "entity must be an object"
    if entity.get("entity_type") not in ENTITY_TYPES:
        return f"unknown entity_type {entity.get('entity_type')!r}"
    if not isinstance(entity.get("url"), str) or not entity["url"]:
        return "missing url"
    if unfurl and not entity.get("app_unfurl_url"):
        return "missing app_unfurl_url"
    if not isinstance((entity.get("external_ref") or {}).get("id"), str):
        return "missing external_ref.id"
    title = (((entity.get("entity_payload") or {}).get("attributes") or {}).get("title") or {}).get("text")
    if not isinstance(title, str) or not title:
        return "missing entity_payload.attributes.title.text"
    return None


class AgentMethods:
    """Mixed into FakeSlack; uses its channels, messages, `_err` and `_resolve`."""

    channels: dict[str, Channel]
    messages: dict[str, list[StoredMessage]]

    if TYPE_CHECKING:  # provided by FakeSlack

        @staticmethod
        def _err(error: str, *messages: str) -> dict[str, Any]: ...

        def _resolve(self, channel_id: str | None, *, posting: bool) -> Channel | dict[str, Any]: ...

    def _init_agent(self) -> None:
        self.suggested_prompts: dict[str, list[dict[str, str]]] = {}
        self.prompts_ignored = 0
        self.titles: dict[tuple[str, str], str] = {}
        self.unfurls: list[dict[str, Any]] = []
        self.details: list[dict[str, Any]] = []
        self.members: dict[str, list[str]] = {}

    def set_members(self, channel_id: str, users: list[str]) -> None:
        """Who is in a channel (conversations.members)."""
        self.members[channel_id] = list(users)

    # -------------------------------------------------------------- assistant.threads.*
    def _m_assistant_threads_setSuggestedPrompts(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel_id"), posting=True)
        if isinstance(channel, dict):
            return channel
        prompts = args.get("prompts")
        if not isinstance(prompts, list) or not 1 <= len(prompts) <= 4:
            return self._err("invalid_arguments", "[ERROR] prompts: between 1 and 4 items")
        if any(not isinstance(p, dict) or not p.get("title") or not p.get("message") for p in prompts):
            return self._err("invalid_arguments", "[ERROR] prompts: title and message required")
        if args.get("thread_ts"):
            self.prompts_ignored += 1  # agent_view: "will cause the call to silently fail"
            return {"ok": True}
        self.suggested_prompts[channel.id] = prompts
        return {"ok": True}

    def _m_assistant_threads_setTitle(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel_id"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("thread_ts") or not args.get("title"):
            return self._err("invalid_arguments")
        self.titles[(channel.id, str(args["thread_ts"]))] = str(args["title"])
        return {"ok": True}

    # -------------------------------------------------------------- Work Objects
    def _m_chat_unfurl(self, args: dict[str, Any]) -> dict[str, Any]:
        by_message = args.get("channel") and args.get("ts")
        if not by_message and not (args.get("unfurl_id") and args.get("source")):
            return self._err("invalid_arguments", "[ERROR] channel and ts, or unfurl_id and source, are required")
        if not args.get("unfurls") and not args.get("metadata"):
            return self._err("missing_unfurls")
        if by_message:
            channel = self._resolve(args["channel"], posting=False)
            if isinstance(channel, dict):
                return channel
        metadata = args.get("metadata")
        if metadata is not None:
            entities = metadata.get("entities") if isinstance(metadata, dict) else None
            if not isinstance(entities, list) or not entities:
                return self._err("invalid_metadata", "[ERROR] metadata.entities required")
            for i, entity in enumerate(entities):
                if problem := entity_problem(entity, unfurl=True):
                    return self._err("invalid_metadata", f"[ERROR] {problem} [json-pointer:/metadata/entities/{i}]")
        self.unfurls.append(args)
        return {"ok": True}

    def _m_entity_presentDetails(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return self._err("invalid_trigger_id")
        error, metadata = args.get("error"), args.get("metadata")
        if error is not None:
            if not isinstance(error, dict) or error.get("status") not in DETAIL_ERRORS:
                return self._err("invalid_arguments", "[ERROR] error.status")
        elif metadata is not None:
            if problem := entity_problem(metadata, unfurl=False):
                return self._err("invalid_metadata", f"[ERROR] {problem}")
        elif not args.get("user_auth_required"):
            return self._err("invalid_arguments", "[ERROR] metadata, error or user_auth_required")
        self.details.append(args)
        return {"ok": True}

    # -------------------------------------------------------------- channels
    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        if channel.kind != "public" and not channel.member:
            return self._err("channel_not_found")
        members = self.members.get(channel.id, [])
        limit = max(1, min(int(args.get("limit") or 100), 1000))
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        more = start + limit < len(members)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {"ok": True, "members": members[start : start + limit], "response_metadata": {"next_cursor": cursor}}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        if not channel.member:
            return self._err("not_in_channel")
        latest = args.get("latest")
        inclusive = str(args.get("inclusive")).lower() in ("1", "true")
        roots = [m for m in self.messages.get(channel.id, []) if not m.thread_ts or m.thread_ts == m.ts]
        if latest:
            roots = [m for m in roots if float(m.ts) < float(latest) or (inclusive and m.ts == latest)]
        limit = max(1, min(int(args.get("limit") or 100), 999))
        page = list(reversed(roots))[:limit]
        return {"ok": True, "messages": [m.to_api() for m in page], "has_more": len(roots) > limit}


# ---------------------------------------------------------------- payloads Slack sends (shapes from the docs' examples)

TEAM_ID = "T0TEAM"
"""FakeSlack.TEAM_ID (repeated: this module is imported by slack_server.py)."""


def messages_tab_opened(*, user: str, entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """`app_home_opened` on the Messages tab (agent_view's thread start), with the viewed context when given."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D" + user[1:],
        "tab": "messages",
        "event_ts": "1763476300.000003",
    }
    if entities is not None:
        event["context"] = {"entities": entities}
    return event


def app_context_changed(*, user: str, entities: list[dict[str, Any]]) -> dict[str, Any]:
    """`app_context_changed` (docs.slack.dev/reference/events/app_context_changed; `channel`/`user` per @slack/types)."""
    return {
        "type": "app_context_changed",
        "user": user,
        "channel": "D" + user[1:],
        "context": {"entities": entities} if entities else {},
        "event_ts": "1763476300.000004",
    }


def channel_entity(channel_id: str, *, team_id: str = TEAM_ID) -> dict[str, Any]:
    """A `slack#/types/channel_id` context entity."""
    return {"type": "slack#/types/channel_id", "value": channel_id, "team_id": team_id}


def message_entity(channel_id: str, message_ts: str, *, team_id: str = TEAM_ID) -> dict[str, Any]:
    """A `slack#/types/message_context` context entity."""
    return {"type": "slack#/types/message_context", "value": {"channel_id": channel_id, "message_ts": message_ts}, "team_id": team_id}


def link_shared(
    *, channel: str, user: str, message_ts: str, urls: list[str], thread_ts: str | None = None, member: bool = True
) -> dict[str, Any]:
    """A `link_shared` event (fields per @slack/types `LinkSharedEvent`)."""
    from urllib.parse import urlsplit

    event: dict[str, Any] = {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": member,
        "user": user,
        "message_ts": message_ts,
        "unfurl_id": f"C-{message_ts}",
        "source": "conversations_history",
        "links": [{"domain": urlsplit(u).hostname or "", "url": u} for u in urls],
        "event_ts": message_ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def entity_details_requested(
    *, user: str, url: str, external_id: str | None, channel: str | None = None, message_ts: str | None = None
) -> dict[str, Any]:
    """An `entity_details_requested` event (the docs' example shape)."""
    from urllib.parse import urlsplit

    event: dict[str, Any] = {
        "type": "entity_details_requested",
        "user": user,
        "entity_url": url,
        "link": {"url": url, "domain": urlsplit(url).hostname or ""},
        "app_unfurl_url": url,
        "event_ts": "1763476400.000001",
        "trigger_id": "1234567890123.1234567890123.abcdef01234567890abcdef012345689",
        "user_locale": "en-US",
    }
    if external_id is not None:
        event["external_ref"] = {"id": external_id, "type": "ticket"}
    if channel:
        event["channel"] = channel
    if message_ts:
        event.update(message_ts=message_ts, thread_ts=message_ts)
    return event


def feedback_click(
    *, user: str, channel: str, message_ts: str, value: str, team_id: str = TEAM_ID, block_id: str = "feedback-x"
) -> dict[str, Any]:
    """A `block_actions` payload for a click on the feedback buttons (bolt-js `FeedbackButtonsAction`)."""
    return {
        **interaction("block_actions", user=user, team_id=team_id),
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel, "name": channel.lower()},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [
            {
                "type": "feedback_buttons",
                "action_id": "answer_feedback",
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": "Good answer" if value == "up" else "Bad answer"},
                "action_ts": "1763476500.000001",
            }
        ],
    }


def feedback_note(*, user: str, answer_id: str, text: str, team_id: str = TEAM_ID) -> dict[str, Any]:
    """The `view_submission` of the "what went wrong" modal."""
    return {
        **interaction("view_submission", user=user, trigger="1", team_id=team_id),
        "view": {
            "id": "V0FEEDBACK",
            "team_id": team_id,
            "type": "modal",
            "callback_id": "answer_feedback_comment",
            "private_metadata": answer_id,
            "state": {"values": {"what_went_wrong": {"text": {"type": "plain_text_input", "value": text}}}},
            "hash": "1763476500.abc",
        },
        "response_urls": [],
    }
