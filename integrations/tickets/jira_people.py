"""People on Jira: user search by name or email, an exact accountId lookup, the Slack user's account by exact
email (cached), and the id format writes send (accountId on Cloud, username on Data Center)."""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from jira import JIRA

from integrations.errors import InvalidArguments, NotFound
from integrations.tickets.base import Person
from integrations.tickets.jira_client import JiraClient
from integrations.tickets.jira_issues import parse_person

log = logging.getLogger("chatops.jira")

_CLOUD_USER_ID = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_SERVER_USER_ID = re.compile(r"^[\w.@+-]{1,255}$")
# What an accountId looks like ("5b10a2844c20165700ede21g", "712020:9f0c4bde-..."), unlike a person's name.
_ACCOUNT_ID_LIKE = re.compile(r"^(?=.*\d)[A-Za-z0-9:_-]{10,128}$")
PERSON_TTL_SECONDS = 600.0


class JiraPeople:
    """Person lookups for `JiraTickets`, over its `JiraClient`."""

    def __init__(self, *, client: JiraClient) -> None:
        self.client = client
        self._by_user: dict[tuple[str, str], tuple[float, Person | None]] = {}

    def body(self, person_id: str | None) -> dict[str, Any]:
        """How a write names a person (None unassigns)."""
        return {"accountId": person_id} if self.client.is_cloud else {"name": person_id}

    def check_id(self, person_id: str) -> str:
        """`person_id` when it has the deployment's id format, else NotFound saying how to get one."""
        pattern = _CLOUD_USER_ID if self.client.is_cloud else _SERVER_USER_ID
        if not pattern.match(person_id):
            raise NotFound(f"No Jira user with id {person_id!r}: use find_people to get a person's id.")
        return person_id

    async def find(self, query: str, *, limit: int = 5) -> list[Person]:
        """Active people matching a name or email; on Cloud also exactly this accountId."""
        needle = query.strip()
        if not needle:
            raise InvalidArguments("a name or email to look for is required")
        limit = max(1, min(limit, 50))
        users = await self._search(needle, limit)
        if not users and self.client.is_cloud and _ACCOUNT_ID_LIKE.match(needle):
            users = await self._by_account_id(needle)
        people = [
            person
            for raw in users
            # Only people: Cloud also lists apps and customers (accountType "app" / "customer").
            if raw.get("active", True) and raw.get("accountType", "atlassian") == "atlassian"
            if (person := parse_person(raw)) is not None
        ]
        return people[:limit]

    async def for_user(self, *, slack_user_id: str, email: str | None) -> Person | None:
        """The one active account whose email is exactly `email` (cached); None when none or several match."""
        if not email or not email.strip():
            return None
        wanted = email.strip().casefold()
        cache_key = (slack_user_id, wanted)
        cached = self._by_user.get(cache_key)
        if cached is not None and time.monotonic() - cached[0] < PERSON_TTL_SECONDS:
            return cached[1]
        users = await self._search(wanted, 10)
        # Never "the first result": a user search matches names too; only an exact email is the same person.
        matches = [
            raw
            for raw in users
            if str(raw.get("emailAddress", "")).casefold() == wanted and raw.get("active", True)
        ]
        person = parse_person(matches[0]) if len(matches) == 1 else None
        if len(matches) > 1:
            log.warning(
                "several Jira accounts share an email", extra={"fields": {"slack_user": slack_user_id}}
            )
        self._by_user[cache_key] = (time.monotonic(), person)
        return person

    async def _by_account_id(self, account_id: str) -> list[dict[str, Any]]:
        """The user with exactly this accountId, if any: Cloud's user search matches names and emails only."""
        try:
            raw = await self.client.read(
                lambda j: j.user(account_id).raw,
                what="look up the person",
                subject=f"Jira user {account_id!r}",
            )
        except (NotFound, InvalidArguments):
            return []
        return [raw] if isinstance(raw, dict) else []

    async def _search(self, needle: str, limit: int) -> list[dict[str, Any]]:
        await self.client.connect()

        def run(j: JIRA) -> list[dict[str, Any]]:
            if self.client.is_cloud:
                found = j.search_users(query=needle, maxResults=limit)
            else:
                found = j.search_users(user=needle, maxResults=limit)
            return [u.raw for u in found]

        return await self.client.read(run, what="look up people")
