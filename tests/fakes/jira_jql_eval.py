"""Evaluating the fake Jira's parsed JQL (jira_jql.py) against its issues: checking fields and values as Jira does
(unknown ones are a 400 with Jira's wording), matching, Lucene terms of text clauses, dates, ordering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tests.fakes.jira_jql import STOP_WORDS, BoolOp, JqlError, Node, Value


@dataclass
class Context:
    """What the evaluator needs to know about the site."""

    projects: dict[str, str]  # key -> name (visible ones)
    statuses: dict[str, str]  # name -> category key
    category_names: dict[str, str]  # category key -> name
    priorities: list[str]  # highest first
    issue_types: list[str]
    user_ids: set[str]
    current_user: str
    tz: tzinfo
    now: Callable[[], datetime]


def lucene_terms(query: str) -> list[str]:
    """The literal terms of a Lucene query string; unescaped operators are an error (as in Jira)."""
    terms: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            current.append(query[i + 1])
            i += 2
            continue
        if ch in '()[]{}":^~!/':
            raise JqlError(
                f"Error in the JQL Query: The text query '{query}' for field 'text' is not valid: "
                "probably your text query contains invalid characters."
            )
        if ch.isspace():
            if current:
                terms.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if current:
        terms.append("".join(current))
    return [t.lower() for t in terms if t.lower() not in STOP_WORDS and t not in ("AND", "OR", "NOT")]


_DATE_FORMATS = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")


def parse_date(value: Value, ctx: Context, field: str) -> datetime:
    """A JQL date value (absolute in the user's zone, relative like -7d, or now())."""
    if value.function:
        if value.text == "now":
            return ctx.now()
        if value.text == "startofday":
            return ctx.now().astimezone(ctx.tz).replace(hour=0, minute=0, second=0, microsecond=0)
        raise JqlError(f"Error in the JQL Query: Unable to find JQL function '{value.text}()'.")
    if m := _RELATIVE.match(value.text):
        sign = -1 if m.group(1) == "-" else 1
        unit = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}[m.group(3)]
        return ctx.now() + sign * timedelta(**{unit: int(m.group(2))})
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value.text, fmt).replace(tzinfo=ctx.tz)
        except ValueError:
            continue
    raise JqlError(
        f"Error in the JQL Query: Date value '{value.text}' for field '{field}' is invalid. Valid "
        "formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a "
        "period format e.g. '-5d', '4w 2d'."
    )


def _unknown(value: str, field: str) -> JqlError:
    return JqlError(f"The value '{value}' does not exist for the field '{field}'.")


def _canon(value: Value, choices: list[str], field: str) -> str:
    for choice in choices:
        if choice.lower() == value.text.lower():
            return choice
    raise _unknown(value.text, field)


_TEXT_FIELDS = {"text", "summary", "description", "comment"}
_FIELDS = {
    "project",
    "key",
    "issuekey",
    "status",
    "statuscategory",
    "assignee",
    "reporter",
    "priority",
    "labels",
    "issuetype",
    "type",
    "created",
    "updated",
    "createddate",
    "updateddate",
} | _TEXT_FIELDS


def check(node: Node | None, ctx: Context) -> None:
    """Validate field names and values against the site (Jira does this before searching)."""
    if node is None:
        return
    if isinstance(node, BoolOp):
        for arg in node.args:
            check(arg, ctx)
        return
    if node.field not in _FIELDS:
        raise JqlError(f"Field '{node.field}' does not exist or you do not have permission to view it.")
    for value in node.values:
        if value.function:
            if value.text not in ("now", "startofday", "currentuser"):
                raise JqlError(f"Unable to find JQL function '{value.text}()'.")
            continue
        if (
            node.field == "project"
            and value.text.upper() not in ctx.projects
            and value.text not in ctx.projects.values()
        ):
            raise _unknown(value.text, "project")
        if node.field == "status":
            _canon(value, list(ctx.statuses), "status")
        if node.field == "statuscategory":
            names = list(ctx.category_names.values()) + list(ctx.category_names)
            _canon(value, names, "statusCategory")
        if node.field == "priority":
            _canon(value, ctx.priorities, "priority")
        if node.field in ("issuetype", "type"):
            _canon(value, ctx.issue_types, "issuetype")
        if node.field in ("assignee", "reporter") and value.text not in ctx.user_ids:
            raise _unknown(value.text, node.field)
        if node.field in _TEXT_FIELDS:
            if node.op not in ("~", "!~"):
                raise JqlError(f"The operator '{node.op}' is not supported by the '{node.field}' field.")
            lucene_terms(value.text)
        if node.field in ("created", "updated", "createddate", "updateddate"):
            parse_date(value, ctx, node.field)


def matches(node: Node | None, issue: dict[str, Any], ctx: Context) -> bool:
    """True when the issue (the fake's internal dict) satisfies the query."""
    if node is None:
        return True
    if isinstance(node, BoolOp):
        if node.op == "and":
            return all(matches(a, issue, ctx) for a in node.args)
        if node.op == "or":
            return any(matches(a, issue, ctx) for a in node.args)
        return not matches(node.args[0], issue, ctx)
    field = {"issuekey": "key", "type": "issuetype", "createddate": "created", "updateddate": "updated"}.get(
        node.field, node.field
    )
    if field in _TEXT_FIELDS:
        hay = _haystack(issue, field)
        found = all(term.replace("*", "") in hay for term in lucene_terms(node.values[0].text))
        return found if node.op == "~" else not found
    actual = _actual(issue, field, ctx)
    if node.op in ("is", "is not"):
        empty = actual in (None, []) or actual == ""
        return empty if node.op == "is" else not empty
    if field in ("created", "updated"):
        when = parse_date(node.values[0], ctx, field)
        return {
            ">": actual > when,
            ">=": actual >= when,
            "<": actual < when,
            "<=": actual <= when,
            "=": actual == when,
            "!=": actual != when,
        }[node.op]
    wanted = {_norm(_resolve(v, ctx), field) for v in node.values}
    have = {_norm(a, field) for a in (actual if isinstance(actual, list) else [actual]) if a is not None}
    hit = bool(have & wanted)
    if node.op in ("=", "in"):
        return hit
    if node.op in ("!=", "not in"):
        return bool(have) and not hit  # Jira: != never matches an empty field
    raise JqlError(f"The operator '{node.op}' is not supported by the '{node.field}' field.")


def _resolve(value: Value, ctx: Context) -> str:
    if value.function and value.text == "currentuser":
        return ctx.current_user
    return value.text


def _norm(value: Any, field: str) -> str:
    text = str(value)
    return text if field in ("assignee", "reporter", "labels") else text.lower()


def _actual(issue: dict[str, Any], field: str, ctx: Context) -> Any:
    if field == "project":
        return [issue["project"], ctx.projects.get(issue["project"], "")]
    if field == "statuscategory":
        key = ctx.statuses[issue["status"]]
        return [key, ctx.category_names[key]]
    if field == "priority":
        return issue.get("priority")
    return issue.get(field)


def _haystack(issue: dict[str, Any], field: str) -> str:
    parts: list[str] = []
    if field in ("text", "summary"):
        parts.append(issue.get("summary") or "")
    if field in ("text", "description"):
        parts.append(issue.get("description") or "")
    if field in ("text", "comment"):
        parts.extend(c["body"] for c in issue.get("comments", []))
    return "\n".join(parts).lower()


def order_issues(
    issues: list[dict[str, Any]], order: tuple[tuple[str, bool], ...], ctx: Context
) -> list[dict[str, Any]]:
    """Issues sorted by ORDER BY (stable, last key first); default: created descending."""
    out = list(issues)
    for field, desc in reversed(order or (("created", True),)):
        if field == "priority":
            rank = {p: n for n, p in enumerate(reversed(ctx.priorities), start=1)}
            out.sort(key=lambda i: rank.get(i.get("priority") or "", 0), reverse=desc)
        elif field in ("key", "issuekey"):
            out.sort(key=lambda i: (i["project"], i["number"]), reverse=desc)
        elif field in ("created", "updated", "summary", "status"):
            out.sort(key=lambda i, f=field: i[f], reverse=desc)  # type: ignore[misc]
        else:
            raise JqlError(f"Field '{field}' does not exist or you do not have permission to view it.")
    return out
