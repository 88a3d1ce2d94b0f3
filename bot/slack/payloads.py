"""The shapes of what Slack sends that our listeners read, as pydantic models: one typed accessor per payload kind.

`shape_problem(body)` says why a payload cannot be handled (a missing `user`, an `event` that is null or a string,
`actions: []`, a view submission whose `user` is a string, ...), or None when every field a listener reads is
there with its type. The app's first middleware runs it on every request (HTTP and Socket Mode) and answers a
malformed one 200 and ignores it, logged once with the reason: listeners never see a payload they would crash
on. Listeners read through the models (`EventFields.of(event)`, `view_metadata(view)`) instead of `dict.get` on
whatever arrived. Fields are checked strictly (an int is not a user id); unknown fields are kept.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

MESSAGE_EVENTS = frozenset({"message", "app_mention"})


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _Id(_Shape):
    id: StrictStr


class EventFields(_Shape):
    """The fields of an Events API `event` our listeners and middleware read."""

    type: StrictStr
    subtype: StrictStr | None = None
    user: StrictStr | None = None
    bot_id: StrictStr | None = None
    channel: StrictStr | dict[StrictStr, Any] | None = None
    """An id; a channel object in rename events."""
    channel_type: StrictStr | None = None
    text: StrictStr | None = None
    ts: StrictStr | None = None
    thread_ts: StrictStr | None = None
    tab: StrictStr | None = None

    @classmethod
    def of(cls, event: Any) -> EventFields | None:
        """The typed view of an event (None when it is not one; the middleware already refused those)."""
        try:
            return cls.model_validate(event)
        except ValidationError:
            return None


class _EventCallback(_Shape):
    event: EventFields
    event_id: StrictStr | None = None
    team_id: StrictStr | None = None
    is_ext_shared_channel: StrictBool | None = None


class _MessageEvent(EventFields):
    channel: StrictStr
    ts: StrictStr


class _SlashCommand(_Shape):
    command: StrictStr
    text: StrictStr = ""
    user_id: StrictStr
    channel_id: StrictStr
    team_id: StrictStr | None = None
    trigger_id: StrictStr | None = None
    response_url: StrictStr | None = None


class _Action(_Shape):
    action_id: StrictStr


class _BlockActions(_Shape):
    user: _Id
    actions: list[_Action] = Field(min_length=1)


class _View(_Shape):
    id: StrictStr
    callback_id: StrictStr = ""
    private_metadata: StrictStr = ""
    state: dict[StrictStr, dict[StrictStr, dict[StrictStr, Any]]] = Field(default_factory=dict)


class _ViewPayload(_Shape):
    user: _Id
    view: _View


class _Shortcut(_Shape):
    user: _Id
    callback_id: StrictStr


class _MessageShortcut(_Shortcut):
    channel: _Id
    message: dict[StrictStr, Any]
    message_ts: StrictStr


_SHAPES: dict[str, type[_Shape]] = {
    "block_actions": _BlockActions,
    "view_submission": _ViewPayload,
    "view_closed": _ViewPayload,
    "shortcut": _Shortcut,
    "message_action": _MessageShortcut,
}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def shape_problem(body: Any) -> str | None:
    """Why our listeners could not handle this payload, or None."""
    if not isinstance(body, dict):
        return f"body is a {type(body).__name__}, not an object"
    try:
        kind = body.get("type")
        if kind == "event_callback":
            envelope = _EventCallback.model_validate(body)
            if envelope.event.type in MESSAGE_EVENTS:
                _MessageEvent.model_validate(body["event"])
            if envelope.event.type == "app_home_opened" and envelope.event.user is None:
                return "event.user: missing"
        elif "command" in body:
            _SlashCommand.model_validate(body)
        elif isinstance(kind, str) and kind in _SHAPES:
            _SHAPES[kind].model_validate(body)
        elif kind is not None and not isinstance(kind, str):
            return f"type: a {type(kind).__name__}, not a string"
    except ValidationError as exc:
        return _first_error(exc)
    return None


def view_metadata(view: Any) -> dict[str, Any]:
    """A view's private_metadata as the object we wrote into it ({} when missing, forged or not an object)."""
    raw = view.get("private_metadata") if isinstance(view, dict) else None
    if not isinstance(raw, str) or not raw:
        return {}
    try:
        meta = json.loads(raw)
    except ValueError:
        return {}
    return meta if isinstance(meta, dict) else {}
