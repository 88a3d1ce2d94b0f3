"""JQL, built only from `TicketQuery`'s structured filters: every value is a quoted, escaped string literal.

No text from Slack or the model is ever spliced into JQL: names and ids go through `quote()`, free text
through `text_literal()` (Lucene operators escaped, then quoted), dates are formatted by us, keys and field
names come from fixed tables.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

from integrations.errors import InvalidArguments
from integrations.tickets import keys
from integrations.tickets.base import StatusCategory, TicketQuery

STATUS_CATEGORY_NAMES: dict[StatusCategory, str] = {
    "todo": "To Do",
    "in_progress": "In Progress",
    "done": "Done",
}
"""Our status categories -> Jira's statusCategory names (JQL accepts the names)."""

_ORDER_FIELDS = {"updated": "updated", "created": "created", "priority": "priority", "key": "key"}

# Lucene's operators inside a `~` text search (Jira's list plus `"` and `/`), escaped with a backslash.
_LUCENE_SPECIAL = frozenset('+-&|!(){}[]^~*?:\\/"')
# Lucene's boolean keywords are case-sensitive; lower case they are plain words.
_LUCENE_KEYWORDS = re.compile(r"\b(AND|OR|NOT|TO)\b")
MAX_TEXT_CHARS = 200
# Jira's 400 for a project that does not exist or that the searching user cannot browse (one per value).
_UNKNOWN_PROJECT = re.compile(r"The value '([^']*)' does not exist for the field 'project'")

SEARCH_FIELDS: tuple[str, ...] = (
    "summary",
    "status",
    "priority",
    "issuetype",
    "assignee",
    "reporter",
    "labels",
    "created",
    "updated",
    "project",
)
"""What a search result shows: no description, no comments (get_ticket fetches those)."""

TICKET_FIELDS: tuple[str, ...] = SEARCH_FIELDS + ("description", "comment")


def quote(value: str) -> str:
    """A JQL string literal: double-quoted; backslash, quote and control characters escaped."""
    out: list[str] = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ch in "\x7f\u2028\u2029":
            out.append(" ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def text_literal(text: str) -> str:
    """The value of a `text ~` clause: whitespace collapsed, Lucene operators escaped, then quoted."""
    words = " ".join(text.split())[:MAX_TEXT_CHARS]
    words = _LUCENE_KEYWORDS.sub(lambda m: m.group(1).lower(), words)
    return quote("".join("\\" + ch if ch in _LUCENE_SPECIAL else ch for ch in words))


def jql_datetime(value: datetime, tz: tzinfo) -> str:
    """A JQL date literal in the Jira user's time zone (JQL dates have minute precision, no zone)."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return quote(aware.astimezone(tz).strftime("%Y/%m/%d %H:%M"))


def normalize_project_key(key: str) -> str:
    """An upper-cased project key, or InvalidArguments naming the value."""
    canonical = keys.project_key(key)
    if canonical is None:
        raise InvalidArguments(
            f"{key!r} is not a project key (expected a letter, then letters, digits or underscores, like 'OPS')."
        )
    return canonical


def normalize_ticket_key(key: str) -> str:
    """An upper-cased ticket key, or InvalidArguments naming the value."""
    canonical = keys.ticket_key(key)
    if canonical is None:
        raise InvalidArguments(f"{key!r} is not a ticket key (expected PROJECT-NUMBER, like 'OPS-12').")
    return canonical


def unknown_projects(messages: list[str]) -> set[str]:
    """The project keys a JQL error says do not exist (upper-cased; names that are not keys are left out)."""
    found = {m.group(1).strip().upper() for text in messages for m in _UNKNOWN_PROJECT.finditer(text)}
    return {key for key in found if keys.project_key(key) == key}


def _in(field: str, values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return f"{field} = {quote(values[0])}"
    return f"{field} in ({', '.join(quote(v) for v in values)})"


def build_jql(query: TicketQuery, *, tz: tzinfo = UTC) -> str:
    """The JQL for a structured query (dates in `tz`, the Jira user's zone)."""
    clauses: list[str] = []
    if query.projects:
        clauses.append(_in("project", tuple(normalize_project_key(p) for p in query.projects)))
    if query.statuses:
        clauses.append(_in("status", query.statuses))
    if query.status_categories:
        clauses.append(
            _in("statusCategory", tuple(STATUS_CATEGORY_NAMES[c] for c in query.status_categories))
        )
    if query.assignee_ids and query.unassigned:
        clauses.append(f"({_in('assignee', query.assignee_ids)} OR assignee is EMPTY)")
    elif query.assignee_ids:
        clauses.append(_in("assignee", query.assignee_ids))
    elif query.unassigned:
        clauses.append("assignee is EMPTY")
    if query.reporter_ids:
        clauses.append(_in("reporter", query.reporter_ids))
    if query.priorities:
        clauses.append(_in("priority", query.priorities))
    if query.labels:
        clauses.append(_in("labels", query.labels))
    if query.text and query.text.strip():
        clauses.append(f"text ~ {text_literal(query.text)}")
    for field, op, value in (
        ("created", ">=", query.created_after),
        ("created", "<", query.created_before),
        ("updated", ">=", query.updated_after),
        ("updated", "<", query.updated_before),
    ):
        if value is not None:
            clauses.append(f"{field} {op} {jql_datetime(value, tz)}")
    if not clauses:
        # Jira Cloud refuses a query with no restriction ("Unbounded JQL queries are not allowed here").
        clauses.append("created <= now()")
    direction = "DESC" if query.descending else "ASC"
    order = f"{_ORDER_FIELDS[query.order_by]} {direction}"
    if query.order_by != "key":
        order += f", key {direction}"
    return " AND ".join(clauses) + " ORDER BY " + order
