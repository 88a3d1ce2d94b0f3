"""The REST handlers of the fake Jira (mixed into `JiraServer`): each route answers from `JiraState` with the
bodies the real Jira sends (v2 plain text, v3 ADF), Cloud's search/jql with nextPageToken or Server's classic
search, users, permissions."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.fakes.jira_json import jira_time
from tests.fakes.jira_seed import FIELDS, PERMISSIONS
from tests.fakes.jira_state import ApiError, JiraState

REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


class JiraRoutes:
    """Mixed into JiraServer: its `state`, `url` and `searches`."""

    state: JiraState
    searches: list[dict[str, Any]]

    if TYPE_CHECKING:  # provided by JiraServer (FakeServer)

        @property
        def url(self) -> str: ...

    @staticmethod
    async def _body(request: web.Request) -> Any:
        try:
            return json.loads(await request.read() or b"null")
        except ValueError:
            raise ApiError(400, ["Unexpected character: the request body is not valid JSON."]) from None

    @staticmethod
    def _fields_param(values: list[str] | str | None) -> set[str] | None:
        if values is None:
            return None
        names = {f.strip() for v in ([values] if isinstance(values, str) else values) for f in v.split(",")}
        names.discard("")
        return None if names & {"*all", "*navigable"} else names

    # ------------------------------------------------------------ handlers

    async def server_info(self, request: web.Request) -> web.Response:
        cloud = self.state.cloud
        return web.json_response(
            {
                "baseUrl": self.url,
                "displayUrl": self.url,
                "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.15",
                "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 15],
                "deploymentType": "Cloud" if cloud else "Server",
                "buildNumber": 100285 if cloud else 9120015,
                "buildDate": "2026-11-02T00:00:00.000+0000",
                "serverTime": jira_time(self.state.clock),
                "scmInfo": "5a1bd8a7c6b1e3f8",
                "serverTitle": "Jira",
                "serverTimeZone": "Etc/UTC",
            }
        )

    async def myself(self, request: web.Request) -> web.Response:
        return web.json_response(
            self.state.user_json(self.state.users[self.state.me], request.match_info["v"], me=True)
        )

    async def fields(self, request: web.Request) -> web.Response:
        return web.json_response(FIELDS)

    async def projects(self, request: web.Request) -> web.Response:
        with self.state.lock:
            visible = [p for k, p in self.state.projects.items() if k not in self.state.forbidden]
            return web.json_response(
                [
                    self.state.project_json(
                        p, request.match_info["v"], expand=request.query.get("expand", "")
                    )
                    for p in visible
                ]
            )

    async def project(self, request: web.Request) -> web.Response:
        project = self.state.project(request.match_info["key"])
        return web.json_response(
            self.state.project_json(project, request.match_info["v"], expand=request.query.get("expand", ""))
        )

    async def get_issue(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        fields = self._fields_param(request.query.get("fields"))
        with self.state.lock:
            return web.json_response(
                self.state.issue_json(issue, request.match_info["v"], fields, request.query.get("expand", ""))
            )

    async def create_issue(self, request: web.Request) -> web.Response:
        issue = self.state.create(await self._body(request))
        v = request.match_info["v"]
        return web.json_response(
            {"id": issue["id"], "key": issue["key"], "self": f"{self.url}/rest/api/{v}/issue/{issue['id']}"},
            status=201,
        )

    async def edit_issue(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        self.state.edit(issue, await self._body(request))
        return web.Response(status=204)

    async def get_transitions(self, request: web.Request) -> web.Response:
        v = request.match_info["v"]
        issue = self.state.issue(request.match_info["key"])
        return web.json_response(
            {
                "expand": "transitions",
                "transitions": [
                    {
                        "id": tid,
                        "name": name,
                        "to": self.state.status_json(to, v),
                        "hasScreen": False,
                        "isGlobal": False,
                        "isInitial": False,
                        "isAvailable": True,
                        "isConditional": False,
                        "looped": False,
                    }
                    for tid, name, to in self.state.transitions(issue)
                ],
            }
        )

    async def do_transition(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        self.state.transition(issue, await self._body(request))
        return web.Response(status=204)

    async def assign(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        self.state.assign(issue, await self._body(request))
        return web.Response(status=204)

    async def get_comments(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        order = request.query.get("orderBy", "created")
        if order not in ("created", "+created", "-created"):
            raise ApiError(400, [f"Invalid orderBy value '{order}'."])
        start = int(request.query.get("startAt", 0))
        limit = int(request.query.get("maxResults", 50))
        with self.state.lock:
            comments = sorted(
                issue["comments"], key=lambda c: (c["created"], int(c["id"])), reverse=order == "-created"
            )
            page = comments[start : start + limit]
            v = request.match_info["v"]
            return web.json_response(
                {
                    "startAt": start,
                    "maxResults": limit,
                    "total": len(comments),
                    "comments": [self.state.comment_json(issue, c, v) for c in page],
                }
            )

    async def add_comment(self, request: web.Request) -> web.Response:
        issue = self.state.issue(request.match_info["key"])
        comment = self.state.comment(issue, await self._body(request))
        with self.state.lock:
            return web.json_response(
                self.state.comment_json(issue, comment, request.match_info["v"]), status=201
            )

    async def changelog(self, request: web.Request) -> web.Response:
        if not self.state.cloud:
            raise web.HTTPNotFound()
        issue = self.state.issue(request.match_info["key"])
        full = self.state.issue_json(issue, request.match_info["v"], set(), "changelog")["changelog"][
            "histories"
        ]
        start, limit = int(request.query.get("startAt", 0)), int(request.query.get("maxResults", 100))
        page = full[start : start + limit]
        return web.json_response(
            {
                "self": str(request.url),
                "startAt": start,
                "maxResults": limit,
                "total": len(full),
                "isLast": start + len(page) >= len(full),
                "values": page,
            }
        )

    async def _search_params(self, request: web.Request) -> dict[str, Any]:
        if request.method == "POST":
            body = await self._body(request)
            if not isinstance(body, dict):
                raise ApiError(400, ["Request body must be a JSON object."])
            return body
        if request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        params: dict[str, Any] = dict(request.query)
        params["fields"] = request.query.getall("fields", None)
        return params

    async def search_jql(self, request: web.Request) -> web.Response:
        if not self.state.cloud:
            raise web.HTTPNotFound()
        params = await self._search_params(request)
        jql = str(params.get("jql") or "")
        limit = int(params.get("maxResults") or 50)
        if not 1 <= limit <= 5000:
            raise ApiError(400, ["maxResults must be between 1 and 5000."])
        fields = self._fields_param(params.get("fields"))
        limit = min(limit, 100) if fields != {"id"} and fields != {"key"} else limit
        digest = hashlib.sha256(jql.encode()).hexdigest()[:12]
        start = 0
        if token := params.get("nextPageToken"):
            try:
                decoded = json.loads(base64.urlsafe_b64decode(str(token) + "=" * (-len(str(token)) % 4))[2:])
                start, same = int(decoded["o"]), decoded["q"] == digest
            except (ValueError, KeyError, TypeError):
                same = False
            if not same:
                raise ApiError(400, ["The provided next page token is invalid or expired."])
        self.searches.append({"jql": jql, "fields": fields, "maxResults": limit, "nextPageToken": token})
        hits = self.state.search(jql, bounded=True)
        page = hits[start : start + limit]
        body: dict[str, Any] = {"issues": [], "isLast": start + len(page) >= len(hits)}
        with self.state.lock:
            # Without `fields`, /search/jql returns ids only (unlike the old /search).
            shown = fields if fields is not None else {"id"}
            body["issues"] = [
                self.state.issue_json(i, request.match_info["v"], shown, str(params.get("expand") or ""))
                for i in page
            ]
        if not body["isLast"]:
            # Like the recorded token: URL-safe base64 of binary data (so `-`/`_` occur), `=` padding kept; the
            # client must URL-encode it in a GET query string.
            raw = b"\xfb\xff" + json.dumps({"o": start + len(page), "q": digest}).encode()
            raw += b" " * ((1 - len(raw)) % 3)
            body["nextPageToken"] = base64.urlsafe_b64encode(raw).decode()
        return web.json_response(body)

    async def search_classic(self, request: web.Request) -> web.Response:
        if self.state.cloud:
            return web.json_response({"errorMessages": [REMOVED_SEARCH], "errors": {}}, status=410)
        params = await self._search_params(request)
        start, limit = int(params.get("startAt") or 0), int(params.get("maxResults") or 50)
        fields = self._fields_param(params.get("fields"))
        self.searches.append(
            {"jql": params.get("jql"), "fields": fields, "maxResults": limit, "startAt": start}
        )
        hits = self.state.search(str(params.get("jql") or ""), bounded=False)
        page = hits[start : start + min(limit, 1000)]
        with self.state.lock:
            issues = [self.state.issue_json(i, request.match_info["v"], fields) for i in page]
        return web.json_response(
            {
                "expand": "schema,names",
                "startAt": start,
                "maxResults": limit,
                "total": len(hits),
                "issues": issues,
            }
        )

    async def user(self, request: web.Request) -> web.Response:
        key = "accountId" if self.state.cloud else "username"
        ident = request.query.get(key)
        if not ident:
            raise ApiError(400, [f"The '{key}' query parameter needs to be provided."])
        user = self.state.user_by_ident(ident)
        if user is None:
            raise ApiError(404, ["Specified user does not exist or you do not have required permissions"])
        return web.json_response(self.state.user_json(user, request.match_info["v"]))

    async def user_search(self, request: web.Request) -> web.Response:
        needle = request.query.get("query" if self.state.cloud else "username", "")
        if not needle:
            raise ApiError(400, ["The query parameter 'query' is required."])
        start, limit = int(request.query.get("startAt", 0)), int(request.query.get("maxResults", 50))
        low = needle.lower()
        with self.state.lock:
            found = [
                u
                for u in self.state.users.values()
                if u.get("active", True)
                and (
                    low in u["displayName"].lower()
                    or (u.get("email_visible", True) and u["emailAddress"].lower().startswith(low))
                    or (not self.state.cloud and low in u["name"].lower())
                )
            ]
            v = request.match_info["v"]
            return web.json_response([self.state.user_json(u, v) for u in found[start : start + limit]])

    async def assignable_search(self, request: web.Request) -> web.Response:
        """People who may be assigned in a project or issue: a JSON ARRAY, as the real endpoint answers (the spec's
        example shows a single object; the recorded answer is a list)."""
        project = request.query.get("project") or str(request.query.get("issueKey", "")).rsplit("-", 1)[0]
        if not project:
            raise ApiError(400, ["One of 'issueKey' or 'project' is required."])
        self.state.project(project)  # 404 / 403 like Jira
        needle = str(request.query.get("query") or request.query.get("username") or "").lower()
        with self.state.lock:
            found = [
                u for u in self.state.users.values()
                if u.get("active", True) and (not needle or needle in u["displayName"].lower())
            ]  # fmt: skip
            limit = int(request.query.get("maxResults", 50))
            return web.json_response([self.state.user_json(u, request.match_info["v"]) for u in found[:limit]])

    async def my_permissions(self, request: web.Request) -> web.Response:
        wanted = request.query.get("permissions")
        if self.state.cloud and not wanted:
            raise ApiError(400, ["The 'permissions' query parameter is required."])
        keys = [k.strip() for k in (wanted or ",".join(PERMISSIONS)).split(",") if k.strip()]
        with self.state.lock:
            return web.json_response(
                {
                    "permissions": {
                        key: {
                            "id": str(n),
                            "key": key,
                            "name": key.replace("_", " ").title(),
                            "type": "PROJECT",
                            "description": f"Ability to {key.lower().replace('_', ' ')}.",
                            "havePermission": key in self.state.permissions,
                        }
                        for n, key in enumerate(keys, start=10)
                    }
                }
            )
