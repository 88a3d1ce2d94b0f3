"""The fake Jira's state: users, projects, issues, comments, changelog, and the rules Jira applies to writes.

Everything the HTTP layer (jira_server.py) needs: lookups, validation with Jira's error bodies, mutations
that record changelog entries, search over JQL; rendering to REST JSON comes from the `JiraJson` mixin
(jira_json.py). Methods raise `ApiError(status, messages, errors)` for Jira error responses.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from tests.fakes import jira_jql as jql
from tests.fakes import jira_jql_eval as jql_eval
from tests.fakes.jira_json import JiraJson
from tests.fakes.jira_seed import (
    BOT,
    CATEGORIES,
    ISSUE_TYPES,
    PERMISSIONS,
    PRIORITY_IDS,
    SEED_NOW,
    STATUSES,
    WORKFLOW,
)

Deployment = Literal["Cloud", "Server"]
NOT_FOUND = "Issue does not exist or you do not have permission to see it."


class ApiError(Exception):
    """A Jira error response."""

    def __init__(self, status: int, messages: list[str] | None = None, errors: dict[str, str] | None = None):
        super().__init__(status, messages, errors)
        self.status = status
        self.body = {"errorMessages": messages or [], "errors": errors or {}}


def adf_to_text(doc: Any) -> str:
    """The text of an ADF document (what the fake stores when a v3 client writes)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        raise ApiError(400, errors={"description": "Operation value must be an Atlassian Document"})
    if doc.get("type") == "text":
        return str(doc.get("text", ""))
    if doc.get("type") == "hardBreak":
        return "\n"
    sep = "\n\n" if doc.get("type") == "doc" else ""
    return sep.join(adf_to_text(c) for c in doc.get("content") or [])


class JiraState(JiraJson):
    """All of the fake's data, guarded by one lock (the HTTP thread and the test thread both touch it)."""

    def __init__(self, *, deployment: Deployment, now: datetime = SEED_NOW) -> None:
        self.lock = threading.RLock()
        self.deployment = deployment
        self.clock = now
        self.base_url = ""
        self.users: dict[str, dict[str, Any]] = {BOT["accountId"]: {**BOT, "active": True}}
        self.me = BOT["accountId"]
        self.projects: dict[str, dict[str, Any]] = {}
        self.issues: dict[str, dict[str, Any]] = {}
        self.forbidden: set[str] = set()
        self.permissions: set[str] = set(PERMISSIONS)
        self.screen: set[str] = {
            "summary",
            "description",
            "priority",
            "labels",
            "assignee",
            "issuetype",
            "project",
            "parent",
            "customfield_10016",
            "customfield_10020",
            "customfield_10014",
        }
        self._next_id = 10000

    # ------------------------------------------------------------ setup (tests)

    def add_user(self, user: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.users[user["accountId"]] = {"active": True, "timeZone": "UTC", **user}
            return self.users[user["accountId"]]

    def add_project(self, key: str, name: str) -> None:
        with self.lock:
            self._next_id += 1
            self.projects[key] = {"id": str(self._next_id), "key": key, "name": name, "next": 1}

    def add_issue(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            project = self.projects[fields["project"]]
            number = fields.get("number") or project["next"]
            project["next"] = max(project["next"], number + 1)
            self._next_id += 1
            issue = {
                "id": str(self._next_id),
                "key": f"{fields['project']}-{number}",
                "number": number,
                "description": None,
                "priority": None,
                "assignee": None,
                "reporter": self.me,
                "labels": [],
                "custom": {},
                "comments": [],
                "changelog": [],
                "deleted": False,
                "issuetype": "Task",
                "status": "To Do",
                "created": self.clock,
                "updated": self.clock,
                **fields,
            }
            issue["number"] = number
            comments, issue["comments"] = issue["comments"], []
            self.add_comments(issue, comments)
            self.issues[issue["key"]] = issue
            return issue

    def add_comments(self, issue: dict[str, Any], comments: list[dict[str, Any]]) -> None:
        """Append comments (author accountId, body, created) to an issue, giving each an id."""
        with self.lock:
            for comment in comments:
                self._next_id += 1
                comment.setdefault("id", str(self._next_id))
                comment.setdefault("updated", comment["created"])
                issue["comments"].append(comment)

    # ------------------------------------------------------------ identity

    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    def ident(self, user: dict[str, Any]) -> str:
        """How the API names a user: accountId on Cloud, username on Server."""
        return str(user["accountId"] if self.cloud else user["name"])

    def user_by_ident(self, ident: str | None) -> dict[str, Any] | None:
        with self.lock:
            for user in self.users.values():
                if ident is not None and self.ident(user) == ident:
                    return user
        return None

    # ------------------------------------------------------------ lookups with Jira's errors

    def issue(self, key_or_id: str) -> dict[str, Any]:
        with self.lock:
            issue = self.issues.get(key_or_id.upper()) or next(
                (i for i in self.issues.values() if i["id"] == key_or_id), None
            )
            if issue is None or issue["deleted"]:
                raise ApiError(404, [NOT_FOUND])
            if issue["project"] in self.forbidden:
                raise ApiError(403, ["You do not have the permission to see the specified issue."])
            return issue

    def project(self, key_or_id: str) -> dict[str, Any]:
        with self.lock:
            project = self.projects.get(key_or_id.upper()) or next(
                (p for p in self.projects.values() if p["id"] == key_or_id), None
            )
            if project is None:
                raise ApiError(404, [f"No project could be found with key '{key_or_id}'."])
            if project["key"] in self.forbidden:
                raise ApiError(403, ["You do not have permission to view this project."])
            return project

    def need(self, permission: str) -> None:
        if permission not in self.permissions:
            raise ApiError(403, [f"You do not have the '{permission}' permission for this project."])

    # ------------------------------------------------------------ writes

    def _log(self, issue: dict[str, Any], field: str, old: Any, new: Any) -> None:
        self._next_id += 1
        entry = {
            "field": field,
            "fieldtype": "jira",
            "fieldId": field,
            "from": None,
            "fromString": old,
            "to": None,
            "toString": new,
        }
        issue["changelog"].append(
            {"id": str(self._next_id), "author": self.me, "created": self.clock, "items": [entry]}
        )

    def _check_fields(self, fields: dict[str, Any], *, creating: bool) -> dict[str, Any]:
        """Validate a create/edit `fields` object; returns internal values, or ApiError(400) naming fields."""
        errors: dict[str, str] = {}
        out: dict[str, Any] = {}
        for name in fields:
            if name not in self.screen:
                errors[name] = (
                    f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                )
        if "summary" in fields or creating:
            summary = fields.get("summary")
            if not isinstance(summary, str) or not summary.strip():
                errors["summary"] = "You must specify a summary of the issue."
            elif "\n" in summary:
                errors["summary"] = "The summary is invalid because it contains newline characters."
            elif len(summary) > 255:
                errors["summary"] = "Summary must be less than 255 characters."
            else:
                out["summary"] = summary
        if "description" in fields:
            out["description"] = (
                adf_to_text(fields["description"]) if fields["description"] is not None else None
            )
        if "priority" in fields and "priority" not in errors:
            name = (fields["priority"] or {}).get("name") if isinstance(fields["priority"], dict) else None
            if name not in PRIORITY_IDS:
                errors["priority"] = f"Priority name '{name}' is not valid"
            else:
                out["priority"] = name
        if "labels" in fields and "labels" not in errors:
            labels = fields["labels"]
            bad = (
                [lb for lb in labels if not isinstance(lb, str) or not lb or " " in lb]
                if isinstance(labels, list)
                else [labels]
            )
            if bad:
                errors["labels"] = f"The label '{bad[0]}' contains spaces which is invalid."
            else:
                out["labels"] = list(labels)
        if "assignee" in fields and "assignee" not in errors:
            body = fields["assignee"]
            ident = (
                (body or {}).get("accountId" if self.cloud else "name") if isinstance(body, dict) else None
            )
            if body is not None and self.user_by_ident(ident) is None:
                errors["assignee"] = "Specified user does not exist or you do not have required permissions"
            else:
                user = self.user_by_ident(ident)
                out["assignee"] = user["accountId"] if user else None
        if errors:
            raise ApiError(400, errors=errors)
        return out

    def create(self, body: Any) -> dict[str, Any]:
        with self.lock:
            fields = body.get("fields") if isinstance(body, dict) else None
            if not isinstance(fields, dict):
                raise ApiError(400, ["Can not deserialize instance of issue fields"])
            ref = fields.get("project") or {}
            project = self.projects.get(str(ref.get("key", "")).upper()) or next(
                (p for p in self.projects.values() if p["id"] == str(ref.get("id"))), None
            )
            if project is None or project["key"] in self.forbidden:
                raise ApiError(400, errors={"project": "valid project is required"})
            if "CREATE_ISSUES" not in self.permissions:
                raise ApiError(
                    400, errors={"project": "You do not have permission to create issues in this project."}
                )
            itype = (fields.get("issuetype") or {}).get("name")
            errors = {} if itype in ISSUE_TYPES else {"issuetype": "Specify a valid issue type"}
            try:
                values = self._check_fields(fields, creating=True)
            except ApiError as exc:
                errors.update(exc.body["errors"])
            if errors:
                raise ApiError(400, errors=errors)
            return self.add_issue(
                {
                    "project": project["key"],
                    "issuetype": itype,
                    "created": self.clock,
                    "updated": self.clock,
                    "reporter": self.me,
                    **values,
                }
            )

    def edit(self, issue: dict[str, Any], body: Any) -> None:
        with self.lock:
            self.need("EDIT_ISSUES")
            fields = body.get("fields") if isinstance(body, dict) else None
            if not isinstance(fields, dict) or not fields and not body.get("update"):
                raise ApiError(400, ["No fields or updates specified."])
            values = self._check_fields(fields, creating=False)
            changed = False
            for name, value in values.items():
                old = issue[name]
                if old == value:
                    continue
                shown = (lambda x: " ".join(x)) if name == "labels" else (lambda x: x)  # noqa: E731
                self._log(issue, name, shown(old), shown(value))
                issue[name] = value
                changed = True
            if changed:
                issue["updated"] = self.clock

    def transitions(self, issue: dict[str, Any]) -> list[tuple[str, str, str]]:
        return WORKFLOW[issue["status"]] if "TRANSITION_ISSUES" in self.permissions else []

    def transition(self, issue: dict[str, Any], body: Any) -> None:
        with self.lock:
            tid = str(((body or {}).get("transition") or {}).get("id", ""))
            found = next((t for t in self.transitions(issue) if t[0] == tid), None)
            if found is None:
                raise ApiError(400, [f"Transition id '{tid}' is not valid for this issue."])
            self._log(issue, "status", issue["status"], found[2])
            issue["status"] = found[2]
            issue["updated"] = self.clock

    def assign(self, issue: dict[str, Any], body: Any) -> None:
        with self.lock:
            if "ASSIGN_ISSUES" not in self.permissions:
                raise ApiError(403, ["You do not have permission to assign issues."])
            key = "accountId" if self.cloud else "name"
            if not isinstance(body, dict) or key not in body:
                raise ApiError(400, errors={key: f"'{key}' is required"})
            user = None if body[key] is None else self.user_by_ident(str(body[key]))
            if body[key] is not None and user is None:
                raise ApiError(400, errors={"assignee": f"User '{body[key]}' does not exist."})
            new = user["accountId"] if user else None
            if new != issue["assignee"]:
                old_user = self.users.get(issue["assignee"] or "")
                self._log(
                    issue,
                    "assignee",
                    old_user["displayName"] if old_user else None,
                    user["displayName"] if user else None,
                )
                issue["assignee"] = new
                issue["updated"] = self.clock

    def comment(self, issue: dict[str, Any], body: Any) -> dict[str, Any]:
        with self.lock:
            self.need("ADD_COMMENTS")
            text = (
                adf_to_text(body.get("body"))
                if isinstance(body, dict) and body.get("body") is not None
                else ""
            )
            if not text.strip():
                raise ApiError(400, errors={"comment": "Comment body can not be empty!"})
            self._next_id += 1
            comment = {
                "id": str(self._next_id),
                "author": self.me,
                "body": text,
                "created": self.clock,
                "updated": self.clock,
            }
            issue["comments"].append(comment)
            issue["updated"] = self.clock
            return comment

    # ------------------------------------------------------------ search

    def jql_context(self) -> jql_eval.Context:
        me = self.users[self.me]
        return jql_eval.Context(
            projects={k: p["name"] for k, p in self.projects.items() if k not in self.forbidden},
            statuses={name: cat for name, (_, cat) in STATUSES.items()},
            category_names={key: name for key, (_, name, _) in CATEGORIES.items()},
            priorities=list(PRIORITY_IDS),
            issue_types=list(ISSUE_TYPES),
            user_ids={self.ident(u) for u in self.users.values()},
            current_user=self.ident(me),
            tz=ZoneInfo(me.get("timeZone", "UTC")),
            now=lambda: self.clock,
        )

    def search(self, text: str, *, bounded: bool) -> list[dict[str, Any]]:
        """Issues matching JQL, in order; ApiError(400) for invalid or (when `bounded`) unbounded JQL."""
        with self.lock:
            ctx = self.jql_context()
            try:
                query = jql.parse(text)
                jql_eval.check(query.where, ctx)
                if bounded and query.where is None:
                    raise jql.JqlError(
                        "Unbounded JQL queries are not allowed here. Please add a search "
                        "restriction to your query."
                    )
                visible = [
                    i for i in self.issues.values() if not i["deleted"] and i["project"] not in self.forbidden
                ]
                views = [self._jql_view(i) for i in visible]
                hits = [
                    i for i, view in zip(visible, views, strict=True) if jql_eval.matches(query.where, view, ctx)
                ]
                return jql_eval.order_issues(hits, query.order, ctx)
            except jql.JqlError as exc:
                raise ApiError(400, [str(exc)]) from None

    def _jql_view(self, issue: dict[str, Any]) -> dict[str, Any]:
        if self.cloud:
            return issue
        names = {u["accountId"]: u["name"] for u in self.users.values()}
        return {
            **issue,
            "assignee": names.get(issue["assignee"] or ""),
            "reporter": names.get(issue["reporter"] or ""),
        }

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock += timedelta(seconds=seconds)
