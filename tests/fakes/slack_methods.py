"""The Web API methods of the fake Slack (mixed into `FakeSlack`): messages and streams, reactions, views, people
and conversations, each answering as Slack does (`{"ok": false, "error": ...}` with Slack's error codes)."""

from __future__ import annotations

import base64
import itertools
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_agent import entity_problem
from tests.fakes.slack_blocks import (
    MAX_BLOCK_TEXT_TOTAL,
    MAX_MARKDOWN_TOTAL,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    block_text_length,
    check_blocks,
)
from tests.fakes.slack_data import BOT_ID, BOT_USER_ID, TEAM_ID, Channel, StoredMessage

TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


class WebMethods:
    """Mixed into FakeSlack; `_m_<method with _ for .>` answers one Web API method (called with the lock held)."""

    channels: dict[str, Channel]
    users: dict[str, dict[str, Any]]
    messages: dict[str, list[StoredMessage]]
    home_views: dict[str, dict[str, Any]]
    statuses: list[tuple[str, str, str]]
    _view_ids: itertools.count[int]

    if TYPE_CHECKING:  # provided by FakeSlack

        @staticmethod
        def _err(error: str, *messages: str) -> dict[str, Any]: ...

        def _resolve(self, channel_id: str | None, *, posting: bool) -> Channel | dict[str, Any]: ...

        def _find(self, channel: str, ts: str | None) -> StoredMessage | None: ...

        def _next_ts(self) -> str: ...

    def _check_content(self, text: Any, blocks: Any) -> dict[str, Any] | None:
        if not text and not blocks:
            return self._err("no_text")
        if text and len(str(text)) > MAX_TEXT:
            return self._err("msg_too_long")
        if blocks:
            if problem := check_blocks(blocks):
                return self._err("invalid_blocks", f"[ERROR] {problem}")
            if block_text_length(blocks) > MAX_BLOCK_TEXT_TOTAL:
                return self._err("msg_blocks_too_long")
        return None

    def _check_metadata(self, metadata: Any) -> dict[str, Any] | None:
        """Message metadata: `event_type` with `event_payload`, and/or Work Object `entities` (each well formed,
        as chat.unfurl checks them; no `app_unfurl_url` needed on a message of the app's own)."""
        if metadata is None:
            return None
        if not isinstance(metadata, dict):
            return self._err("invalid_metadata_format")
        entities = metadata.get("entities")
        if entities is not None:
            if not isinstance(entities, list) or not entities:
                return self._err("invalid_metadata", "[ERROR] metadata.entities must be a non-empty array")
            for i, entity in enumerate(entities):
                if problem := entity_problem(entity, unfurl=False):
                    return self._err("invalid_metadata", f"[ERROR] {problem} [json-pointer:/metadata/entities/{i}]")
        return None

    def _check_chunks(self, args: dict[str, Any]) -> dict[str, Any] | None:
        markdown = len(args.get("markdown_text") or "")
        for chunk in args.get("chunks") or []:
            kind = chunk.get("type")
            if kind == "markdown_text":
                markdown += len(chunk.get("text", ""))
            elif kind == "task_update":
                if chunk.get("status") not in TASK_STATUSES or not chunk.get("id") or not chunk.get("title"):
                    return self._err("invalid_chunks", f"[ERROR] bad task_update {chunk}")
            elif kind not in ("plan_update", "blocks"):
                return self._err("invalid_chunks", f"[ERROR] unknown chunk type {kind!r}")
        if markdown > MAX_MARKDOWN_TOTAL:
            return self._err("msg_too_long")
        return None

    @staticmethod
    def _chunk_text(args: dict[str, Any]) -> str:
        text = args.get("markdown_text") or ""
        for chunk in args.get("chunks") or []:
            if chunk.get("type") == "markdown_text":
                text += chunk.get("text", "")
        return text

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://acme.slack.com/",
            "team": "Acme",
            "user": "chatops",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        if problem := self._check_metadata(args.get("metadata")):
            return problem
        msg = StoredMessage(
            ts=self._next_ts(),
            text=args.get("text") or "",
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            thread_ts=args.get("thread_ts"),
            blocks=args.get("blocks") or [],
            metadata=args.get("metadata") or None,
        )
        self.messages[channel.id].append(msg)
        self._reply_clears_status(channel.id, msg.thread_ts)
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "message": msg.to_api()}

    def _reply_clears_status(self, channel_id: str, thread_ts: str | None) -> None:
        """The app's reply in a thread clears the thread's status, as Slack does for chat.postMessage (Slack's
        maintainers, slackapi/bolt-js#2340); chat.update and chat.stopStream leave it (reported, slack.md §2)."""
        shown = [s for s in self.statuses if s[:2] == (channel_id, thread_ts)]
        if thread_ts and shown and shown[-1][2]:
            self.statuses.append((channel_id, thread_ts, ""))

    def _message(self, args: dict[str, Any]) -> tuple[Channel, StoredMessage] | dict[str, Any]:
        """The message `args` name (`channel` + `ts`), or Slack's error."""
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("ts"))
        return (channel, msg) if msg is not None else self._err("message_not_found")

    def _bots_message(self, args: dict[str, Any], not_ours: str) -> tuple[Channel, StoredMessage] | dict[str, Any]:
        """The same, refused with `not_ours` unless the bot posted it."""
        found = self._message(args)
        if isinstance(found, tuple) and found[1].bot_id != BOT_ID:
            return self._err(not_ours)
        return found

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._bots_message(args, "cant_update_message")
        if isinstance(found, dict):
            return found
        channel, msg = found
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        if problem := self._check_metadata(args.get("metadata")):
            return problem
        msg.text = args.get("text") or ""
        msg.blocks = args.get("blocks") or []
        msg.streaming = False
        if args.get("metadata"):
            msg.metadata = args["metadata"]
        return {"ok": True, "channel": channel.id, "ts": msg.ts, "text": msg.text, "message": msg.to_api()}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        found = self._bots_message(args, "cant_delete_message")
        if isinstance(found, dict):
            return found
        channel, msg = found
        self.messages[channel.id].remove(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("user"):
            return self._err("user_not_in_channel")
        if problem := self._check_content(args.get("text"), args.get("blocks")):
            return problem
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_startStream(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("thread_ts"):
            return self._err("invalid_arguments", "[ERROR] missing required field: thread_ts")
        if channel.kind != "im" and not (args.get("recipient_user_id") and args.get("recipient_team_id")):
            return self._err("invalid_arguments", "[ERROR] recipient_user_id and recipient_team_id are required in channels")
        if problem := self._check_chunks(args):
            return problem
        msg = StoredMessage(
            ts=self._next_ts(),
            text=self._chunk_text(args),
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            thread_ts=args["thread_ts"],
            streaming=True,
            chunks=list(args.get("chunks") or []),
        )
        self.messages[channel.id].append(msg)
        return {"ok": True, "channel": channel.id, "ts": msg.ts}

    def _streaming_message(self, args: dict[str, Any]) -> StoredMessage | dict[str, Any]:
        found = self._message(args)
        if isinstance(found, dict):
            return found
        return found[1] if found[1].streaming else self._err("message_not_in_streaming_state")

    def _m_chat_appendStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(args)
        if isinstance(msg, dict):
            return msg
        if problem := self._check_chunks(args):
            return problem
        msg.text += self._chunk_text(args)
        msg.chunks.extend(args.get("chunks") or [])
        return {"ok": True, "channel": args["channel"], "ts": msg.ts}

    def _m_chat_stopStream(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._streaming_message(args)
        if isinstance(msg, dict):
            return msg
        if problem := self._check_chunks(args):
            return problem
        text = msg.text + self._chunk_text(args)
        if problem := self._check_content(text, args.get("blocks")):
            return problem
        if problem := self._check_metadata(args.get("metadata")):
            return problem
        msg.text = text
        msg.chunks.extend(args.get("chunks") or [])
        msg.blocks = args.get("blocks") or []
        msg.streaming = False
        if args.get("metadata"):
            msg.metadata = args["metadata"]
        return {"ok": True, "channel": args["channel"], "ts": msg.ts, "message": msg.to_api()}

    def _m_assistant_threads_setStatus(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel_id"), posting=True)
        if isinstance(channel, dict):
            return channel
        if not args.get("thread_ts") or "status" not in args:
            return self._err("invalid_arguments")
        if len(args.get("loading_messages") or []) > 10:
            return self._err("invalid_arguments", "[ERROR] loading_messages: no more than 10 items allowed")
        self.statuses.append((channel.id, args["thread_ts"], args["status"]))
        return {"ok": True}

    def _m_reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("timestamp"))
        if msg is None:
            return self._err("message_not_found")
        if args.get("name") in msg.reactions:
            return self._err("already_reacted")
        msg.reactions.append(str(args.get("name")))
        return {"ok": True}

    def _m_reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=True)
        if isinstance(channel, dict):
            return channel
        msg = self._find(channel.id, args.get("timestamp"))
        if msg is None:
            return self._err("message_not_found")
        if args.get("name") not in msg.reactions:
            return self._err("no_reaction")
        msg.reactions.remove(str(args.get("name")))
        return {"ok": True}

    def _view(self, args: dict[str, Any], *, view_id: str | None = None) -> dict[str, Any]:
        view = args.get("view")
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return self._err("invalid_arguments", "[ERROR] view.type must be modal or home")
        if problem := check_blocks(view.get("blocks", []), max_blocks=MAX_VIEW_BLOCKS):
            return self._err("invalid_arguments", f"[ERROR] {problem}")
        return {"ok": True, "view": {**view, "id": view_id or f"V{next(self._view_ids):08d}", "team_id": TEAM_ID}}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return self._err("invalid_trigger_id")
        return self._view(args)

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return self._err("invalid_trigger_id")
        return self._view(args)

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("view_id") and not args.get("external_id"):
            return self._err("not_found")
        return self._view(args, view_id=args.get("view_id"))

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        user = args.get("user_id")
        if user not in self.users:
            return self._err("user_not_found")
        result = self._view(args)
        if result.get("ok"):
            self.home_views[str(user)] = result["view"]
        return result

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return self._err("user_not_found")
        return {"ok": True, "user": user}

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        kind = channel.kind
        shared = kind == "ext_shared"
        info: dict[str, Any] = {
            "id": channel.id,
            "name": channel.name,
            "is_channel": kind in ("public", "ext_shared"),
            "is_group": kind in ("private", "mpim"),  # recorded: an mpim says is_group too
            "is_im": kind == "im",
            "is_mpim": kind == "mpim",
            "is_private": kind not in ("public", "ext_shared"),
            "is_member": channel.member,
            "is_archived": False,
            "is_general": False,
            "created": 1763000000,
            "is_shared": shared,
            "is_ext_shared": shared,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
        }
        if kind == "im":
            info = {k: v for k, v in info.items() if k in ("id", "is_im", "is_archived", "created", "is_org_shared")}
            if channel.user:
                info["user"] = channel.user
        return {"ok": True, "channel": info}

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        if not channel.member and channel.kind != "public":
            return self._err("channel_not_found")
        thread = [m for m in self.messages[channel.id] if m.ts == args.get("ts") or m.thread_ts == args.get("ts")]
        if not thread:
            return self._err("thread_not_found")
        limit = max(1, min(int(args.get("limit") or 1000), 1000))
        start = int(base64.b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {
            "ok": True,
            "messages": [m.to_api(metadata=_truthy(args.get("include_all_metadata"))) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve(args.get("channel"), posting=False)
        if isinstance(channel, dict):
            return channel
        ts = str(args.get("message_ts", ""))
        return {"ok": True, "channel": channel.id, "permalink": f"https://acme.slack.com/archives/{channel.id}/p{ts.replace('.', '')}"}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")
