"""A stateful fake Jira (Cloud or Server/Data Center) for the real `jira` package to talk to over HTTP.

Routes are the ones the package calls (jira.md §5), under /rest/api/2 and /rest/api/3 (v3 bodies are ADF):
serverInfo, myself, field, project(s), issue GET/POST/PUT, transitions, assignee, comments, changelog,
search/jql with nextPageToken (Cloud; the old /search answers 410 there) or the classic /search (Server),
user and user/search, mypermissions. Every request is recorded (FakeServer). Authentication is checked:
Basic email:token (both modes) or Bearer PAT (Server only).

Faults are scriptable with `fault(...)`: any status (429 with Retry-After, 5xx, 403...), malformed bodies,
or holding a response until an event is set (a slow Jira). State lives in `JiraState` (jira_state.py).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer
from tests.fakes.jira_json import jira_time
from tests.fakes.jira_seed import BOT, FIELDS, PEOPLE, PERMISSIONS, PROJECTS, seed_issues
from tests.fakes.jira_state import ApiError, Deployment, JiraState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API = r"/rest/api/{v:2|3|latest}"
REMOVED_SEARCH = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
    "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
_DEFAULT_MESSAGES = {
    401: "Client must be authenticated to access this resource.",
    403: "You do not have permission to perform this operation.",
    429: "Rate limit exceeded.",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass
class Fault:
    """A scripted failure for requests whose method and path match."""

    method: str
    path: re.Pattern[str]
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    malformed: bool = False
    hold: threading.Event | None = None
    times: int | None = 1
    hits: int = 0

    def applies(self, request: web.Request) -> bool:
        return (
            self.method in ("*", request.method)
            and bool(self.path.search(request.path))
            and (self.times is None or self.hits < self.times)
        )


class JiraServer(FakeServer):
    """The fake Jira. `JiraServer()` is seeded with people, OPS/WEB/SEC and 120 OPS issues."""

    def __init__(
        self,
        *,
        deployment: Deployment = "Cloud",
        email: str = BOT["emailAddress"],
        api_token: str = "api-token-for-tests",
        pat: str = "pat-for-tests",
        seed: bool = True,
        projects: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.email, self.api_token, self.pat = email, api_token, pat
        self.captcha = False
        """Jira demands a CAPTCHA before the bot's account may log in again (after too many failed logins)."""
        self.faults: list[Fault] = []
        self.searches: list[dict[str, Any]] = []
        """Each search as the fake understood it: jql, fields (None = all), maxResults, nextPageToken."""
        self._holds: list[threading.Event] = []
        self._stopped = False
        self._seed, self._projects = seed, dict(projects if projects is not None else PROJECTS)
        self.state = self._fresh_state(deployment)

    def _fresh_state(self, deployment: Deployment) -> JiraState:
        state = JiraState(deployment=deployment)
        state.base_url = self.url if self.port else ""
        for key, name in self._projects.items():
            state.add_project(key, name)
        if self._seed:
            for person in PEOPLE:
                state.add_user(person)
            for issue in seed_issues():
                state.add_issue(issue)
        return state

    # ------------------------------------------------------------ test API

    def add_user(
        self, display_name: str, email: str | None, *, account_id: str | None = None
    ) -> dict[str, Any]:
        """Add an active user; returns it as the API shows it."""
        n = len(self.state.users)
        ident = account_id or f"70121:{hashlib.sha256(f'{display_name}{n}'.encode()).hexdigest()[:24]}"
        handle = re.sub(r"\W+", ".", display_name.lower()).strip(".") + str(n)
        user = self.state.add_user(
            {
                "accountId": ident,
                "name": handle,
                "displayName": display_name,
                "emailAddress": email or f"{handle}@example.invalid",
                "email_visible": email is not None,
            }
        )
        return self.state.user_json(user) or {}

    def reset(self, *, deployment: Deployment | None = None, projects: dict[str, str] | None = None) -> None:
        """Back to the state the constructor made (or these projects / this deployment), keeping the port:
        far cheaper than a new server per test. Faults, held responses, recorded requests and searches go."""
        for hold in self._holds:
            hold.set()
        self._holds.clear()
        self.faults.clear()
        self.searches.clear()
        with self._cond:
            self.requests.clear()
        if projects is not None:
            self._projects = dict(projects)
        self.state = self._fresh_state(deployment or self.state.deployment)

    def add_issue(self, project: str, summary: str, **fields: Any) -> str:
        """Add an issue directly (no request); returns its key."""
        return str(self.state.add_issue({"project": project, "summary": summary, **fields})["key"])

    def seed_comment(self, key: str, body: str, *, author: str) -> str:
        """Add a comment by the user with accountId `author` directly (no request); returns its id."""
        with self.state.lock:
            issue = self.state.issues[key]
            self.state.add_comments(issue, [{"author": author, "body": body, "created": self.state.clock}])
            issue["updated"] = self.state.clock
            return str(issue["comments"][-1]["id"])

    def delete_issue(self, key: str) -> None:
        """Delete an issue: it answers 404 from now on."""
        with self.state.lock:
            self.state.issues[key]["deleted"] = True

    def forbid_project(self, key: str) -> None:
        """The bot loses access to a project: its issues answer 403 and vanish from lists and searches."""
        with self.state.lock:
            self.state.forbidden.add(key)

    def revoke(self, *permissions: str) -> None:
        """Take permissions away from the bot (e.g. 'ADD_COMMENTS')."""
        with self.state.lock:
            self.state.permissions -= set(permissions)

    def remove_from_screen(self, *fields: str) -> None:
        """Fields that may no longer be set on create/edit (Jira's 'not on the appropriate screen')."""
        with self.state.lock:
            self.state.screen -= set(fields)

    def fault(
        self,
        method: str,
        path: str,
        *,
        status: int | None = None,
        times: int | None = 1,
        retry_after: str | None = None,
        headers: dict[str, str] | None = None,
        body: Any = None,
        malformed: bool = False,
        hold: threading.Event | None = None,
    ) -> Fault:
        """Script a failure for `method` (or '*') on paths matching the regex `path`; `times=None` = forever."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        if hold is not None:
            self._holds.append(hold)
        fault = Fault(method, re.compile(path), status, extra, body, malformed, hold, times)
        self.faults.append(fault)
        return fault

    def advance(self, seconds: float) -> None:
        """Move the fake's clock."""
        self.state.advance(seconds)

    def now(self) -> datetime:
        """The fake's clock."""
        return self.state.clock

    def sent(self, method: str, path_regex: str) -> int:
        """How many requests with this method reached the server on paths matching the regex."""
        with self._cond:
            return sum(1 for r in self.requests if r.method == method and re.search(path_regex, r.path))

    def start(self) -> JiraServer:
        """Start serving; `self` URLs point at this server."""
        super().start()
        self.state.base_url = self.url
        return self

    def __enter__(self) -> JiraServer:
        return self.start()

    def stop(self) -> None:
        """Release held responses, then stop."""
        for hold in self._holds:
            hold.set()
        if not self._stopped:
            self._stopped = True
            super().stop()

    # ------------------------------------------------------------ middlewares

    @web.middleware
    async def _faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self.state.lock:
            fault = next((f for f in self.faults if f.applies(request)), None)
            if fault is not None:
                fault.hits += 1
        if fault is None:
            return await handler(request)
        if fault.hold is not None:
            await asyncio.get_running_loop().run_in_executor(None, fault.hold.wait, 30)
        if fault.malformed:
            return web.Response(
                status=fault.status or 200,
                body=b'{"issues": [{"id": "100',
                headers=fault.headers,
                content_type="application/json",
            )
        if fault.status is not None:
            body = (
                fault.body
                if fault.body is not None
                else {
                    "errorMessages": [_DEFAULT_MESSAGES.get(fault.status, f"HTTP {fault.status}")],
                    "errors": {},
                }
            )
            return web.json_response(body, status=fault.status, headers=fault.headers)
        if fault.body is not None:
            return web.json_response(fault.body, headers=fault.headers)
        return await handler(request)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        ok = False
        if header.startswith("Basic "):
            try:
                user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                user, secret = "", ""
            ok = (user, secret) == (self.email, self.api_token)
        elif header.startswith("Bearer ") and not self.state.cloud:
            ok = header[7:] == self.pat
        if self.captcha and header:
            return self._captcha(request)
        if not ok and header and request.path.endswith("/serverInfo"):
            return await self._as_anonymous(request, handler)
        if not ok and not (not header and request.path.endswith("/serverInfo")):
            return self._failed_login(request)
        try:
            return await handler(request)
        except ApiError as exc:
            return web.json_response(exc.body, status=exc.status)

    def _login_headers(self, reason: str) -> dict[str, str]:
        """What Jira adds to an answer after a failed login (Cloud also names its edge and trace ids)."""
        headers = {"X-Seraph-LoginReason": reason, "X-Arequestid": f"{len(self.requests)}x{reason[:4]}"}
        if self.state.cloud:
            headers |= {"Server": "AtlassianEdge", "Atl-Traceid": hashlib.sha1(reason.encode()).hexdigest()[:16]}
        return headers

    def _failed_login(self, request: web.Request) -> web.Response:
        """Credentials that fail. Data Center answers 401. Jira Cloud serves the request as anonymous: an issue
        "does not exist" (404), anything needing a user is 401; both carry `X-Seraph-LoginReason`."""
        headers = self._login_headers("AUTHENTICATED_FAILED")
        if self.state.cloud and re.search(r"/issue/[^/]+", request.path):
            body = {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}}
            return web.json_response(body, status=404, headers=headers)
        return web.json_response({"errorMessages": [_DEFAULT_MESSAGES[401]], "errors": {}}, status=401, headers=headers)

    async def _as_anonymous(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.update(self._login_headers("AUTHENTICATED_FAILED"))
        return response

    def _captcha(self, request: web.Request) -> web.Response:
        headers = self._login_headers("AUTHENTICATION_DENIED") | {
            "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={self.url}/login.jsp"
        }
        return web.json_response({"errorMessages": [_DEFAULT_MESSAGES[403]], "errors": {}}, status=403, headers=headers)

    # ------------------------------------------------------------ app

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._faults, self._auth])
        r = app.router
        r.add_get(f"{API}/serverInfo", self.server_info)
        r.add_get(f"{API}/myself", self.myself)
        r.add_get(f"{API}/field", self.fields)
        r.add_get(f"{API}/project", self.projects)
        r.add_get(f"{API}/project/{{key}}", self.project)
        r.add_post(f"{API}/issue", self.create_issue)
        r.add_get(f"{API}/issue/{{key}}", self.get_issue)
        r.add_put(f"{API}/issue/{{key}}", self.edit_issue)
        r.add_get(f"{API}/issue/{{key}}/transitions", self.get_transitions)
        r.add_post(f"{API}/issue/{{key}}/transitions", self.do_transition)
        r.add_put(f"{API}/issue/{{key}}/assignee", self.assign)
        r.add_get(f"{API}/issue/{{key}}/comment", self.get_comments)
        r.add_post(f"{API}/issue/{{key}}/comment", self.add_comment)
        r.add_get(f"{API}/issue/{{key}}/changelog", self.changelog)
        r.add_route("*", f"{API}/search/jql", self.search_jql)
        r.add_route("*", f"{API}/search", self.search_classic)
        r.add_get(f"{API}/user", self.user)
        r.add_get(f"{API}/user/search", self.user_search)
        r.add_get(f"{API}/user/assignable/search", self.assignable_search)
        r.add_get(f"{API}/mypermissions", self.my_permissions)
        return app

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
