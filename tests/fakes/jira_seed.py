"""Seed data for the fake Jira: people, projects and 120 issues with realistic content.

Deterministic (no randomness, fixed times), with unicode, wiki-markup descriptions (code blocks, links,
mentions), comments, story points, sprints and an epic, so pages, fields and text search have real data.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

SEED_NOW = datetime(2026, 11, 18, 14, 30, tzinfo=UTC)

BOT = {
    "accountId": "712020:9f0c4bde-bot0-4d1c-9e55-0c7b2a1e0b01",
    "name": "chatops-bot",
    "displayName": "ChatOps Bot",
    "emailAddress": "chatops-bot@example.com",
    "timeZone": "Europe/Berlin",
}

PEOPLE: list[dict[str, Any]] = [
    {
        "accountId": "5b10a2844c20165700ede21g",
        "name": "maya",
        "displayName": "Maya Chen",
        "emailAddress": "maya@example.com",
        "timeZone": "America/New_York",
    },
    {
        "accountId": "5b10ac8d82e05b22cc7d4ef5",
        "name": "leo",
        "displayName": "Leo Park",
        "emailAddress": "leo@example.com",
        "timeZone": "Asia/Seoul",
    },
    {
        "accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
        "name": "juergen",
        "displayName": "Jürgen Groß",
        "emailAddress": "juergen@example.com",
        "timeZone": "Europe/Berlin",
    },
    {
        "accountId": "63a1f0c2e4b0a1d2c3e4f5a6",
        "name": "zoe",
        "displayName": "Zoë Ødegaard",
        "emailAddress": "zoe@example.com",
        "timeZone": "Europe/Oslo",
    },
    {
        "accountId": "70121:5c2f1a9e-0d3b-4e7f-8a6c-1b2d3e4f5a6b",
        "name": "mayac",
        "displayName": "Maya Castillo",
        "emailAddress": "maya.castillo@example.com",
        "timeZone": "Europe/Madrid",
    },
    # Hides their email (Cloud profile privacy): user search never shows it.
    {
        "accountId": "60f1e2d3c4b5a69788796a5b",
        "name": "priv",
        "displayName": "Private Person",
        "emailAddress": "private@example.com",
        "timeZone": "UTC",
        "email_visible": False,
    },
]

PROJECTS = {"OPS": "Operations", "WEB": "Website", "SEC": "Security"}

_TOPICS = [
    ("Rotate the TLS certificates on the edge proxies", "edge"),
    ("Disk alerts on db-{n}", "database"),
    ("Flaky test in the billing pipeline", "ci"),
    ("Upgrade PostgreSQL to 17 on the reporting cluster", "database"),
    ("Status page shows stale incidents", "statuspage"),
    ("Cache hit ratio dropped after deploy №{n}", "cache"),
    ("Zeitüberschreitung beim Export (Kunde München)", "i18n"),
    ("日本語のメールが文字化けする", "i18n"),
    ("Alert fatigue: tune the 🚨 paging rules", "alerts"),
    ("Kafka consumer lag on orders-{n}", "kafka"),
]
_STATUSES = ["To Do", "In Progress", "In Review", "Blocked", "Done"]
_PRIORITIES = ["Highest", "High", "Medium", "Low", "Lowest"]
_TYPES = ["Task", "Bug", "Story", "Task"]


def _description(n: int, topic: str) -> str:
    people = PEOPLE[n % 4]["accountId"]
    return (
        f"h3. Context\n\nSeen on *host-{n}* since {{{{09:{n % 60:02d}}}}} UTC — see "
        f"[the runbook|https://wiki.example.com/runbooks/{topic.split()[0].lower()}?id={n}].\n\n"
        f"* check the dashboards\n* page [~accountid:{people}] if it repeats\n\n"
        "{code:bash}\nkubectl -n prod get pods | grep -v Running\n{code}"
    )


def seed_issues(count: int = 120) -> list[dict[str, Any]]:
    """`count` OPS issues, OPS-1 being an epic the others may belong to."""
    issues: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        title, label = _TOPICS[n % len(_TOPICS)]
        created = SEED_NOW - timedelta(days=count - n, hours=n % 7)
        assignee = None if n % 5 == 0 else PEOPLE[n % 4]["accountId"]
        issue: dict[str, Any] = {
            "project": "OPS",
            "number": n,
            "summary": "Platform reliability epic" if n == 1 else title.format(n=n),
            "description": _description(n, title),
            "status": _STATUSES[n % len(_STATUSES)],
            "issuetype": "Epic" if n == 1 else _TYPES[n % len(_TYPES)],
            "priority": _PRIORITIES[n % len(_PRIORITIES)],
            "assignee": assignee,
            "reporter": PEOPLE[(n + 1) % 4]["accountId"],
            "labels": [label] + (["customer"] if n % 3 == 0 else []),
            "created": created,
            "updated": created + timedelta(hours=n % 11),
            "custom": {},
            "comments": [],
        }
        if n % 2 == 0:
            issue["custom"]["customfield_10016"] = float(n % 8 or 1)
        if n % 4 == 0:
            state = "active" if n > count - 20 else "closed"
            issue["custom"]["customfield_10020"] = [
                {"id": n // 20 + 1, "name": f"Sprint {n // 20 + 1}", "state": state, "boardId": 1}
            ]
        if n > 1 and n % 6 == 0:
            issue["custom"]["customfield_10014"] = "OPS-1"
        for c in range(n % 3):
            issue["comments"].append(
                {
                    "author": PEOPLE[(n + c) % 4]["accountId"],
                    "body": f"Comment {c + 1}: looked at host-{n}, *still* failing. Übergabe an das Team ✅",
                    "created": created + timedelta(hours=c + 1),
                }
            )
        issues.append(issue)
    return issues


FIELDS: list[dict[str, Any]] = [
    {
        "id": "summary",
        "key": "summary",
        "name": "Summary",
        "custom": False,
        "clauseNames": ["summary"],
        "schema": {"type": "string", "system": "summary"},
    },
    {
        "id": "description",
        "key": "description",
        "name": "Description",
        "custom": False,
        "clauseNames": ["description"],
        "schema": {"type": "string", "system": "description"},
    },
    {
        "id": "status",
        "key": "status",
        "name": "Status",
        "custom": False,
        "clauseNames": ["status"],
        "schema": {"type": "status", "system": "status"},
    },
    {
        "id": "priority",
        "key": "priority",
        "name": "Priority",
        "custom": False,
        "clauseNames": ["priority"],
        "schema": {"type": "priority", "system": "priority"},
    },
    {
        "id": "assignee",
        "key": "assignee",
        "name": "Assignee",
        "custom": False,
        "clauseNames": ["assignee"],
        "schema": {"type": "user", "system": "assignee"},
    },
    {
        "id": "reporter",
        "key": "reporter",
        "name": "Reporter",
        "custom": False,
        "clauseNames": ["reporter"],
        "schema": {"type": "user", "system": "reporter"},
    },
    {
        "id": "labels",
        "key": "labels",
        "name": "Labels",
        "custom": False,
        "clauseNames": ["labels"],
        "schema": {"type": "array", "items": "string", "system": "labels"},
    },
    {
        "id": "issuetype",
        "key": "issuetype",
        "name": "Issue Type",
        "custom": False,
        "clauseNames": ["issuetype", "type"],
        "schema": {"type": "issuetype", "system": "issuetype"},
    },
    {
        "id": "project",
        "key": "project",
        "name": "Project",
        "custom": False,
        "clauseNames": ["project"],
        "schema": {"type": "project", "system": "project"},
    },
    {
        "id": "created",
        "key": "created",
        "name": "Created",
        "custom": False,
        "clauseNames": ["created", "createdDate"],
        "schema": {"type": "datetime", "system": "created"},
    },
    {
        "id": "updated",
        "key": "updated",
        "name": "Updated",
        "custom": False,
        "clauseNames": ["updated", "updatedDate"],
        "schema": {"type": "datetime", "system": "updated"},
    },
    {
        "id": "comment",
        "key": "comment",
        "name": "Comment",
        "custom": False,
        "clauseNames": ["comment"],
        "schema": {"type": "comments-page", "system": "comment"},
    },
    {
        "id": "parent",
        "key": "parent",
        "name": "Parent",
        "custom": False,
        "clauseNames": ["parent"],
        "schema": {"type": "issuelink", "system": "parent"},
    },
    {
        "id": "customfield_10016",
        "key": "customfield_10016",
        "name": "Story Points",
        "custom": True,
        "clauseNames": ["cf[10016]", "Story Points"],
        "schema": {
            "type": "number",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
            "customId": 10016,
        },
    },
    {
        "id": "customfield_10020",
        "key": "customfield_10020",
        "name": "Sprint",
        "custom": True,
        "clauseNames": ["cf[10020]", "Sprint", "sprint"],
        "schema": {
            "type": "array",
            "items": "json",
            "custom": "com.pyxis.greenhopper.jira:gh-sprint",
            "customId": 10020,
        },
    },
    {
        "id": "customfield_10014",
        "key": "customfield_10014",
        "name": "Epic Link",
        "custom": True,
        "clauseNames": ["cf[10014]", "Epic Link"],
        "schema": {"type": "any", "custom": "com.pyxis.greenhopper.jira:gh-epic-link", "customId": 10014},
    },
]

WORKFLOW: dict[str, list[tuple[str, str, str]]] = {
    # status -> [(transition id, transition name, target status)]
    "To Do": [("11", "Start work", "In Progress"), ("12", "Block", "Blocked"), ("13", "Close", "Done")],
    "In Progress": [
        ("21", "Send to review", "In Review"),
        ("22", "Block", "Blocked"),
        ("23", "Stop work", "To Do"),
        ("24", "Close", "Done"),
    ],
    "In Review": [("31", "Approve", "Done"), ("32", "Request changes", "In Progress")],
    "Blocked": [("41", "Unblock", "To Do"), ("42", "Resume", "In Progress")],
    "Done": [("51", "Reopen", "To Do")],
}
STATUSES = {
    "To Do": ("1", "new"),
    "In Progress": ("3", "indeterminate"),
    "In Review": ("10001", "indeterminate"),
    "Blocked": ("10002", "indeterminate"),
    "Done": ("10003", "done"),
}
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
ISSUE_TYPES = {"Task": "10001", "Bug": "10004", "Story": "10002", "Epic": "10000"}
PERMISSIONS = (
    "BROWSE_PROJECTS",
    "CREATE_ISSUES",
    "EDIT_ISSUES",
    "ADD_COMMENTS",
    "TRANSITION_ISSUES",
    "ASSIGN_ISSUES",
    "ASSIGNABLE_USER",
)
