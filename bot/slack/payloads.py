"""The shapes of what Slack sends that our listeners read, as pydantic models: one typed accessor per payload kind.

`shape_problem(body)` says why a payload cannot be handled (a missing `user`, an `event` that is null or a string,
`actions: []`, a view submission whose `user` is a string, ...), or None when every field a listener reads is
there with its type. The app's first middleware runs it on every request (HTTP and Socket Mode) and answers a
malformed one 200 and ignores it, logged once with the reason: listeners never see a payload they would crash
on. Listeners read through the same models (`EventFields.of(event)`, `SlashCommand.of(command)`,
`BlockActions.of(body)`, `ViewPayload.of(body)`, `view.element(block, action)`, `view.metadata()`) instead of
`dict.get` on whatever arrived. Fields are checked strictly (an int is not a user id); unknown fields are kept.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

MESSAGE_EVENTS = frozenset({"message", "app_mention"})


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


_S = TypeVar("_S", bound=_Shape)


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
        return _parse(cls, event)


class _EventCallback(_Shape):
    event: EventFields
    event_id: StrictStr | None = None
    team_id: StrictStr | None = None
    is_ext_shared_channel: StrictBool | None = None


class _MessageEvent(EventFields):
    channel: StrictStr
    ts: StrictStr


class SlashCommand(_Shape):
    """A slash command's form fields our listeners read."""

    command: StrictStr
    text: StrictStr = ""
    user_id: StrictStr
    channel_id: StrictStr
    team_id: StrictStr | None = None
    trigger_id: StrictStr | None = None
    response_url: StrictStr | None = None

    @classmethod
    def of(cls, payload: Any) -> SlashCommand | None:
        """The typed view of a command (None when it is not one; the middleware already refused those)."""
        return _parse(cls, payload)


class UserRef(_Id):
    """Who sent an interaction."""

    team_id: StrictStr | None = None


class OptionValue(_Shape):
    """A selected option: only its value is read."""

    value: StrictStr


class ActionFields(_Shape):
    """One element of a block_actions payload's `actions`."""

    action_id: StrictStr
    block_id: StrictStr | None = None
    value: StrictStr | None = None
    selected_option: OptionValue | None = None


class ElementState(_Shape):
    """An input's state in a submitted view (`view.state.values[block_id][action_id]`)."""

    value: StrictStr | None = None
    selected_option: OptionValue | None = None
    selected_options: list[OptionValue] = Field(default_factory=list)
    selected_users: list[StrictStr] = Field(default_factory=list)
    selected_conversation: StrictStr | None = None
    selected_time: StrictStr | None = None


_EMPTY = ElementState()


class ViewFields(_Shape):
    """The fields of a view (modal) our listeners read."""

    id: StrictStr
    callback_id: StrictStr = ""
    private_metadata: StrictStr = ""
    state: dict[StrictStr, dict[StrictStr, dict[StrictStr, ElementState]]] = Field(default_factory=dict)

    def element(self, block_id: str, action_id: str) -> ElementState:
        """The state of one input (empty when the view has no such input)."""
        return self.state.get("values", {}).get(block_id, {}).get(action_id, _EMPTY)

    def metadata(self) -> dict[str, Any]:
        """The private_metadata as the object we wrote into it ({} when missing, forged or not an object)."""
        return view_metadata({"private_metadata": self.private_metadata})


class _Container(_Shape):
    channel_id: StrictStr | None = None
    message_ts: StrictStr | None = None
    is_ephemeral: StrictBool | None = None


class BlockActions(_Shape):
    """A block_actions payload (a button click, a menu choice)."""

    user: UserRef
    actions: list[ActionFields] = Field(min_length=1)
    channel: _Id | None = None
    container: _Container | None = None
    view: ViewFields | None = None
    team: _Id | None = None
    trigger_id: StrictStr | None = None

    @classmethod
    def of(cls, body: Any) -> BlockActions | None:
        """The typed view of a block_actions payload (None when it is not one)."""
        return _parse(cls, body)

    @property
    def action(self) -> ActionFields:
        """The action that was taken (Slack sends one per payload)."""
        return self.actions[0]

    @property
    def channel_id(self) -> str | None:
        """The channel of the message clicked (None in a modal)."""
        return (self.channel.id if self.channel else None) or (self.container.channel_id if self.container else None)

    @property
    def message_ts(self) -> str | None:
        """The ts of the message clicked (None in a modal)."""
        return self.container.message_ts if self.container else None

    @property
    def is_ephemeral(self) -> bool:
        """True when the message clicked is an ephemeral one (its ts is not one the app knows)."""
        return bool(self.container and self.container.is_ephemeral)

    @property
    def team_id(self) -> str | None:
        """The workspace of the click (the payload's team, else the user's)."""
        return (self.team.id if self.team else None) or self.user.team_id


class ViewPayload(_Shape):
    """A view_submission or view_closed payload."""

    user: UserRef
    view: ViewFields
    team: _Id | None = None

    @classmethod
    def of(cls, body: Any) -> ViewPayload | None:
        """The typed view of a view payload (None when it is not one)."""
        return _parse(cls, body)


class _Shortcut(_Shape):
    user: _Id
    callback_id: StrictStr


class _MessageShortcut(_Shortcut):
    channel: _Id
    message: dict[StrictStr, Any]
    message_ts: StrictStr


def _parse(model: type[_S], value: Any) -> _S | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


_SHAPES: dict[str, type[_Shape]] = {
    "block_actions": BlockActions,
    "view_submission": ViewPayload,
    "view_closed": ViewPayload,
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
            SlashCommand.model_validate(body)
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
