"""The Slack-surface harness, for every integration test without importing it: `slack` (the fake Slack workspace),
`model` (the fake Messages API), `bot` (the whole app served over HTTP, on SQLite and PostgreSQL), `sqlite_bot`,
`seeded_sqlite` / `seeded_sqlite_file` (a migrated, seeded database), `socket_bot` (the app over Socket Mode); and
the agent harness's `server` (the fake Messages API the MCP worlds' agent talks to).

Defined in `test_slack_harness.py` (with `SlackBot`, `start_bot` and the workspace's ids, which tests import);
a module that defines or imports a fixture of the same name (the approvals world's `slack`, say) uses its own.
"""

from tests.integration.test_slack_harness import (
    fixture_bot,
    fixture_model,
    fixture_seeded_sqlite,
    fixture_seeded_sqlite_file,
    fixture_slack,
    fixture_sqlite_bot,
)
from tests.integration.test_slack_socket_frames import socket_bot
from tests.unit.test_agent_harness import server_fixture

__all__ = [
    "fixture_bot",
    "fixture_model",
    "fixture_seeded_sqlite",
    "fixture_seeded_sqlite_file",
    "fixture_slack",
    "fixture_sqlite_bot",
    "server_fixture",
    "socket_bot",
]
