"""A stateful fake Jira (Cloud or Server/Data Center) for the real `jira` package to talk to over HTTP.

Routes are the ones the package calls (jira.md §5), under /rest/api/2 and /rest/api/3 (v3 bodies are ADF):
serverInfo, myself, field, project(s), issue GET/POST/PUT, transitions, assignee, comments, changelog,
search/jql with nextPageToken (Cloud; the old /search answers 410 there) or the classic /search (Server),
user and user/search, mypermissions. Every request is recorded (FakeServer). Authentication is checked:
Basic email:token (both modes) or Bearer PAT (Server only).

Faults are scriptable with `fault(...)`: any status (429 with Retry-After, 5xx, 403...), malformed bodies,
or holding a response until an event is set (a slow Jira). State lives in `JiraState` (jira_state.py), the route
handlers in `JiraRoutes` (jira_routes.py), the JQL parser and evaluator in jira_jql.py and jira_jql_eval.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.base import FakeServer
from tests.fakes.jira_routes import JiraRoutes
from tests.fakes.jira_seed import BOT, PEOPLE, PROJECTS, seed_issues
from tests.fakes.jira_state import ApiError, Deployment, JiraState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API = r"/rest/api/{v:2|3|latest}"
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


class JiraServer(JiraRoutes, FakeServer):
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
