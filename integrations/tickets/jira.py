"""The Jira ticket backend (name "jira"): the `TicketBackend` methods on Jira Cloud or Data Center.

Built on `JiraClient` (jira_client.py: threads, timeouts, read retries, writes sent once, error mapping),
`build_jql` (jira_search.py), people lookups (jira_people.py), the Markdown <-> wiki conversion
(jira_content.py) and the JSON parsers (jira_issues.py). Writes are followed by a read of the ticket; if that read fails the write still counts:
we answer from what we sent rather than invite the model to send it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jira import JIRA, JIRAError

from integrations.errors import Conflict, InvalidArguments, ToolError, Unavailable
from integrations.tickets.base import (
    Change,
    Comment,
    CommentPage,
    NewTicket,
    Person,
    Project,
    Ticket,
    TicketChanges,
    TicketPage,
    TicketQuery,
    Transition,
)
from integrations.tickets.jira_client import JiraClient, OnFailure
from integrations.tickets.jira_content import readable
from integrations.tickets.jira_errors import jira_error_details
from integrations.tickets.jira_issues import (
    CustomFields,
    discover_custom_fields,
    labels_field,
    page_offset,
    parse_changelog,
    parse_comment,
    parse_issue,
    parse_project,
    parse_transition,
    summary_field,
    wiki_with_attribution,
)
from integrations.tickets.jira_markdown import parse_markdown
from integrations.tickets.jira_people import JiraPeople
from integrations.tickets.jira_search import (
    SEARCH_FIELDS,
    TICKET_FIELDS,
    build_jql,
    normalize_project_key,
    normalize_ticket_key,
    unknown_projects,
)
from integrations.tickets.jira_wiki import render_wiki

log = logging.getLogger("chatops.jira")


class JiraTickets:
    """`TicketBackend` on Jira through the `jira` package."""

    name = "jira"

    def __init__(self, *, client: JiraClient, clock: Callable[[], datetime] | None = None) -> None:
        self.client = client
        self._clock = clock or (lambda: datetime.now(UTC))
        self._custom: CustomFields | None = None
        self._tz: tzinfo | None = None
        self.people = JiraPeople(client=client)

    @classmethod
    def connect(
        cls, *, url: str, email: str | None = None, api_token: str | None = None, pat: str | None = None,
        timeout_seconds: float = 10.0, max_read_retries: int = 3, retry_max_seconds: float = 10.0,
        on_failure: OnFailure | None = None,
    ) -> JiraTickets:
        """The backend for the site at `url` with Cloud (`email` + `api_token`) or Data Center (`pat`) credentials;
        plain values (the bot maps JIRA_* settings in bot/wiring_adapters.py), no I/O."""
        if not url:
            raise ValueError("JIRA_URL is not set")
        client = JiraClient(
            url=url, email=email, api_token=api_token, pat=pat, timeout_seconds=timeout_seconds,
            max_read_retries=max_read_retries, retry_max_seconds=retry_max_seconds, on_failure=on_failure,
        )
        return cls(client=client)

    # ---------------------------------------------------------------- cached site facts

    async def _custom_fields(self) -> CustomFields:
        if self._custom is None:
            fields = await self.client.read(lambda j: j.fields(), what="list the fields")
            self._custom = discover_custom_fields(fields if isinstance(fields, list) else [])
        return self._custom

    async def _user_tz(self) -> tzinfo:
        """The bot user's time zone: Jira reads JQL dates in it."""
        if self._tz is None:
            me = await self.client.read(lambda j: j.myself(), what="read the bot's Jira profile")
            try:
                self._tz = ZoneInfo(str(me.get("timeZone") or "UTC"))
            except (ZoneInfoNotFoundError, ValueError):
                self._tz = UTC
        return self._tz

    # ---------------------------------------------------------------- reads

    async def list_projects(self) -> list[Project]:
        """Projects the bot's account can see."""
        raws = await self.client.read(lambda j: [p.raw for p in j.projects()], what="list projects")
        return sorted((parse_project(raw) for raw in raws), key=lambda p: p.key)

    async def get_ticket(self, key: str) -> Ticket:
        """One ticket with its description, comment count and readable custom fields."""
        key = normalize_ticket_key(key)
        custom = await self._custom_fields()
        fields = ",".join(TICKET_FIELDS + ("parent",) + custom.ids)
        raw = await self.client.read(
            lambda j: j.issue(key, fields=fields).raw, what="read the ticket", subject=f"Ticket {key}"
        )
        return parse_issue(raw, base_url=self.client.url, custom=custom)

    async def search_tickets(self, query: TicketQuery, *, page_token: str | None = None) -> TicketPage:
        """One page (one request) of tickets matching the structured query.

        Jira refuses a whole query naming a project it does not have (or hides from the bot); such a project
        simply has no tickets, so the search is asked again without it (empty when no project is left)."""
        await self.client.connect()
        custom = await self._custom_fields()
        while True:
            found = await self._search_page(query, page_token, custom)
            if not isinstance(found, frozenset):
                break
            remaining = tuple(p for p in query.projects if normalize_project_key(p) not in found)
            if not remaining:
                return TicketPage(tickets=())
            query = query.model_copy(update={"projects": remaining})
        raw, token = found
        tickets = [
            parse_issue(issue, base_url=self.client.url, custom=custom) for issue in raw.get("issues") or []
        ]
        if query.projects:  # defence in depth: never show a project the query did not ask for
            allowed = {normalize_project_key(p) for p in query.projects}
            tickets = [t for t in tickets if t.project in allowed]
        return TicketPage(tickets=tuple(tickets[: query.limit]), next_page_token=token)

    async def _search_page(
        self, query: TicketQuery, page_token: str | None, custom: CustomFields
    ) -> tuple[dict[str, Any], str | None] | frozenset[str]:
        """(raw result, next page token), or the query's projects Jira said do not exist."""
        dated = any((query.created_after, query.created_before, query.updated_after, query.updated_before))
        jql = build_jql(query, tz=await self._user_tz() if dated else UTC)
        fields = [*SEARCH_FIELDS, "parent", *custom.ids]
        asked = {normalize_project_key(p) for p in query.projects}
        start = 0 if self.client.is_cloud else page_offset(page_token)

        def run(j: JIRA) -> Any:
            try:
                if self.client.is_cloud:
                    return j.enhanced_search_issues(
                        jql, nextPageToken=page_token, maxResults=query.limit, fields=fields, json_result=True
                    )
                return j.search_issues(
                    jql, startAt=start, maxResults=query.limit, fields=fields, json_result=True
                )
            except JIRAError as exc:
                unknown = (
                    unknown_projects(jira_error_details(exc)[0]) & asked if exc.status_code == 400 else set()
                )
                if unknown:
                    return frozenset(unknown)
                raise

        raw = await self.client.read(run, what="search tickets")
        if isinstance(raw, frozenset):
            return raw
        if self.client.is_cloud:
            return raw, raw.get("nextPageToken") or None
        seen = start + len(raw.get("issues") or [])
        return raw, str(seen) if seen < int(raw.get("total") or 0) else None

    async def list_transitions(self, key: str) -> list[Transition]:
        """The workflow moves available to the bot from the ticket's status."""
        key = normalize_ticket_key(key)
        raws = await self.client.read(
            lambda j: j.transitions(key), what="list transitions", subject=f"Ticket {key}"
        )
        return [parse_transition(raw) for raw in raws]

    async def list_comments(
        self, key: str, *, limit: int = 20, page_token: str | None = None, newest_first: bool = False
    ) -> CommentPage:
        """A page of comments (oldest first, or newest first), with the total."""
        key = normalize_ticket_key(key)
        if not 1 <= limit <= 100:
            raise InvalidArguments(f"limit must be between 1 and 100, got {limit}")
        start = page_offset(page_token)
        params: dict[str, Any] = {"startAt": start, "maxResults": limit}
        if newest_first:
            params["orderBy"] = "-created"
        raw = await self.client.read(
            lambda j: JiraClient.get_json(j, f"issue/{key}/comment", params),
            what="list comments",
            subject=f"Ticket {key}",
        )
        try:
            comments = [parse_comment(c, ticket_key=key) for c in raw["comments"]]
            total = int(raw.get("total", len(comments)))
        except (KeyError, TypeError, ValueError) as exc:
            raise Unavailable(f"Jira sent a comment page we could not read ({type(exc).__name__}).") from None
        seen = start + len(comments)
        return CommentPage(
            comments=tuple(comments),
            total=total,
            next_page_token=str(seen) if comments and seen < total else None,
        )

    async def history(self, key: str, *, limit: int = 50) -> list[Change]:
        """The newest `limit` field changes, oldest first."""
        key = normalize_ticket_key(key)
        raw = await self.client.read(
            lambda j: j.issue(key, fields="created", expand="changelog").raw,
            what="read the ticket's history",
            subject=f"Ticket {key}",
        )
        return parse_changelog(raw)[-max(1, limit) :]

    async def find_people(self, query: str, *, limit: int = 5) -> list[Person]:
        """Active Jira users matching a name or email (or, on Cloud, exactly this accountId)."""
        return await self.people.find(query, limit=limit)

    async def person_for_user(self, *, slack_user_id: str, email: str | None) -> Person | None:
        """The Jira account whose email is exactly the Slack user's email (cached); None when none matches."""
        return await self.people.for_user(slack_user_id=slack_user_id, email=email)

    # ---------------------------------------------------------------- writes

    async def create_ticket(self, new: NewTicket, *, reporter: Person | None, via: str) -> Ticket:
        """Create a ticket (one POST, never repeated); the description ends with the attribution line."""
        await self.client.connect()
        project = normalize_project_key(new.project)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": new.issue_type},
            "summary": summary_field(new.summary),
            "description": wiki_with_attribution(new.description, via),
        }
        if new.priority:
            fields["priority"] = {"name": new.priority}
        if new.labels:
            fields["labels"] = labels_field(new.labels)
        if new.assignee_id:
            fields["assignee"] = self.people.body(self.people.check_id(new.assignee_id))
        sent = {
            "project": project,
            "issuetype": new.issue_type,
            "priority": new.priority,
            "assignee": new.assignee_id,
            "labels": list(new.labels),
        }
        created = await self.client.write(
            lambda j: j.create_issue(fields=fields, prefetch=False).raw, what="create the ticket", sent=sent
        )
        key = str(created.get("key", "")) if isinstance(created, dict) else ""
        if not key:
            raise Unavailable(
                "Jira accepted the ticket but did not say its key; search for it before retrying."
            )
        try:
            return await self.get_ticket(key)
        except ToolError:
            log.warning("created ticket could not be read back", extra={"fields": {"key": key}})
            now = self._clock()
            return Ticket(
                key=key,
                project=project,
                summary=fields["summary"],
                description=new.description,
                status="(unknown)",
                issue_type=new.issue_type,
                priority=new.priority,
                labels=tuple(new.labels),
                created=now,
                updated=now,
                url=f"{self.client.url}/browse/{key}",
            )

    async def update_ticket(self, key: str, changes: TicketChanges, *, actor: Person | None) -> Ticket:
        """Change summary, description, priority or labels (one PUT of just those fields)."""
        key = normalize_ticket_key(key)
        fields: dict[str, Any] = {}
        if changes.summary is not None:
            fields["summary"] = summary_field(changes.summary)
        if changes.description is not None:
            fields["description"] = render_wiki(parse_markdown(changes.description))
        if changes.priority is not None:
            fields["priority"] = {"name": changes.priority}
        if changes.labels is not None:
            fields["labels"] = labels_field(changes.labels)
        if fields:
            await self.client.write(
                lambda j: JiraClient.put_json(j, f"issue/{key}", {"fields": fields}),
                what="update the ticket",
                subject=f"Ticket {key}",
                sent={"priority": changes.priority, "labels": changes.labels},
            )
        return await self._after_write(key)

    async def transition_ticket(self, key: str, to_status: str, *, actor: Person | None) -> Ticket:
        """Move the ticket to the status called `to_status`; Conflict lists the reachable ones."""
        key = normalize_ticket_key(key)
        transitions = await self.list_transitions(key)
        wanted = to_status.strip().casefold()
        chosen = next((t for t in transitions if t.to_status.casefold() == wanted), None) or next(
            (t for t in transitions if t.name.casefold() == wanted or t.id == to_status.strip()), None
        )
        if chosen is None:
            ticket = await self.get_ticket(key)
            if ticket.status.casefold() == wanted:
                return ticket  # already there: nothing to send
            reachable = (
                ", ".join(dict.fromkeys(t.to_status for t in transitions))
                or "none (the bot may lack the Transition Issues permission)"
            )
            raise Conflict(
                f"{key} is {ticket.status}; it cannot move to {to_status!r}. It can move to: {reachable}."
            )
        await self.client.write(
            lambda j: j.transition_issue(key, chosen.id),
            what="change the ticket's status",
            subject=f"Ticket {key}",
        )
        return await self._after_write(key)

    async def assign_ticket(self, key: str, assignee_id: str | None, *, actor: Person | None) -> Ticket:
        """Assign to a person id (Cloud accountId, Data Center username), or unassign with None."""
        key = normalize_ticket_key(key)
        await self.client.connect()
        if assignee_id is not None:
            person_id = self.people.check_id(assignee_id.strip())
            # An exact lookup by id: never a search that could pick someone else.
            await self.client.read(
                lambda j: j.user(person_id).raw,
                what="look up the assignee",
                subject=f"Jira user {person_id!r}",
            )
            assignee_id = person_id
        await self.client.write(
            lambda j: JiraClient.put_json(j, f"issue/{key}/assignee", self.people.body(assignee_id)),
            what="assign the ticket",
            subject=f"Ticket {key}",
        )
        return await self._after_write(key)

    async def add_comment(self, key: str, body: str, *, author: Person | None, via: str) -> Comment:
        """Add a comment (one POST, never repeated) ending with the attribution line."""
        key = normalize_ticket_key(key)
        if not body.strip():
            raise InvalidArguments("comment must not be empty")
        wiki = wiki_with_attribution(body, via)
        raw = await self.client.write(
            lambda j: j.add_comment(key, wiki).raw, what="add the comment", subject=f"Ticket {key}"
        )
        try:
            return parse_comment(raw, ticket_key=key)
        except Unavailable:
            # The comment exists; an unreadable echo must not look like a failure worth retrying.
            return Comment(
                id=str((raw or {}).get("id", "unknown")),
                ticket_key=key,
                author=author,
                body=readable(wiki),
                created=self._clock(),
            )

    async def _after_write(self, key: str) -> Ticket:
        try:
            return await self.get_ticket(key)
        except ToolError as exc:
            raise Unavailable(
                f"The change to {key} was made, but reading the ticket back failed ({exc}). Do not repeat the change."
            ) from None

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.client.aclose()
