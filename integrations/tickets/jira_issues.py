"""Jira JSON <-> the backend's models: parsing issues, comments, people, transitions and changelogs; custom
field discovery; and the field values writes send (summary, labels, attributed wiki text).

Parsing is strict about what a result cannot do without (key, summary, status, dates) and lenient about the
rest; anything missing or mistyped raises `Unavailable` naming what Jira sent wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrations.errors import InvalidArguments, Unavailable
from integrations.tickets.base import (
    Change,
    Comment,
    Person,
    Project,
    StatusCategory,
    Ticket,
    Transition,
)
from integrations.tickets.jira_content import readable
from integrations.tickets.jira_doc import Emphasis, Paragraph, Text
from integrations.tickets.jira_markdown import parse_markdown
from integrations.tickets.jira_wiki import render_wiki

_CATEGORY_BY_KEY: dict[str, StatusCategory] = {"new": "todo", "indeterminate": "in_progress", "done": "done"}
MAX_SUMMARY = 255
_LABEL = re.compile(r"^\S{1,255}$")
_SPRINT_NAME = re.compile(r"name=([^,\]]+)")
# The attribution paragraph create_ticket appends ("_via Slack by Maya Chen_"): shown in Jira, not echoed back.
_ATTRIBUTION = re.compile(r"(?:^|\n\n)_via [^\n]*_\s*$")


@dataclass(frozen=True)
class CustomFields:
    """Ids of the custom fields we read, discovered from GET /field (ids differ per Jira site)."""

    story_points: str | None = None
    sprint: str | None = None
    epic_link: str | None = None

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids to ask for."""
        return tuple(f for f in (self.story_points, self.sprint, self.epic_link) if f)


def discover_custom_fields(fields: list[dict[str, Any]]) -> CustomFields:
    """Find story points, sprint and epic link among Jira's field definitions (by schema, then by name)."""
    by_schema: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for field in fields:
        if not isinstance(field, dict) or not field.get("custom"):
            continue
        schema = (field.get("schema") or {}).get("custom", "")
        by_schema.setdefault(schema, str(field["id"]))
        by_name.setdefault(str(field.get("name", "")).casefold(), str(field["id"]))
    return CustomFields(
        story_points=by_name.get("story points") or by_name.get("story point estimate"),
        sprint=by_schema.get("com.pyxis.greenhopper.jira:gh-sprint") or by_name.get("sprint"),
        epic_link=by_schema.get("com.pyxis.greenhopper.jira:gh-epic-link") or by_name.get("epic link"),
    )


def parse_time(value: Any) -> datetime:
    """A Jira timestamp ('2026-11-18T14:30:00.000+0000') as an aware datetime."""
    if not isinstance(value, str):
        raise ValueError(f"expected a timestamp, got {type(value).__name__}")
    return datetime.fromisoformat(value)


def parse_person(raw: Any) -> Person | None:
    """A Jira user (Cloud accountId, else Data Center username) as a Person; None for no user."""
    if not isinstance(raw, dict):
        return None
    ident = raw.get("accountId") or raw.get("name") or raw.get("key")
    if not ident:
        return None
    return Person(
        id=str(ident), name=str(raw.get("displayName") or ident), email=raw.get("emailAddress") or None
    )


def parse_project(raw: dict[str, Any]) -> Project:
    """A Jira project."""
    return Project(
        key=str(raw["key"]), name=str(raw.get("name") or raw["key"]), private=bool(raw.get("isPrivate"))
    )


def _named(value: Any) -> str | None:
    return str(value["name"]) if isinstance(value, dict) and value.get("name") else None


def _sprint(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return None
    names: list[tuple[int, str]] = []
    for sprint in value:
        if isinstance(sprint, dict) and sprint.get("name"):
            rank = {"active": 0, "future": 1}.get(str(sprint.get("state", "")).lower(), 2)
            names.append((rank, str(sprint["name"])))
        elif isinstance(sprint, str) and (m := _SPRINT_NAME.search(sprint)):  # Data Center's toString form
            names.append((0 if "state=ACTIVE" in sprint else 2, m.group(1)))
    return min(names)[1] if names else None


def _custom(fields: dict[str, Any], custom: CustomFields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if custom.story_points and isinstance(fields.get(custom.story_points), int | float):
        out["story_points"] = fields[custom.story_points]
    if custom.sprint and (sprint := _sprint(fields.get(custom.sprint))):
        out["sprint"] = sprint
    epic = fields.get(custom.epic_link) if custom.epic_link else None
    parent = fields.get("parent")
    if isinstance(epic, str) and epic:
        out["epic"] = epic
    elif isinstance(parent, dict) and _named((parent.get("fields") or {}).get("issuetype")) == "Epic":
        out["epic"] = str(parent.get("key"))
    return out


def parse_issue(raw: Any, *, base_url: str, custom: CustomFields) -> Ticket:
    """A Jira issue as a Ticket."""
    try:
        key = str(raw["key"])
        fields = raw["fields"]
        status = fields["status"]
        comment = fields.get("comment")
        return Ticket(
            key=key,
            project=str((fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0]),
            summary=str(fields["summary"]),
            description=_ATTRIBUTION.sub("", readable(fields.get("description"))),
            status=str(status["name"]),
            status_category=_CATEGORY_BY_KEY.get(
                str((status.get("statusCategory") or {}).get("key")), "todo"
            ),
            priority=_named(fields.get("priority")),
            issue_type=_named(fields.get("issuetype")) or "Task",
            assignee=parse_person(fields.get("assignee")),
            reporter=parse_person(fields.get("reporter")),
            labels=tuple(str(label) for label in fields.get("labels") or ()),
            created=parse_time(fields["created"]),
            updated=parse_time(fields["updated"]),
            url=f"{base_url}/browse/{key}",
            comment_count=int(comment.get("total", 0)) if isinstance(comment, dict) else 0,
            custom=_custom(fields, custom),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unavailable(f"Jira sent an issue we could not read ({type(exc).__name__}: {exc}).") from None


def parse_comment(raw: Any, *, ticket_key: str) -> Comment:
    """A Jira comment."""
    try:
        return Comment(
            id=str(raw["id"]),
            ticket_key=ticket_key,
            author=parse_person(raw.get("author")),
            body=readable(raw.get("body")),
            created=parse_time(raw["created"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unavailable(f"Jira sent a comment we could not read ({type(exc).__name__}: {exc}).") from None


def parse_transition(raw: Any) -> Transition:
    """A workflow transition."""
    try:
        return Transition(id=str(raw["id"]), name=str(raw["name"]), to_status=str(raw["to"]["name"]))
    except (KeyError, TypeError) as exc:
        raise Unavailable(
            f"Jira sent a transition we could not read ({type(exc).__name__}: {exc})."
        ) from None


def parse_changelog(raw: Any) -> list[Change]:
    """The changes in an issue's `changelog.histories`, oldest first."""
    try:
        histories = (raw.get("changelog") or {}).get("histories") or []
        changes = [
            Change(
                at=parse_time(history["created"]),
                author=parse_person(history.get("author")),
                field=str(item.get("field")),
                from_value=item.get("fromString"),
                to_value=item.get("toString"),
            )
            for history in histories
            for item in history.get("items") or []
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Unavailable(f"Jira sent a history we could not read ({type(exc).__name__}: {exc}).") from None
    return sorted(changes, key=lambda c: c.at)


# -------------------------------------------------------------------- models -> Jira (what writes send)


def page_offset(page_token: str | None) -> int:
    """The offset a page token stands for (Data Center search, comments); InvalidArguments if forged."""
    if not page_token:
        return 0
    if not page_token.isdigit():
        raise InvalidArguments(
            "page_token is not valid: pass the next_page_token of the previous page unchanged"
        )
    return int(page_token)


def summary_field(value: str) -> str:
    """A summary as Jira takes it: one line, 1-255 characters."""
    text = " ".join(value.split())
    if not text or len(text) > MAX_SUMMARY:
        raise InvalidArguments(f"summary must be 1 to {MAX_SUMMARY} characters (got {len(text)})")
    return text


def labels_field(values: tuple[str, ...]) -> list[str]:
    """Labels as Jira takes them: no spaces, no duplicates."""
    for label in values:
        if not _LABEL.match(label):
            raise InvalidArguments(f"label {label!r} must be 1 to 255 characters without spaces")
    return list(dict.fromkeys(values))


def wiki_with_attribution(markdown: str, via: str) -> str:
    """Wiki markup for the text, ending with an italic attribution paragraph ('via Slack by Maya Chen')."""
    blocks = parse_markdown(markdown)
    if via.strip():
        blocks = (*blocks, Paragraph((Emphasis((Text(" ".join(via.split())),)),)))
    return render_wiki(blocks)
