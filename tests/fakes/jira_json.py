"""The fake Jira's JSON rendering: users, statuses, projects, comments and issues as REST v2 (wiki strings)
or v3 (ADF) shows them, with `self` URLs pointing at the fake. A mixin of `JiraState` (jira_state.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.fakes.jira_seed import CATEGORIES, ISSUE_TYPES, PRIORITY_IDS, STATUSES


def jira_time(value: datetime) -> str:
    """Jira's timestamp format: 2026-11-18T14:30:00.000+0000."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def text_to_adf(text: str | None) -> dict[str, Any] | None:
    """A plain ADF rendering of stored text (paragraphs by blank line, hard breaks by newline)."""
    if text is None:
        return None
    content = []
    for para in text.split("\n\n"):
        nodes: list[dict[str, Any]] = []
        for n, line in enumerate(para.split("\n")):
            if n:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


class JiraJson:
    """Rendering for `JiraState`; relies on its `base_url`, `cloud`, `users`, `projects` and `issues`."""

    base_url: str
    users: dict[str, dict[str, Any]]
    projects: dict[str, dict[str, Any]]
    issues: dict[str, dict[str, Any]]

    @property
    def cloud(self) -> bool:
        raise NotImplementedError

    def user_json(
        self, user: dict[str, Any] | None, v: str = "2", *, me: bool = False
    ) -> dict[str, Any] | None:
        if user is None:
            return None
        base = f"{self.base_url}/rest/api/{v}/user"
        out: dict[str, Any] = {
            "self": f"{base}?accountId={user['accountId']}"
            if self.cloud
            else f"{base}?username={user['name']}",
            "displayName": user["displayName"],
            "active": user.get("active", True),
            "timeZone": user.get("timeZone", "UTC"),
            "avatarUrls": {"48x48": f"https://avatars.example.com/{user['accountId']}.png"},
        }
        if self.cloud:
            out["accountId"] = user["accountId"]
            out["accountType"] = "atlassian"
        else:
            out["name"] = user["name"]
            out["key"] = f"JIRAUSER{abs(hash(user['name'])) % 100000}"
        if user.get("email_visible", True) or me:
            out["emailAddress"] = user["emailAddress"]
        return out

    def status_json(self, name: str, v: str) -> dict[str, Any]:
        sid, cat = STATUSES[name]
        cid, cname, color = CATEGORIES[cat]
        return {
            "self": f"{self.base_url}/rest/api/{v}/status/{sid}",
            "id": sid,
            "name": name,
            "description": "",
            "iconUrl": f"{self.base_url}/images/icons/statuses/generic.png",
            "statusCategory": {
                "self": f"{self.base_url}/rest/api/{v}/statuscategory/{cid}",
                "id": cid,
                "key": cat,
                "colorName": color,
                "name": cname,
            },
        }

    def project_json(self, project: dict[str, Any], v: str, *, expand: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
            "self": f"{self.base_url}/rest/api/{v}/project/{project['id']}",
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "projectTypeKey": "software",
            "simplified": False,
            "style": "classic",
            "isPrivate": False,
            "properties": {},
            "avatarUrls": {"48x48": f"{self.base_url}/rest/api/{v}/universal_avatar/view/type/project"},
        }
        if "issueTypes" in expand:
            out["issueTypes"] = [
                {"self": f"{self.base_url}/rest/api/{v}/issuetype/{i}", "id": i, "name": n, "subtask": False}
                for n, i in ISSUE_TYPES.items()
            ]
        return out

    def comment_json(self, issue: dict[str, Any], comment: dict[str, Any], v: str) -> dict[str, Any]:
        author = self.user_json(self.users.get(comment["author"]), v)
        return {
            "self": f"{self.base_url}/rest/api/{v}/issue/{issue['id']}/comment/{comment['id']}",
            "id": comment["id"],
            "author": author,
            "updateAuthor": author,
            "body": comment["body"] if v == "2" else text_to_adf(comment["body"]),
            "created": jira_time(comment["created"]),
            "updated": jira_time(comment["updated"]),
            "jsdPublic": True,
        }

    def issue_json(
        self, issue: dict[str, Any], v: str, fields: set[str] | None, expand: str = ""
    ) -> dict[str, Any]:
        """Issue JSON with only the requested fields (None = all)."""
        want = (lambda f: True) if fields is None else (lambda f: f in fields)  # noqa: E731
        out_fields: dict[str, Any] = {}
        values: dict[str, Any] = {
            "summary": lambda: issue["summary"],
            "description": lambda: issue["description"] if v == "2" else text_to_adf(issue["description"]),
            "status": lambda: self.status_json(issue["status"], v),
            "priority": lambda: (
                None
                if issue["priority"] is None
                else {
                    "self": f"{self.base_url}/rest/api/{v}/priority/{PRIORITY_IDS[issue['priority']]}",
                    "id": PRIORITY_IDS[issue["priority"]],
                    "name": issue["priority"],
                }
            ),
            "issuetype": lambda: {
                "self": f"{self.base_url}/rest/api/{v}/issuetype/{ISSUE_TYPES[issue['issuetype']]}",
                "id": ISSUE_TYPES[issue["issuetype"]],
                "name": issue["issuetype"],
                "subtask": False,
                "hierarchyLevel": 1 if issue["issuetype"] == "Epic" else 0,
            },
            "assignee": lambda: self.user_json(self.users.get(issue["assignee"] or ""), v),
            "reporter": lambda: self.user_json(self.users.get(issue["reporter"] or ""), v),
            "labels": lambda: list(issue["labels"]),
            "created": lambda: jira_time(issue["created"]),
            "updated": lambda: jira_time(issue["updated"]),
            "project": lambda: {
                k: val
                for k, val in self.project_json(self.projects[issue["project"]], v).items()
                if k in ("self", "id", "key", "name", "projectTypeKey", "simplified", "avatarUrls")
            },
            "comment": lambda: {
                "comments": [self.comment_json(issue, c, v) for c in issue["comments"]],
                "maxResults": len(issue["comments"]),
                "total": len(issue["comments"]),
                "startAt": 0,
            },
        }
        for name, make in values.items():
            if want(name):
                out_fields[name] = make()
        for field_id in ("customfield_10016", "customfield_10020", "customfield_10014"):
            if want(field_id):
                out_fields[field_id] = issue["custom"].get(field_id)
        if want("parent") and issue["custom"].get("customfield_10014"):
            parent = self.issues.get(issue["custom"]["customfield_10014"])
            if parent:
                out_fields["parent"] = {
                    "id": parent["id"],
                    "key": parent["key"],
                    "self": f"{self.base_url}/rest/api/{v}/issue/{parent['id']}",
                    "fields": {"summary": parent["summary"], "issuetype": {"name": parent["issuetype"]}},
                }
        out: dict[str, Any] = {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue["id"],
            "self": f"{self.base_url}/rest/api/{v}/issue/{issue['id']}",
            "key": issue["key"],
            "fields": out_fields,
        }
        if "changelog" in expand:
            histories = [
                {
                    "id": h["id"],
                    "author": self.user_json(self.users.get(h["author"]), v),
                    "created": jira_time(h["created"]),
                    "items": h["items"],
                }
                for h in issue["changelog"]
            ]
            out["changelog"] = {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            }
        return out
