"""Eval tasks: YAML files in `evals/`, one task each, read into typed `Task`s.

A task names who asks (role, channel kind, which demo person they are), the changes to the demo data before
the run, the user turns (and how each approval is answered), what the end state must be, the facts the answer
must state, and — for `--provider scripted` — the model responses to replay. A task file with an error is
reported with its file, line and field: `evals/x.yaml:12: expect.changes.OPS-3.status: Input should be ...`.

    id: transition-with-approval
    user: {role: member, channel: public, person: sam}
    turns:
      - say: "Move OPS-3 to Done"
        approvals: [approve]          # one answer per approval the turn asks for: approve | cancel
    expect:
      changes: {OPS-3: {status: Done}}   # the end state = the start state with exactly these changes
      answer: ["OPS-3", "Done"]          # facts the final answer states (case-insensitive; "a|b" = either)
    script:                               # the scripted model's responses, in order
      - tools: [{transition_ticket: {key: OPS-3, status: Done}}]
      - text: "OPS-3 is now Done."
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import ConfigError

Decision = Literal["approve", "cancel"]
PRICE_TABLE = "prices.yaml"
"""The default price table lives beside the tasks and is not one."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Asker(_Strict):
    """Who asks, and where."""

    role: Literal["admin", "member", "viewer"] = "member"
    channel: Literal["public", "private", "im"] = "public"
    person: str | None = "maya"
    """A demo person's handle (maya, leo, priya, sam, ava, jonas): "my tickets" are theirs."""


class SetupStep(_Strict):
    """One change to the demo data before the run (exactly one of the actions)."""

    transition: str | None = None
    to: str | None = None
    assign: str | None = None
    comment: str | None = None
    body: str | None = None
    author: str | None = None
    update: str | None = None
    description: str | None = None
    summary: str | None = None
    priority: str | None = None


class Turn(_Strict):
    say: str = Field(min_length=1)
    approvals: list[Decision] = Field(default_factory=list)
    """Answers, in order, to the approvals this turn asks for (a missing answer leaves it pending)."""


class TicketChange(_Strict):
    """Expected values of an existing ticket; `comments` is how many comments were added."""

    status: str | None = None
    priority: str | None = None
    assignee: str | None = None
    unassigned: bool = False
    labels: list[str] | None = None
    comments: int = 0
    comment_has: list[str] = Field(default_factory=list)
    """Words the added comments (together) must contain, each case-insensitively."""


class NewTicket(_Strict):
    """A ticket that must have been created (checked field by field; text fields by containment)."""

    project: str
    summary_has: list[str] = Field(default_factory=list)
    priority: str | None = None
    assignee: str | None = None
    issue_type: str | None = None


class Expect(_Strict):
    changes: dict[str, TicketChange] = Field(default_factory=dict)
    created: list[NewTicket] = Field(default_factory=list)
    answer: list[str] = Field(default_factory=list)
    answer_not: list[str] = Field(default_factory=list)
    """Words the answer must not contain (a leaked private ticket, an injected instruction)."""
    status: Literal["answered", "paused", "failed", "refused", "capped"] | None = None
    """The last turn's status, when it matters."""

    @field_validator("changes")
    @classmethod
    def _keys(cls, value: dict[str, TicketChange]) -> dict[str, TicketChange]:
        for key in value:
            if "-" not in key or not key.split("-")[-1].isdigit():
                raise ValueError(f"{key!r} is not a ticket key like OPS-3")
        return value


class ScriptStep(_Strict):
    """One scripted model response: tool calls (`{tool_name: {args}}`, several = parallel) or a text answer."""

    tools: list[dict[str, dict[str, Any]]] = Field(default_factory=list)
    text: str = ""

    @field_validator("tools")
    @classmethod
    def _one_name(cls, value: list[dict[str, dict[str, Any]]]) -> list[dict[str, dict[str, Any]]]:
        for call in value:
            if len(call) != 1:
                raise ValueError("each tool call is one mapping {tool_name: {arguments}}")
        return value


class Task(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    user: Asker = Field(default_factory=Asker)
    setup: list[SetupStep] = Field(default_factory=list)
    turns: list[Turn] = Field(min_length=1)
    expect: Expect = Field(default_factory=Expect)
    script: list[ScriptStep] = Field(default_factory=list)
    path: str = ""


def load_tasks(directory: Path, pattern: str | None = None) -> list[Task]:
    """Every `*.yaml` task under `directory` (but the price table) whose id or file name matches `pattern` (a glob), sorted by id.

    Raises ConfigError naming file, line and field for the first broken file; duplicate ids are an error too.
    """
    if not directory.is_dir():
        raise ConfigError(f"no eval task directory {directory} (tasks are YAML files in evals/)")
    tasks: list[Task] = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name == PRICE_TABLE:
            continue
        task = load_task(path)
        if pattern is None or fnmatch.fnmatch(task.id, pattern) or fnmatch.fnmatch(path.name, pattern):
            tasks.append(task)
    seen: dict[str, str] = {}
    for task in tasks:
        if task.id in seen:
            raise ConfigError(f"{task.path}: task id {task.id!r} is also used by {seen[task.id]}")
        seen[task.id] = task.path
    if not tasks:
        raise ConfigError(f"no eval tasks in {directory}" + (f" match {pattern!r}" if pattern else ""))
    return sorted(tasks, key=lambda t: t.id)


def load_task(path: Path) -> Task:
    """One task file; ConfigError with `file:line: field: problem` when it is not a valid task."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: a task is a mapping (id, user, turns, expect, ...)")
    try:
        return Task.model_validate({**data, "path": str(path)})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"]]
        field = ".".join(str(p) for p in loc) or "task"
        where = _line_of(node, loc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        raise ConfigError(f"{path}:{where}: {field}: {message}") from None


def _line_of(node: yaml.Node | None, loc: list[Any]) -> int:
    """The 1-based line of the YAML node at `loc` (the deepest one that exists)."""
    line = 1 if node is None else node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            key = next((k for k, _ in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                return line
            line = (key or match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
